package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kjump/kjump/lab/qemu"
)

func init() {
	register(Scenario{
		Name:    "dump-stream",
		Summary: "a second kernel sends the first kernel's memory as a flattened stream (kjump dump -F) and reads its log (kjump dump --dump-dmesg); kjump dump -R and makedumpfile -R rebuild the same file, kjump and makedumpfile --dump-dmesg write the same log, crash reads it from the file and the stream",
		Run:     dumpStreamScenario,
	})
}

func dumpStreamScenario(ctx context.Context, l *Lab) error {
	disk, err := l.disk("dump-stream", 256<<20)
	if err != nil {
		return err
	}
	if _, err := l.RunJob(ctx, Guest{Name: "dump-stream", Disks: []qemu.Disk{{Path: disk}}}, "/lab/dump-stream.sh", 600*time.Second); err != nil {
		return err
	}
	// The disk holds the stream, then zeros: both rebuilders stop at the
	// stream's end record.
	ours := filepath.Join(l.LogDir, "dump-stream.kdump")
	if err := runStdin(disk, l.ropt.Kjump, "dump", "-R", ours); err != nil {
		return err
	}
	theirs := filepath.Join(l.LogDir, "dump-stream-makedumpfile-R.kdump")
	os.Remove(theirs)
	if err := runStdin(disk, "makedumpfile", "-R", theirs); err != nil {
		return err
	}
	a, err := os.ReadFile(ours)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(theirs)
	if err != nil {
		return err
	}
	if !bytes.Equal(a, b) {
		return fmt.Errorf("kjump dump -R rebuilt %d bytes, makedumpfile -R %d, and they differ", len(a), len(b))
	}
	log, err := dumpDmesg(ours)
	if err != nil {
		return err
	}
	if !strings.Contains(log, "Linux version "+l.Kernel.Release) || !strings.Contains(log, "kjump-lab: before the stream") {
		return fmt.Errorf("makedumpfile's log of the rebuilt dump lacks the first kernel's banner or its line before the jump")
	}
	if err := l.sameDmesg(ours, log); err != nil {
		return err
	}
	for _, dump := range []string{ours, disk} {
		out, err := crash(l.Kernel.Vmlinux, dump, "log\nquit\n")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "kjump-lab: before the stream") {
			return fmt.Errorf("crash --minimal log of %s lacks the line before the jump:\n%s", dump, tail(out, 30))
		}
	}
	fmt.Fprintf(l.progress, "dump-stream: %d bytes rebuilt alike by kjump dump -R and makedumpfile -R; kjump and makedumpfile --dump-dmesg wrote the same %d bytes of log; crash read it from the file and the stream\n", len(a), len(log))
	return nil
}

// sameDmesg checks that kjump dump --dump-dmesg writes the log of dump that
// makedumpfile --dump-dmesg wrote, byte for byte but for bytes from 0x80 up,
// which makedumpfile writes as \xffffffNN (its char is signed) and kjump as
// \xNN.
func (l *Lab) sameDmesg(dump, theirs string) error {
	ours := dump + ".kjump-dmesg"
	if out, err := exec.Command(l.ropt.Kjump, "dump", "--dump-dmesg", dump, ours).CombinedOutput(); err != nil {
		return fmt.Errorf("kjump dump --dump-dmesg %s: %v\n%s", dump, err, out)
	}
	b, err := os.ReadFile(ours)
	if err != nil {
		return err
	}
	if want := strings.ReplaceAll(theirs, `\xffffff`, `\x`); string(b) != want {
		return fmt.Errorf("kjump dump --dump-dmesg %s wrote %d bytes, makedumpfile --dump-dmesg %d, and they differ (%s, %s.dmesg)", dump, len(b), len(want), ours, dump)
	}
	return nil
}

// runStdin runs prog with the file in as its standard input, with a
// deadline: makedumpfile -R waits forever on a stream cut short.
func runStdin(in, prog string, args ...string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Stdin = f
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s < %s: %v\n%s", prog, strings.Join(args, " "), in, err, tail(string(out), 20))
	}
	return nil
}
