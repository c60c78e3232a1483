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
	r, err := b.OpenVmlinux()
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, limit))
	return checkVmlinux(out, errors.Join(err, r.Close()))
}

// OpenVmlinux is Vmlinux as a stream, for callers that look for something in the
// unpacked kernel without holding all of it in memory. The stream may end with
// an error about trailing data (the kernel build appends the uncompressed size).
func (b *BzImage) OpenVmlinux() (io.ReadCloser, error) {
	p := b.payload()
	if p == nil {
		return nil, fmt.Errorf("%w: payload_offset/payload_length point outside the image", ErrPayload)
	}
	switch f := b.PayloadFormat(); f {
	case "gzip":
		r, err := gzip.NewReader(bytes.NewReader(p))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPayload, err)
		}
		return r, nil
	case "xz":
		return unxz(p)
	case "zstd":
		d, err := zstd.NewReader(bytes.NewReader(p), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPayload, err)
		}
		return d.IOReadCloser(), nil
	default:
		return nil, fmt.Errorf("%w: %s compression is not supported here (gzip, xz and zstd are)", ErrPayload, f)
	}
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

// unxz streams p through the system's xz; Close reaps the process.
func unxz(p []byte) (io.ReadCloser, error) {
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
		return &procReader{out: out, cmd: cmd}, nil
	}
	return nil, fmt.Errorf("%w: xz compression needs the xz program (xz-utils) or busybox unxz", ErrPayload)
}

type procReader struct {
	out io.ReadCloser
	cmd *exec.Cmd
}

func (p *procReader) Read(b []byte) (int, error) { return p.out.Read(b) }

func (p *procReader) Close() error {
	io.Copy(io.Discard, p.out)
	return p.cmd.Wait()
}
