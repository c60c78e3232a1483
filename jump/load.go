package jump

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/bootparam"
	"github.com/kjump/kjump/initramfs"
	"github.com/kjump/kjump/internal/cmdline"
	"github.com/kjump/kjump/internal/errs"
	"github.com/kjump/kjump/internal/initmode"
	"github.com/kjump/kjump/kconfig"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/modules"
)

// LoadOptions say what second kernel to load and what it should do.
type LoadOptions struct {
	Kernel string   // bzImage; default /boot/vmlinuz-$(uname -r)
	Initrd string   // default: an initramfs generated from kjump itself (+ busybox)
	Add    []string // extra files for the generated initramfs: HOSTPATH or HOSTPATH=GUESTPATH
	// Modules are kernel modules (names) the second kernel loads before its
	// commands, with what they depend on (modules.dep): the drivers of the
	// disks it writes (package modules). They go into the generated initramfs.
	Modules  []string
	Cmdline  string          // replaces the first kernel's command line as the base (--command-line)
	Reuse    bool            // base the command line on the first kernel's (default when Cmdline is "")
	Append   string          // appended to the base (--append)
	Run      []string        // the second kernel's commands (kjump.run=)
	Then     initmode.Action // what the second kernel does afterwards; default Back
	OnError  initmode.Action // what it does instead when a command failed; default: Then
	Size     uint64          // region size; default memmap.DefaultSize
	Min, Max uint64          // --mem-min / --mem-max
	NoVerify bool            // no checksums in purgatory
	NoVmcore bool            // no ELF core header: the second kernel gets no /proc/vmcore
	// Region, if set, is the region to use (from ChooseRegion) instead of choosing.
	Region *memmap.Region
	Root   string // where /proc, /sys, /boot are; default "/"

	note uint64 // the note page named on the command line (set by Load)
}

// Loaded is the outcome of Load.
type Loaded struct {
	Kernel, KernelRelease string
	InitrdFrom            string // path, or "generated: …"
	InitrdSize            int
	Region                memmap.Region
	Plan                  *kexec.Plan
	Warning               string // something the user should know, e.g. an unverifiable kernel
	// Note is the note page the second kernel leaves its BackNote in (for
	// kjump core), 0 when there is none; NoNote then says why.
	Note   uint64
	NoNote string
}

// ErrNoKexecJump means a kernel involved lacks CONFIG_KEXEC_JUMP.
var ErrNoKexecJump = errs.NotSupported("kexec jump is not possible")

// checkCanJumpBack refuses a second kernel that could not jump back (the first
// kernel would be lost), reading its config from the image (CONFIG_IKCONFIG) or from
// config-RELEASE beside it. It returns a warning when it cannot tell.
func checkCanJumpBack(bz *bootparam.BzImage, path string) (string, error) {
	release, _, _ := strings.Cut(bz.Header.KernelVersion, " ")
	var cfg kconfig.Config
	var source string
	if vmlinux, err := bz.OpenVmlinux(); err == nil {
		if c, err := kconfig.EmbeddedFrom(vmlinux); err == nil {
			cfg, source = c, "its embedded config"
		}
		vmlinux.Close()
	}
	if cfg == nil && release != "" {
		p := filepath.Join(filepath.Dir(path), "config-"+release)
		if c, err := kconfig.Load(p); err == nil {
			cfg, source = c, p
		}
	}
	if cfg == nil {
		return fmt.Sprintf("cannot verify that %s has CONFIG_KEXEC_JUMP (no embedded config, no config-%s beside it): without it the second kernel cannot jump back", path, release), nil
	}
	if !cfg.Enabled("KEXEC_JUMP") {
		return "", fmt.Errorf("%w: %s lacks CONFIG_KEXEC_JUMP (says %s): it would boot but never jump back, and the running system would be lost; use a kernel built with CONFIG_KEXEC_JUMP=y (or --then poweroff to not come back)", ErrNoKexecJump, path, source)
	}
	return "", nil
}

// runningBuild reports whether a bzImage's version string ("RELEASE
// (USER@HOST) VERSION") names the running kernel's build (uname -r, uname -v).
func runningBuild(kernelVersion string) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	release, version := unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Version[:])
	return release != "" && version != "" && strings.HasPrefix(kernelVersion, release+" (") && strings.HasSuffix(kernelVersion, ") "+version)
}

// Load loads a second kernel with preserved context.
func Load(o LoadOptions) (*Loaded, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	if loaded, err := kexec.Loaded(); err != nil {
		return nil, err
	} else if loaded {
		return nil, fmt.Errorf("%w: it may be a second kernel with state of its own; run 'kjump unload' first", kexec.ErrLoaded)
	}
	if cfg, _, err := kconfig.LoadRunning(o.Root); err == nil && !cfg.Enabled("KEXEC_JUMP") {
		return nil, fmt.Errorf("%w: the running kernel lacks CONFIG_KEXEC_JUMP, so it cannot jump to a second kernel and back: boot a kernel built with CONFIG_KEXEC_JUMP=y (kjump doctor lists what else it needs)", ErrNoKexecJump)
	}
	out := &Loaded{Kernel: o.Kernel}
	if out.Kernel == "" {
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			return nil, err
		}
		out.Kernel = filepath.Join(o.Root, "boot", "vmlinuz-"+unix.ByteSliceToString(u.Release[:]))
	}
	data, err := os.ReadFile(out.Kernel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && o.Kernel == "" {
			return nil, fmt.Errorf("no kernel given and the running kernel's %s does not exist: pass a bzImage", out.Kernel)
		}
		return nil, err
	}
	bz, err := bootparam.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", out.Kernel, err)
	}
	out.KernelRelease = bz.Header.KernelVersion
	// The running kernel's own image, whose config was checked above, need
	// not be unpacked to read its config (which takes memory a system about
	// to hibernate with 90 % in use does not have).
	sameBuild := o.Kernel == "" && runningBuild(bz.Header.KernelVersion)
	if (o.Then == "" || o.Then == initmode.Back || o.Then == initmode.ShellBack || o.OnError == initmode.Back || o.OnError == initmode.ShellBack) && !sameBuild {
		out.Warning, err = checkCanJumpBack(bz, out.Kernel)
		if err != nil {
			return nil, err
		}
	}

	release, _, _ := strings.Cut(bz.Header.KernelVersion, " ")
	initrd, from, err := loadInitrd(o, release)
	if err != nil {
		return nil, err
	}
	out.InitrdFrom, out.InitrdSize = from, len(initrd)

	fw, iomem, err := memoryMaps(o.Root)
	if err != nil {
		return nil, err
	}
	if o.Region != nil {
		out.Region = *o.Region
	} else if out.Region, err = chooseRegion(o, fw, iomem); err != nil {
		return nil, err
	}
	if o.Root == "/" {
		if err := offerNote(fw); err != nil {
			out.NoNote = err.Error()
		} else {
			o.note, out.Note = NotePage, NotePage
		}
	}
	cmdline, err := Cmdline(o)
	if err != nil {
		return nil, err
	}
	var core []byte
	if !o.NoVmcore {
		if core, err = CoreHeader(o.Root, fw, Swapped(out.Region)); err != nil {
			return nil, err
		}
	}
	out.Plan, err = kexec.PlanLinux(kexec.Linux{
		Kernel: bz, Initrd: initrd, Cmdline: cmdline, Region: out.Region.Range,
		Firmware: fw, ACPIRSDP: acpiRSDP(o.Root), NoVerify: o.NoVerify, CoreHeader: core,
		Reserved: out.Region.Reserved,
	})
	if err != nil {
		return nil, err
	}
	if err := kexec.Validate(out.Plan.Segments, 0); err != nil {
		return nil, err
	}
	// The kernel copies the segments: give back what reading them took first
	// (the unpacked vmlinux the config check read), so a system with little
	// memory left (hibernating at 90 % in use) has room for the copies.
	debug.FreeOSMemory()
	if err := kexec.Load(out.Plan.Entry, out.Plan.Segments, kexec.PreserveContext); err != nil {
		return nil, err
	}
	return out, nil
}

// ChooseRegion picks the second kernel's region the way Load would (a
// crashkernel= reservation, else a free window of o.Size within o.Min/o.Max).
func ChooseRegion(o LoadOptions) (memmap.Region, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	fw, iomem, err := memoryMaps(o.Root)
	if err != nil {
		return memmap.Region{}, err
	}
	return chooseRegion(o, fw, iomem)
}

// Swapped returns the physical ranges a jump swaps for a second kernel in region:
// the low range and the region.
func Swapped(region memmap.Region) []memmap.Range {
	return []memmap.Range{{Start: kexec.LowStart, Size: kexec.LowSize}, region.Range}
}

func chooseRegion(o LoadOptions, fw memmap.Map, iomem []*memmap.Resource) (memmap.Region, error) {
	size := o.Size
	if size == 0 {
		size = memmap.DefaultSize
	}
	cmdline, _ := os.ReadFile(filepath.Join(o.Root, "proc", "cmdline"))
	return memmap.ChooseRegion(fw, iomem, memmap.Options{Size: size, Min: o.Min, Max: o.Max,
		Reserved: memmap.CmdlineReservations(string(cmdline))})
}

// memoryMaps reads the firmware memory map (falling back to /proc/iomem's System
// RAM) and /proc/iomem.
func memoryMaps(root string) (memmap.Map, []*memmap.Resource, error) {
	iomem, err := memmap.ReadIomem(root)
	if err != nil {
		return nil, nil, fmt.Errorf("reading /proc/iomem: %w", err)
	}
	fw, err := memmap.ReadFirmwareMemmap(root)
	if err != nil {
		fw = memmap.IomemRAM(iomem)
	}
	return fw, iomem, nil
}

func loadInitrd(o LoadOptions, release string) ([]byte, string, error) {
	if o.Initrd != "" {
		if len(o.Add) > 0 || len(o.Modules) > 0 {
			return nil, "", errors.New("--add and the disk drivers' modules go into the generated initramfs; they do not go with --initrd")
		}
		b, err := os.ReadFile(o.Initrd)
		return b, o.Initrd, err
	}
	var mods map[string][]byte
	if len(o.Modules) > 0 {
		var err error
		if mods, err = ModuleFiles(o.Root, release, o.Modules); err != nil {
			return nil, "", err
		}
	}
	return Initramfs(o.Add, mods)
}

// ModuleFiles returns the initramfs files that make a second kernel of
// release load the named modules and their dependencies (see package
// modules), from root/lib/modules/RELEASE. The kernel's config
// (root/boot/config-RELEASE, or the running kernel's) says whether it
// decompresses modules itself.
func ModuleFiles(root, release string, names []string) (map[string][]byte, error) {
	dep, err := modules.LoadDep(root, release)
	if err != nil {
		return nil, fmt.Errorf("the second kernel's modules (%s): %w", strings.Join(names, ", "), err)
	}
	order, err := dep.Order(names)
	if err != nil {
		return nil, fmt.Errorf("the second kernel's modules: %w", err)
	}
	cfg, cerr := kconfig.Load(filepath.Join(root, "boot", "config-"+release))
	if cerr != nil && runningRelease() == release {
		cfg, _, cerr = kconfig.LoadRunning(root)
	}
	decompresses := cerr == nil && cfg.Enabled("MODULE_DECOMPRESS")
	files, list, err := modules.Files(modules.Dir(root, release), release, order, decompresses)
	if err != nil {
		return nil, err
	}
	files[modules.ListPath] = list
	return files, nil
}

func runningRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// Initramfs generates the second kernel's default initramfs: this kjump binary as
// /init, busybox when /bin/busybox is static, the add files (HOSTPATH or
// HOSTPATH=GUESTPATH) and the files of mods (from ModuleFiles). It also
// returns a description of what it holds.
func Initramfs(add []string, mods map[string][]byte) ([]byte, string, error) {
	ro := initramfs.Options{Kjump: "/proc/self/exe", Files: map[string][]byte{}}
	what := "generated: kjump"
	if _, err := os.Stat("/bin/busybox"); err == nil {
		ro.Busybox = "/bin/busybox"
		what += " + busybox"
	}
	if n := len(mods); n > 0 {
		what += fmt.Sprintf(" + %d modules", n-1)
		maps.Copy(ro.Files, mods)
	}
	for _, a := range add {
		host, guest, ok := strings.Cut(a, "=")
		if !ok {
			guest = host
		}
		b, err := os.ReadFile(host)
		if err != nil {
			return nil, "", fmt.Errorf("--add: %w", err)
		}
		ro.Files[guest] = b
	}
	arch, err := initramfs.Kjump(ro)
	if errors.Is(err, initramfs.ErrNotStatic) && ro.Busybox != "" {
		ro.Busybox, what = "", "generated: kjump"
		arch, err = initramfs.Kjump(ro)
	}
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	if _, err := arch.WriteTo(&buf); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), what, nil
}

// dropped are first-kernel parameters that must not reach the second kernel: the
// loader sets its own memory map, KASLR, initrd and jump-back entry, and the
// first kernel's job is not the second's.
var dropped = []string{"BOOT_IMAGE=", "initrd=", "crashkernel=", "memmap=", "mem=", "nokaslr", "kaslr",
	"iomem=", "kexec_jump_back_entry=", "elfcorehdr=", "kjump.", "resume=", "rdinit=", "init="}

// Cmdline is the second kernel's command line before PlanLinux adds confinement.
func Cmdline(o LoadOptions) (string, error) {
	var parts []string
	base := o.Cmdline
	if base == "" {
		b, err := os.ReadFile(filepath.Join(o.Root, "proc", "cmdline"))
		if err != nil {
			return "", err
		}
		base = string(b)
	}
	reused := o.Cmdline == ""
	if strings.ContainsRune(base, 0) {
		return "", fmt.Errorf("the command line contains a NUL byte")
	}
	for _, p := range cmdline.Split(base) {
		if strings.Count(p, `"`)%2 == 1 {
			return "", fmt.Errorf("parameter %q has an unbalanced double quote: it would swallow the parameters kjump adds after it", p)
		}
		if reused && cmdline.IsDoubleDash(p) {
			break // the first kernel's init arguments mean nothing to the second
		}
		keep := true
		for _, d := range dropped {
			if strings.HasPrefix(p, d) {
				keep = false
			}
		}
		if keep {
			parts = append(parts, p)
		}
	}
	if o.Append != "" {
		if strings.ContainsRune(o.Append, 0) {
			return "", fmt.Errorf("--append contains a NUL byte")
		}
		parts = append(parts, strings.TrimSpace(o.Append))
	}
	for _, r := range o.Run {
		if strings.ContainsAny(r, "\"\x00") {
			return "", fmt.Errorf("--run %q: a kernel parameter cannot hold a double quote or a NUL", r)
		}
		parts = append(parts, `kjump.run="`+r+`"`)
	}
	then := o.Then
	if then == "" {
		then = initmode.Back
	}
	parts = append(parts, "kjump.then="+string(then))
	if o.note != 0 {
		parts = append(parts, fmt.Sprintf("%s%#x", NoteParam, o.note))
	}
	if o.OnError != "" {
		parts = append(parts, "kjump.onerror="+string(o.OnError))
	}
	return strings.Join(parts, " "), nil
}

// acpiRSDP is the RSDP address an EFI machine publishes; 0 on BIOS machines,
// where the second kernel finds it by scanning the BIOS area itself.
func acpiRSDP(root string) uint64 {
	b, err := os.ReadFile(filepath.Join(root, "sys/firmware/efi/systab"))
	if err != nil {
		return 0
	}
	var v uint64
	for _, line := range strings.Split(string(b), "\n") {
		for _, key := range []string{"ACPI20=", "ACPI="} {
			if rest, ok := strings.CutPrefix(line, key); ok && v == 0 {
				fmt.Sscanf(rest, "0x%x", &v)
			}
		}
	}
	return v
}
