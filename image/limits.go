package image

import (
	"errors"
	"fmt"
	"io"
	"runtime"
)

// ErrLimit: reading the image would need more memory than the reader may use
// (Limits). The image may be fine; this kernel is too small for it.
var ErrLimit = errors.New("reading the image needs more memory than this kernel can spare; resume with more RAM in the resume region, or write images with fewer pages per chunk")

// Limits bound what reading an image may allocate, so that a crafted or
// foreign header can never exhaust a small kernel's memory: every allocation
// a header field sizes is checked against them before it is made. The zero
// value sets no bound (GOMAXPROCS workers).
type Limits struct {
	// Memory is the bytes the reader may use for the page map, the key
	// derivation and the chunks in flight. 0: no bound.
	Memory uint64
	// Workers is the most goroutines that decode chunks; 0 means GOMAXPROCS.
	// With Memory set, fewer are used when their chunks would not fit.
	Workers int
}

// WorkerMemory is what one decoding worker holds at most for chunks of ppc
// pages: the pipeline keeps two chunks in flight per worker, each read
// (stored bytes, at most the raw size plus a tag and padding) and decoded
// (the raw size), plus a zstd decoder window of one chunk.
func WorkerMemory(ppc uint32) uint64 {
	raw := uint64(ppc) * PageSize
	return 2*(2*raw+BlockSize+chunkHeaderSize+gcmTag) + raw
}

// workers returns how many decoding workers h's chunks allow under l, or
// ErrLimit when the header asks for more memory than l.Memory.
func (l Limits) workers(h *Header) (int, error) {
	w := l.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	if l.Memory == 0 {
		return w, nil
	}
	limit := func(off int, format string, a ...any) error {
		return &FormatError{Where: "header", Offset: int64(off), Detail: fmt.Sprintf(format, a...), Err: ErrLimit}
	}
	if h.mapLen > l.Memory/4 {
		return 0, limit(offMapLen, "page map of %d bytes (%d runs) exceeds a quarter of the %d bytes allowed", h.mapLen, h.Runs, l.Memory)
	}
	if h.Encrypted && h.KDF == KDFArgon2id && uint64(h.KDFParams.MemoryKiB)<<10 > l.Memory/2 {
		return 0, limit(offKDFMem, "Argon2id needs %d MiB, more than half of the %d MiB allowed", h.KDFParams.MemoryKiB>>10, l.Memory>>20)
	}
	per := WorkerMemory(h.PagesPerChunk)
	if per+h.mapLen > l.Memory {
		return 0, limit(offPPC, "chunks of %d pages need %d MiB per worker, more than the %d MiB allowed", h.PagesPerChunk, per>>20, l.Memory>>20)
	}
	return int(min(uint64(w), (l.Memory-h.mapLen)/per)), nil
}

// OpenLimited is Open with the reader's memory bounded by lim: it refuses an
// image whose header asks for more (ErrLimit) before allocating anything the
// header sizes, and Pages and Verify then decode on at most the workers lim
// allows.
func OpenLimited(r io.ReaderAt, size int64, key Key, lim Limits) (*Image, error) {
	return load(r, size, key, true, nil, lim)
}

// Revoke makes whatever image w holds unusable by overwriting its header
// block with the begin marker, the state of an image whose write never
// finished (Open reports ErrIncomplete). It reads nothing, so it works on a
// device whose cached contents are stale. If w has a Sync method it is
// called. A first kernel that carries on without having been resumed from
// its image revokes it, so the image can never outlive the system it saved.
func Revoke(w io.WriterAt) error {
	if _, err := w.WriteAt(beginMarker(), 0); err != nil {
		return fmt.Errorf("image: revoking (writing the begin marker): %w", err)
	}
	return syncIf(w)
}
