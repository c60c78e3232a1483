package lab

import (
	"context"
	"fmt"
	"os"
	"time"
)

func init() {
	register(Scenario{
		Name:    "errors",
		Summary: "truncated/garbage/ELF images, a region over half of RAM, a second load, kernels without CONFIG_KEXEC_JUMP: each refused with its cause; the system carries on",
		Run:     errorsScenario,
	})
}

func errorsScenario(ctx context.Context, l *Lab) error {
	nojump, err := l.Variant(ctx, map[string]string{"KEXEC_JUMP": "n"})
	if err != nil {
		return fmt.Errorf("building the kernel without CONFIG_KEXEC_JUMP: %w", err)
	}
	bz, err := os.ReadFile(nojump.BzImage)
	if err != nil {
		return err
	}
	// A jump-capable first kernel refuses bad images and a second kernel that could not return.
	if _, err := l.RunJob(ctx, Guest{Name: "errors", Files: map[string][]byte{"/boot/vmlinuz-nojump": bz}},
		"/lab/errors.sh", 240*time.Second); err != nil {
		return err
	}
	// A first kernel without CONFIG_KEXEC_JUMP: load and doctor say so.
	_, err = l.RunJob(ctx, Guest{Name: "errors-nojump", Kernel: nojump.BzImage}, "/lab/errors-nojump.sh", 120*time.Second)
	return err
}
