package bootparam_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kjump/kjump/bootparam"
)

func TestParseFake(t *testing.T) {
	f := defaultFake()
	data := f.bytes()
	b, err := bootparam.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	h := b.Header
	want := bootparam.SetupHeader{
		SetupSects: 3, Syssize: 64, BootFlag: 0xaa55, Version: 0x020f, LoadFlags: 0x81,
		Code32Start: 0x100000, InitrdAddrMax: 0x7fffffff, KernelAlignment: 0x200000,
		RelocatableKernel: 1, MinAlignment: 21, XLoadFlags: 0x3f, CmdlineSize: 2047,
		PayloadOffset: 0x3a0, PayloadLength: 0x200, PrefAddress: 0x1000000, InitSize: 0x1800000,
		HandoverOffset: 0x190, KernelInfoOffset: 0x1234, KernelVersion: "6.12.0-fake (kjump@test) #1 SMP",
	}
	if h != want {
		t.Errorf("header\n got %+v\nwant %+v", h, want)
	}
	if h.Protocol() != "2.15" || !h.CanLoadAbove4G() {
		t.Errorf("Protocol %s, CanLoadAbove4G %v", h.Protocol(), h.CanLoadAbove4G())
	}
	if len(b.Setup) != 4*512 || !bytes.Equal(b.Setup, data[:2048]) {
		t.Errorf("Setup is %d bytes, want the first 2048", len(b.Setup))
	}
	if len(b.Kernel) != 64*16 || !bytes.Equal(b.Kernel, data[2048:]) {
		t.Errorf("Kernel is %d bytes, want the 1024 after setup", len(b.Kernel))
	}
}

func TestParseTrailingDataIgnored(t *testing.T) {
	data := append(defaultFake().bytes(), []byte("appended signature")...)
	b, err := bootparam.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Kernel) != 64*16 {
		t.Errorf("Kernel is %d bytes, want syssize*16 = 1024", len(b.Kernel))
	}
}

func TestParseSetupSectsZeroMeansFour(t *testing.T) {
	f := defaultFake()
	f.setupSects = 0
	b, err := bootparam.Parse(f.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Setup) != 5*512 {
		t.Errorf("Setup is %d bytes, want 5 sectors", len(b.Setup))
	}
}

func TestParseErrors(t *testing.T) {
	mod := func(m func(*fakeImage)) []byte {
		f := defaultFake()
		m(&f)
		return f.bytes()
	}
	full := defaultFake().bytes()
	arm64 := make([]byte, 4096)
	copy(arm64[0x38:], "ARM\x64")
	for _, tc := range []struct {
		name string
		data []byte
		kind error
		says []string // substrings of the message: the cause and the fix
	}{
		{"empty", nil, bootparam.ErrTruncated, []string{"empty"}},
		{"ELF vmlinux", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 4096)...), bootparam.ErrNotBzImage,
			[]string{"this is an ELF vmlinux", "arch/x86/boot/bzImage"}},
		{"gzip", []byte("\x1f\x8b\x08\x00rest"), bootparam.ErrNotBzImage, []string{"gzip", "bzImage itself"}},
		{"xz", []byte("\xfd7zXZ\x00\x00"), bootparam.ErrNotBzImage, []string{"xz"}},
		{"zstd", []byte("\x28\xb5\x2f\xfd"), bootparam.ErrNotBzImage, []string{"zstd"}},
		{"cpio", []byte("07070100000001"), bootparam.ErrNotBzImage, []string{"cpio", "initrd"}},
		{"arm64 Image", arm64, bootparam.ErrNotBzImage, []string{"arm64", "x86_64"}},
		{"short junk", []byte("hello"), bootparam.ErrTruncated, []string{"5 bytes"}},
		{"no boot flag", mod(func(f *fakeImage) { f.bootFlag = 0 }), bootparam.ErrNotBzImage, []string{"0xAA55", "pass the bzImage"}},
		{"no HdrS", mod(func(f *fakeImage) { f.magic = "Hdrs" }), bootparam.ErrNotBzImage, []string{"HdrS"}},
		{"protocol 2.11", mod(func(f *fakeImage) { f.version = 0x020b }), bootparam.ErrUnsupported, []string{"2.11", "3.8"}},
		{"header too short", mod(func(f *fakeImage) { f.jump = 0x60 }), bootparam.ErrNotBzImage, []string{"0x262"}},
		{"header too long", mod(func(f *fakeImage) { f.jump = 0x90 }), bootparam.ErrNotBzImage, []string{"0x292"}},
		{"zImage", mod(func(f *fakeImage) { f.loadFlags = 0 }), bootparam.ErrUnsupported, []string{"zImage"}},
		{"32-bit", mod(func(f *fakeImage) { f.xloadFlags = 0 }), bootparam.ErrUnsupported,
			[]string{"not a 64-bit kernel", "CONFIG_X86_64=y"}},
		{"not relocatable", mod(func(f *fakeImage) { f.relocatable = 0 }), bootparam.ErrUnsupported,
			[]string{"not relocatable", "CONFIG_RELOCATABLE=y"}},
		{"alignment 0", mod(func(f *fakeImage) { f.alignment = 0 }), bootparam.ErrNotBzImage, []string{"kernel_alignment"}},
		{"alignment 3 MiB", mod(func(f *fakeImage) { f.alignment = 0x300000 }), bootparam.ErrNotBzImage, []string{"power of two"}},
		{"syssize 0", mod(func(f *fakeImage) { f.syssize = 0 }), bootparam.ErrNotBzImage, []string{"syssize"}},
		{"truncated setup", full[:1536], bootparam.ErrTruncated, []string{"setup code", "copy or rebuild"}},
		{"truncated kernel", full[:len(full)-1], bootparam.ErrTruncated, []string{"syssize", "copy or rebuild"}},
		{"setup bigger than file", mod(func(f *fakeImage) { f.setupSects = 200; f.syssize = 1 })[:2048],
			bootparam.ErrTruncated, []string{"setup"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := bootparam.Parse(tc.data)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			if b != nil {
				t.Fatal("non-nil image with an error")
			}
			var fe *bootparam.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FormatError", err)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q does not mention %q", err, s)
				}
			}
			if !strings.HasPrefix(err.Error(), fe.Err.Error()+": ") {
				t.Errorf("message %q does not start with its kind %q", err, fe.Err)
			}
		})
	}
}

// TestParseTruncated cuts a valid image at every length: each prefix is
// ErrTruncated (never a panic, never success).
func TestParseTruncated(t *testing.T) {
	full := defaultFake().bytes()
	for n := 0; n < len(full); n++ {
		b, err := bootparam.Parse(full[:n])
		if !errors.Is(err, bootparam.ErrTruncated) || b != nil {
			t.Fatalf("prefix of %d bytes: %v", n, err)
		}
	}
}

func TestKernelVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		ptr  uint16
		str  string
		want string
	}{
		{"ok", 0x400, "6.12.0 (x@y) #1", "6.12.0 (x@y) #1"},
		{"null pointer", 0, "", ""},
		{"past setup", 0x800, "", ""},
		{"non printable", 0x400, "6.12\x01", ""},
		{"empty string", 0x400, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := defaultFake()
			f.versionPtr, f.versionStr = tc.ptr, tc.str+"\x00"
			b, err := bootparam.Parse(f.bytes())
			if err != nil {
				t.Fatal(err)
			}
			if b.Header.KernelVersion != tc.want {
				t.Errorf("KernelVersion = %q, want %q", b.Header.KernelVersion, tc.want)
			}
		})
	}
	// No NUL before the end of the setup code.
	f := defaultFake()
	data := f.bytes()
	binary.LittleEndian.PutUint16(data[0x20e:], 0x800-0x200-4)
	copy(data[0x800-4:], "abcd")
	b, err := bootparam.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if b.Header.KernelVersion != "" {
		t.Errorf("unterminated string accepted: %q", b.Header.KernelVersion)
	}
}

func TestRead(t *testing.T) {
	b, err := bootparam.Read(bytes.NewReader(defaultFake().bytes()))
	if err != nil || b.Header.Version != 0x020f {
		t.Fatalf("Read: %v", err)
	}
	if _, err := bootparam.Read(strings.NewReader("\x7fELF")); !errors.Is(err, bootparam.ErrNotBzImage) {
		t.Fatalf("Read(ELF): %v", err)
	}
}

// realBzImages lists kernels on this machine to test against: the
// running distribution's, $KJUMP_TEST_BZIMAGE, and the lab's cached build.
func realBzImages() []string {
	var paths []string
	if p := os.Getenv("KJUMP_TEST_BZIMAGE"); p != "" {
		paths = append(paths, p)
	}
	g, _ := filepath.Glob("/boot/vmlinuz-*")
	paths = append(paths, g...)
	if home, err := os.UserHomeDir(); err == nil {
		g, _ := filepath.Glob(filepath.Join(home, ".cache/kjump/build/*/arch/x86/boot/bzImage"))
		paths = append(paths, g...)
	}
	return paths
}

func TestRealBzImage(t *testing.T) {
	paths := realBzImages()
	if len(paths) == 0 {
		t.Skip("no bzImage on this machine (/boot/vmlinuz-*, $KJUMP_TEST_BZIMAGE, the lab's build cache)")
	}
	n := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Logf("%s: %v (skipped)", p, err)
			continue
		}
		n++
		t.Run(filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p), func(t *testing.T) {
			b, err := bootparam.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			h := b.Header
			t.Logf("%s: protocol %s, version %q, setup %d, kernel %d, init_size %#x, align %#x, xloadflags %#x",
				p, h.Protocol(), h.KernelVersion, len(b.Setup), len(b.Kernel), h.InitSize, h.KernelAlignment, h.XLoadFlags)
			if h.Version < 0x020c {
				t.Errorf("protocol %s < 2.12", h.Protocol())
			}
			if h.XLoadFlags&bootparam.XLFKernel64 == 0 {
				t.Error("not 64-bit")
			}
			if h.KernelVersion == "" {
				t.Error("no kernel version string")
			}
			if uint64(h.PayloadOffset)+uint64(h.PayloadLength) > uint64(len(b.Kernel)) {
				t.Errorf("payload [%#x+%#x] outside the %d-byte kernel", h.PayloadOffset, h.PayloadLength, len(b.Kernel))
			}
			if b.MemSize() < uint64(len(b.Kernel)) || b.MemSize() < uint64(h.InitSize) {
				t.Errorf("MemSize %#x too small", b.MemSize())
			}
			zp, err := b.BootParams(validParams())
			if err != nil {
				t.Fatal(err)
			}
			checkZeroPage(t, b, zp, validParams())
		})
	}
	if n == 0 {
		t.Skip("no readable bzImage (run as a user that can read /boot/vmlinuz-*)")
	}
}
