package lab

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kjump/kjump/lab/qemu"
	"github.com/kjump/kjump/memmap"
)

func init() {
	register(Scenario{
		Name:    "roundtrip",
		Summary: "first kernel → second kernel (confined to its region) → first kernel; its counter keeps counting, a tmpfs file is intact",
		Run: func(ctx context.Context, l *Lab) error {
			return roundtrip(ctx, l, "roundtrip", 1)
		},
	})
	register(Scenario{
		Name:    "reenter",
		Summary: "six switches first → second → first… into the same second kernel; a counter in each kernel carries on",
		Run: func(ctx context.Context, l *Lab) error {
			_, err := reenter(ctx, l, Guest{Name: "reenter", CPUs: 2})
			return err
		},
	})
	register(Scenario{
		Name:    "reenter-reserved",
		Summary: "reenter into a region reserved at boot: memmap=240M$16M (not in the first kernel's direct map), then crashkernel=256M",
		Run: func(ctx context.Context, l *Lab) error {
			for _, c := range []struct{ param, source string }{
				{hibernateAppend(), "memmap"},
				{"crashkernel=256M", "crashkernel"},
			} {
				vm, err := reenter(ctx, l, Guest{Name: "reenter-reserved-" + c.source, CPUs: 2, Append: c.param})
				if err != nil {
					return fmt.Errorf("with %s: %w", c.param, err)
				}
				if !regexp.MustCompile(`(?m)^\s*region\s.*\(` + c.source + `, reserved at boot\)`).MatchString(vm.Console()) {
					return fmt.Errorf("with %s, kjump load did not use the reservation (log: %s)", c.param, vm.LogPath())
				}
			}
			return nil
		},
	})
	register(Scenario{
		Name:    "smp",
		Summary: "roundtrip on a 2-CPU guest: the second CPU goes down for the jump and comes back",
		Run: func(ctx context.Context, l *Lab) error {
			return roundtrip(ctx, l, "smp", 2)
		},
	})
}

func roundtrip(ctx context.Context, l *Lab, name string, cpus int) error {
	vm, err := l.RunJob(ctx, Guest{Name: name, CPUs: cpus}, "/lab/roundtrip.sh", 240*time.Second)
	if err != nil {
		return err
	}
	console := vm.Console()
	ram, err := plannedRAM(console)
	if err != nil {
		return fmt.Errorf("%v (log: %s)", err, vm.LogPath())
	}
	if err := checkConfined(console, ram); err != nil {
		return fmt.Errorf("%v (log: %s)", err, vm.LogPath())
	}
	if cpus > 1 {
		// The first kernel took its second CPU down for the jump and back up.
		if !regexp.MustCompile(`(?m)smpboot: CPU 1 is now offline`).MatchString(console) {
			return fmt.Errorf("the first kernel never took CPU 1 offline (log: %s)", vm.LogPath())
		}
	}
	return nil
}

// plannedRAM reads the second kernel's RAM from kjump load's report
// ("  ram      [0x20000-0x5ffff] 256 KiB, [0x2c000000-0x3befffff] 255 MiB").
func plannedRAM(console string) ([]memmap.Range, error) {
	m := regexp.MustCompile(`(?m)^\s*ram\s+(.*)$`).FindStringSubmatch(console)
	if m == nil {
		return nil, fmt.Errorf("kjump load did not report the second kernel's RAM")
	}
	return parseRanges(m[1])
}

var rangeRE = regexp.MustCompile(`\[0x([0-9a-f]+)-0x([0-9a-f]+)\]`)

func parseRanges(s string) ([]memmap.Range, error) {
	var out []memmap.Range
	for _, m := range rangeRE.FindAllStringSubmatch(s, -1) {
		a, _ := strconv.ParseUint(m[1], 16, 64)
		b, _ := strconv.ParseUint(m[2], 16, 64)
		out = append(out, memmap.Range{Start: a, Size: b - a + 1})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no ranges in %q", s)
	}
	return out, nil
}

// checkConfined checks the second kernel's System RAM lines (printed by its job
// between init's run and ok lines) against the planned RAM.
func checkConfined(console string, ram []memmap.Range) error {
	_, after, ok := strings.Cut(console, "kjump-init: run: /bin/grep System.RAM /proc/iomem")
	if !ok {
		return fmt.Errorf("the second kernel never ran its job")
	}
	job, _, ok := strings.Cut(after, "kjump-init: ok: /bin/grep")
	if !ok {
		return fmt.Errorf("the second kernel's job did not finish")
	}
	lineRE := regexp.MustCompile(`(?m)^\s*([0-9a-f]+)-([0-9a-f]+) : System RAM`)
	lines := lineRE.FindAllStringSubmatch(job, -1)
	if len(lines) == 0 {
		return fmt.Errorf("the second kernel printed no System RAM")
	}
	for _, m := range lines {
		a, _ := strconv.ParseUint(m[1], 16, 64)
		b, _ := strconv.ParseUint(m[2], 16, 64)
		r := memmap.Range{Start: a, Size: b - a + 1}
		inside := false
		for _, p := range ram {
			if p.ContainsRange(r) {
				inside = true
			}
		}
		if !inside {
			return fmt.Errorf("the second kernel has System RAM %s outside its region %v", r, ram)
		}
	}
	return nil
}

// reenter runs reenter.sh in guest g: six round trips into the same second
// kernel, whose counter must carry on across them.
func reenter(ctx context.Context, l *Lab, g Guest) (*qemu.VM, error) {
	vm, err := l.RunJob(ctx, g, "/lab/reenter.sh", 300*time.Second)
	if err != nil {
		return vm, err
	}
	// The second kernel's counter must carry on across entries: each report
	// starts above where the previous one ended.
	re := regexp.MustCompile(`(?m)^reenter: second kernel's counter: (\d+) -> (\d+)`)
	reports := re.FindAllStringSubmatch(vm.Console(), -1)
	if len(reports) != 6 {
		return vm, fmt.Errorf("the second kernel reported %d entries, want 6 (log: %s)", len(reports), vm.LogPath())
	}
	last := -1
	for i, m := range reports {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		if a < last || b <= a {
			return vm, fmt.Errorf("entry %d: the second kernel's counter went %d -> %d after ending at %d: its state did not carry on (log: %s)", i+1, a, b, last, vm.LogPath())
		}
		last = b
	}
	return vm, nil
}

func init() {
	register(Scenario{
		Name:    "call",
		Summary: "kjump call runs a flat binary in physical mode twice; it writes to COM1 and returns; the system carries on",
		Run: func(ctx context.Context, l *Lab) error {
			vm, err := l.Boot(ctx, Guest{Name: "call", Append: `kjump.run="call /lab/hello.bin" kjump.run="call /lab/hello.bin"`})
			if err != nil {
				return err
			}
			defer vm.Kill()
			for i := 0; i < 2; i++ {
				if _, _, err := vm.Expect(120*time.Second, `kjump call: hello from physical mode`); err != nil {
					return err
				}
				if err := expectOK(vm, "call /lab/hello.bin", 60*time.Second); err != nil {
					return err
				}
			}
			return powerOff(vm)
		},
	})
}

func init() {
	register(Scenario{
		Name:    "kexec-tools",
		Summary: "Debian's kexec loads and enters the second kernel, kjump back returns; kexec-tools' own jump-back helper fails on 6.12",
		Run: func(ctx context.Context, l *Lab) error {
			vm, err := l.RunJob(ctx, Guest{Name: "kexec-tools", Append: "crashkernel=256M"}, "/lab/kexec-tools.sh", 240*time.Second)
			if err != nil {
				return err
			}
			if !strings.Contains(vm.Console(), "kexec-tools: its jump-back helper failed to load") {
				return fmt.Errorf("kexec-tools' jump-back helper did not fail as it does on 6.12 (log: %s)", vm.LogPath())
			}
			return nil
		},
	})
}

func init() {
	register(Scenario{
		Name:    "reserved",
		Summary: "the round trip into a region reserved at boot: crashkernel=256M, then memmap=256M$0x20000000; kjump load uses each",
		Run: func(ctx context.Context, l *Lab) error {
			for _, c := range []struct{ param, source string }{
				{"crashkernel=256M", "crashkernel"},
				{"memmap=256M$0x20000000", "memmap"},
			} {
				vm, err := l.RunJob(ctx, Guest{Name: "reserved-" + c.source, Append: c.param}, "/lab/roundtrip.sh", 240*time.Second)
				if err != nil {
					return err
				}
				if !regexp.MustCompile(`(?m)^\s*region\s.*\(` + c.source + `, reserved at boot\)`).MatchString(vm.Console()) {
					err = fmt.Errorf("with %s, kjump load did not use the reservation (log: %s)", c.param, vm.LogPath())
				}
				if err == nil {
					var ram []memmap.Range
					if ram, err = plannedRAM(vm.Console()); err == nil {
						err = checkConfined(vm.Console(), ram)
					}
				}
				if err != nil {
					return err
				}
			}
			return nil
		},
	})
}
