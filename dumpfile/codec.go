package dumpfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	lzo "github.com/anchore/go-lzo"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	kjlzo "github.com/kjump/kjump/lzo"
	"github.com/kjump/kjump/zpage"
)

// compressor turns one page into its stored form. Each writer goroutine has
// its own. The result must depend on the page alone, so that the output file
// is the same whatever the number of goroutines.
type compressor interface {
	// compress returns page's compressed bytes in a buffer owned by the
	// compressor, valid until the next call, and the page descriptor flag
	// that names the encoding.
	compress(page []byte) ([]byte, uint32, error)
}

func newCompressor(c Compression, blockSize int) (compressor, error) {
	switch c {
	case None:
		return noCompressor{}, nil
	case Zlib:
		// Package zpage, not klauspost/compress: see its documentation for
		// why, and the README for what it bought.
		return &zlibCompressor{}, nil
	case Snappy:
		return &snappyCompressor{out: make([]byte, snappy.MaxEncodedLen(blockSize))}, nil
	case Zstd:
		// makedumpfile uses ZSTD_compressCCtx at level 1 and no checksum.
		enc, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderCRC(false),
			zstd.WithEncoderConcurrency(1),
			zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, err
		}
		return &zstdCompressor{enc: enc}, nil
	case LZO:
		return &lzoCompressor{out: make([]byte, 0, kjlzo.MaxLen(blockSize))}, nil
	}
	return nil, invalid("Header.Compression %v", c)
}

type noCompressor struct{}

func (noCompressor) compress([]byte) ([]byte, uint32, error) { return nil, 0, nil }

// zlibCompressor writes a zlib stream per page with package zpage.
type zlibCompressor struct {
	c   zpage.Compressor
	out []byte
}

func (z *zlibCompressor) compress(page []byte) ([]byte, uint32, error) {
	z.out = z.c.Compress(z.out[:0], page)
	return z.out, FlagZlib, nil
}

type snappyCompressor struct{ out []byte }

func (s *snappyCompressor) compress(page []byte) ([]byte, uint32, error) {
	// The raw Snappy block format (snappy_compress), not the framed one.
	return snappy.Encode(s.out, page), FlagSnappy, nil
}

// lzoCompressor writes LZO1X with package lzo; makedumpfile -l uses
// liblzo2's lzo1x_1_compress.
type lzoCompressor struct {
	c   kjlzo.Compressor
	out []byte
}

func (l *lzoCompressor) compress(page []byte) ([]byte, uint32, error) {
	l.out = l.c.Compress(l.out[:0], page)
	return l.out, FlagLZO, nil
}

type zstdCompressor struct {
	enc *zstd.Encoder
	out []byte
}

func (z *zstdCompressor) compress(page []byte) ([]byte, uint32, error) {
	z.out = z.enc.EncodeAll(page, z.out[:0])
	return z.out, FlagZstd, nil
}

// zstdDecoder is shared by all readers: DecodeAll is safe for concurrent
// use, and with a nil io.Reader the decoder starts no goroutines.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(MaxBlockSize),
		zstd.WithDecodeAllCapLimit(true))
})

var zlibReaders sync.Pool // of io.ReadCloser that implement zlib.Resetter

// decompress decodes src, stored with descriptor flags, into dst, which is
// one block long. It fails unless src decodes to exactly len(dst) bytes.
func decompress(dst, src []byte, flags uint32) error {
	switch flags {
	case 0:
		if len(src) != len(dst) {
			return fmt.Errorf("uncompressed page of %d bytes, want %d: %w", len(src), len(dst), ErrCorrupt)
		}
		copy(dst, src)
		return nil
	case FlagZlib:
		return zlibDecompress(dst, src)
	case FlagLZO:
		n, err := lzo.Decompress(src, dst)
		if err != nil {
			return fmt.Errorf("lzo: %v: %w", err, ErrCorrupt)
		}
		if n != len(dst) {
			return fmt.Errorf("lzo: %d bytes, want %d: %w", n, len(dst), ErrCorrupt)
		}
		return nil
	case FlagSnappy:
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return fmt.Errorf("snappy: %v: %w", err, ErrCorrupt)
		}
		if n != len(dst) {
			return fmt.Errorf("snappy: %d bytes, want %d: %w", n, len(dst), ErrCorrupt)
		}
		if _, err := snappy.DecodeStrict(dst, src); err != nil {
			return fmt.Errorf("snappy: %v: %w", err, ErrCorrupt)
		}
		return nil
	case FlagZstd:
		d, err := zstdDecoder()
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		out, err := d.DecodeAll(src, dst[:0:len(dst)])
		if err != nil {
			return fmt.Errorf("zstd: %v: %w", err, ErrCorrupt)
		}
		if len(out) != len(dst) {
			return fmt.Errorf("zstd: %d bytes, want %d: %w", len(out), len(dst), ErrCorrupt)
		}
		if &out[0] != &dst[0] {
			copy(dst, out)
		}
		return nil
	}
	if flags&^compressionFlags != 0 {
		return fmt.Errorf("page flags %#x: %w", flags, ErrUnsupported)
	}
	return fmt.Errorf("page flags %#x name more than one compression: %w", flags, ErrCorrupt)
}

func zlibDecompress(dst, src []byte) error {
	var zr io.ReadCloser
	var err error
	if v := zlibReaders.Get(); v != nil {
		zr = v.(io.ReadCloser)
		err = zr.(zlib.Resetter).Reset(bytes.NewReader(src), nil)
	} else {
		zr, err = zlib.NewReader(bytes.NewReader(src))
	}
	if err != nil {
		return fmt.Errorf("zlib: %v: %w", err, ErrCorrupt)
	}
	defer zlibReaders.Put(zr)
	if _, err := io.ReadFull(zr, dst); err != nil {
		return fmt.Errorf("zlib: %v: %w", err, ErrCorrupt)
	}
	// Like zlib's uncompress(), demand the end of the stream (which also
	// checks the Adler-32) right after exactly one block.
	var extra [1]byte
	switch n, err := zr.Read(extra[:]); {
	case n > 0:
		return fmt.Errorf("zlib: more than %d bytes: %w", len(dst), ErrCorrupt)
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		// A reader may return 0, nil; ask once more.
		if n, err := zr.Read(extra[:]); n == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("zlib: stream does not end after %d bytes: %w", len(dst), ErrCorrupt)
	default:
		return fmt.Errorf("zlib: %v: %w", err, ErrCorrupt)
	}
}
