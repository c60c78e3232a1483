package initramfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/kjump/kjump/cpio"
)

// ErrCompression means an initramfs segment is compressed in a way List does
// not read (xz, lzma, lz4, bzip2, lzo).
var ErrCompression = errors.New("initramfs compression not supported")

// MaxListEntries bounds the entries List returns.
const MaxListEntries = 1 << 20

// Listing is what List finds in an initramfs.
type Listing struct {
	Names []string // every path, as stored, without a leading "./" or "/"
	// Unpacked is the memory the kernel's rootfs needs for the files: each
	// regular file's size rounded up to a 4 KiB page.
	Unpacked uint64
}

// List returns the paths in an initramfs as a boot loader hands it to the
// kernel: one or more cpio archives back to back, each uncompressed (an early
// microcode archive), gzip- or zstd-compressed, with zero padding between
// them — what Debian's initramfs-tools writes. Paths are as stored, without
// a leading "./" or "/".
func List(r io.Reader) (*Listing, error) {
	br := bufio.NewReader(r)
	out := &Listing{}
	for seg := 0; ; seg++ {
		// Zero padding between archives.
		for {
			b, err := br.Peek(1)
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			if b[0] != 0 {
				break
			}
			br.ReadByte()
		}
		magic, err := br.Peek(4)
		if err != nil {
			return nil, fmt.Errorf("initramfs segment %d: %w", seg, io.ErrUnexpectedEOF)
		}
		var src io.Reader
		last := false
		switch {
		case bytes.HasPrefix(magic, []byte("0707")):
			src = br
		case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
			z, err := gzip.NewReader(br)
			if err != nil {
				return nil, fmt.Errorf("initramfs segment %d: %w", seg, err)
			}
			z.Multistream(false)
			src, last = z, true
		case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
			z, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(256<<20))
			if err != nil {
				return nil, fmt.Errorf("initramfs segment %d: %w", seg, err)
			}
			defer z.Close()
			src, last = z, true
		default:
			return nil, fmt.Errorf("initramfs segment %d starts with %x: %w (only uncompressed, gzip and zstd archives are read)", seg, magic, ErrCompression)
		}
		cr := cpio.NewReader(src)
		for {
			h, err := cr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("initramfs segment %d: %w", seg, err)
			}
			if len(out.Names) >= MaxListEntries {
				return nil, fmt.Errorf("initramfs: more than %d entries", MaxListEntries)
			}
			name := h.Name
			for len(name) > 0 && (name[0] == '/' || (len(name) > 1 && name[:2] == "./")) {
				if name[0] == '/' {
					name = name[1:]
				} else {
					name = name[2:]
				}
			}
			if name != "" && name != "." {
				out.Names = append(out.Names, name)
			}
			if h.Mode&cpio.TypeMask == cpio.TypeReg {
				out.Unpacked += (uint64(h.Size) + 4095) &^ 4095
			}
		}
		if last {
			// The kernel goes on after a compressed archive too, but
			// initramfs-tools puts the compressed one last.
			return out, nil
		}
	}
}
