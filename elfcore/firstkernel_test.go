package elfcore_test

import (
	"bytes"
	"debug/elf"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kjump/kjump/elfcore"
)

// writeTree creates files (path → contents) under a new temporary root.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestReadVmcoreinfoNote(t *testing.T) {
	tests := []struct {
		text    string
		want    elfcore.Note
		wantErr bool
	}{
		// The size is hexadecimal: 0x1024 is VMCOREINFO_NOTE_SIZE, 4132.
		{text: "0x000000000105e000 1024\n", want: elfcore.Note{Phys: 0x105e000, Size: 4132}},
		{text: "0x0000000100c66000 1024\n", want: elfcore.Note{Phys: 0x100c66000, Size: 4132}},
		{text: "105e000 0x1024", want: elfcore.Note{Phys: 0x105e000, Size: 4132}},
		{text: "0x000000000105e000\n", wantErr: true},
		{text: "0x000000000105e000 1024 extra\n", wantErr: true},
		{text: "0xzz 1024\n", wantErr: true},
		{text: "0x1000 0\n", wantErr: true},
		{text: "", wantErr: true},
	}
	for _, tt := range tests {
		root := writeTree(t, map[string]string{"sys/kernel/vmcoreinfo": tt.text})
		got, err := elfcore.ReadVmcoreinfoNote(root)
		if tt.wantErr {
			if err == nil {
				t.Errorf("%q: got %+v, want an error", tt.text, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %+v, %v; want %+v", tt.text, got, err, tt.want)
		}
	}
	if _, err := elfcore.ReadVmcoreinfoNote(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error %v, want fs.ErrNotExist", err)
	}
}

func TestReadVmcoreinfoNoteHere(t *testing.T) {
	n, err := elfcore.ReadVmcoreinfoNote("/")
	if err != nil {
		t.Skipf("this machine's /sys/kernel/vmcoreinfo: %v", err)
	}
	if n.Size < 12 || n.Phys == 0 {
		t.Errorf("ReadVmcoreinfoNote(/) = %+v", n)
	}
}

func TestReadCrashNotes(t *testing.T) {
	cpu := func(n, addr, size string) map[string]string {
		return map[string]string{
			"sys/devices/system/cpu/cpu" + n + "/crash_notes":      addr,
			"sys/devices/system/cpu/cpu" + n + "/crash_notes_size": size,
		}
	}
	merge := func(ms ...map[string]string) map[string]string {
		out := map[string]string{"sys/devices/system/cpu/online": "0-1\n", "sys/devices/system/cpu/cpufreq/x": ""}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name    string
		files   map[string]string
		want    []elfcore.Note
		wantErr string
	}{
		{
			name:  "sorted by number, not by name",
			files: merge(cpu("10", "3fd9e000\n", "368\n"), cpu("2", "3fd5e000\n", "368\n"), cpu("0", "3fd1e000\n", "368\n")),
			want:  []elfcore.Note{{Phys: 0x3fd1e000, Size: 368}, {Phys: 0x3fd5e000, Size: 368}, {Phys: 0x3fd9e000, Size: 368}},
		},
		{
			name:  "cpu without the attribute is skipped",
			files: merge(cpu("0", "3fd1e000\n", "368\n"), map[string]string{"sys/devices/system/cpu/cpu1/online": "0\n"}),
			want:  []elfcore.Note{{Phys: 0x3fd1e000, Size: 368}},
		},
		{name: "bad address", files: merge(cpu("0", "0xnope\n", "368\n")), wantErr: "not a hexadecimal address"},
		{name: "bad size", files: merge(cpu("0", "3fd1e000\n", "0x170\n")), wantErr: "not a size in bytes"},
		{name: "zero size", files: merge(cpu("0", "3fd1e000\n", "0\n")), wantErr: "not a size in bytes"},
		{name: "missing size", files: merge(map[string]string{"sys/devices/system/cpu/cpu0/crash_notes": "3fd1e000\n"}), wantErr: "crash_notes_size"},
		{name: "none", files: merge(), wantErr: "CONFIG_CRASH_DUMP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := elfcore.ReadCrashNotes(writeTree(t, tt.files))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
					t.Fatalf("ReadCrashNotes = %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("ReadCrashNotes = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// fakeKcore has the program headers of a 6.12 /proc/kcore on x86_64 with
// KASLR: note, kernel text, vmalloc, modules, two RAM ranges, vmemmap.
func fakeKcore(pageOffset uint64) []byte {
	return buildCore([]seg{
		{typ: elf.PT_NOTE, data: elfcore.AppendNote(nil, elfcore.RawNote{Name: "CORE", Type: 1, Desc: make([]byte, 336)})},
		{typ: elf.PT_LOAD, phys: 0x1b000000, virt: 0xffffffff9a000000, memsz: 0x2c00000},
		{typ: elf.PT_LOAD, phys: ^uint64(0), virt: 0xffffb52c40000000, memsz: 0x1fffffffffff},
		{typ: elf.PT_LOAD, phys: ^uint64(0), virt: 0xffffffffc0000000, memsz: 0x3f000000},
		{typ: elf.PT_LOAD, phys: 0x1000, virt: pageOffset + 0x1000, memsz: 0x9e000},
		{typ: elf.PT_LOAD, phys: 0x100000, virt: pageOffset + 0x100000, memsz: 0x3fee0000},
		{typ: elf.PT_LOAD, phys: ^uint64(0), virt: 0xfffff35f00000000, memsz: 0x1000000},
	})
}

func TestPageOffset(t *testing.T) {
	const kaslr = 0xffff9e4b00000000
	got, err := elfcore.PageOffset(bytes.NewReader(fakeKcore(kaslr)))
	if err != nil || got != kaslr {
		t.Errorf("PageOffset = %#x, %v; want %#x", got, err, uint64(kaslr))
	}
	got, err = elfcore.PageOffset(bytes.NewReader(fakeKcore(0xffff888000000000)))
	if err != nil || got != 0xffff888000000000 {
		t.Errorf("PageOffset(no KASLR) = %#x, %v", got, err)
	}

	disagree := buildCore([]seg{
		{typ: elf.PT_LOAD, phys: 0x1000, virt: kaslr + 0x1000, memsz: 0x1000},
		{typ: elf.PT_LOAD, phys: 0x100000, virt: kaslr + 0x40000000 + 0x100000, memsz: 0x1000},
	})
	onlyText := buildCore([]seg{{typ: elf.PT_LOAD, phys: 0x1000000, virt: 0xffffffff81000000, memsz: 0x1000}})
	unaligned := buildCore([]seg{{typ: elf.PT_LOAD, phys: 0x1000, virt: kaslr + 0x1800, memsz: 0x1000}})
	for name, kcore := range map[string][]byte{"disagree": disagree, "only text": onlyText, "unaligned": unaligned} {
		if got, err := elfcore.PageOffset(bytes.NewReader(kcore)); !errors.Is(err, elfcore.ErrNoPageOffset) {
			t.Errorf("%s: PageOffset = %#x, %v; want ErrNoPageOffset", name, got, err)
		}
	}
	if _, err := elfcore.PageOffset(strings.NewReader("KDUMP   ")); !errors.Is(err, elfcore.ErrNotELF) {
		t.Errorf("not ELF: error %v", err)
	}
}

func TestKernelText(t *testing.T) {
	got, err := elfcore.KernelText(bytes.NewReader(fakeKcore(0xffff9e4b00000000)))
	want := elfcore.Load{Phys: 0x1b000000, Size: 0x2c00000, Virt: 0xffffffff9a000000}
	if err != nil || got != want {
		t.Errorf("KernelText = %+v, %v; want %+v", got, err, want)
	}
	noText := buildCore([]seg{{typ: elf.PT_LOAD, phys: 0x1000, virt: 0xffff888000001000, memsz: 0x1000}})
	if _, err := elfcore.KernelText(bytes.NewReader(noText)); err == nil {
		t.Error("KernelText found text in a kcore without it")
	}
}

func TestPageOffsetHere(t *testing.T) {
	f, err := os.Open("/proc/kcore")
	if err != nil {
		t.Skipf("no readable /proc/kcore on this machine: %v", err)
	}
	defer f.Close()
	off, err := elfcore.PageOffset(f)
	if err != nil {
		t.Fatal(err)
	}
	if off%(1<<30) != 0 {
		t.Errorf("PageOffset = %#x, not 1 GiB aligned", off)
	}
}
