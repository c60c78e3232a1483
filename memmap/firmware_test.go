package memmap

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fakeFirmwareMemmap builds root/sys/firmware/memmap from entries given as
// {start, end, type} strings, in the given directory order.
func fakeFirmwareMemmap(t *testing.T, entries [][3]string) string {
	t.Helper()
	root := t.TempDir()
	for i, e := range entries {
		dir := filepath.Join(root, "sys", "firmware", "memmap", itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for j, name := range []string{"start", "end", "type"} {
			if e[j] == "-" {
				continue // leave the file out
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(e[j]+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

func TestReadFirmwareMemmap(t *testing.T) {
	for _, tt := range []struct {
		name    string
		entries [][3]string
		want    Map
		wantErr bool
	}{
		{
			name: "QEMU 1 GiB, unsorted directory order",
			entries: [][3]string{
				{"0x100000", "0x3ffdffff", "System RAM"},
				{"0x0", "0x9fbff", "System RAM"},
				{"0x9fc00", "0x9ffff", "Reserved"},
				{"0xf0000", "0xfffff", "Reserved"},
				{"0x3ffe0000", "0x3fffffff", "Reserved"},
				{"0xfffc0000", "0xffffffff", "Reserved"},
				{"0xfeffc000", "0xfeffffff", "Reserved"},
			},
			want: Map{
				{Range{0, 0x9fc00}, RAM},
				{Range{0x9fc00, 0x400}, Reserved},
				{Range{0xf0000, 0x10000}, Reserved},
				{Range{0x100000, 0x3fee0000}, RAM},
				{Range{0x3ffe0000, 0x20000}, Reserved},
				{Range{0xfeffc000, 0x4000}, Reserved},
				{Range{0xfffc0000, 0x40000}, Reserved},
			},
		},
		{
			name:    "above 4 GiB and ACPI",
			entries: [][3]string{{"0x100000000", "0x63fffffff", "System RAM"}, {"0xbffe0000", "0xbfffffff", "ACPI Non-volatile Storage"}},
			want:    Map{{Range{0xbffe0000, 0x20000}, NVS}, {Range{0x100000000, 0x540000000}, RAM}},
		},
		{name: "end before start", entries: [][3]string{{"0x2000", "0x1000", "System RAM"}}, wantErr: true},
		{name: "bad number", entries: [][3]string{{"0x2000", "lots", "System RAM"}}, wantErr: true},
		{name: "missing type", entries: [][3]string{{"0x0", "0xfff", "-"}}, wantErr: true},
		{name: "empty type", entries: [][3]string{{"0x0", "0xfff", ""}}, wantErr: true},
		{name: "no entries", entries: nil, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeFirmwareMemmap(t, tt.entries)
			if tt.entries == nil {
				if err := os.MkdirAll(filepath.Join(root, "sys", "firmware", "memmap"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ReadFirmwareMemmap(root)
			if tt.wantErr {
				if err == nil || got != nil {
					t.Fatalf("ReadFirmwareMemmap = %v, %v; want an error", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadFirmwareMemmap =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestReadFirmwareMemmapMissing(t *testing.T) {
	_, err := ReadFirmwareMemmap(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFirmwareMemmap(empty root) = %v, want fs.ErrNotExist", err)
	}
}

func TestReadFirmwareMemmapRealMachine(t *testing.T) {
	m, err := ReadFirmwareMemmap("/")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no /sys/firmware/memmap (CONFIG_FIRMWARE_MEMMAP off)")
	}
	if err != nil {
		t.Fatal(err)
	}
	if m.TotalRAM() == 0 {
		t.Errorf("no System RAM in %v", m)
	}
	for i := 1; i < len(m); i++ {
		if m[i].Start < m[i-1].Start {
			t.Errorf("not sorted: %v", m)
		}
	}
}
