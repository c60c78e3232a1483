package bootparam

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"os/exec"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ErrPayload means the compressed kernel inside a bzImage cannot be unpacked.
var ErrPayload = errors.New("cannot unpack the bzImage payload")

// payloadFormats are the kernel's compressors (CONFIG_KERNEL_*) by magic.
var payloadFormats = []struct {
	name  string
	magic []byte
}{
	{"gzip", []byte{0x1f, 0x8b}},
	{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{"lz4", []byte{0x02, 0x21, 0x4c, 0x18}},
	{"bzip2", []byte("BZh")},
	{"lzo", []byte{0x89, 'L', 'Z', 'O'}},
	{"lzma", []byte{0x5d, 0x00, 0x00}},
}

// PayloadFormat names the compression of the kernel inside the image.
func (b *BzImage) PayloadFormat() string {
	p := b.payload()
	for _, f := range payloadFormats {
		if bytes.HasPrefix(p, f.magic) {
			return f.name
		}
	}
	return "unknown"
}

func (b *BzImage) payload() []byte {
	off, n := uint64(b.Header.PayloadOffset), uint64(b.Header.PayloadLength)
	if off+n > uint64(len(b.Kernel)) || n == 0 {
		return nil
	}
	return b.Kernel[off : off+n]
}

// Vmlinux unpacks the compressed kernel inside the image (gzip, xz or zstd, what
// distributions use), reading at most limit bytes of it. gzip and zstd are
// decoded here; kernel xz streams use the x86 BCJ filter, which no Go xz package
// decodes, so xz goes through the system's xz (or busybox unxz).
func (b *BzImage) Vmlinux(limit int64) ([]byte, error) {
	p := b.payload()
	if p == nil {
		return nil, fmt.Errorf("%w: payload_offset/payload_length point outside the image", ErrPayload)
	}
	var r io.Reader
	var err error
	switch f := b.PayloadFormat(); f {
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(p))
	case "xz":
		return unxz(p, limit)
	case "zstd":
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(p), zstd.WithDecoderConcurrency(1))
		if err == nil {
			defer d.Close()
			r = d
		}
	default:
		return nil, fmt.Errorf("%w: %s compression is not supported here (gzip, xz and zstd are)", ErrPayload, f)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	out, err := io.ReadAll(io.LimitReader(r, limit))
	return checkVmlinux(out, err)
}

// checkVmlinux accepts what a decompressor produced when it is an ELF image, even
// with an error: the kernel build appends the uncompressed size after the stream,
// which decompressors report as trailing garbage.
func checkVmlinux(out []byte, err error) ([]byte, error) {
	if bytes.HasPrefix(out, []byte("\x7fELF")) {
		return out, nil
	}
	if err == nil {
		err = errors.New("the payload is not an ELF vmlinux")
	}
	return nil, fmt.Errorf("%w: %v", ErrPayload, err)
}

func unxz(p []byte, limit int64) ([]byte, error) {
	for _, tool := range [][]string{{"xz", "-dc"}, {"unxz", "-c"}} {
		path, err := exec.LookPath(tool[0])
		if err != nil {
			continue
		}
		cmd := exec.Command(path, tool[1:]...)
		cmd.Stdin = bytes.NewReader(p)
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPayload, err)
		}
		data, rerr := io.ReadAll(io.LimitReader(out, limit))
		io.Copy(io.Discard, out)
		werr := cmd.Wait()
		return checkVmlinux(data, errors.Join(rerr, werr))
	}
	return nil, fmt.Errorf("%w: xz compression needs the xz program (xz-utils) or busybox unxz", ErrPayload)
}
