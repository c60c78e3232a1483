package hibernate

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kjump/kjump/bootparam"
	"github.com/kjump/kjump/doctor"
	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/memmap"
)

func TestResumeCommandLine(t *testing.T) {
	for _, tt := range []struct {
		r    memmap.Range
		want string
	}{
		{memmap.Range{Start: 16 << 20, Size: 240 << 20}, "nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K"},
		{memmap.Range{Start: 0x100000000, Size: 512 << 20}, "nokaslr memmap=exactmap memmap=256K@128K memmap=524288K@4194304K"},
	} {
		if got := ResumeCommandLine(tt.r); got != tt.want {
			t.Errorf("ResumeCommandLine(%v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestCheckOverlap(t *testing.T) {
	const page = image.PageSize
	second := image.Range{Start: 16 << 20, Size: 240 << 20}
	// A resume kernel started with ResumeCommandLine(second): the low range
	// and the region.
	own := []memmap.Range{{Start: 128 << 10, Size: 256 << 10}, {Start: 16 << 20, Size: 240 << 20}}
	for _, tt := range []struct {
		name    string
		own     []memmap.Range
		runs    []image.Run
		overlap string // the overlapping range in the message; "" for no error
	}{
		{name: "no runs", own: own},
		{name: "no RAM of its own", runs: []image.Run{{PFN: 0, Count: 1 << 20}}},
		{
			name: "disjoint",
			own:  own,
			runs: []image.Run{
				{PFN: 0, Count: 32}, // below the low range
				{PFN: (384 << 10) / page, Count: (16<<20 - 384<<10) / page}, // between the two
				{PFN: (256 << 20) / page, Count: 1 << 18, Zero: true},       // above the region
			},
		},
		{
			name:    "a data run over the region's first page",
			own:     own,
			runs:    []image.Run{{PFN: (16<<20)/page - 1, Count: 2}},
			overlap: "[0x1000000-0x1000fff]",
		},
		{
			name:    "a data run over the region's last page",
			own:     own,
			runs:    []image.Run{{PFN: (256<<20)/page - 1, Count: 100}},
			overlap: "[0xffff000-0xfffffff]",
		},
		{
			name:    "a zero run inside the region",
			own:     own,
			runs:    []image.Run{{PFN: 0, Count: 1}, {PFN: (100 << 20) / page, Count: 16, Zero: true}},
			overlap: "[0x6400000-0x640ffff]",
		},
		{
			name:    "a run over the low range",
			own:     own,
			runs:    []image.Run{{PFN: 0, Count: 64}},
			overlap: "[0x20000-0x3ffff]",
		},
		{
			name:    "a run covering everything",
			own:     own,
			runs:    []image.Run{{PFN: 0, Count: 1 << 20}},
			overlap: "[0x20000-0x5ffff]",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkOverlap(tt.own, tt.runs, second)
			if tt.overlap == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrOverlap) {
				t.Fatalf("checkOverlap = %v, want ErrOverlap", err)
			}
			msg := err.Error()
			cmdline := ResumeCommandLine(memmap.Range{Start: second.Start, Size: second.Size})
			if !strings.Contains(msg, "'"+cmdline+"'") {
				t.Errorf("message %q does not give the command line %q", msg, cmdline)
			}
			if !strings.Contains(msg, "holds saved pages ("+tt.overlap+")") {
				t.Errorf("message %q does not name the overlap %s", msg, tt.overlap)
			}
		})
	}
}

// fakeBlockDevice makes root/sys/dev/block/DEV/uevent name /dev/NAME and, if
// data is not nil, root/dev/NAME a regular file holding data.
func fakeBlockDevice(t *testing.T, root, dev, name string, data []byte) {
	t.Helper()
	major, minor, _ := strings.Cut(dev, ":")
	writeFile(t, filepath.Join(root, "sys/dev/block", dev, "uevent"),
		[]byte("MAJOR="+major+"\nMINOR="+minor+"\nDEVNAME="+name+"\nDEVTYPE=disk\nDISKSEQ=9\n"))
	if data != nil {
		writeFile(t, filepath.Join(root, "dev", name), data)
	}
}

func fingerprintOf(t *testing.T, dev []byte) [32]byte {
	t.Helper()
	sum, _, err := Fingerprint(bytes.NewReader(dev))
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestCheckFilesystems(t *testing.T) {
	const mtime = 1700000000
	vda := extDevice(64<<10, 3, mtime)
	vdb := extDevice(64<<10, 7, mtime)
	saved := []image.Filesystem{
		{Device: "254:0", Name: "/dev/vda on / (ext4): ext2/3/4, mount count 3", Fingerprint: fingerprintOf(t, vda)},
		{Device: "254:16", Name: "/dev/vdb on /home (ext4): ext2/3/4, mount count 7", Fingerprint: fingerprintOf(t, vdb)},
	}
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, root string)
		want  []string // in the message; none for no error
	}{
		{
			name: "unchanged",
			setup: func(t *testing.T, root string) {
				fakeBlockDevice(t, root, "254:0", "vda", vda)
				fakeBlockDevice(t, root, "254:16", "vdb", vdb)
			},
		},
		{
			name: "unchanged but for data past the superblock",
			setup: func(t *testing.T, root string) {
				b := bytes.Clone(vda)
				b[8192] ^= 0xff
				fakeBlockDevice(t, root, "254:0", "vda", b)
				fakeBlockDevice(t, root, "254:16", "vdb", vdb)
			},
		},
		{
			name: "mounted since",
			setup: func(t *testing.T, root string) {
				fakeBlockDevice(t, root, "254:0", "vda", extDevice(64<<10, 4, mtime+3600))
				fakeBlockDevice(t, root, "254:16", "vdb", vdb)
			},
			want: []string{"/dev/vda on / (ext4): ext2/3/4, mount count 3 changed: now ext2/3/4, mount count 4, last mounted 2023-11-14T23:13:20Z"},
		},
		{
			name: "a device is gone",
			setup: func(t *testing.T, root string) {
				fakeBlockDevice(t, root, "254:0", "vda", vda)
			},
			want: []string{"/dev/vdb on /home (ext4): ext2/3/4, mount count 7 is gone (block device 254:16:"},
		},
		{
			name: "its node is missing",
			setup: func(t *testing.T, root string) {
				fakeBlockDevice(t, root, "254:0", "vda", vda)
				fakeBlockDevice(t, root, "254:16", "vdb", nil)
			},
			want: []string{"/dev/vdb on /home (ext4): ext2/3/4, mount count 7: open "},
		},
		{
			name: "a device too short to fingerprint",
			setup: func(t *testing.T, root string) {
				fakeBlockDevice(t, root, "254:0", "vda", vda[:1000])
				fakeBlockDevice(t, root, "254:16", "vdb", vdb)
			},
			want: []string{"/dev/vda on / (ext4): ext2/3/4, mount count 3: reading the superblock"},
		},
		{
			name: "both changed",
			setup: func(t *testing.T, root string) {
				fakeBlockDevice(t, root, "254:0", "vda", extDevice(64<<10, 4, mtime))
				fakeBlockDevice(t, root, "254:16", "vdb", extDevice(64<<10, 8, mtime))
			},
			want: []string{"/dev/vda on / (ext4)", "mount count 4", "/dev/vdb on /home (ext4)", "mount count 8"},
		},
		{
			name: "the devices swapped numbers",
			setup: func(t *testing.T, root string) {
				fakeBlockDevice(t, root, "254:0", "vdb", vdb)
				fakeBlockDevice(t, root, "254:16", "vda", vda)
			},
			want: []string{"/dev/vda on / (ext4)", "now ext2/3/4, mount count 7", "/dev/vdb on /home (ext4)", "now ext2/3/4, mount count 3"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tt.setup(t, root)
			err := checkFilesystems(root, saved)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrStaleFS) {
				t.Fatalf("checkFilesystems = %v, want ErrStaleFS", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q does not contain %q", err, w)
				}
			}
		})
	}

	if err := checkFilesystems(t.TempDir(), nil); err != nil {
		t.Errorf("no filesystems: %v", err)
	}
}

func TestCheckResumeRegion(t *testing.T) {
	const (
		prefAddr = 0x1000000 // 16 MiB, x86_64's default CONFIG_PHYSICAL_START
		initSize = 0x2000000 // 32 MiB
		need     = initSize + 16<<20
	)
	kernel := func(relocatable uint8, pref uint64, init uint32) *bootparam.BzImage {
		return &bootparam.BzImage{Header: bootparam.SetupHeader{
			Version: 0x020f, RelocatableKernel: relocatable, KernelAlignment: 0x200000,
			PrefAddress: pref, InitSize: init,
		}}
	}
	for _, tt := range []struct {
		name   string
		bz     *bootparam.BzImage
		region memmap.Range
		want   string // in the message; "" for no error
	}{
		{name: "inside", bz: kernel(1, prefAddr, initSize), region: memmap.Range{Start: 16 << 20, Size: 240 << 20}},
		{name: "exactly enough", bz: kernel(1, prefAddr, initSize), region: memmap.Range{Start: prefAddr, Size: need}},
		{name: "starting below the preferred address", bz: kernel(1, prefAddr, initSize), region: memmap.Range{Start: 8 << 20, Size: 248 << 20}},
		{
			name:   "starting above the preferred address",
			bz:     kernel(1, prefAddr, initSize),
			region: memmap.Range{Start: 17 << 20, Size: 240 << 20},
			want:   "runs at 0x1000000 and needs 32 MiB from there plus room to work, but the region is [0x1100000-0x100fffff]; reserve the region at boot with memmap=256M$0x1000000 (it must start at or below 0x1000000) or choose it with --mem-min 0x1000000",
		},
		{
			name:   "a page too small",
			bz:     kernel(1, prefAddr, initSize),
			region: memmap.Range{Start: prefAddr, Size: need - image.PageSize},
			want:   "needs 32 MiB from there",
		},
		{
			name:   "too small for init_size alone",
			bz:     kernel(1, prefAddr, initSize),
			region: memmap.Range{Start: prefAddr, Size: 16 << 20},
			want:   "memmap=256M$0x1000000",
		},
		{
			name:   "a large region suggests its own size",
			bz:     kernel(1, 0x100000000, initSize),
			region: memmap.Range{Start: 16 << 20, Size: 1 << 30},
			want:   "memmap=1024M$0x100000000",
		},
		{
			name:   "entirely below the preferred address",
			bz:     kernel(1, 0x40000000, initSize),
			region: memmap.Range{Start: 16 << 20, Size: 240 << 20},
			want:   "runs at 0x40000000",
		},
		{
			name:   "not relocatable",
			bz:     kernel(0, prefAddr, initSize),
			region: memmap.Range{Start: 16 << 20, Size: 240 << 20},
			want:   "not relocatable",
		},
		{
			name:   "no preferred address",
			bz:     kernel(1, 0, initSize),
			region: memmap.Range{Start: 0, Size: 240 << 20},
			want:   "no preferred load address",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckResumeRegion(tt.bz, tt.region)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrRegion) {
				t.Fatalf("CheckResumeRegion = %v, want ErrRegion", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("message %q does not contain %q", err, tt.want)
			}
		})
	}
}

// A resume kernel's command line confines it to what checkOverlap compares
// with the saved runs: the image's own second-kernel region passes.
func TestResumeCommandLineMatchesCheckOverlap(t *testing.T) {
	second := memmap.Range{Start: 16 << 20, Size: 240 << 20}
	var own []memmap.Range
	for _, w := range strings.Fields(ResumeCommandLine(second)) {
		var size, start uint64
		if n, _ := fmt.Sscanf(w, "memmap=%dK@%dK", &size, &start); n == 2 {
			own = append(own, memmap.Range{Start: start << 10, Size: size << 10})
		}
	}
	if len(own) != 2 || own[1] != second {
		t.Fatalf("the command line gives RAM %v", own)
	}
	// Everything but the low range and the region was saved.
	runs := []image.Run{
		{PFN: 0, Count: (128 << 10) / image.PageSize},
		{PFN: (384 << 10) / image.PageSize, Count: (second.Start - 384<<10) / image.PageSize},
		{PFN: second.End() / image.PageSize, Count: 1 << 18},
	}
	if err := checkOverlap(own, runs, image.Range{Start: second.Start, Size: second.Size}); err != nil {
		t.Error(err)
	}
}

// TestJumpBackProblems: a resume kernel without a readable config (Debian: no
// IKCONFIG, no /boot in the initramfs) is not refused once the build matched;
// what would really stop the jump back still is.
func TestJumpBackProblems(t *testing.T) {
	debianInitramfs := doctor.Report{Checks: []doctor.Check{
		{Name: "kernel config", Status: doctor.Missing, Detail: "neither /proc/config.gz nor /boot/config-6.12.118 exists"},
		{Name: "CONFIG_KEXEC_JUMP", Status: doctor.Warn, Detail: "cannot verify: no kernel config"},
		{Name: "kernel.kexec_load_disabled", Status: doctor.OK},
		{Name: "region", Status: doctor.Missing, Detail: "no free window"},
		{Name: "RAM map", Status: doctor.Missing},
	}}
	if got := jumpBackProblems(debianInitramfs); len(got) != 0 {
		t.Errorf("Debian's resume initramfs: refused for %v", got)
	}
	locked := debianInitramfs
	locked.Checks = append(slices.Clone(locked.Checks),
		doctor.Check{Name: "lockdown", Status: doctor.Missing, Detail: "integrity"},
		doctor.Check{Name: "CONFIG_DEVMEM", Status: doctor.Missing, Detail: "is not set"})
	if got := jumpBackProblems(locked); len(got) != 1 || !strings.HasPrefix(got[0], "lockdown: ") {
		t.Errorf("lockdown: %v; want it alone", got)
	}
}
