package hibernate

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kjump/kjump/bootparam"
	"github.com/kjump/kjump/doctor"
	"github.com/kjump/kjump/extents"
	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/initramfs"
	"github.com/kjump/kjump/internal/blockdev"
	"github.com/kjump/kjump/internal/initmode"
	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/modules"
)

// Request is what the first kernel asks of the second, through the mailbox.
type Request struct {
	Device      string  `json:"device"` // "MAJOR:MINOR" of the raw device to write the image to
	System      System  `json:"system"`
	MemMapHash  string  `json:"memmap_hash"` // hex of System.MemMapHash
	Mounts      []Mount `json:"mounts"`
	Key         []byte  `json:"key,omitempty"`        // raw 32-byte key
	Passphrase  []byte  `json:"passphrase,omitempty"` // or a passphrase (Argon2id)
	KDFMemoryMi uint32  `json:"kdf_memory_mib,omitempty"`
	Compression string  `json:"compression,omitempty"` // auto (default), zstd, lz4 or none: CompressionOptions
	// File, when the image goes into a file of a mounted filesystem: its
	// extents on Device (the second kernel writes them raw).
	File *extents.Map `json:"file,omitempty"`
	// Suspend: hybrid sleep. Once the image is committed the second kernel
	// suspends to RAM; on wake it revokes the image and jumps back.
	Suspend bool `json:"suspend,omitempty"`
	// Park: the writer's first entry (kjump hibernate --prepare): it only
	// answers that it is parked, and init jumps back.
	Park bool `json:"park,omitempty"`
	// Parked: the request re-enters a parked writer, which trusts nothing it
	// saw before (it drops its caches and looks the devices up again), says
	// when it cannot serve the request (Report.CannotServe), and ends with
	// Then itself (its init's action is to jump back).
	Parked bool            `json:"parked,omitempty"`
	Then   initmode.Action `json:"then,omitempty"`
	// Snapshot, with Parked, is a snapshot request (package snapshot's
	// Request) for the parked writer instead of a hibernation: it takes the
	// snapshot as a fresh snapshot-write kernel does, answers in this page
	// (snapshot's Reply) and its init jumps back, still parked. Every other
	// field is then unused.
	Snapshot json.RawMessage `json:"snapshot,omitempty"`
	// Report, if set, is the mailbox page (in the first kernel's memory, so
	// in the image) where the writer and the resume kernel leave the states;
	// else the request's own page. A parked writer's request page (the park
	// page) is not saved in the image.
	Report uint64 `json:"report,omitempty"`
	// Names locate Device and the mounted devices in the second kernel, whose
	// modular disk drivers may number them differently.
	Names blockdev.Names `json:"names,omitempty"`
}

// Report is what the resume kernel leaves in the mailbox for the resumed
// system, or the second kernel's error when it could not write the image.
type Report struct {
	Error          string    `json:"error,omitempty"`
	Image          string    `json:"image,omitempty"` // image UUID
	Saved          time.Time `json:"saved"`
	Resumed        time.Time `json:"resumed"`
	RestoreSeconds float64   `json:"restore_seconds,omitempty"`
	Pages          uint64    `json:"pages,omitempty"`      // data pages restored
	ZeroPages      uint64    `json:"zero_pages,omitempty"` // pages cleared
	// Woke: hybrid sleep woke from suspend to RAM; the second kernel revoked
	// the image and jumped back (Resumed is the wake-up).
	Woke bool `json:"woke,omitempty"`
	// Parked: a writer's answer to Request.Park.
	Parked bool `json:"parked,omitempty"`
	// CannotServe: a parked writer cannot do this request (a device it does
	// not have); nothing was written, and a fresh writer may.
	CannotServe bool `json:"cannot_serve,omitempty"`
}

// Suspend, as Options.Then, is hybrid sleep: the second kernel writes the image,
// then suspends to RAM instead of powering off. On wake it revokes the image
// and jumps straight back; if power is lost meanwhile, the next boot resumes
// from the image as after a power-off.
const Suspend initmode.Action = "suspend"

// Options of a hibernation.
type Options struct {
	Target         string          // raw block device for the image (overwritten), or a file on a disk filesystem
	FileSize       uint64          // bytes to preallocate for a file target; 0: the memory in use plus 64 MiB
	KeyFile        string          // 32-byte key file: encrypt the image
	PassphraseFile string          // or a file holding a passphrase
	Then           initmode.Action // what the second kernel does once the image is written: PowerOff (default) or Reboot
	Compression    string          // auto (default), zstd, lz4 or none: CompressionOptions
	Load           jump.LoadOptions
	Root           string    // default "/"
	Log            io.Writer // told how to resume before the jump
	// ResumeInitrd, if set, is the initramfs the resume kernel will boot with
	// (/boot/initrd.img-RELEASE): checked before anything is loaded to hold
	// kjump, the resume script and the disks' modules (CheckResumeInitrd).
	ResumeInitrd string
}

// Result of Hibernate: the system was saved, powered off, and resumed.
type Result struct {
	Report
	Region memmap.Region
}

// Errors.
var (
	ErrRegion = errors.New("the second kernel's region cannot hold a resume kernel")
	ErrTarget = errors.New("unusable image target")
)

// ResumeCommandLine is what a resume kernel's command line needs for region r:
// no KASLR and its RAM confined to the region and the low range, so it never
// touches the memory it restores.
func ResumeCommandLine(r memmap.Range) string {
	return fmt.Sprintf("nokaslr memmap=exactmap memmap=%dK@%dK memmap=%dK@%dK",
		kexec.LowSize>>10, kexec.LowStart>>10, r.Size>>10, r.Start>>10)
}

// CheckResumeRegion checks that a resume kernel (the bzImage data) booted by
// firmware lands inside region: without KASLR it runs from its preferred load
// address and needs init_size bytes from there.
func CheckResumeRegion(bz *bootparam.BzImage, region memmap.Range) error {
	start := bz.Header.PrefAddress
	end := start + uint64(bz.Header.InitSize)
	if bz.Header.RelocatableKernel == 0 || start == 0 {
		return fmt.Errorf("%w: the resume kernel is not relocatable (no preferred load address)", ErrRegion)
	}
	if start < region.Start || end+16<<20 > region.End() {
		return fmt.Errorf("%w: a resume kernel booted by the firmware runs at %#x and needs %s from there plus room to work, but the region is %s; reserve the region at boot with memmap=%dM$%#x (it must start at or below %#x) or choose it with --mem-min %#x",
			ErrRegion, start, memmap.FormatSize(uint64(bz.Header.InitSize)), region, max(region.Size, 256<<20)>>20, start, start, start)
	}
	return nil
}

// Hibernate saves the running system through a second kernel (see the package
// documentation). It returns once the system was resumed from the image (the
// resume kernel's report, state Done, is the only success). In any other case
// it revokes whatever image the second kernel left on the target, so it can
// never be resumed into a system that carried on, and returns why: the
// second kernel could not write it (ErrNotSaved), died writing it
// (ErrWriterDied), or came back after committing it (ErrNotResumed).
// Everything that can be checked is checked before anything is loaded,
// preallocated or frozen; a file target it created is removed on failure.
func Hibernate(o Options) (*Result, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	switch o.Then {
	case "":
		o.Then = initmode.PowerOff
	case initmode.PowerOff, initmode.Reboot, Suspend:
	default:
		// Anything else would let this system carry on with a valid image of itself.
		return nil, fmt.Errorf("%w, not %q: the system must not carry on beside a valid image of itself", ErrInvalidThen, o.Then)
	}
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	sys, err := ReadSystem(o.Root)
	if err != nil {
		return nil, err
	}
	mounts, err := MountedBlockDevices(o.Root)
	if err != nil {
		return nil, err
	}
	if _, err := CompressionOptions(o.Compression); err != nil {
		return nil, err
	}
	req := Request{System: sys, MemMapHash: hex.EncodeToString(sys.MemMapHash[:]), Mounts: mounts, Compression: o.Compression}
	if err := readKey(&req, o.KeyFile, o.PassphraseFile); err != nil {
		return nil, err
	}
	defer func() { clear(req.Key); clear(req.Passphrase) }() // after a fallback's second try too
	dev, err := blockdev.Unused(o.Root, o.Target, mounts)
	isFile := errors.Is(err, blockdev.ErrNotBlock) || errors.Is(err, fs.ErrNotExist)
	if err != nil && !isFile {
		return nil, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	// The worst case: every page in use stored uncompressed, plus metadata.
	need, err := memmap.OutputSize(0, ImageOverhead)
	if err != nil {
		return nil, err
	}
	if !isFile {
		if err := checkTargetSize(o.Target, need); err != nil {
			return nil, err
		}
	} else if o.FileSize != 0 && o.FileSize < uint64(need) {
		return nil, fmt.Errorf("%w: --size %s is too small: an image of this system needs up to %s (the memory in use, uncompressed, plus metadata); leave --size out to preallocate that", ErrTarget, memmap.FormatSize(o.FileSize), memmap.FormatSize(uint64(need)))
	}

	bz, lo, err := writerKernel(o, sys)
	if err != nil {
		return nil, err
	}
	parked, err := ParkedWriter(o.Root)
	if err != nil {
		return nil, err
	}
	if parked != nil && o.Then == Suspend {
		// Hybrid sleep needs the writer's init to jump back after the wake:
		// a fresh one.
		logf("hibernate: unloading the parked writer: hybrid sleep loads a fresh one")
		jump.Unpark(o.Root)
		parked = nil
	}
	var region memmap.Region
	if parked != nil {
		region = memmap.Region{Range: parked.Region, Reserved: true}
	} else if region, err = jump.ChooseRegion(lo); err != nil {
		return nil, err
	}
	if err := CheckResumeRegion(bz, region.Range); err != nil {
		return nil, err
	}
	if !region.Reserved {
		logf("hibernate: the region %s is not reserved at boot, so loading needs %s of free memory; reserve it with memmap=%dM$%dM",
			region.Range, memmap.FormatSize(region.Size), region.Size>>20, region.Start>>20)
	}
	// The second kernel needs the drivers of the target and of every mounted
	// disk (it reads their superblocks); those that are modules go into its
	// initramfs. (A file target is on a mounted disk.)
	var devs []string
	if !isFile {
		devs = append(devs, dev)
	}
	for _, m := range mounts {
		devs = append(devs, m.Device)
	}
	if lo.Modules, err = modules.ForDevices(o.Root, devs...); err != nil {
		return nil, err
	}
	// The resume kernel's initramfs must be able to resume: check it now,
	// while the system can still carry on.
	if o.ResumeInitrd != "" {
		room := region.Size - min(region.Size, uint64(bz.Header.InitSize))
		if err := CheckResumeInitrd(o.ResumeInitrd, sys.Release, lo.Modules, o.KeyFile, o.PassphraseFile, room); err != nil {
			return nil, err
		}
	}
	// Checked all that can be: only now preallocate a file target.
	var file *extents.Map
	if isFile {
		size := o.FileSize
		if size == 0 {
			size = uint64(need)
		}
		if file, err = prepareImageFile(o.Target, size); err != nil {
			return nil, err
		}
		dev = file.Device
	}
	if file != nil {
		devs = append(devs, dev)
	}
	req.Names = blockdev.NameAll(o.Root, devs...)
	res, err := hibernate(o, req, dev, file, region, lo, parked)
	if errors.Is(err, ErrCannotServe) {
		logf("hibernate: %v; loading a fresh writer", err)
		if region, err = jump.ChooseRegion(lo); err == nil {
			res, err = hibernate(o, req, dev, file, region, lo, nil)
		}
	}
	if err != nil && file != nil {
		// Revoked already when anything was written; the file goes too.
		os.Remove(o.Target)
	}
	return res, err
}

// writeCommand is the second kernel's half (hibernate-write).
const writeCommand = "hibernate-write"

// ParkedWriter returns the parked writer kernel (Prepare), or nil when none
// is parked; a second kernel parked for another command is an error
// (kexec.ErrLoaded): it must be unloaded first. kjump snapshot re-enters the
// parked writer too (Request.Snapshot).
func ParkedWriter(root string) (*jump.Parked, error) {
	p, err := jump.ReadParked(root)
	if err != nil || p == nil {
		return nil, err
	}
	if p.Command != writeCommand {
		return nil, fmt.Errorf("%w: a second kernel is parked for %q; unload it first (kjump unload)", kexec.ErrLoaded, p.Command)
	}
	return p, nil
}

// writerKernel reads the writer's kernel (also the resume kernel) and checks
// this kernel can jump: the load options for the writer, whose region starts
// at the resume kernel's preferred address unless the caller chose.
func writerKernel(o Options, sys System) (*bootparam.BzImage, jump.LoadOptions, error) {
	lo := o.Load
	lo.Root = o.Root
	kernel := lo.Kernel
	if kernel == "" {
		kernel = filepath.Join(o.Root, "boot", "vmlinuz-"+sys.Release)
	}
	data, err := os.ReadFile(kernel)
	if err != nil {
		return nil, lo, fmt.Errorf("the resume kernel: %w", err)
	}
	bz, err := bootparam.Parse(data)
	if err != nil {
		return nil, lo, fmt.Errorf("%s: %w", kernel, err)
	}
	if lo.Min == 0 && lo.Max == 0 {
		// The resume kernel runs from its preferred address: ask for a region there.
		lo.Min = bz.Header.PrefAddress
	}
	if rep := doctor.Run(o.Root); !rep.Ready {
		return nil, lo, fmt.Errorf("%w: kjump doctor finds missing: %s (run kjump doctor for how to fix each)", jump.ErrNoKexecJump, strings.Join(rep.Problems(), ", "))
	}
	return bz, lo, nil
}

// hibernate is Hibernate from the mailbox on: the job in the second kernel,
// and its outcome.
func hibernate(o Options, req Request, dev string, file *extents.Map, region memmap.Region, lo jump.LoadOptions, parked *jump.Parked) (*Result, error) {
	req.Device, req.File, req.Suspend = dev, file, o.Then == Suspend
	req.Parked, req.Then = parked != nil, o.Then
	from := o.Target
	if node, err := blockdev.Node(o.Root, dev); err == nil {
		from = node
	}
	if file != nil {
		from = fmt.Sprintf("%s --offset %#x", from, file.Extents[0].Physical)
	}
	then := o.Then
	if then == Suspend {
		// The writer suspends itself; once it woke and revoked the image, back.
		then = initmode.Back
	}
	job := jump.Job{
		Command: writeCommand,
		Request: req,
		Then:    then,
		OnError: initmode.Back,
		Region:  region,
		Load:    lo,
	}
	var report *mailbox.Box
	if parked != nil {
		var avoid [][2]uint64
		for _, r := range jump.Swapped(region) {
			avoid = append(avoid, [2]uint64{r.Start, r.Size})
		}
		var err error
		if report, err = mailbox.Open(avoid); err != nil {
			return nil, err
		}
		defer report.Close()
		req.Report = report.Phys
		job.Request = req
		job.Reenter, job.Mailbox = true, parked.Mailbox
	}
	job.Before = func(*mailbox.Box) error {
		if file != nil {
			// Nothing may have moved the file's blocks since they were found.
			if err := file.Verify(o.Target); err != nil {
				return err
			}
		}
		if o.Log != nil {
			fmt.Fprintf(o.Log, "hibernate: to resume, boot this kernel with '%s' and run 'kjump resume --from %s'\n", ResumeCommandLine(region.Range), from)
			how := "a second kernel"
			if parked != nil {
				how = "the parked writer kernel"
			}
			fmt.Fprintf(o.Log, "hibernate: jumping to %s to write the image to %s\n", how, o.Target)
		}
		return nil
	}
	r, err := jump.RunJob(job)
	if err != nil {
		return nil, err
	}
	if report != nil {
		// The states are in the report page; the park page has the request.
		r.Message, r.ReadErr = report.Read()
	}
	rep, err := outcome(r)
	if parked != nil && (err == nil || errors.Is(err, ErrCannotServe)) {
		// Resumed: the parked writer's memory was the resume kernel's since,
		// so it is gone. Cannot serve: the caller loads a fresh one.
		jump.Unpark(o.Root)
	}
	if errors.Is(err, ErrCannotServe) {
		return nil, err // nothing was written
	}
	if err == nil {
		if file != nil {
			// The second kernel and the resume kernel wrote the file raw.
			extents.DropCache(o.Target)
		}
		return &Result{Report: rep, Region: region}, nil
	}
	// Not resumed: whatever the second kernel left must not stay resumable.
	if rerr := revoke(o.Target, file != nil); rerr != nil {
		return nil, fmt.Errorf("%w; and revoking the image on %s failed (%v): do not resume from it — overwrite its first block (dd if=/dev/zero of=%s bs=4096 count=1 conv=fsync)", err, o.Target, rerr, from)
	}
	return nil, fmt.Errorf("%w; the image on %s was revoked", err, o.Target)
}

// ImageOverhead is what an image needs beside its pages: the header, the page
// map and the chunk headers and padding, generously.
const ImageOverhead = 64 << 20

// checkTargetSize refuses a device smaller than need bytes.
func checkTargetSize(path string, need int64) error {
	size, err := blockdev.Size(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrTarget, path, err)
	}
	if size < need {
		return fmt.Errorf("%w: %s has %s, but an image of this system needs up to %s (the memory in use, uncompressed, plus metadata): use a device of at least %s, or free memory first",
			ErrTarget, path, memmap.FormatSize(uint64(size)), memmap.FormatSize(uint64(need)), memmap.FormatSize(uint64(need)))
	}
	return nil
}

// revoke overwrites the header of the image on target (a device, or an image
// file whose image starts after its locator block), then drops what the page
// cache holds of it: the other kernels wrote it raw.
func revoke(target string, isFile bool) error {
	f, err := os.OpenFile(target, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	var w io.WriterAt = f
	if isFile {
		w = io.NewOffsetWriter(f, imageOffset)
	}
	err = image.Revoke(w)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if isFile {
		extents.DropCache(target)
	} else {
		blockdev.DropCache(target)
	}
	return err
}

// readKey puts the key of an encrypted image (image.KeyFromFiles) into the request.
func readKey(req *Request, keyFile, passFile string) error {
	k, err := image.KeyFromFiles(keyFile, passFile)
	if err != nil {
		return err
	}
	req.Key, req.Passphrase = k.Secret()
	if req.Passphrase != nil {
		req.KDFMemoryMi = KDFMemoryMiB
	}
	return nil
}

// KDFMemoryMiB is the Argon2id memory of a passphrase-encrypted hibernation
// image: the second kernel and the resume kernel run in a small region, so
// less than the image package's default.
const KDFMemoryMiB = 64

// prepareImageFile preallocates an image file (size 0: the memory in use plus
// 64 MiB, which an image of every page in use fits) and writes its locator.
func prepareImageFile(path string, want uint64) (*extents.Map, error) {
	size, err := memmap.OutputSize(want, 64<<20)
	if err != nil {
		return nil, err
	}
	m, err := writeLocator(path, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTarget, path, err)
	}
	return m, nil
}

// CompressionOptions are the image.WriteOptions of a compression name: auto
// (the default, also for ""): zstd on the chunks the CPUs compress while
// keeping ahead of the disk, the others stored raw (image.WriteOptions.Adaptive);
// zstd, lz4 (every chunk) or none.
func CompressionOptions(s string) (image.WriteOptions, error) {
	switch s {
	case "", "auto":
		return image.WriteOptions{Compression: image.Zstd, Adaptive: true}, nil
	case "zstd":
		return image.WriteOptions{Compression: image.Zstd}, nil
	case "lz4":
		return image.WriteOptions{Compression: image.LZ4}, nil
	case "none":
		return image.WriteOptions{Compression: image.None}, nil
	}
	return image.WriteOptions{}, fmt.Errorf("compression %q: auto, zstd, lz4 or none", s)
}

// ErrResumePath means the resume kernel's initramfs could not resume the image.
var ErrResumePath = errors.New("the resume path is incomplete")

// ResumeWorkingSet is what a resume kernel needs in its region beside its
// image and initramfs: the kernel's own allocations and kjump resume's buffers.
const ResumeWorkingSet = 96 << 20

// CheckResumeInitrd checks that the initramfs at path, which the resume kernel
// of release boots with, can resume an image: it holds kjump, initramfs-tools'
// local-premount script that runs it (dist/), the named modules (the disks'
// drivers; a module built into the kernel needs nothing) and the key or
// passphrase file at its own path.
//
// It also checks that the resume kernel fits its region: room is the region's
// size less the kernel's init_size; the compressed initramfs, its unpacked
// files and ResumeWorkingSet must fit in it (a Debian initramfs with every
// module, MODULES=most, unpacks to 137 MiB: a 240 MiB region panics "System is
// deadlocked on memory" while unpacking it).
func CheckResumeInitrd(path, release string, mods []string, keyFile, passFile string, room uint64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: the resume kernel's initramfs: %w (update-initramfs -u)", ErrResumePath, err)
	}
	defer f.Close()
	listing, err := initramfs.List(f)
	if err != nil {
		return fmt.Errorf("%w: reading %s: %w", ErrResumePath, path, err)
	}
	names := listing.Names
	if st, err := f.Stat(); err == nil && room > 0 {
		need := uint64(st.Size()) + listing.Unpacked + ResumeWorkingSet
		if need > room {
			return fmt.Errorf("%w: %s is %s and unpacks to %s: with %s of working memory the resume kernel needs %s beside its own image, but its region leaves %s; make the initramfs smaller (MODULES=dep in /etc/initramfs-tools/initramfs.conf, then update-initramfs -u) or the region larger (KJUMP_REGION=496M@16M with memmap=496M$16M)",
				ErrResumePath, path, memmap.FormatSize(uint64(st.Size())), memmap.FormatSize(listing.Unpacked), memmap.FormatSize(ResumeWorkingSet), memmap.FormatSize(need), memmap.FormatSize(room))
		}
	}
	have := map[string]bool{}
	modsIn := map[string]bool{}
	for _, n := range names {
		have[n] = true
		for _, dir := range []string{"lib/modules/" + release + "/", "usr/lib/modules/" + release + "/"} {
			if strings.HasPrefix(n, dir) && strings.Contains(n, ".ko") {
				modsIn[modules.Name(n)] = true
			}
		}
	}
	var missing []string
	if !have["usr/sbin/kjump"] && !have["sbin/kjump"] && !have["usr/bin/kjump"] && !have["bin/kjump"] {
		missing = append(missing, "kjump (install dist/initramfs-tools/hooks/kjump)")
	}
	if !have["scripts/local-premount/kjump"] {
		missing = append(missing, "scripts/local-premount/kjump (install dist/initramfs-tools/scripts/local-premount/kjump)")
	}
	for _, m := range mods {
		if !modsIn[strings.ReplaceAll(m, "-", "_")] {
			missing = append(missing, "module "+m+" (a disk's driver: with MODULES=dep, list it in /etc/initramfs-tools/modules)")
		}
	}
	for _, k := range []string{keyFile, passFile} {
		if k != "" && !have[strings.TrimPrefix(k, "/")] {
			missing = append(missing, k+" (set it in /etc/kjump/resume.conf, which the hook reads)")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s lacks %s; then run update-initramfs -u", ErrResumePath, path, strings.Join(missing, ", "))
	}
	return nil
}

// PrepareFile preallocates an image file of size bytes (rounded up to a MiB)
// the way 'kjump hibernate --to FILE --size SIZE' does, and returns its map
// and the /dev node of its disk. A later hibernation with the same size reuses
// its blocks, so the resume entry's offset (Extents[0].Physical) can be set
// before the first hibernation.
func PrepareFile(path string, size uint64) (*extents.Map, string, error) {
	m, err := prepareImageFile(path, size)
	if err != nil {
		return nil, "", err
	}
	node, err := blockdev.Node("/", m.Device)
	if err != nil {
		node = "?"
	}
	return m, node, nil
}
