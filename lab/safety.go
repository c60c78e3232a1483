package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/internal/hibernatewrite"
	"github.com/kjump/kjump/internal/imagetest"
	"github.com/kjump/kjump/lab/qemu"
)

// Scenarios of the safety rules: nothing kjump does may lose a saved system or
// a disk, and a command reports success only when it happened.
func init() {
	register(Scenario{
		Name:    "snapshot-refuse",
		Summary: "kjump snapshot refuses a mounted device, active swap, a missing device and bad options before it loads anything; the mounted data is intact, e2fsck clean",
		Run:     snapshotRefuse,
	})
	register(Scenario{
		Name:    "hibernate-writer-crash",
		Summary: "the second kernel's writer is killed halfway and right after committing: kjump hibernate comes back, fails saying so, and no resumable image is left",
		Run:     hibernateWriterCrash,
	})
	register(Scenario{
		Name:    "hibernate-resume-fail",
		Summary: "a chunk that passes its CRC but does not decode, then an I/O error mid-restore: each resume fails with the image still resumable; the next resume succeeds",
		Run:     hibernateResumeFail,
	})
	register(Scenario{
		Name:    "hibernate-smp8",
		Summary: "8 vCPUs, 90% of RAM in use, the 240 MiB region: the writer and the resume size their workers from MemAvailable; every page is intact",
		Run:     hibernateSMP8,
	})
	register(Scenario{
		Name:    "hibernate-small-target",
		Summary: "an image disk smaller than the memory in use is refused before anything is loaded, with the size it needs",
		Run:     hibernateSmallTarget,
	})
}

func snapshotRefuse(ctx context.Context, l *Lab) error {
	fs, err := l.disk("snapshot-refuse-fs", 256<<20)
	if err != nil {
		return err
	}
	if err := mkfs(fs); err != nil {
		return err
	}
	var disks []qemu.Disk
	disks = append(disks, qemu.Disk{Path: fs})
	for _, n := range []string{"swap", "free"} {
		p, err := l.disk("snapshot-refuse-"+n, 128<<20)
		if err != nil {
			return err
		}
		disks = append(disks, qemu.Disk{Path: p})
	}
	if _, err := l.RunJob(ctx, Guest{Name: "snapshot-refuse", Disks: disks}, "/lab/snapshot-refuse.sh", 180*time.Second); err != nil {
		return err
	}
	return fsck(fs)
}

func hibernateWriterCrash(ctx context.Context, l *Lab) error {
	for _, fault := range []string{hibernatewrite.FaultMidWrite, hibernatewrite.FaultCommitted} {
		disks, err := l.hibernateDisks("writer-crash-" + fault)
		if err != nil {
			return err
		}
		job := "/lab/writer-crash.sh " + fault
		g := Guest{Name: "writer-crash-" + fault, Disks: disks, Append: hibernateAppend() + ` kjump.run="` + job + `"`}
		vm, err := l.Boot(ctx, g)
		if err != nil {
			return err
		}
		// The second kernel's hibernate-write FAILs on purpose: only the
		// first kernel's job must be ok.
		idx, line, err := vm.Expect(600*time.Second, `kjump-init: ok: `+regexpQuote(job)+` \(`, `kjump-init: FAIL: `+regexpQuote(job), `Kernel panic`)
		if err == nil && idx != 0 {
			err = fmt.Errorf("%s (log: %s)", strings.TrimSpace(line), vm.LogPath())
		}
		if err == nil {
			err = powerOff(vm)
		}
		vm.Kill()
		if err != nil {
			return fmt.Errorf("%s: %w", fault, err)
		}
		if !strings.Contains(vm.Console(), "kjump.test_fault: killed") {
			return fmt.Errorf("%s: the writer was never killed (log: %s)", fault, vm.LogPath())
		}
		// What the next boot's resume would find, read on the host.
		if err := imageState(disks[1].Path); !errors.Is(err, image.ErrIncomplete) {
			return fmt.Errorf("%s: the image disk holds %v, want a revoked image (ErrIncomplete)", fault, err)
		}
	}
	return nil
}

// imageState opens the image on a disk image file on the host.
func imageState(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = image.Open(f, st.Size(), image.Key{})
	return err
}

func hibernateResumeFail(ctx context.Context, l *Lab) error {
	// Every chunk compressed: one in the second half must be there to spoil
	// (auto stores most of them raw when the disk outruns the guest's zstd).
	const job = "/lab/hibernate.sh --compress zstd"
	g, err := l.saved(ctx, "resume-fail", Guest{}, job)
	if err != nil {
		return err
	}
	img := g.Disks[1].Path
	length, err := imageLength(img)
	if err != nil {
		return err
	}
	orig, err := readAtFile(img, 0, length)
	if err != nil {
		return err
	}
	spoiled := append([]byte(nil), orig...)
	cs, err := imagetest.Chunks(spoiled)
	if err != nil {
		return err
	}
	idx, err := imagetest.SpoilChunk(spoiled, len(cs)/2)
	if err != nil {
		return err
	}
	if err := writeAtFile(img, 0, spoiled); err != nil {
		return err
	}
	if err := l.resumeRefused(ctx, "resume-fail-decode", g, "", "can be resumed again"); err != nil {
		return fmt.Errorf("chunk %d does not decode: %w", idx, err)
	}
	if err := imageState(img); err != nil {
		return fmt.Errorf("after the failed resume the image is %w, want resumable", err)
	}
	if err := writeAtFile(img, 0, orig); err != nil {
		return err
	}
	// A read error in the middle of a chunk in the second half of the image:
	// the header, map and chunk headers read fine, the restore fails there.
	var at int64 = -1
	for _, c := range cs[len(cs)/2:] {
		if c.Stored > 3*4096 {
			at = int64(c.Off) + 8192
			break
		}
	}
	if at < 0 {
		return fmt.Errorf("no chunk of more than 12 KiB in the image to fail a read in")
	}
	cfg := filepath.Join(l.LogDir, "resume-fail-blkdebug.cfg")
	rule := fmt.Sprintf("[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nsector = \"%d\"\n", at/512)
	if err := os.WriteFile(cfg, []byte(rule), 0o644); err != nil {
		return err
	}
	eio := g
	eio.Disks = append([]qemu.Disk(nil), g.Disks...)
	eio.Disks[1].Blkdebug = cfg
	if err := l.resumeRefused(ctx, "resume-fail-eio", eio, "", "can be resumed again"); err != nil {
		return fmt.Errorf("I/O error at byte %d: %w", at, err)
	}
	if err := imageState(img); err != nil {
		return fmt.Errorf("after the I/O error the image is %w, want resumable", err)
	}
	return l.resumeOK(ctx, "resume-fail", g, "", job)
}

func readAtFile(path string, off, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	_, err = f.ReadAt(b, off)
	return b, err
}

func writeAtFile(path string, off int64, b []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(b, off); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func hibernateSMP8(ctx context.Context, l *Lab) error {
	g, err := l.saved(ctx, "smp8", Guest{CPUs: 8}, "/lab/hibernate.sh --hog 90")
	if err != nil {
		return err
	}
	vm, err := l.resumed(ctx, "smp8", g, "", "/lab/hibernate.sh --hog 90")
	if err != nil {
		return err
	}
	if !strings.Contains(vm.Console(), "of memory for reading the image") {
		return fmt.Errorf("the resume kernel did not report its memory budget (log: %s)", vm.LogPath())
	}
	return nil
}

func hibernateSmallTarget(ctx context.Context, l *Lab) error {
	disks, err := l.hibernateDisks("small-target")
	if err != nil {
		return err
	}
	small, err := l.disk("small-target-image", 32<<20)
	if err != nil {
		return err
	}
	disks[1].Path = small
	g := Guest{Name: "small-target", Disks: disks, Append: hibernateAppend()}
	_, err = l.RunJob(ctx, g, "/lab/hibernate-refuse.sh needs_up_to /dev/vdb", 180*time.Second)
	return err
}

func init() {
	register(Scenario{
		Name:    "hibernate-parked",
		Summary: "a writer kernel parked at boot (kjump hibernate --prepare); the system runs on and writes to its disk; kjump hibernate re-enters the parked writer; the resume finds counter, files and the later writes intact; e2fsck clean",
		Run: func(ctx context.Context, l *Lab) error {
			return l.hibernateParked(ctx, "parked", false)
		},
	})
	register(Scenario{
		Name:    "hibernate-parked-stale",
		Summary: "a parked writer whose view went stale: a disk it saw only unmounted is mounted and written after it parked; it drops its caches, fingerprints the disk afresh, and the resume accepts the image; the late write is intact",
		Run: func(ctx context.Context, l *Lab) error {
			return l.hibernateParked(ctx, "parked-stale", true)
		},
	})
	register(Scenario{
		Name:    "snapshot-parked",
		Summary: "a writer kernel parked (kjump hibernate --prepare) takes a live snapshot: kjump snapshot re-enters it and it stays parked; makedumpfile and crash read the dump; then a hibernation through the same parked writer resumes",
		Run:     snapshotParked,
	})
}

// snapshotParked: a snapshot through the parked writer (vdc), then a
// hibernation through it (lab/guest/snapshot-parked.sh).
func snapshotParked(ctx context.Context, l *Lab) error {
	const name, job = "snapshot-parked", "/lab/snapshot-parked.sh"
	disks, err := l.hibernateDisks(name)
	if err != nil {
		return err
	}
	snap, err := l.disk(name+"-snapshot", 512<<20)
	if err != nil {
		return err
	}
	g := Guest{Disks: append(disks, qemu.Disk{Path: snap})}
	vm, err := l.hibernateSave(ctx, name, g, job)
	if err != nil {
		return err
	}
	console := vm.Console()
	for _, want := range []string{"hibernate-write: snapshot taken by the parked writer", "by the parked writer; poweroff"} {
		if !strings.Contains(console, want) {
			return fmt.Errorf("the console lacks %q (log: %s)", want, vm.LogPath())
		}
	}
	if n := strings.Count(console, "hibernate: writer parked in"); n != 1 {
		return fmt.Errorf("a writer parked %d times, want once: the snapshot and the hibernation must use the same one (log: %s)", n, vm.LogPath())
	}
	log, err := dumpDmesg(snap)
	if err != nil {
		return err
	}
	if !strings.Contains(log, "Linux version "+l.Kernel.Release) || !strings.Contains(log, "kjump-lab: snapshot through the parked writer") {
		return fmt.Errorf("makedumpfile's log of the parked writer's snapshot lacks the first kernel's boot or the line written before it")
	}
	out, err := crash(l.Kernel.Vmlinux, snap, "log\nquit\n")
	if err != nil {
		return err
	}
	if !strings.Contains(out, "kjump-lab: snapshot through the parked writer") {
		return fmt.Errorf("crash's log of the parked writer's snapshot lacks the line written before it:\n%s", tail(out, 20))
	}
	return l.resumeOK(ctx, name, g, "", job)
}

// hibernateParked hibernates through a parked writer; with late, a third ext4
// disk (vdc) is mounted and written only after the writer parked.
func (l *Lab) hibernateParked(ctx context.Context, name string, late bool) error {
	disks, err := l.hibernateDisks(name)
	if err != nil {
		return err
	}
	if late {
		p, err := l.disk(name+"-late", 64<<20)
		if err != nil {
			return err
		}
		if err := mkfs(p); err != nil {
			return err
		}
		disks = append(disks, qemu.Disk{Path: p})
	}
	g := Guest{Disks: disks}
	job := "/lab/hibernate.sh --parked"
	if late {
		job += " --late"
	}
	if _, err := l.hibernateSave(ctx, name, g, job); err != nil {
		return err
	}
	if err := l.resumeOK(ctx, name, g, "", job); err != nil {
		return err
	}
	if late {
		return fsck(disks[2].Path)
	}
	return nil
}

// parkedAll are the hibernate scenarios hibernate-parked-all runs again with
// every hibernation through a parked writer kernel: those whose image a
// writer makes and a resume checks or restores.
var parkedAll = []string{"hibernate", "hibernate-file", "hibernate-encrypted", "hibernate-twice", "hibernate-full", "hibernate-mismatch"}

func init() {
	register(Scenario{
		Name:    "hibernate-parked-all",
		Summary: "the scenarios " + strings.Join(parkedAll, ", ") + " again, each hibernation through a parked writer kernel (hibernate.sh --parked: kjump hibernate --prepare first); their logs go to parked/",
		Run: func(ctx context.Context, l *Lab) error {
			dir := l.LogDir
			defer func() { l.LogDir, l.parked = dir, false }()
			l.LogDir, l.parked = filepath.Join(dir, "parked"), true
			if err := os.MkdirAll(l.LogDir, 0o755); err != nil {
				return err
			}
			for _, name := range parkedAll {
				start := time.Now()
				if err := scenarios[name].Run(ctx, l); err != nil {
					return fmt.Errorf("%s through a parked writer: %w", name, err)
				}
				if l.progress != nil {
					fmt.Fprintf(l.progress, "hibernate-parked-all: %s passed (%.1fs)\n", name, time.Since(start).Seconds())
				}
			}
			return nil
		},
	})
}
