package lab

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/lab/qemu"
	"github.com/kjump/kjump/memmap"
)

func init() {
	register(Scenario{
		Name:    "core",
		Summary: "the first kernel writes the parked second kernel as an ELF core (kjump core): makedumpfile shows its log, its process's pages hold their pattern, drgn finds the process; a poke is seen by the second kernel after re-entry",
		Run:     coreScenario,
	})
}

// patternPageRE is a whole "pattern: phys 0x… index N [window 0x…]" line: a
// kernel message the serial console put in the middle of one ("index 4[
// 1.655] clocksource: …" once read as page 4 at page 44's address) is no
// page.
var patternPageRE = regexp.MustCompile(`(?m)^pattern: phys 0x([0-9a-f]+) index (\d+)(?: window 0x[0-9a-f]+)?\r?$`)

// patternPages are the pages the pattern process reported on the console.
func patternPages(console string) []patternPage {
	var pages []patternPage
	for _, m := range patternPageRE.FindAllStringSubmatch(console, -1) {
		p, _ := strconv.ParseUint(m[1], 16, 64)
		i, _ := strconv.ParseUint(m[2], 10, 64)
		pages = append(pages, patternPage{p, i})
	}
	return pages
}

// patternPage is a page of the second kernel's pattern process.
type patternPage struct{ phys, index uint64 }

// coreScenario runs the core check with the region reserved with
// memmap=240M$16M (its free part stays in place while the second kernel
// waits, outside the first kernel's RAM, so /dev/mem writes it: the poke
// works), then with crashkernel=256M (the free part stays, but in the first
// kernel's RAM) and with a region not reserved at boot (every page moved
// into the first kernel's RAM): there the core is read through /proc/kcore
// and STRICT_DEVMEM refuses the poke, naming the page.
func coreScenario(ctx context.Context, l *Lab) error {
	for _, v := range []struct{ name, append string }{
		{"memmap", hibernateAppend()},
		{"crashkernel", "crashkernel=256M"},
		{"unreserved", ""},
	} {
		if err := coreCheck(ctx, l, "core-"+v.name, v.append, v.name == "memmap"); err != nil {
			return fmt.Errorf("region %s: %w", v.name, err)
		}
	}
	return nil
}

func coreCheck(ctx context.Context, l *Lab, name, params string, pokeWorks bool) error {
	disk, err := l.disk(name, 512<<20)
	if err != nil {
		return err
	}
	const job = "/lab/core.sh"
	vm, err := l.Boot(ctx, Guest{Name: name, Disks: []qemu.Disk{{Path: disk}},
		Append: params + ` kjump.run="` + job + `" kjump.then=shell`})
	if err != nil {
		return err
	}
	defer vm.Kill()
	if err := expectOK(vm, job, 300*time.Second); err != nil {
		return err
	}
	if _, _, err := vm.Expect(60*time.Second, `starting a shell`); err != nil {
		return err
	}
	console := vm.Console()
	pages := patternPages(console)
	if len(pages) < 64 {
		return fmt.Errorf("the second kernel's pattern process reported %d pages (log: %s)", len(pages), vm.LogPath())
	}
	if !strings.Contains(console, "core: the first kernel carries on") {
		return fmt.Errorf("the first kernel did not carry on after kjump core (log: %s)", vm.LogPath())
	}
	// Every page the process named holds its pattern in the core, whether
	// the jump moved it or it stayed in the region.
	f, err := elfcore.Open(disk)
	if err != nil {
		return fmt.Errorf("the core on %s: %w", disk, err)
	}
	for _, p := range pages {
		b := make([]byte, 16)
		_, err := f.ReadPhys(b, p.phys)
		if err != nil || string(b[:8]) != "KJPATTER" || binary.LittleEndian.Uint64(b[8:]) != p.index {
			f.Close()
			return fmt.Errorf("the core's page %#x holds %q (%v), want the pattern of page %d", p.phys, b, err, p.index)
		}
	}
	f.Close()
	// makedumpfile reads the second kernel's log from it (its own command
	// line, the line its job logged), not the first's.
	log, err := dumpDmesg(disk)
	if err != nil {
		return err
	}
	if !strings.Contains(log, "kjump-lab: in the second kernel") || !strings.Contains(log, "kjump.gate=") {
		return fmt.Errorf("makedumpfile's log of the core is not the second kernel's:\n%s", tail(log, 20))
	}
	// kjump dump makes a small kdump file of it (-d 31), which makedumpfile
	// reads too.
	small := disk + ".kdump"
	if _, err := dump.Run(disk, small, dump.DefaultOptions()); err != nil {
		return fmt.Errorf("kjump dump of the core: %w", err)
	}
	if log, err := dumpDmesg(small); err != nil {
		return err
	} else if !strings.Contains(log, "kjump-lab: in the second kernel") {
		return fmt.Errorf("makedumpfile's log of kjump dump's file of the core is not the second kernel's:\n%s", tail(log, 20))
	}
	os.Remove(small)

	if !pokeWorks {
		// Every page lies in the first kernel's own RAM: refused.
		if err := vm.Send(fmt.Sprintf("printf KJPOKED! >/tmp/poke; kjump core --poke %#x --data /tmp/poke; echo core-poke: rc $((0+$?))\n", pages[0].phys)); err != nil {
			return err
		}
		if _, line, err := vm.Expect(60*time.Second, `^core-poke: rc \d+`); err != nil {
			return err
		} else if line != "core-poke: rc 1" || !strings.Contains(vm.Console(), "in this kernel's own RAM") {
			return fmt.Errorf("a poke into the first kernel's own RAM: %q, want it refused naming the page (log: %s)", line, vm.LogPath())
		}
		if err := vm.Send("kjump unload; exit\n"); err != nil {
			return err
		}
		return powerOff(vm)
	}
	// A poke into a page that stayed in the region (above the kernel's
	// segment, below the initrd's), seen by the process after re-entry.
	target, err := pokeTarget(console, pages)
	if err != nil {
		return fmt.Errorf("%v (log: %s)", err, vm.LogPath())
	}
	if err := vm.Send(fmt.Sprintf("printf KJPOKED! >/tmp/poke && kjump core --poke %#x --data /tmp/poke && kjump exec && echo core-poke: done\n", target.phys)); err != nil {
		return err
	}
	idx, line, err := vm.Expect(180*time.Second, `pattern: checked \d+ changed`, `kjump-init: FAIL`, `Kernel panic`, `^kjump core: `)
	if err != nil {
		return err
	}
	if idx != 0 || line != "pattern: checked 1 changed" {
		return fmt.Errorf("after the poke: %q, want exactly one changed page (log: %s)", line, vm.LogPath())
	}
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^pattern: changed index %d: "KJPOKED!`, target.index)).MatchString(vm.Console()) {
		return fmt.Errorf("the changed page is not page %d with the poke's bytes (log: %s)", target.index, vm.LogPath())
	}
	if _, _, err := vm.Expect(120*time.Second, `^core-poke: done`); err != nil {
		return err
	}
	if err := vm.Send("kjump unload; exit\n"); err != nil {
		return err
	}
	if err := powerOff(vm); err != nil {
		return err
	}

	// drgn 0.0.31 opens the second kernel: its tasks and its log.
	t, err := l.Tools(ctx)
	if err != nil {
		return fmt.Errorf("drgn 0.0.31 reads the core in a Debian 13 chroot: %w", err)
	}
	tasks, dlog, err := drgnTasksLog(ctx, t, l.Kernel.Vmlinux, disk)
	if err != nil {
		return err
	}
	if !slices.Contains(tasks, "pattern") || !slices.Contains(tasks, "init") {
		return fmt.Errorf("drgn 0.0.31 on the core: no pattern or init among the %d tasks: %v", len(tasks), tasks)
	}
	if !strings.Contains(dlog, "kjump-lab: in the second kernel") {
		return fmt.Errorf("drgn 0.0.31's get_dmesg of the core is not the second kernel's log:\n%s", tail(dlog, 10))
	}
	// Debian 12's own drgn 0.0.22 (python3-drgn) too: no -e, a script file;
	// it warns on stderr that it found no kernel modules.
	script := filepath.Join(l.LogDir, "drgn-tasks-log.py")
	if err := os.WriteFile(script, []byte(drgnScript+"\n"), 0o644); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "drgn", "-c", disk, "-s", l.Kernel.Vmlinux, script).Output()
	if err != nil {
		return fmt.Errorf("Debian 12's drgn (python3-drgn) on the core: %w", err)
	}
	if !regexp.MustCompile(`(?m)^task pattern$`).Match(out) || !strings.Contains(string(out), "kjump-lab: in the second kernel") {
		return fmt.Errorf("Debian 12's drgn on the core: no pattern task or no second kernel's line in its log:\n%s", tail(string(out), 10))
	}
	return nil
}

// pokeTarget picks a pattern page that stayed in the region while the second
// kernel waits: 32 MiB above the region's start (past the kernel's segment,
// which covers its init_size, 14.4 MiB for the lab kernel), below the
// initrd's segment, as 'kjump load' reported them.
func pokeTarget(console string, pages []patternPage) (patternPage, error) {
	m := regexp.MustCompile(`(?m)^\s*region\s+(\[\S+\])`).FindStringSubmatch(console)
	if m == nil {
		return patternPage{}, fmt.Errorf("kjump load did not report its region")
	}
	rs, err := parseRanges(m[1])
	if err != nil {
		return patternPage{}, err
	}
	im := regexp.MustCompile(`(?m)^\s*initrd\s+0x([0-9a-f]+),`).FindStringSubmatch(console)
	if im == nil {
		return patternPage{}, fmt.Errorf("kjump load did not report the initrd's address")
	}
	initrd, _ := strconv.ParseUint(im[1], 16, 64)
	free := memmap.Range{Start: rs[0].Start + 32<<20, Size: initrd - rs[0].Start - 32<<20}
	for _, p := range pages {
		if free.Contains(p.phys) {
			return p, nil
		}
	}
	return patternPage{}, fmt.Errorf("none of the %d pattern pages lies in the region's free part %s", len(pages), free)
}
