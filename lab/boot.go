package lab

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }

func init() {
	register(Scenario{
		Name:    "boot",
		Summary: "the lab kernel boots on 2 CPUs with kjump as init; kjump doctor in the guest reports ready; clean power-off",
		Run:     bootScenario,
	})
}

func bootScenario(ctx context.Context, l *Lab) error {
	vm, err := l.Boot(ctx, Guest{Name: "boot", Append: "kjump.run=doctor"})
	if err != nil {
		return err
	}
	defer vm.Kill()
	if _, _, err := vm.Expect(90*time.Second, `smp: Brought up 1 node, 2 CPUs`); err != nil {
		return fmt.Errorf("guest did not bring up 2 CPUs: %w", err)
	}
	if err := expectOK(vm, "doctor", 90*time.Second); err != nil {
		return err
	}
	if !strings.Contains(vm.Console(), "ready: kexec jump can work on this machine") {
		return fmt.Errorf("doctor in the guest did not report ready (log: %s)", vm.LogPath())
	}
	return powerOff(vm)
}
