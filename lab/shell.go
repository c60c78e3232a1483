package lab

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kjump/kjump/lab/qemu"
)

func init() {
	register(Scenario{
		Name:    "shell",
		Summary: "kjump shell: typed on the console, the second kernel's shell dumps /proc/vmcore (kjump dump) and shows its ELF header, then 'kjump back' and 'exit' each return; the first kernel carries on",
		Run:     shellScenario,
	})
}

func shellScenario(ctx context.Context, l *Lab) error {
	disk, err := l.disk("shell", 512<<20)
	if err != nil {
		return err
	}
	const job = "/lab/shell.sh"
	vm, err := l.Boot(ctx, Guest{Name: "shell", Disks: []qemu.Disk{{Path: disk}}, Append: `kjump.run="` + job + `"`})
	if err != nil {
		return err
	}
	defer vm.Kill()
	// type sends a command line to the second kernel's shell and waits for
	// want, a line its output has and its echo does not.
	typeLine := func(cmd, want string, timeout time.Duration) error {
		if err := vm.Send(cmd + "\n"); err != nil {
			return err
		}
		idx, line, err := vm.Expect(timeout, want, `kjump-init: FAIL`, `Kernel panic`)
		if err == nil && idx != 0 {
			err = fmt.Errorf("%s (log: %s)", strings.TrimSpace(line), vm.LogPath())
		}
		if err != nil {
			return fmt.Errorf("typing %q: %w", cmd, err)
		}
		return nil
	}
	for _, how := range []string{"kjump back", "exit"} {
		if _, _, err := vm.Expect(240*time.Second, `kjump-init: starting a shell: 'kjump back' returns`); err != nil {
			return err
		}
		time.Sleep(time.Second) // the shell's prompt
		if how == "kjump back" {
			// By hand: a dump of the first kernel, a look at /proc/vmcore.
			if err := typeLine("kjump dump --level 31 /proc/vmcore /dev/vda && echo shell-dump: $((40+2))", `shell-dump: 42`, 240*time.Second); err != nil {
				return err
			}
			if err := typeLine("head -c 4 /proc/vmcore | od -c | head -n 1", `177\s+E\s+L\s+F`, 30*time.Second); err != nil {
				return err
			}
		}
		if err := typeLine(how, `shell: left with `+strings.Fields(how)[len(strings.Fields(how))-1]+`; the first kernel carries on`, 120*time.Second); err != nil {
			return err
		}
	}
	if err := expectOK(vm, job, 60*time.Second); err != nil {
		return err
	}
	if err := powerOff(vm); err != nil {
		return err
	}
	// The dump typed in the shell is the first kernel's, at the jump.
	log, err := dumpDmesg(disk)
	if err != nil {
		return err
	}
	if !strings.Contains(log, `kjump.run="/lab/shell.sh"`) || !strings.Contains(log, "Freezing user space processes") {
		return fmt.Errorf("makedumpfile's log of the dump made in the shell is not the first kernel's at the jump:\n%s", tail(log, 20))
	}
	return nil
}
