package initramfs

import (
	"bytes"
	"compress/gzip"
	"errors"
	"slices"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/kjump/kjump/cpio"
)

// rawCpio is an uncompressed newc archive of the named regular files.
func rawCpio(t testing.TB, names ...string) []byte {
	var b bytes.Buffer
	w := cpio.NewWriter(&b)
	for _, n := range names {
		data := []byte("content of " + n)
		if err := w.WriteHeader(&cpio.Header{Name: n, Mode: cpio.TypeReg | 0o644, NLink: 1, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	var out bytes.Buffer
	z := gzip.NewWriter(&out)
	z.Write(b)
	z.Close()
	return out.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	var out bytes.Buffer
	z, _ := zstd.NewWriter(&out)
	z.Write(b)
	z.Close()
	return out.Bytes()
}

func TestList(t *testing.T) {
	early := rawCpio(t, "kernel/x86/microcode/GenuineIntel.bin")
	main := rawCpio(t, "usr/sbin/kjump", "./scripts/local-premount/kjump", "/usr/lib/modules/6.12.118/kernel/drivers/block/virtio_blk.ko.xz")
	pad := make([]byte, 512-len(early)%512)
	want := []string{"usr/sbin/kjump", "scripts/local-premount/kjump", "usr/lib/modules/6.12.118/kernel/drivers/block/virtio_blk.ko.xz"}
	for _, tt := range []struct {
		name string
		in   []byte
		want []string
		err  error
	}{
		{"zstd (Debian 12)", zst(t, main), want, nil},
		{"gzip", gz(t, main), want, nil},
		{"uncompressed", main, want, nil},
		{"early microcode, padding, zstd", slices.Concat(early, pad, zst(t, main)), append([]string{"kernel/x86/microcode/GenuineIntel.bin"}, want...), nil},
		{"xz", append([]byte{0xfd, '7', 'z', 'X', 'Z', 0}, make([]byte, 32)...), nil, ErrCompression},
		{"empty", nil, nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := List(bytes.NewReader(tt.in))
			var got []string
			if l != nil {
				got = l.Names
				// Every test file is one page once unpacked.
				if l.Unpacked != uint64(len(got))*4096 {
					t.Errorf("Unpacked = %d for %d small files", l.Unpacked, len(got))
				}
			}
			if !errors.Is(err, tt.err) || !slices.Equal(got, tt.want) {
				t.Errorf("List = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
	if _, err := List(bytes.NewReader(zst(t, main)[:40])); err == nil {
		t.Error("a truncated archive was listed")
	}
}

func FuzzList(f *testing.F) {
	f.Add(zst(f, rawCpio(f, "a", "b/c")))
	f.Add(gz(f, rawCpio(f, "usr/sbin/kjump")))
	f.Add(append(rawCpio(f, "x"), make([]byte, 100)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := List(bytes.NewReader(b))
		if err != nil {
			if l != nil {
				t.Fatalf("a listing beside an error: %v", err)
			}
			return
		}
		for _, n := range l.Names {
			if n == "" || n[0] == '/' {
				t.Fatalf("bad name %q", n)
			}
		}
	})
}
