package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kjump/kjump/initramfs"
	"github.com/kjump/kjump/lab/kernel"
	"github.com/kjump/kjump/lab/qemu"
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
	ropt := initramfs.Options{Kjump: self}
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
	stamp := time.Now().Format("20060102-150405")
	l := &Lab{
		Kernel:    k,
		Initramfs: filepath.Join(opt.CacheDir, "lab", "initramfs-"+stamp+".cpio.gz"),
		Busybox:   ropt.Busybox != "",
		LogDir:    filepath.Join(opt.CacheDir, "lab", "logs", stamp),
	}
	if err := os.MkdirAll(l.LogDir, 0o755); err != nil {
		return nil, err
	}
	if err := arch.WriteFile(l.Initramfs); err != nil {
		return nil, fmt.Errorf("lab initramfs: %w", err)
	}
	fmt.Fprintf(progress, "initramfs: %s (kjump as /init%s)\n", l.Initramfs, map[bool]string{true: ", busybox", false: ""}[l.Busybox])
	return l, nil
}

// Guest describes one boot.
type Guest struct {
	Name      string // log file name
	Append    string // kernel parameters after the lab's defaults
	CPUs      int    // default 2
	MemoryMiB int    // default 1024
	Disks     []qemu.Disk
	Echo      io.Writer // if set, the console is copied here as it arrives
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
	return qemu.Start(ctx, qemu.Config{
		Kernel:    l.Kernel.BzImage,
		Initrd:    l.Initramfs,
		Append:    DefaultAppend + " " + g.Append,
		MemoryMiB: g.MemoryMiB,
		CPUs:      g.CPUs,
		Disks:     g.Disks,
		Log:       filepath.Join(l.LogDir, g.Name+".log"),
		Echo:      g.Echo,
	})
}
