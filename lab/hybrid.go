package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/lab/qemu"
)

func init() {
	register(Scenario{
		Name:    "hybrid-wake",
		Summary: "hybrid sleep (kjump hibernate --then suspend): the image is written, the second kernel suspends to RAM (QEMU S3), the monitor wakes it: back in the first kernel in seconds, counter and files intact, the image revoked",
		Run:     hybridWake,
	})
	register(Scenario{
		Name:    "hybrid-powerloss",
		Summary: "hybrid sleep, then the power is lost while suspended (QEMU killed): the next boot resumes from the image",
		Run:     hybridPowerloss,
	})
}

const hybridJob = "/lab/hibernate.sh --then suspend"

// hybridSuspend boots a first kernel that hibernates with --then suspend and
// waits until its second kernel has suspended to RAM. extra goes on the
// first kernel's command line; echo, if set, gets its console.
func (l *Lab) hybridSuspend(ctx context.Context, name, extra string, echo io.Writer) (*qemu.VM, Guest, error) {
	disks, err := l.hibernateDisks(name)
	if err != nil {
		return nil, Guest{}, err
	}
	g := Guest{Disks: disks}
	sg := g
	sg.Name, sg.S3, sg.Echo = name+"-sleep", true, echo
	sg.Append = strings.TrimSpace(extra+" "+hibernateAppend()) + ` kjump.run="` + hybridJob + `"`
	vm, err := l.Boot(ctx, sg)
	if err != nil {
		return nil, g, err
	}
	// The writer's line, then QEMU's word that the machine is in S3 (the
	// kernel's own last line, "PM: suspend entry", is not printed on a quiet
	// console).
	idx, line, err := vm.Expect(600*time.Second, `suspending to RAM \(hybrid sleep\)`, `kjump-init: FAIL: `, `Kernel panic`)
	if err == nil && idx > 0 {
		err = fmt.Errorf("%s (log: %s)", strings.TrimSpace(line), vm.LogPath())
	}
	for deadline := time.Now().Add(120 * time.Second); err == nil; {
		out, merr := vm.Monitor("info status")
		if merr == nil && strings.Contains(out, "suspended") {
			break
		}
		if time.Now().After(deadline) {
			err = fmt.Errorf("the machine did not suspend to RAM within 120s after the writer said so (QEMU: %q, %v; log: %s)", strings.TrimSpace(out), merr, vm.LogPath())
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		vm.Kill()
		return nil, g, err
	}
	return vm, g, nil
}

func hybridWake(ctx context.Context, l *Lab) error {
	vm, g, err := l.hybridSuspend(ctx, "hybrid-wake", "", nil)
	if err != nil {
		return err
	}
	defer vm.Kill()
	if out, err := vm.Monitor("system_wakeup"); err != nil {
		return fmt.Errorf("waking the guest: %w (%s)", err, out)
	}
	if err := expectOK(vm, hybridJob, 300*time.Second); err != nil {
		return err
	}
	if err := powerOff(vm); err != nil {
		return err
	}
	if !strings.Contains(vm.Console(), "hibernate: woke from suspend to RAM") {
		return fmt.Errorf("kjump hibernate did not say it woke from suspend (log: %s)", vm.LogPath())
	}
	if err := imageState(g.Disks[1].Path); !errors.Is(err, image.ErrIncomplete) {
		return fmt.Errorf("after the wake the image disk holds %v, want a revoked image", err)
	}
	return fsck(g.Disks[0].Path)
}

func hybridPowerloss(ctx context.Context, l *Lab) error {
	vm, g, err := l.hybridSuspend(ctx, "hybrid-powerloss", "", nil)
	if err != nil {
		return err
	}
	vm.Kill() // the power is lost while the machine sleeps
	if err := imageState(g.Disks[1].Path); err != nil {
		return fmt.Errorf("while suspended the image is %w, want a valid one", err)
	}
	return l.resumeOK(ctx, "hybrid-powerloss", g, "", hybridJob)
}
