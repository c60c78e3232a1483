package kexec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/memmap"
)

func seg(start, size uint64, data int) Segment {
	return Segment{Name: "s", Mem: memmap.Range{Start: start, Size: size}, Data: make([]byte, data)}
}

func TestValidate(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		name string
		segs []Segment
		ram  uint64
		err  error
		says string
	}{
		{"fine", []Segment{seg(0x20000, 0x40000, 0), seg(0x10000000, 0x1000000, 5000), seg(0x11000000, 0x100000, 0x100000)}, gib, nil, ""},
		{"fine unsorted", []Segment{seg(0x11000000, 0x1000, 1), seg(0x10000000, 0x1000, 1)}, gib, nil, ""},
		{"adjacent", []Segment{seg(0x1000, 0x1000, 0), seg(0x2000, 0x1000, 0)}, 0, nil, ""},
		{"no segments", nil, gib, nil, ""},
		{"RAM unknown skips the size check", []Segment{seg(0, 8*gib, 0)}, 0, nil, ""},
		{"exactly half of RAM", []Segment{seg(0x10000000, gib/2, 0)}, gib, nil, ""},
		{"unaligned start", []Segment{seg(0x10000800, 0x1000, 0)}, gib, ErrBadSegments, "whole pages"},
		{"unaligned size", []Segment{seg(0x10000000, 0x1800, 0)}, gib, ErrBadSegments, "whole pages"},
		{"empty segment", []Segment{seg(0x10000000, 0, 0)}, gib, ErrBadSegments, "whole pages"},
		{"more data than memory", []Segment{seg(0x10000000, 0x1000, 0x1001)}, gib, ErrBadSegments, "more data than memory"},
		{"overlap", []Segment{seg(0x10000000, 0x2000, 0), seg(0x10001000, 0x1000, 0)}, gib, ErrBadSegments, "overlaps"},
		{"overlap unsorted", []Segment{seg(0x10001000, 0x1000, 0), seg(0x10000000, 0x2000, 0)}, gib, ErrBadSegments, "overlaps"},
		{"same start", []Segment{seg(0x10000000, 0x1000, 0), seg(0x10000000, 0x1000, 0)}, gib, ErrBadSegments, "overlaps"},
		{"over half of RAM", []Segment{seg(0x10000000, gib/2+0x1000, 0)}, gib, ErrTooLarge, "more than half"},
		{"over half of RAM in total", []Segment{seg(0x20000, 0x40000, 0), seg(0x10000000, gib/2, 0)}, gib, ErrTooLarge, "crashkernel="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.segs, tc.ram)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%q does not say %q", err, tc.says)
			}
		})
	}
}

// TestValidateSegmentCount: kexec_load refuses more than KEXEC_SEGMENT_MAX
// (16) segments with EINVAL (kernel/kexec.c), so Validate should too.
func TestValidateSegmentCount(t *testing.T) {
	var segs []Segment
	for i := range 17 {
		segs = append(segs, seg(uint64(i)*PageSize, PageSize, 0))
	}
	if err := Validate(segs, 1<<30); !errors.Is(err, ErrBadSegments) {
		t.Errorf("17 segments: %v, want ErrBadSegments", err)
	}
	if err := Validate(segs[:16], 1<<30); err != nil {
		t.Errorf("16 segments: %v", err)
	}
}

// TestValidateKeepsOrder: Validate sorts a copy, not the caller's slice.
func TestValidateKeepsOrder(t *testing.T) {
	segs := []Segment{seg(0x3000, 0x1000, 0), seg(0x1000, 0x1000, 0)}
	if err := Validate(segs, 0); err != nil {
		t.Fatal(err)
	}
	if segs[0].Mem.Start != 0x3000 {
		t.Error("Validate reordered the caller's segments")
	}
}

func TestPermissionCause(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		says  string
	}{
		{"kexec_load_disabled", map[string]string{"proc/sys/kernel/kexec_load_disabled": "1\n", "sys/kernel/security/lockdown": "[none] integrity confidentiality\n"}, "kexec_load_disabled=1"},
		{"no loads left", map[string]string{"proc/sys/kernel/kexec_load_disabled": "0\n", "proc/sys/kernel/kexec_load_limit_reboot": "0\n"}, "kexec_load_limit_reboot=0"},
		{"loads left", map[string]string{"proc/sys/kernel/kexec_load_disabled": "0\n", "proc/sys/kernel/kexec_load_limit_reboot": "-1\n"}, "needs root"},
		{"disabled wins over lockdown", map[string]string{"proc/sys/kernel/kexec_load_disabled": "1\n", "sys/kernel/security/lockdown": "none [integrity] confidentiality\n"}, "kexec_load_disabled=1"},
		{"lockdown integrity", map[string]string{"proc/sys/kernel/kexec_load_disabled": "0\n", "sys/kernel/security/lockdown": "none [integrity] confidentiality\n"}, "locked down (none [integrity] confidentiality)"},
		{"lockdown confidentiality", map[string]string{"sys/kernel/security/lockdown": "none integrity [confidentiality]\n"}, "[confidentiality]"},
		{"lockdown none", map[string]string{"proc/sys/kernel/kexec_load_disabled": "0\n", "sys/kernel/security/lockdown": "[none] integrity confidentiality\n"}, "needs root"},
		{"nothing to read", nil, "needs root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeRoot(t, tc.files)
			if got := permissionCause(root); !strings.Contains(got, tc.says) {
				t.Errorf("%q does not say %q", got, tc.says)
			}
		})
	}
}

func TestKernelRAM(t *testing.T) {
	for _, tc := range []struct {
		meminfo string
		want    uint64
	}{
		{"MemTotal:        1004892 kB\nMemFree:          900000 kB\n", 1004892 << 10},
		{"MemFree:          900000 kB\nMemTotal:     2048 kB\n", 2 << 20},
		{"MemFree:          900000 kB\n", 0},
		{"", 0},
	} {
		root := fakeRoot(t, map[string]string{"proc/meminfo": tc.meminfo})
		if got := kernelRAM(root); got != tc.want {
			t.Errorf("%q: %d, want %d", tc.meminfo, got, tc.want)
		}
	}
	if got := kernelRAM(fakeRoot(t, nil)); got != 0 {
		t.Errorf("no /proc/meminfo: %d, want 0", got)
	}
}

func TestExplain(t *testing.T) {
	const meminfo = "MemTotal:        1048576 kB\n" // 1 GiB
	big := []Segment{seg(0x20000, 0x40000, 0), seg(0x10000000, 600<<20, 0)}
	fine := []Segment{seg(0x10000000, 256<<20, 0)}
	for _, tc := range []struct {
		name  string
		errno unix.Errno
		segs  []Segment
		files map[string]string
		want  error
		says  string
	}{
		{"ENOSYS", unix.ENOSYS, fine, nil, ErrNotSupported, "CONFIG_KEXEC=y"},
		{"EPERM disabled", unix.EPERM, fine, map[string]string{"proc/sys/kernel/kexec_load_disabled": "1"}, ErrNotPermitted, "kexec_load_disabled=1"},
		{"EPERM lockdown", unix.EPERM, fine, map[string]string{"sys/kernel/security/lockdown": "none [integrity] confidentiality"}, ErrNotPermitted, "[integrity]"},
		{"EPERM otherwise", unix.EPERM, fine, map[string]string{"proc/sys/kernel/kexec_load_disabled": "0", "sys/kernel/security/lockdown": "[none] integrity"}, ErrNotPermitted, "needs root"},
		{"EBUSY", unix.EBUSY, fine, nil, ErrBusy, "in progress"},
		{"ENOMEM", unix.ENOMEM, fine, nil, ErrNoMemory, "free RAM"},
		{"EADDRNOTAVAIL", unix.EADDRNOTAVAIL, fine, nil, ErrBadSegments, "page aligned"},
		{"EINVAL over half of MemTotal", unix.EINVAL, big, map[string]string{"proc/meminfo": meminfo}, ErrTooLarge, "more than half of the 1 GiB"},
		{"EINVAL within half of MemTotal", unix.EINVAL, fine, map[string]string{"proc/meminfo": meminfo}, ErrBadSegments, "CONFIG_KEXEC_JUMP"},
		{"EINVAL without meminfo", unix.EINVAL, big, nil, ErrBadSegments, "CONFIG_KEXEC_JUMP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeRoot(t, tc.files)
			sentinel, cause := explain(root, tc.errno, tc.segs)
			if !errors.Is(sentinel, tc.want) {
				t.Errorf("sentinel %v, want %v", sentinel, tc.want)
			}
			if !strings.Contains(cause, tc.says) {
				t.Errorf("cause %q does not say %q", cause, tc.says)
			}
		})
	}
}

// TestExplainEINVALOverlap: when the kernel says EINVAL and Validate finds
// overlapping segments (not a size problem), the sentinel must say so.
func TestExplainEINVALOverlap(t *testing.T) {
	root := fakeRoot(t, map[string]string{"proc/meminfo": "MemTotal:        1048576 kB\n"})
	overlap := []Segment{seg(0x10000000, 0x2000, 0), seg(0x10001000, 0x1000, 0)}
	sentinel, cause := explain(root, unix.EINVAL, overlap)
	if sentinel != ErrBadSegments {
		t.Errorf("sentinel %v for %q, want %v", sentinel, cause, ErrBadSegments)
	}
}

func TestLoadError(t *testing.T) {
	root := fakeRoot(t, map[string]string{"proc/sys/kernel/kexec_load_disabled": "1"})
	segs := []Segment{seg(0x10000000, 0x1000, 10), seg(0x20000000, 0x1000, 0)}
	le := &LoadError{Entry: 0x1ff00000, Segments: segs, Flags: PreserveContext, Errno: unix.EPERM}
	le.sentinel, le.Detail = explain(root, le.Errno, segs)
	var err error = le

	if !errors.Is(err, ErrNotPermitted) {
		t.Error("does not match its sentinel ErrNotPermitted")
	}
	if !errors.Is(err, unix.EPERM) {
		t.Error("does not match its errno EPERM")
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Error("does not match fs.ErrPermission (through the errno)")
	}
	for _, other := range []error{ErrTooLarge, ErrBadSegments, ErrNotSupported, unix.EINVAL} {
		if errors.Is(err, other) {
			t.Errorf("matches %v too", other)
		}
	}
	var got *LoadError
	if !errors.As(fmtWrap(err), &got) || got != le {
		t.Error("errors.As does not find the *LoadError through a wrapper")
	}
	msg := err.Error()
	for _, s := range []string{"kexec_load", "entry 0x1ff00000", "2 segments", "flags 0x2", unix.EPERM.Error(), "kexec_load_disabled=1"} {
		if !strings.Contains(msg, s) {
			t.Errorf("%q does not say %q", msg, s)
		}
	}
}

func fmtWrap(err error) error { return errors.Join(errors.New("loading"), err) }

func TestSegmentString(t *testing.T) {
	s := Segment{Name: "initrd", Mem: memmap.Range{Start: 0x1fefe000, Size: 0x2000}, Data: make([]byte, 5000)}
	if got, want := s.String(), "initrd [0x1fefe000-0x1fefffff] (5000 bytes of data)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestLoaded(t *testing.T) {
	for _, tc := range []struct {
		content string
		want    bool
	}{{"1\n", true}, {"0\n", false}, {"0", false}} {
		got, err := loaded(fakeRoot(t, map[string]string{"sys/kernel/kexec_loaded": tc.content}))
		if err != nil || got != tc.want {
			t.Errorf("%q: %v, %v; want %v", tc.content, got, err, tc.want)
		}
	}
	if _, err := loaded(fakeRoot(t, nil)); !errors.Is(err, ErrNotSupported) {
		t.Errorf("no /sys/kernel/kexec_loaded: %v, want ErrNotSupported", err)
	}
}

// TestExecNotLoaded covers Exec's refusal before any syscall. It runs only
// when the real machine has no image loaded either, so that a mistake in the
// test can never jump.
func TestExecNotLoaded(t *testing.T) {
	if b, err := os.ReadFile("/sys/kernel/kexec_loaded"); err == nil && strings.TrimSpace(string(b)) != "0" {
		t.Skip("this machine has a kexec image loaded; not calling Exec")
	}
	never := func() error { t.Fatal("the jump was called"); return nil }
	d, err := execUnder(fakeRoot(t, map[string]string{"sys/kernel/kexec_loaded": "0\n"}), func() {}, never)
	if !errors.Is(err, ErrNotLoaded) || d != 0 {
		t.Fatalf("Exec with nothing loaded: %v, %v; want ErrNotLoaded", d, err)
	}
	if _, err := execUnder(fakeRoot(t, nil), func() {}, never); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("Exec without /sys/kernel/kexec_loaded: %v; want ErrNotSupported", err)
	}
}

// TestExecSyncsFirst: with an image loaded, Exec syncs the filesystems before
// the jump, as kexec -e does (the jump suspends devices with whatever
// writeback is in flight), and maps the jump's errors.
func TestExecSyncsFirst(t *testing.T) {
	root := fakeRoot(t, map[string]string{"sys/kernel/kexec_loaded": "1\n"})
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"jumps and returns", nil, nil},
		{"a device refused to suspend", unix.EBUSY, ErrBusy},
	} {
		t.Run(c.name, func(t *testing.T) {
			var steps []string
			_, err := execUnder(root, func() { steps = append(steps, "sync") }, func() error {
				steps = append(steps, "jump")
				return c.err
			})
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Errorf("Exec: %v, want %v", err, c.want)
			}
			if got := strings.Join(steps, ", "); got != "sync, jump" {
				t.Errorf("steps: %s; want sync, jump", got)
			}
		})
	}
}

// TestLoadJumpBackRefusals covers the errors LoadJumpBack returns before it
// calls kexec_load.
func TestLoadJumpBackRefusals(t *testing.T) {
	if err := LoadJumpBack("/nonexistent", 0); !errors.Is(err, ErrNoJumpBack) {
		t.Errorf("entry 0: %v, want ErrNoJumpBack", err)
	}
	missing := filepath.Join(t.TempDir(), "mem")
	if err := LoadJumpBack(missing, 0x3f7fe0d8); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no /dev/mem: %v, want fs.ErrNotExist", err)
	}
}
