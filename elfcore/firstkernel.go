package elfcore

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ReadVmcoreinfoNote reads root/sys/kernel/vmcoreinfo, where the running
// kernel publishes the physical address and size of its VMCOREINFO note
// buffer as "%pa %x": "0x000000000105e000 1024" is 0x105e000 and 0x1024
// (4132) bytes, both hexadecimal. The sysfs file exists when the kernel has
// CONFIG_VMCORE_INFO and is readable by every user.
func ReadVmcoreinfoNote(root string) (Note, error) {
	path := filepath.Join(root, "sys/kernel/vmcoreinfo")
	b, err := os.ReadFile(path)
	if err != nil {
		return Note{}, fmt.Errorf("elfcore: %w", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return Note{}, fmt.Errorf("elfcore: %s: %q, want \"ADDR SIZE\"", path, strings.TrimSpace(string(b)))
	}
	addr, err1 := parseHex(fields[0])
	size, err2 := parseHex(fields[1])
	if err1 != nil || err2 != nil || size == 0 {
		return Note{}, fmt.Errorf("elfcore: %s: %q, want hexadecimal \"ADDR SIZE\"", path, strings.TrimSpace(string(b)))
	}
	return Note{Phys: addr, Size: size}, nil
}

// ReadCrashNotes reads the per-CPU crash note buffers from
// root/sys/devices/system/cpu/cpuN/crash_notes (physical address,
// hexadecimal without 0x) and crash_notes_size (bytes, decimal), sorted by
// CPU number. These attributes exist with CONFIG_CRASH_DUMP and are
// readable by root only (mode 0400).
//
// The kernel fills these buffers only when it crashes (crash_save_cpu);
// in a kexec jump they stay zero, and a header listing nothing but zeroed
// buffers leaves the second kernel without /proc/vmcore. List them only
// when they hold notes.
func ReadCrashNotes(root string) ([]Note, error) {
	dir := filepath.Join(root, "sys/devices/system/cpu")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("elfcore: %w", err)
	}
	type cpuNote struct {
		cpu  int
		note Note
	}
	var found []cpuNote
	for _, e := range ents {
		num, ok := strings.CutPrefix(e.Name(), "cpu")
		if !ok {
			continue
		}
		cpu, err := strconv.Atoi(num)
		if err != nil || cpu < 0 {
			continue // cpufreq, cpuidle, ...
		}
		cpuDir := filepath.Join(dir, e.Name())
		addrText, err := os.ReadFile(filepath.Join(cpuDir, "crash_notes"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("elfcore: %w", err)
		}
		addr, err := parseHex(strings.TrimSpace(string(addrText)))
		if err != nil {
			return nil, fmt.Errorf("elfcore: %s/crash_notes: %q is not a hexadecimal address", cpuDir, strings.TrimSpace(string(addrText)))
		}
		sizeText, err := os.ReadFile(filepath.Join(cpuDir, "crash_notes_size"))
		if err != nil {
			return nil, fmt.Errorf("elfcore: %w", err)
		}
		size, err := strconv.ParseUint(strings.TrimSpace(string(sizeText)), 10, 64)
		if err != nil || size == 0 {
			return nil, fmt.Errorf("elfcore: %s/crash_notes_size: %q is not a size in bytes", cpuDir, strings.TrimSpace(string(sizeText)))
		}
		found = append(found, cpuNote{cpu, Note{Phys: addr, Size: size}})
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("elfcore: no cpu*/crash_notes in %s (kernel without CONFIG_CRASH_DUMP?): %w", dir, fs.ErrNotExist)
	}
	slices.SortFunc(found, func(a, b cpuNote) int { return a.cpu - b.cpu })
	notes := make([]Note, len(found))
	for i, f := range found {
		notes[i] = f.note
	}
	return notes, nil
}

func parseHex(s string) (uint64, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	return strconv.ParseUint(s, 16, 64)
}

const (
	// kernelHalf is the lowest kernel-space address with 5-level paging
	// (0xff00000000000000); with 4-level paging it is
	// 0xffff800000000000. The direct map lies above either.
	kernelHalf = 0xff00000000000000
	// startKernelMap is __START_KERNEL_map: the kernel image mapping and
	// the modules area lie above it, the direct map below.
	startKernelMap = 0xffffffff80000000
)

// PageOffset returns the base of the running kernel's direct map of
// physical memory (page_offset_base), read from the program headers of
// /proc/kcore (kcore; its size is not needed). See the package
// documentation for the method.
func PageOffset(kcore io.ReaderAt) (uint64, error) {
	_, progs, err := readHeaders(kcore, -1)
	if err != nil {
		return 0, err
	}
	var (
		off   uint64
		found bool
	)
	for i, p := range progs {
		if elf.ProgType(p.Type) != elf.PT_LOAD || p.Paddr == ^uint64(0) || p.Vaddr >= startKernelMap || p.Vaddr < kernelHalf || p.Vaddr < p.Paddr {
			continue
		}
		o := p.Vaddr - p.Paddr
		if found && o != off {
			return 0, fmt.Errorf("elfcore: kcore PT_LOAD %d maps physical %#x at %#x, offset %#x, but earlier direct-map segments have offset %#x: %w", i, p.Paddr, p.Vaddr, o, off, ErrNoPageOffset)
		}
		off, found = o, true
	}
	if !found {
		return 0, fmt.Errorf("elfcore: kcore has no direct-map PT_LOAD with a physical address: %w", ErrNoPageOffset)
	}
	if off < kernelHalf || off%pageSize != 0 {
		return 0, fmt.Errorf("elfcore: kcore gives direct-map base %#x, not a page-aligned kernel address: %w", off, ErrNoPageOffset)
	}
	return off, nil
}

// KernelText returns the running kernel image's own mapping, read from
// /proc/kcore: the PT_LOAD above __START_KERNEL_map (0xffffffff80000000)
// that has a physical address. Virt is the address of _text, Phys its
// physical address, Size _end - _text. Use it as Header.KernelText.
func KernelText(kcore io.ReaderAt) (Load, error) {
	_, progs, err := readHeaders(kcore, -1)
	if err != nil {
		return Load{}, err
	}
	for _, p := range progs {
		if elf.ProgType(p.Type) == elf.PT_LOAD && p.Paddr != ^uint64(0) && p.Vaddr >= startKernelMap && p.Memsz > 0 {
			return Load{Phys: p.Paddr, Size: p.Memsz, Virt: p.Vaddr}, nil
		}
	}
	return Load{}, fmt.Errorf("elfcore: kcore has no kernel text PT_LOAD with a physical address (kernel without CONFIG_ARCH_PROC_KCORE_TEXT?)")
}
