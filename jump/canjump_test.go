package jump

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kjump/kjump/bootparam"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// syntheticKernel returns a bzImage with kernel_version "release (x@y) #1"
// (none if release is "") whose gzip payload holds a vmlinux stand-in with
// an embedded config (CONFIG_IKCONFIG's IKCFG_ST … IKCFG_ED) if config is
// not "", and no payload otherwise.
func syntheticKernel(t *testing.T, release, config string) []byte {
	t.Helper()
	var payload []byte
	if config != "" {
		vmlinux := append([]byte("\x7fELF vmlinux stand-in IKCFG_ST"), gz(t, []byte(config))...)
		vmlinux = append(vmlinux, "IKCFG_ED more"...)
		payload = gz(t, vmlinux)
	}
	const setupSects = 3
	setup := (setupSects + 1) * 512
	kernel := append(make([]byte, 0x100), payload...)
	kernel = append(kernel, make([]byte, 16-len(kernel)%16)...)
	b := append(make([]byte, setup), kernel...)
	le := binary.LittleEndian
	b[0x1f1] = setupSects
	le.PutUint32(b[0x1f4:], uint32(len(kernel)/16))
	le.PutUint16(b[0x1fe:], 0xaa55)
	b[0x200], b[0x201] = 0xeb, 0x6a
	copy(b[0x202:], "HdrS")
	le.PutUint16(b[0x206:], 0x020f)
	b[0x211] = bootparam.LoadedHigh
	le.PutUint32(b[0x230:], 0x200000)
	b[0x234] = 1
	le.PutUint16(b[0x236:], bootparam.XLFKernel64|bootparam.XLFCanBeLoadedAbove4G)
	le.PutUint32(b[0x238:], 2047)
	le.PutUint32(b[0x248:], 0x100)                // payload_offset
	le.PutUint32(b[0x24c:], uint32(len(payload))) // payload_length
	le.PutUint64(b[0x258:], 0x1000000)
	le.PutUint32(b[0x260:], 0x1800000)
	if release != "" {
		le.PutUint16(b[0x20e:], 0x600-0x200)
		copy(b[0x600:], release+" (x@y) #1\x00")
	}
	return b
}

func TestCheckCanJumpBack(t *testing.T) {
	const (
		rel   = "6.12.0-synthetic"
		jumpY = "CONFIG_KEXEC=y\nCONFIG_HIBERNATION=y\nCONFIG_KEXEC_JUMP=y\n"
		jumpN = "CONFIG_KEXEC=y\n# CONFIG_KEXEC_JUMP is not set\n"
	)
	for _, tc := range []struct {
		name              string
		release, embedded string
		beside            string // config-RELEASE next to the image
		err               error
		says              string // in the error or the warning
	}{
		{"embedded config with KEXEC_JUMP", rel, jumpY, "", nil, ""},
		{"embedded config without KEXEC_JUMP", rel, jumpN, "", ErrNoKexecJump, "its embedded config"},
		{"embedded config wins", rel, jumpY, jumpN, nil, ""},
		{"config beside the image with KEXEC_JUMP", rel, "", jumpY, nil, ""},
		{"config beside the image without KEXEC_JUMP", rel, "", jumpN, ErrNoKexecJump, "config-" + rel},
		{"no config at all", rel, "", "", nil, "cannot verify"},
		{"no release, no embedded config", "", "", jumpN, nil, "cannot verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "vmlinuz-"+tc.release)
			bz, err := bootparam.Parse(syntheticKernel(t, tc.release, tc.embedded))
			if err != nil {
				t.Fatal(err)
			}
			if tc.beside != "" {
				if err := os.WriteFile(filepath.Join(dir, "config-"+rel), []byte(tc.beside), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			warning, err := checkCanJumpBack(bz, path)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			said := warning
			if err != nil {
				said = err.Error()
				if warning != "" {
					t.Errorf("a warning with an error: %q", warning)
				}
			}
			if tc.says == "" && said != "" {
				t.Errorf("unexpected %q", said)
			}
			if !strings.Contains(said, tc.says) {
				t.Errorf("%q does not say %q", said, tc.says)
			}
		})
	}
}

// TestCheckCanJumpBackLabKernels runs the check on the lab's cached kernels
// (one of them is built without CONFIG_KEXEC_JUMP for the errors scenario):
// the answer must agree with the config file beside each. A kernel without
// an embedded config (the real machine's, on Debian's config) can only be
// warned about.
func TestCheckCanJumpBackLabKernels(t *testing.T) {
	home, _ := os.UserHomeDir()
	dirs, _ := filepath.Glob(filepath.Join(home, ".cache/kjump/kernel/*"))
	n := 0
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "bzImage"))
		if err != nil {
			continue
		}
		cfg, err := os.ReadFile(filepath.Join(dir, "config"))
		if err != nil {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			bz, err := bootparam.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			warning, err := checkCanJumpBack(bz, filepath.Join(dir, "bzImage"))
			canJump := strings.Contains(string(cfg), "\nCONFIG_KEXEC_JUMP=y\n")
			embedded := strings.Contains(string(cfg), "\nCONFIG_IKCONFIG=y\n")
			switch {
			case !embedded:
				if warning == "" || err != nil {
					t.Errorf("no embedded config: warning %q, error %v; want a warning that it cannot verify", warning, err)
				}
			case warning != "":
				t.Errorf("warning %q: the lab kernels embed their config", warning)
			case canJump && err != nil:
				t.Errorf("config has KEXEC_JUMP, check says %v", err)
			case !canJump && !errors.Is(err, ErrNoKexecJump):
				t.Errorf("config lacks KEXEC_JUMP, check says %v", err)
			}
		})
	}
	if n == 0 {
		t.Skip("no lab kernel in ~/.cache/kjump/kernel (kjump lab build)")
	}
}
