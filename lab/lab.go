package lab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/kjump/kjump/initramfs"
	"github.com/kjump/kjump/internal/atomicfile"
	"github.com/kjump/kjump/lab/kernel"
	"github.com/kjump/kjump/lab/qemu"
	"github.com/kjump/kjump/lab/tools"
)

// Options configure a lab.
type Options struct {
	CacheDir string    // default kernel.CacheDir()
	Kjump    string    // the static kjump binary put in the initramfs; default: this executable
	Busybox  string    // a static busybox for the guest's shell; default /bin/busybox if it is static
	Progress io.Writer // setup progress (kernel build, initramfs)
}

// Lab is a built kernel and initramfs, ready to boot.
type Lab struct {
	Kernel    *kernel.Build
	Initramfs string
	Busybox   bool   // the initramfs has a shell
	LogDir    string // one console log per boot
	// HibernateBench chooses the rows of kjump lab bench hibernate.
	HibernateBench HibernateBench

	cacheDir string
	progress io.Writer
	ropt     initramfs.Options // how Initramfs was made, for guests with extra files
	real     *RealMachine      // once built (Real)
	// parked: every hibernation by /lab/hibernate.sh goes through a parked
	// writer kernel (hibernateJob; the scenario hibernate-parked-all).
	parked bool

	toolsMu sync.Mutex
	tools   *tools.Chroot
}

// Tools returns the Debian 13 chroot with crash 8.0.6 and drgn 0.0.31 that the
// host-side checks read dumps with (package lab/tools), made on first use.
func (l *Lab) Tools(ctx context.Context) (*tools.Chroot, error) {
	l.toolsMu.Lock()
	defer l.toolsMu.Unlock()
	if l.tools == nil {
		t, err := tools.Ensure(ctx, tools.Options{CacheDir: l.cacheDir, Progress: l.progress})
		if err != nil {
			return nil, err
		}
		l.tools = t
	}
	return l.tools, nil
}

// New builds (or finds in the cache) everything a guest needs.
func New(ctx context.Context, opt Options) (*Lab, error) {
	if opt.CacheDir == "" {
		opt.CacheDir = kernel.CacheDir()
	}
	progress := opt.Progress
	if progress == nil {
		progress = io.Discard
	}
	k, err := kernel.Ensure(ctx, kernel.Options{CacheDir: opt.CacheDir, Progress: progress})
	if err != nil {
		return nil, fmt.Errorf("lab kernel: %w", err)
	}
	how := "built"
	if k.Cached {
		how = "cached"
	}
	fmt.Fprintf(progress, "kernel: %s %s (%s)\n", k.Release, k.BzImage, how)

	self := opt.Kjump
	if self == "" {
		if self, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	files, err := guestScripts()
	if err != nil {
		return nil, err
	}
	// The lab kernel is the guest's running kernel: 'kjump load' finds it where a
	// distribution keeps it.
	bz, err := os.ReadFile(k.BzImage)
	if err != nil {
		return nil, err
	}
	files["/boot/vmlinuz-"+k.Release] = bz
	// Guest tools of the lab's own (see guestprog).
	for _, prog := range []string{"pattern", "hog"} {
		if bin, err := buildGuestProg(prog, filepath.Join(opt.CacheDir, "lab")); err != nil {
			fmt.Fprintf(progress, "initramfs: without /lab/%s (%v): the scenarios using it will fail\n", prog, err)
		} else if b, err := os.ReadFile(bin); err == nil {
			files["/lab/"+prog] = b
		}
	}
	// Debian's kexec-tools, the peer the kexec-tools scenario compares with.
	if err := addDynamic(files, "/usr/sbin/kexec", "/lab/kexec-tools.files"); err != nil {
		fmt.Fprintf(progress, "initramfs: without kexec-tools (%v): the kexec-tools scenario will fail\n", err)
	}
	ropt := initramfs.Options{Kjump: self, Files: files}
	busybox := opt.Busybox
	if busybox == "" {
		busybox = "/bin/busybox"
	}
	if _, err := os.Stat(busybox); err == nil {
		ropt.Busybox = busybox
	}
	arch, err := initramfs.Kjump(ropt)
	if errors.Is(err, initramfs.ErrNotStatic) && ropt.Busybox != "" && opt.Busybox == "" {
		// The default busybox is the dynamic one: go on without a shell.
		fmt.Fprintf(progress, "initramfs: %s is not static (install busybox-static for a guest shell)\n", busybox)
		ropt.Busybox = ""
		arch, err = initramfs.Kjump(ropt)
	}
	if err != nil {
		return nil, fmt.Errorf("lab initramfs: %w", err)
	}
	initrd, err := writeInitramfs(arch, opt.CacheDir)
	if err != nil {
		return nil, err
	}
	logs := filepath.Join(opt.CacheDir, "lab", "logs")
	l := &Lab{
		Kernel:    k,
		Initramfs: initrd,
		Busybox:   ropt.Busybox != "",
		LogDir:    filepath.Join(logs, time.Now().Format("20060102-150405.000")),
		cacheDir:  opt.CacheDir,
		progress:  progress,
		ropt:      ropt,
	}
	if err := os.MkdirAll(l.LogDir, 0o755); err != nil {
		return nil, err
	}
	pruneOld(logs, keepLogs)
	fmt.Fprintf(progress, "initramfs: %s (kjump as /init%s)\n", l.Initramfs, map[bool]string{true: ", busybox", false: ""}[l.Busybox])
	return l, nil
}

// writeInitramfs writes arch under a name made of its content's hash, once, and
// returns the path.
func writeInitramfs(arch *initramfs.Archive, cacheDir string) (string, error) {
	var buf bytes.Buffer
	if _, err := arch.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("lab initramfs: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	path := filepath.Join(cacheDir, "lab", fmt.Sprintf("initramfs-%x.cpio.gz", sum[:6]))
	if _, err := os.Stat(path); err != nil {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
			return "", fmt.Errorf("lab initramfs: %w", err)
		}
		pruneOld(filepath.Join(cacheDir, "lab", "initramfs-*"), keepInitramfs)
	}
	os.Chtimes(path, time.Now(), time.Now()) // most recently used: kept by pruneOld
	return path, nil
}

// Variant builds (or finds) a kernel from the lab fragment with some options
// changed (see kernel.Variant).
func (l *Lab) Variant(ctx context.Context, set map[string]string) (*kernel.Build, error) {
	return kernel.Ensure(ctx, kernel.Options{CacheDir: l.cacheDir, Fragment: kernel.Variant(set), Progress: l.progress})
}

// How many of the newest log directories and initramfs files a lab keeps.
const (
	keepLogs      = 20
	keepInitramfs = 6
)

// pruneGrace is how long an entry is kept whatever its rank: another lab run
// (a long bench, a second engineer's tests) may still be using it.
const pruneGrace = 6 * time.Hour

// pruneOld removes all but the keep newest entries matching pattern (a directory:
// its entries), and of those only the ones untouched for pruneGrace.
func pruneOld(pattern string, keep int) {
	if st, err := os.Stat(pattern); err == nil && st.IsDir() {
		pattern = filepath.Join(pattern, "*")
	}
	paths, _ := filepath.Glob(pattern)
	type entry struct {
		path string
		mod  time.Time
	}
	var es []entry
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			es = append(es, entry{p, st.ModTime()})
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].mod.After(es[j].mod) })
	for i := keep; i < len(es); i++ {
		if time.Since(es[i].mod) > pruneGrace {
			os.RemoveAll(es[i].path)
		}
	}
}

// Guest describes one boot.
type Guest struct {
	Name      string // log file name
	Append    string // kernel parameters after the lab's defaults
	CPUs      int    // default 2
	MemoryMiB int    // default 1024
	Disks     []qemu.Disk
	Echo      io.Writer         // if set, the console is copied here as it arrives
	Kernel    string            // default: the lab kernel
	Files     map[string][]byte // added to the lab initramfs for this guest
	S3        bool              // ACPI S3 (suspend to RAM), woken through the QEMU monitor
}

// DefaultAppend is every guest's command line before Guest.Append.
const DefaultAppend = "console=ttyS0 panic=-1 oops=panic"

// Boot starts a guest. The caller must Kill or Wait it.
func (l *Lab) Boot(ctx context.Context, g Guest) (*qemu.VM, error) {
	if g.CPUs == 0 {
		g.CPUs = 2
	}
	if g.MemoryMiB == 0 {
		g.MemoryMiB = 1024
	}
	if g.Kernel == "" {
		g.Kernel = l.Kernel.BzImage
	}
	initrd := l.Initramfs
	if len(g.Files) > 0 {
		ropt := l.ropt
		ropt.Files = map[string][]byte{}
		for k, v := range l.ropt.Files {
			ropt.Files[k] = v
		}
		for k, v := range g.Files {
			ropt.Files[k] = v
		}
		arch, err := initramfs.Kjump(ropt)
		if err != nil {
			return nil, err
		}
		if initrd, err = writeInitramfs(arch, l.cacheDir); err != nil {
			return nil, err
		}
	}
	// In use: the newest for pruneOld, in this run and in any other.
	os.Chtimes(initrd, time.Now(), time.Now())
	return qemu.Start(ctx, qemu.Config{
		Kernel:    g.Kernel,
		Initrd:    initrd,
		Append:    DefaultAppend + " " + g.Append,
		MemoryMiB: g.MemoryMiB,
		CPUs:      g.CPUs,
		Disks:     g.Disks,
		Log:       filepath.Join(l.LogDir, g.Name+".log"),
		Echo:      g.Echo,
		S3:        g.S3,
		Monitor:   g.S3,
	})
}
