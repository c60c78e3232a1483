package lab

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kjump/kjump/dist"
	"github.com/kjump/kjump/lab/kernel"
)

// The real machine: Debian 12 from debootstrap on a raw disk image, booted by
// SeaBIOS and GRUB from its own disk, running the Debian-config kernel
// (kernel.Real), with kjump installed by following dist/README.md
// (real/install.sh). Scenarios boot copies of the image.
//
//go:embed real/*
var realFiles embed.FS

const (
	debianSuite  = "bookworm"
	debianMirror = "http://deb.debian.org/debian"
	// What the issue asks for (systemd, udev, initramfs-tools, grub-pc,
	// e2fsprogs), plus dbus (logind, so that 'systemctl hibernate' goes the
	// usual way), zstd (initramfs-tools' default compression), kmod, iproute2,
	// ping and procps (the scenarios' checks).
	debianInclude = "systemd,systemd-sysv,udev,dbus,initramfs-tools,zstd,kmod,grub-pc,e2fsprogs,iproute2,iputils-ping,procps"
	// realRecipe changes whenever the image's build steps change.
	realRecipe   = "kjump-real-machine-1"
	realDiskSize = 4 << 30
	// RealImageSerial names the image disk in the guest: /dev/disk/by-id/virtio-kjump-image.
	RealImageSerial = "kjump-image"
)

// RealMachine is the real machine's kernel and system disk image.
type RealMachine struct {
	Kernel *kernel.Build
	Disk   string // the installed system, raw; never booted itself
}

// Real builds (or finds in the cache) the real machine.
func (l *Lab) Real(ctx context.Context) (*RealMachine, error) {
	if l.real != nil {
		return l.real, nil
	}
	k, err := kernel.Ensure(ctx, kernel.Real(l.cacheDir, l.progress))
	if err != nil {
		return nil, fmt.Errorf("real machine's kernel: %w", err)
	}
	fmt.Fprintf(l.progress, "real: kernel %s %s (Debian's config + CONFIG_KEXEC_JUMP)\n", k.Release, k.BzImage)
	base, baseKey, err := l.debootstrap(ctx)
	if err != nil {
		return nil, err
	}
	disk, err := l.realDisk(ctx, k, base, baseKey)
	if err != nil {
		return nil, err
	}
	l.real = &RealMachine{Kernel: k, Disk: disk}
	return l.real, nil
}

// debootstrap makes (once) the Debian 12 tree the image starts from.
func (l *Lab) debootstrap(ctx context.Context) (dir, key string, err error) {
	h := sha256.Sum256([]byte(strings.Join([]string{realRecipe, debianSuite, debianMirror, debianInclude}, "\n")))
	key = hex.EncodeToString(h[:])[:16]
	dir = filepath.Join(l.cacheDir, "real", "debootstrap-"+key)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, key, nil
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return "", "", err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, key, nil
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	fmt.Fprintf(l.progress, "real: debootstrap %s into %s (a few minutes)\n", debianSuite, dir)
	logPath := dir + ".log"
	if err := runLogged(ctx, logPath, "debootstrap", "--variant=minbase", "--include="+debianInclude, debianSuite, tmp, debianMirror); err != nil {
		return "", "", fmt.Errorf("debootstrap (apt-get install debootstrap; needs the network): %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return "", "", err
	}
	os.RemoveAll(dir)
	return dir, key, os.Rename(tmp, dir)
}

// realDisk makes (once per kernel, base, kjump binary and dist/) the system
// disk image: an MBR disk with one ext4 partition, the kernel installed as
// Debian's package installs it, GRUB in the MBR, kjump installed by
// real/install.sh.
func (l *Lab) realDisk(ctx context.Context, k *kernel.Build, base, baseKey string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\nkernel %s\nbase %s\n", realRecipe, k.Key, baseKey)
	for _, f := range []string{self} {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	for _, fsys := range []fs.FS{realFiles, dist.Files} {
		fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := fs.ReadFile(fsys, p)
				fmt.Fprintf(h, "%s %x\n", p, sha256.Sum256(b))
			}
			return nil
		})
	}
	key := hex.EncodeToString(h.Sum(nil))[:16]
	img := filepath.Join(l.cacheDir, "real", "disk-"+key+".raw")
	if _, err := os.Stat(img); err == nil {
		return img, nil
	}
	unlock, err := lockFile(img + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(img); err == nil {
		return img, nil
	}
	fmt.Fprintf(l.progress, "real: installing Debian 12, the kernel and kjump into %s\n", img)
	start := time.Now()
	tmp := img + ".tmp"
	logPath := img + ".log"
	os.Remove(logPath)
	if err := buildRealDisk(ctx, tmp, logPath, k, base, self); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("real machine's disk (log: %s): %w", logPath, err)
	}
	if err := os.Rename(tmp, img); err != nil {
		return "", err
	}
	fmt.Fprintf(l.progress, "real: disk image made in %s\n", time.Since(start).Round(time.Second))
	pruneOld(filepath.Join(l.cacheDir, "real", "disk-*.raw"), 2)
	return img, nil
}

func buildRealDisk(ctx context.Context, img, logPath string, k *kernel.Build, base, kjump string) (err error) {
	run := func(name string, args ...string) error { return runLogged(ctx, logPath, name, args...) }
	f, err := os.Create(img)
	if err != nil {
		return err
	}
	err = f.Truncate(realDiskSize)
	f.Close()
	if err != nil {
		return err
	}
	sfdisk := exec.CommandContext(ctx, "sfdisk", "-q", img)
	sfdisk.Stdin = strings.NewReader("label: dos\nstart=2048, type=83, bootable\n")
	if out, err := sfdisk.CombinedOutput(); err != nil {
		return fmt.Errorf("sfdisk (apt-get install fdisk): %w: %s", err, out)
	}
	out, err := exec.CommandContext(ctx, "losetup", "-P", "--show", "-f", img).Output()
	if err != nil {
		return fmt.Errorf("losetup: %w", err)
	}
	loop := strings.TrimSpace(string(out))
	defer exec.Command("losetup", "-d", loop).Run()
	part := loop + "p1"
	if _, err := os.Stat(part); err != nil {
		// No udev here: ask for the partition's node.
		exec.Command("partx", "-a", loop).Run()
		for i := 0; i < 50; i++ {
			if _, err = os.Stat(part); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("partition of %s: %w", loop, err)
		}
	}
	if err := run("mkfs.ext4", "-q", "-L", "kjump-root", part); err != nil {
		return err
	}
	mnt, err := os.MkdirTemp("", "kjump-real-")
	if err != nil {
		return err
	}
	defer os.Remove(mnt)
	if err := run("mount", part, mnt); err != nil {
		return err
	}
	var mounted []string
	defer func() {
		for i := len(mounted) - 1; i >= 0; i-- {
			if uerr := exec.Command("umount", mounted[i]).Run(); uerr != nil && err == nil {
				err = fmt.Errorf("umount %s: %w", mounted[i], uerr)
			}
		}
		if uerr := exec.Command("umount", mnt).Run(); uerr != nil && err == nil {
			err = fmt.Errorf("umount %s: %w", mnt, uerr)
		}
	}()
	if err := run("cp", "-a", base+"/.", mnt); err != nil {
		return err
	}
	os.Remove(filepath.Join(mnt, ".complete"))

	// The kernel, as its Debian package installs it (then its postinst
	// makes the initramfs, below).
	rel := k.Release
	for _, c := range []struct{ from, to string }{
		{k.BzImage, "boot/vmlinuz-" + rel},
		{k.Config, "boot/config-" + rel},
		{k.SystemMap, "boot/System.map-" + rel},
	} {
		if err := run("install", "-m", "0644", c.from, filepath.Join(mnt, c.to)); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(mnt, "usr/lib/modules"), 0o755); err != nil {
		return err
	}
	if err := run("cp", "-a", filepath.Join(k.Modules, "lib/modules", rel), filepath.Join(mnt, "usr/lib/modules/")); err != nil {
		return err
	}
	// The lab's files, and a kjump source tree: the dist/ files and the
	// binary step 1 of dist/README.md builds.
	if err := copyFS(realFiles, "real", filepath.Join(mnt, "root/lab")); err != nil {
		return err
	}
	if err := copyFS(dist.Files, ".", filepath.Join(mnt, "root/kjump/dist")); err != nil {
		return err
	}
	if err := run("install", "-m", "0755", kjump, filepath.Join(mnt, "root/kjump/kjump")); err != nil {
		return err
	}
	for _, m := range [][]string{
		{"--bind", "/dev", "dev"}, {"-t", "devpts", "devpts", "dev/pts"}, {"-t", "proc", "proc", "proc"}, {"-t", "sysfs", "sysfs", "sys"},
	} {
		target := filepath.Join(mnt, m[len(m)-1])
		if err := run("mount", append(m[:len(m)-1:len(m)-1], target)...); err != nil {
			return err
		}
		mounted = append(mounted, target)
	}
	chroot := func(script string, env ...string) error {
		args := append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive",
			// Installing into a machine that is not running: systemctl
			// works offline (daemon-reload is a no-op).
			"SYSTEMD_OFFLINE=1"}, env...)
		args = append(args, "chroot", mnt, "/bin/sh", "-c", script)
		return runLogged(ctx, logPath, "env", append([]string{"-i"}, args...)...)
	}
	if err := chroot("sh /root/lab/setup.sh"); err != nil {
		return err
	}
	// What the kernel package's postinst does.
	if err := chroot("update-initramfs -c -k " + rel); err != nil {
		return err
	}
	if err := chroot("grub-install --target=i386-pc " + loop); err != nil {
		return err
	}
	// kjump, by dist/README.md. The machine is not running its own kernel
	// here: 'uname -r' must say which one it would be.
	shim := filepath.Join(mnt, "usr/local/bin/uname")
	if err := os.WriteFile(shim, []byte("#!/bin/sh\n[ \"$1\" = -r ] && { echo "+rel+"; exit 0; }\nexec /usr/bin/uname \"$@\"\n"), 0o755); err != nil {
		return err
	}
	// grub-mkconfig names the root filesystem by UUID only when
	// /dev/disk/by-uuid has it, which udev would make; there is no udev here.
	uuid, err := exec.CommandContext(ctx, "blkid", "-s", "UUID", "-o", "value", part).Output()
	if err != nil || len(strings.TrimSpace(string(uuid))) == 0 {
		return fmt.Errorf("blkid %s: %v", part, err)
	}
	byUUID := filepath.Join("/dev/disk/by-uuid", strings.TrimSpace(string(uuid)))
	os.MkdirAll(filepath.Dir(byUUID), 0o755)
	if err := os.Symlink(part, byUUID); err != nil && !os.IsExist(err) {
		return err
	}
	defer os.Remove(byUUID)
	if err := chroot("cd /root/kjump && sh /root/lab/install.sh", "KJUMP_LAB_DEVICE=/dev/disk/by-id/virtio-"+RealImageSerial); err != nil {
		return err
	}
	if err := os.Remove(shim); err != nil {
		return err
	}
	return nil
}

// copyFS copies the files under dir of fsys to dest.
func copyFS(fsys fs.FS, dir, dest string) error {
	return fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		target := filepath.Join(dest, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(string(b), "#!") {
			mode = 0o755
		}
		return os.WriteFile(target, b, mode)
	})
}

// runLogged runs a command with its output appended to the log file.
func runLogged(ctx context.Context, logPath, name string, args ...string) error {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "+ %s %s\n", name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w (log: %s)", name, strings.Join(args, " "), err, logPath)
	}
	return nil
}

// lockFile takes an exclusive flock on path; the returned function drops it.
func lockFile(p string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	return kernel.Lock(p)
}
