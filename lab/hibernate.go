package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kjump/kjump/hibernate"
	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/lab/qemu"
	"github.com/kjump/kjump/memmap"
)

func init() {
	register(Scenario{
		Name:    "hibernate",
		Summary: "hibernate to a raw disk, QEMU exits, a new QEMU boots the resume kernel: the counter carries on, tmpfs and a dirty ext4 write are intact",
		Run:     hibernateScenario,
	})
}

// The hibernation layout of a lab guest: the first kernel reserves 240 MiB at
// 16 MiB (memmap=240M$16M, which KASLR avoids) for the second kernel and,
// after the power-off, for the resume kernel that QEMU boots at 16 MiB. The
// region ends on a 64 MiB boundary, so no "RAM buffer" resource (which
// IO_STRICT_DEVMEM forbids mapping) covers saved memory.
var hibernateRegion = memmap.Range{Start: 16 << 20, Size: 240 << 20}

func hibernateAppend() string {
	return fmt.Sprintf("memmap=%dM$%dM", hibernateRegion.Size>>20, hibernateRegion.Start>>20)
}

// hibernateDisks makes an ext4 disk for the first kernel to mount (vda) and a
// raw disk for the image (vdb).
func (l *Lab) hibernateDisks(name string) ([]qemu.Disk, error) {
	fs, err := l.disk(name+"-fs", 512<<20)
	if err != nil {
		return nil, err
	}
	if err := mkfs(fs); err != nil {
		return nil, err
	}
	img, err := l.disk(name+"-image", 1<<30)
	if err != nil {
		return nil, err
	}
	return []qemu.Disk{{Path: fs}, {Path: img}}, nil
}

// hibernateJob is job as the lab runs it: with l.parked, /lab/hibernate.sh
// parks a writer kernel first and hibernates through it (--parked).
func (l *Lab) hibernateJob(job string) string {
	if rest, ok := strings.CutPrefix(job, "/lab/hibernate.sh"); ok && l.parked && !strings.HasPrefix(rest, " --parked") {
		return "/lab/hibernate.sh --parked" + rest
	}
	return job
}

// hibernateSave boots the first kernel running job (which hibernates), and
// waits for the second kernel to write the image and power the guest off. A
// job with --parked must have hibernated through the parked writer.
func (l *Lab) hibernateSave(ctx context.Context, name string, g Guest, job string) (*qemu.VM, error) {
	job = l.hibernateJob(job)
	g.Name = name + "-save"
	g.Append = strings.TrimSpace(hibernateAppend() + " " + g.Append + ` kjump.run="` + job + `"`)
	vm, err := l.Boot(ctx, g)
	if err != nil {
		return nil, err
	}
	defer vm.Kill()
	idx, line, err := vm.Expect(600*time.Second, `hibernate-write: image [0-9a-f]+: `, `kjump-init: FAIL: `, `Kernel panic`)
	if err != nil {
		return vm, err
	}
	if idx != 0 {
		return vm, fmt.Errorf("hibernating: %s (log: %s)", strings.TrimSpace(line), vm.LogPath())
	}
	if err := powerOff(vm); err != nil {
		return vm, err
	}
	if strings.Contains(job, " --parked") && !strings.Contains(vm.Console(), "by the parked writer; poweroff") {
		return vm, fmt.Errorf("the image was not written by the parked writer (log: %s)", vm.LogPath())
	}
	return vm, nil
}

// resumeGuest is the resume kernel's boot: confined to the region, running
// 'kjump resume' (plus args) as its job; when that fails, init powers off.
// args are resume's flags after "--from /dev/vdb", or all of them when they
// name --from themselves.
func resumeGuest(name string, g Guest, args string) Guest {
	g.Name = name + "-resume"
	if !strings.Contains(args, "--from") {
		args = "--from /dev/vdb " + args
	}
	g.Append = strings.TrimSpace(hibernate.ResumeCommandLine(hibernateRegion) + " " + g.Append +
		` kjump.run="resume ` + args + `" kjump.then=poweroff`)
	return g
}

func hibernateScenario(ctx context.Context, l *Lab) error {
	// A new QEMU process: the resume kernel restores the first kernel, whose
	// script then checks that everything carried on and powers off.
	g, err := l.saved(ctx, "hibernate", Guest{}, "/lab/hibernate.sh")
	if err != nil {
		return err
	}
	return l.resumeOK(ctx, "hibernate", g, "", "/lab/hibernate.sh")
}

// mkfs makes an ext4 filesystem on a disk image on the host.
func mkfs(img string) error {
	if b, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "kjump-lab", img).CombinedOutput(); err != nil {
		return fmt.Errorf("mkfs.ext4 %s: %v\n%s", img, err, b)
	}
	return nil
}

// fsck checks an ext4 disk image on the host.
func fsck(img string) error {
	if b, err := exec.Command("e2fsck", "-f", "-n", img).CombinedOutput(); err != nil {
		return fmt.Errorf("e2fsck -f -n %s: %v\n%s", img, err, b)
	}
	return nil
}

func init() {
	register(Scenario{
		Name:    "hibernate-twice",
		Summary: "an image that was resumed once is refused the second time (resume is one-shot)",
		Run:     hibernateTwice,
	})
	register(Scenario{
		Name:    "hibernate-corrupt",
		Summary: "byte flips in the header, map, chunks and commit record are refused before the image is consumed; with the bytes put back it resumes",
		Run:     hibernateCorrupt,
	})
	register(Scenario{
		Name:    "hibernate-mismatch",
		Summary: "another kernel build, other RAM or other CPUs refuse the image; the right machine then resumes it",
		Run:     hibernateMismatch,
	})
	register(Scenario{
		Name:    "hibernate-stale-fs",
		Summary: "a saved filesystem mounted by another boot in between refuses the image; the disk stays consistent",
		Run:     hibernateStaleFS,
	})
	register(Scenario{
		Name:    "hibernate-encrypted",
		Summary: "an AES-256-GCM image: a wrong key and tampered bytes are refused, the right key resumes",
		Run:     hibernateEncrypted,
	})
}

// saved makes the disks and hibernates a first kernel running job onto them.
func (l *Lab) saved(ctx context.Context, name string, g Guest, job string) (Guest, error) {
	disks, err := l.hibernateDisks(name)
	if err != nil {
		return g, err
	}
	g.Disks = disks
	_, err = l.hibernateSave(ctx, name, g, job)
	return g, err
}

// resumeOK boots the resume kernel and waits for the first kernel's job to
// finish after the jump back, and for the power-off; the ext4 disk must be
// clean.
func (l *Lab) resumeOK(ctx context.Context, name string, g Guest, args, job string) error {
	_, err := l.resumed(ctx, name, g, args, job)
	return err
}

// resumed is resumeOK that returns the stopped VM for more checks.
func (l *Lab) resumed(ctx context.Context, name string, g Guest, args, job string) (*qemu.VM, error) {
	vm, err := l.Boot(ctx, resumeGuest(name, g, args))
	if err != nil {
		return nil, err
	}
	defer vm.Kill()
	if err := expectOK(vm, l.hibernateJob(job), 900*time.Second); err != nil {
		return vm, err
	}
	if err := powerOff(vm); err != nil {
		return vm, err
	}
	return vm, fsck(g.Disks[0].Path)
}

// resumeRefused boots the resume kernel and expects 'kjump resume' to refuse
// with an error containing want, before the image is consumed and before the
// jump (a chunk that fails is found while restoring, which is harmless: nothing
// runs in the restored memory until the jump), and the guest to boot on (here:
// power off).
func (l *Lab) resumeRefused(ctx context.Context, name string, g Guest, args, want string) error {
	vm, err := l.Boot(ctx, resumeGuest(name, g, args))
	if err != nil {
		return err
	}
	defer vm.Kill()
	if _, _, err := vm.Expect(300*time.Second, `kjump-init: FAIL: resume `); err != nil {
		return fmt.Errorf("resume was not refused: %w", err)
	}
	if err := powerOff(vm); err != nil {
		return err
	}
	console := vm.Console()
	if !strings.Contains(console, want) {
		return fmt.Errorf("resume refused, but without saying %q (log: %s)", want, vm.LogPath())
	}
	if strings.Contains(console, "resume: restored") || strings.Contains(console, "jumping back") {
		return fmt.Errorf("resume refused only after it had restored everything (log: %s)", vm.LogPath())
	}
	return nil
}

func hibernateTwice(ctx context.Context, l *Lab) error {
	g, err := l.saved(ctx, "twice", Guest{}, "/lab/hibernate.sh")
	if err != nil {
		return err
	}
	if err := l.resumeOK(ctx, "twice", g, "", "/lab/hibernate.sh"); err != nil {
		return err
	}
	return l.resumeRefused(ctx, "twice-again", g, "", "already used to resume")
}

func hibernateCorrupt(ctx context.Context, l *Lab) error {
	g, err := l.saved(ctx, "corrupt", Guest{}, "/lab/hibernate.sh")
	if err != nil {
		return err
	}
	img := g.Disks[1].Path
	length, err := imageLength(img)
	if err != nil {
		return err
	}
	// Spread over the header, the page map, chunk headers and data, and the
	// commit record; the offsets are fixed so a failure can be rerun.
	offsets := []int64{100, 4096 + 8, length / 3, length * 2 / 3, length - 4096 + 40}
	for i, off := range offsets {
		undo, err := flipByte(img, off)
		if err != nil {
			return err
		}
		if err := l.resumeRefused(ctx, fmt.Sprintf("corrupt-%d", i), g, "", "image"); err != nil {
			return fmt.Errorf("byte %d of %d flipped: %w", off, length, err)
		}
		if err := undo(); err != nil {
			return err
		}
	}
	return l.resumeOK(ctx, "corrupt", g, "", "/lab/hibernate.sh")
}

func hibernateMismatch(ctx context.Context, l *Lab) error {
	g, err := l.saved(ctx, "mismatch", Guest{}, "/lab/hibernate.sh")
	if err != nil {
		return err
	}
	other, err := l.Variant(ctx, map[string]string{"KEXEC_JUMP": "n"})
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		g    Guest
		want string
	}{
		{"kernel", Guest{Disks: g.Disks, Kernel: other.BzImage}, "boot the kernel that hibernated"},
		{"ram", Guest{Disks: g.Disks, MemoryMiB: 1536}, "memory map differs"},
		{"cpus", Guest{Disks: g.Disks, CPUs: 1}, "possible CPUs"},
	} {
		if err := l.resumeRefused(ctx, "mismatch-"+c.name, c.g, "", c.want); err != nil {
			return fmt.Errorf("other %s: %w", c.name, err)
		}
	}
	return l.resumeOK(ctx, "mismatch", g, "", "/lab/hibernate.sh")
}

func hibernateStaleFS(ctx context.Context, l *Lab) error {
	g, err := l.saved(ctx, "stale-fs", Guest{}, "/lab/hibernate.sh")
	if err != nil {
		return err
	}
	// Another boot mounts the saved filesystem (recovering its journal) and
	// writes to it.
	if _, err := l.RunJob(ctx, Guest{Name: "stale-fs-other-boot", Disks: g.Disks}, "/lab/mount-write.sh", 120*time.Second); err != nil {
		return err
	}
	if err := l.resumeRefused(ctx, "stale-fs", g, "", "changed since the image was written"); err != nil {
		return err
	}
	return fsck(g.Disks[0].Path)
}

func hibernateEncrypted(ctx context.Context, l *Lab) error {
	files := map[string][]byte{
		"/lab/key":       bytes.Repeat([]byte("k"), 32),
		"/lab/wrong-key": bytes.Repeat([]byte("w"), 32),
	}
	g, err := l.saved(ctx, "encrypted", Guest{Files: files}, "/lab/hibernate.sh --key-file /lab/key")
	if err != nil {
		return err
	}
	img := g.Disks[1].Path
	if err := l.resumeRefused(ctx, "encrypted-no-key", g, "", "missing or wrong key"); err != nil {
		return fmt.Errorf("without a key: %w", err)
	}
	if err := l.resumeRefused(ctx, "encrypted-wrong-key", g, "--key-file /lab/wrong-key", "missing or wrong key"); err != nil {
		return fmt.Errorf("wrong key: %w", err)
	}
	length, err := imageLength(img)
	if err != nil {
		return err
	}
	undo, err := flipByte(img, length/2)
	if err != nil {
		return err
	}
	if err := l.resumeRefused(ctx, "encrypted-tampered", g, "--key-file /lab/key", "image"); err != nil {
		return fmt.Errorf("tampered: %w", err)
	}
	if err := undo(); err != nil {
		return err
	}
	return l.resumeOK(ctx, "encrypted", g, "--key-file /lab/key", "/lab/hibernate.sh --key-file /lab/key")
}

// imageLength reads the total length of the image on a disk from its header.
func imageLength(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	s, err := image.Inspect(f, st.Size())
	if err != nil {
		return 0, fmt.Errorf("the image on %s: %w", path, err)
	}
	return int64(s.Length), nil
}

// flipByte inverts one byte of a file and returns how to put it back.
func flipByte(path string, off int64) (func() error, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, err
	}
	orig := b[0]
	if _, err := f.WriteAt([]byte{^orig}, off); err != nil {
		return nil, err
	}
	return func() error {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteAt([]byte{orig}, off)
		return err
	}, nil
}

func init() {
	register(Scenario{
		Name:    "hibernate-powercut",
		Summary: "QEMU killed at 12 points while the image is written: the next boot refuses it, says why, boots on; the disk is consistent",
		Run:     hibernatePowercut,
	})
}

// powercutPoints are the write progress (percent) after which QEMU is killed.
var powercutPoints = []int{0, 3, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}

func hibernatePowercut(ctx context.Context, l *Lab) error {
	disks, err := l.hibernateDisks("powercut")
	if err != nil {
		return err
	}
	g := Guest{Disks: disks}
	progress := regexp.MustCompile(`hibernate-write: +(\d+)%`)
	cut := 0
	for _, point := range powercutPoints {
		name := fmt.Sprintf("powercut-%d", point)
		sg := g
		sg.Name = name + "-save"
		sg.Append = hibernateAppend() + ` kjump.run="/lab/hibernate.sh"`
		vm, err := l.Boot(ctx, sg)
		if err != nil {
			return err
		}
		committed := false
		for {
			idx, line, err := vm.Expect(600*time.Second, `hibernate-write: +\d+%`, `hibernate-write: image `, `kjump-init: FAIL: `, `Kernel panic`)
			if err != nil {
				vm.Kill()
				return err
			}
			if idx == 1 {
				committed = true
				break
			}
			if idx > 1 {
				vm.Kill()
				return fmt.Errorf("%s: %s (log: %s)", name, strings.TrimSpace(line), vm.LogPath())
			}
			if pct, _ := strconv.Atoi(progress.FindStringSubmatch(line)[1]); pct >= point {
				break
			}
		}
		vm.Kill() // the power cut
		if committed {
			// The write finished before the cut could land: nothing to test here.
			continue
		}
		cut++
		// The next boot: resume refuses and says why, then the boot goes on
		// and mounts the disk (replaying its journal) as a normal boot would.
		rg := g
		rg.Name = name + "-boot"
		rg.Append = hibernate.ResumeCommandLine(hibernateRegion) + ` kjump.run="resume --from /dev/vdb" kjump.run=/lab/mount-write.sh`
		rvm, err := l.Boot(ctx, rg)
		if err != nil {
			return err
		}
		if _, _, err := rvm.Expect(300*time.Second, `kjump-init: FAIL: resume `); err != nil {
			rvm.Kill()
			return fmt.Errorf("%s: resume did not refuse: %w", name, err)
		}
		if _, _, err := rvm.Expect(120*time.Second, `kjump-init: ok: /lab/mount-write.sh`); err != nil {
			rvm.Kill()
			return fmt.Errorf("%s: the boot did not go on after the refusal: %w", name, err)
		}
		if err := powerOff(rvm); err != nil {
			return err
		}
		console := rvm.Console()
		if !strings.Contains(console, "incomplete") && !strings.Contains(console, "not a kjump hibernation image") {
			return fmt.Errorf("%s: resume refused without saying the image is incomplete (log: %s)", name, rvm.LogPath())
		}
		if err := fsck(disks[0].Path); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if cut < 10 {
		return fmt.Errorf("only %d of %d power cuts landed while the image was written", cut, len(powercutPoints))
	}
	return nil
}

func init() {
	register(Scenario{
		Name:    "hibernate-full",
		Summary: "hibernate with 90% of RAM in use by a process; after the resume every one of its pages is intact",
		Run: func(ctx context.Context, l *Lab) error {
			g, err := l.saved(ctx, "full", Guest{}, "/lab/hibernate.sh --hog 90")
			if err != nil {
				return err
			}
			return l.resumeOK(ctx, "full", g, "", "/lab/hibernate.sh --hog 90")
		},
	})
}

func init() {
	register(Scenario{
		Name:    "hibernate-file",
		Summary: "hibernate into a file of the mounted ext4 filesystem (FIEMAP extents written raw); the resume kernel finds it by disk offset and resumes",
		Run:     hibernateFile,
	})
}

func hibernateFile(ctx context.Context, l *Lab) error {
	disks, err := l.hibernateDisks("file")
	if err != nil {
		return err
	}
	g := Guest{Disks: disks}
	const job = "/lab/hibernate.sh --file /mnt/hibernate.img"
	vm, err := l.hibernateSave(ctx, "file", g, job)
	if err != nil {
		return err
	}
	m := regexp.MustCompile(`kjump resume --from (/dev/vda --offset 0x[0-9a-f]+)'`).FindStringSubmatch(vm.Console())
	if m == nil {
		return fmt.Errorf("kjump hibernate did not say where the image file is (log: %s)", vm.LogPath())
	}
	return l.resumeOK(ctx, "file", g, "--from "+m[1], job)
}
