package image

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// PageSource supplies the pages to save. ReadPages fills buf (n*PageSize
// bytes) with n pages starting at page frame number pfn. Write calls it from
// one goroutine, in map order (from several at once, in any order, with
// WriteOptions.ConcurrentSource), and only for pages of data runs: never for
// a zero run.
type PageSource interface {
	ReadPages(pfn uint64, n int, buf []byte) error
}

// WriteOptions tune Write. The zero value writes a plain zstd image with
// DefaultPagesPerChunk pages per chunk and GOMAXPROCS workers.
type WriteOptions struct {
	Workers       int         // compression goroutines; <= 0 means GOMAXPROCS
	PagesPerChunk int         // pages per chunk; 0 means DefaultPagesPerChunk
	Compression   Compression // Zstd (default), LZ4 or None
	// Adaptive, with Zstd or LZ4, compresses a chunk only while the workers
	// keep ahead of w, and stores the others raw (see adaptive), so that
	// neither the CPU nor the disk is the bottleneck. The output then depends
	// on timing; without it, it is byte-identical for any Workers.
	Adaptive bool
	// ConcurrentSource says src.ReadPages may be called from several
	// goroutines at once, each for its own pages, in any order: each chunk is
	// then read by the worker that stores it, so reading (and a raw chunk's
	// checksum) runs on every worker instead of one goroutine.
	ConcurrentSource bool
	// InFlight is how many chunk writes may be under way at once (parallel
	// WriteAt calls at disjoint offsets, as io.WriterAt allows), so that a
	// device written with O_DIRECT always has a request queued; <= 0 means 1.
	InFlight int
	// DiskBusy, with Adaptive, reads how long w's disk has been busy so far
	// as its kernel counts it (blockdev.Busy): the disk's time per byte is
	// then taken from it rather than from the writes' time on the clock,
	// which workers that keep every CPU busy stretch by however long a
	// finished write waits to run again (and so would make compressing look
	// worth it on any disk). Nil, or an error from it, means the clock.
	DiskBusy func() (time.Duration, error)
	Key      Key       // non-zero: encrypt with AES-256-GCM
	KDF      KDFParams // Argon2id parameters for a passphrase; zero means DefaultKDF
	Rand     io.Reader // source of the UUID and salt; nil means crypto/rand
}

// Stats summarises a written image.
type Stats struct {
	Header      Header // the header as written
	RawBytes    uint64 // bytes of saved pages in data runs (zero runs excluded)
	StoredBytes uint64 // bytes of chunk payloads on disk (compressed, encrypted)
	// Tried is how many chunks Write tried to compress (all of them unless
	// WriteOptions.Adaptive, none without compression).
	Tried uint64
	Took  time.Duration // from the begin marker to the commit record's sync
}

type syncer interface{ Sync() error }

// validateRuns checks that runs are non-empty, sorted and disjoint, and
// returns the data runs and the number of pages in data and zero runs.
func validateRuns(runs []Run) (data []Run, pages, zeroPages uint64, err error) {
	var next uint64
	for i, r := range runs {
		switch {
		case r.Count == 0:
			return nil, 0, 0, fmt.Errorf("image: run %d (pfn %#x) is empty", i, r.PFN)
		case r.PFN+r.Count < r.PFN || r.PFN+r.Count > 1<<52:
			return nil, 0, 0, fmt.Errorf("image: run %d (pfn %#x, %d pages) overflows the address space", i, r.PFN, r.Count)
		case i > 0 && r.PFN < next:
			return nil, 0, 0, fmt.Errorf("image: run %d (pfn %#x) overlaps or is out of order; runs must be sorted and disjoint", i, r.PFN)
		}
		next = r.PFN + r.Count
		if r.Zero {
			zeroPages += r.Count
		} else {
			pages += r.Count
			data = append(data, r)
		}
	}
	return data, pages, zeroPages, nil
}

// segments calls fn for each stretch of pages [first, first+n) of the
// page sequence described by the data runs, split at run boundaries.
// starts[i] is the page index where runs[i] begins.
func segments(runs []Run, starts []uint64, first, n uint64, fn func(pfn, count, off uint64) error) error {
	// Binary search for the run holding page 'first'.
	lo, hi := 0, len(runs)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if starts[mid] <= first {
			lo = mid
		} else {
			hi = mid
		}
	}
	var done uint64
	for r := lo; done < n && r < len(runs); r++ {
		in := first + done - starts[r]
		c := min(runs[r].Count-in, n-done)
		if err := fn(runs[r].PFN+in, c, done); err != nil {
			return err
		}
		done += c
	}
	return nil
}

func runStarts(runs []Run) []uint64 {
	s := make([]uint64, len(runs))
	var p uint64
	for i, r := range runs {
		s[i] = p
		p += r.Count
	}
	return s
}

// Write writes an image of the pages described by runs (sorted by PFN,
// disjoint, adjacent allowed) to w, starting at offset 0. Pages of data runs
// are read from src and stored; zero runs are only recorded in the page map.
// The commit record is written last; if w has a Sync method it is called
// before and after the commit record. The output is byte-identical for any
// Workers value.
//
// Release, Identity and the Filesystems records must fit in HeaderVarSize
// bytes (else the error wraps ErrHeaderFull), each Device must be
// "MAJOR:MINOR" and no Device or Name may exceed MaxFilesystemField bytes.
// Mailbox must be page aligned.
func Write(w io.WriterAt, h Header, runs []Run, src PageSource, opt WriteOptions) (Stats, error) {
	if err := h.checkVar(); err != nil {
		return Stats{}, err
	}
	if h.Mailbox%PageSize != 0 {
		return Stats{}, fmt.Errorf("image: mailbox address %#x is not page aligned", h.Mailbox)
	}
	h.Filesystems = slices.Clone(h.Filesystems)
	dataRuns, pages, zeroPages, err := validateRuns(runs)
	if err != nil {
		return Stats{}, err
	}
	ppc := opt.PagesPerChunk
	if ppc == 0 {
		ppc = DefaultPagesPerChunk
	}
	if ppc < 0 || ppc > MaxPagesPerChunk {
		return Stats{}, fmt.Errorf("image: %d pages per chunk, want 1..%d", ppc, MaxPagesPerChunk)
	}
	if opt.Compression != Zstd && opt.Compression != None && opt.Compression != LZ4 {
		return Stats{}, fmt.Errorf("image: unknown compression %d", opt.Compression)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	rnd := opt.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	if h.Created.IsZero() {
		h.Created = time.Now()
	}
	h.Created = h.Created.UTC()
	h.Version = Version
	h.Compression = opt.Compression
	h.PagesPerChunk = uint32(ppc)
	h.Runs = uint64(len(runs))
	h.Pages = pages
	h.ZeroPages = zeroPages
	h.Chunks = (pages + uint64(ppc) - 1) / uint64(ppc)
	h.mapOff = BlockSize
	h.mapLen = mapLength(h.Runs)
	h.dataOff = h.mapOff + h.mapLen
	h.Encrypted, h.KDF, h.KDFParams, h.Salt, h.keyCheck = false, KDFNone, KDFParams{}, [32]byte{}, [32]byte{}
	if _, err := io.ReadFull(rnd, h.UUID[:]); err != nil {
		return Stats{}, fmt.Errorf("image: reading random UUID: %w", err)
	}
	var ks *keys
	if !opt.Key.IsZero() {
		h.Encrypted = true
		if opt.Key.passphrase != nil {
			h.KDF = KDFArgon2id
			h.KDFParams = opt.KDF
			if h.KDFParams == (KDFParams{}) {
				h.KDFParams = DefaultKDF
			}
			p := h.KDFParams
			if p.Time == 0 || p.Time > maxKDFTime || p.MemoryKiB == 0 || p.MemoryKiB > maxKDFMemKiB || p.Threads == 0 {
				return Stats{}, fmt.Errorf("image: Argon2id parameters %+v out of range", p)
			}
			if _, err := io.ReadFull(rnd, h.Salt[:]); err != nil {
				return Stats{}, fmt.Errorf("image: reading random salt: %w", err)
			}
		}
		master, err := masterKey(opt.Key, &h)
		if err != nil {
			return Stats{}, err
		}
		if ks, err = newKeys(master, h.UUID); err != nil {
			return Stats{}, err
		}
		h.keyCheck = ks.check
	}
	// The binding is computed with data-dependent fields zero, so it is
	// final already.
	binding := adBinding(h.encode())

	// Invalidate whatever image was there before.
	began := time.Now()
	if _, err := w.WriteAt(beginMarker(), 0); err != nil {
		return Stats{}, fmt.Errorf("image: writing begin marker: %w", err)
	}

	var enc *zstd.Encoder
	if h.Compression == Zstd {
		enc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(workers), zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			return Stats{}, err
		}
		defer enc.Close()
	}
	starts := runStarts(dataRuns)
	st := Stats{RawBytes: pages * PageSize}
	off := h.dataOff
	var digests []byte // SHA-256 of every chunk header, in order

	var auto *adaptive
	if opt.Adaptive && h.Compression != None {
		auto = newAdaptive(workers)
	}
	type chunk struct {
		buf      []byte // room for the chunk stored raw: header, pages, padding
		raw      []byte // its pages
		compress bool
		summed   bool // stored as read: read puts its chunkSum in sum
		sum      [32]byte
	}
	// Chunk buffers are reused: a fresh one costs the kernel a page fault
	// per page and the runtime a clearing, as much as the copy into it.
	// ordered holds up to 2*workers chunks, the writes opt.InFlight more.
	bufs := newBuffers(int(align(chunkHeaderSize+uint64(ppc)*PageSize)), 2*workers+max(1, opt.InFlight)+2)
	// read fills c with chunk i's pages. A chunk stored as read (raw, plain)
	// is checksummed a stretch at a time right after the stretch is read,
	// while the CPU still has it at hand: in QEMU's TCG a pass over a 1 MiB
	// buffer filled earlier, or by another CPU, ran at a third of the speed.
	read := func(c *chunk, i uint64) error {
		first := i * uint64(ppc)
		var crc uint32
		err := segments(dataRuns, starts, first, uint64(len(c.raw))/PageSize, func(pfn, count, o uint64) error {
			for done := uint64(0); done < count; {
				k := count - done
				if c.summed {
					k = min(k, sumStretch)
				}
				p := c.raw[(o+done)*PageSize : (o+done+k)*PageSize]
				if err := src.ReadPages(pfn+done, int(k), p); err != nil {
					return fmt.Errorf("image: reading %d pages at pfn %#x: %w", k, pfn+done, err)
				}
				if c.summed {
					crc = crc32.Update(crc, castagnoli, p)
				}
				done += k
			}
			return nil
		})
		le.PutUint32(c.sum[:], crc)
		return err
	}
	prepare := func(i uint64) (chunk, error) {
		first := i * uint64(ppc)
		n := min(uint64(ppc), pages-first)
		// The pages go where a chunk stored raw has them on disk, after its
		// header: such a chunk is written from this buffer, with no copy.
		buf := bufs.get(int(align(chunkHeaderSize + n*PageSize)))
		clear(buf[chunkHeaderSize+n*PageSize:]) // the padding
		c := chunk{buf: buf, raw: buf[chunkHeaderSize : chunkHeaderSize+n*PageSize], compress: h.Compression != None && (auto == nil || auto.next())}
		if c.compress {
			st.Tried++
		}
		c.summed = !c.compress && ks == nil
		if opt.ConcurrentSource {
			return c, nil // work reads it
		}
		return c, read(&c, i)
	}
	work := func(i uint64, ch chunk) ([]byte, error) {
		start := time.Now() // the chunk's time on this worker, for auto
		if opt.ConcurrentSource {
			if err := read(&ch, i); err != nil {
				return nil, err
			}
		}
		raw := ch.raw
		c := chunkHeader{index: i, rawLen: uint32(len(raw)), encoding: encRaw}
		payload := raw
		switch {
		case !ch.compress:
		case enc != nil:
			if z := enc.EncodeAll(raw, make([]byte, 0, len(raw)/2)); len(z) < len(raw) {
				payload, c.encoding = z, encZstd
			}
		case h.Compression == LZ4:
			var lc lz4.Compressor
			z := make([]byte, lz4.CompressBlockBound(len(raw)))
			if n, err := lc.CompressBlock(raw, z); err == nil && n > 0 && n < len(raw) {
				payload, c.encoding = z[:n], encLZ4
			}
		}
		if auto != nil && ch.compress {
			auto.compressed(len(raw), len(payload), time.Since(start))
		} else if auto != nil {
			auto.storedRaw(len(raw), time.Since(start))
		}
		if ks != nil {
			start := time.Now()
			payload = ks.aead.Seal(nil, nonce(i), payload, chunkAD(binding, &c))
			if auto != nil {
				auto.sealed(len(raw), time.Since(start))
			}
		}
		c.storedLen = uint32(len(payload))
		if ch.summed {
			c.digest = ch.sum
		} else {
			c.digest = chunkSum(payload)
		}
		out := ch.buf
		if c.encoding != encRaw || ks != nil {
			out = bufs.get(int(align(uint64(chunkHeaderSize + len(payload)))))
			clear(out[chunkHeaderSize+copy(out[chunkHeaderSize:], payload):])
			bufs.put(ch.buf)
		}
		c.encode(out)
		return out, nil
	}
	var wrote func(int, time.Duration)
	if auto != nil {
		wrote = auto.wrote
		if opt.DiskBusy != nil {
			wrote = auto.busyFrom(opt.DiskBusy)
		}
	}
	put := newWrites(opt.InFlight, wrote)
	emit := func(i uint64, b []byte) error {
		d := sha256.Sum256(b[:chunkHeaderSize])
		digests = append(digests, d[:]...)
		at := off
		err := put.start(len(b), func() error {
			if _, err := w.WriteAt(b, int64(at)); err != nil {
				return fmt.Errorf("image: writing chunk %d at offset %d: %w", i, at, err)
			}
			bufs.put(b)
			return nil
		})
		st.StoredBytes += uint64(len(b))
		off += uint64(len(b))
		return err
	}
	err = ordered(h.Chunks, workers, prepare, work, emit)
	if werr := put.wait(); err == nil {
		err = werr // else the first error, which may be a write's
	}
	if err != nil {
		return Stats{}, err
	}
	h.dataLen = off - h.dataOff
	h.commitOff = off
	h.Length = off + BlockSize

	m := encodeMap(runs, h.mapLen)
	if _, err := w.WriteAt(m, int64(h.mapOff)); err != nil {
		return Stats{}, fmt.Errorf("image: writing page map: %w", err)
	}
	hb := h.encode()
	if _, err := w.WriteAt(hb, 0); err != nil {
		return Stats{}, fmt.Errorf("image: writing header: %w", err)
	}
	if err := syncIf(w); err != nil {
		return Stats{}, err
	}
	digest := commitDigest(hb, m, digests)
	var mac [32]byte
	if ks != nil {
		mac = ks.commitMAC(digest)
	}
	if _, err := w.WriteAt(encodeCommit(&h, digest, mac), int64(h.commitOff)); err != nil {
		return Stats{}, fmt.Errorf("image: writing commit record: %w", err)
	}
	if err := syncIf(w); err != nil {
		return Stats{}, err
	}
	st.Header, st.Took = h, time.Since(began)
	return st, nil
}

// sumStretch is how many pages Write reads at a time from a chunk it
// checksums as it reads (16: 64 KiB, well within any CPU's cache).
const sumStretch = 16

func syncIf(w any) error {
	if s, ok := w.(syncer); ok {
		if err := s.Sync(); err != nil {
			return fmt.Errorf("image: sync: %w", err)
		}
	}
	return nil
}

func encodeMap(runs []Run, mapLen uint64) []byte {
	m := make([]byte, mapLen)
	for i, r := range runs {
		count := r.Count
		if r.Zero {
			count |= zeroRunBit
		}
		le.PutUint64(m[i*16:], r.PFN)
		le.PutUint64(m[i*16+8:], count)
	}
	sum := sha256.Sum256(m[:mapLen-32])
	copy(m[mapLen-32:], sum[:])
	return m
}

func commitDigest(header, pageMap, chunkDigests []byte) [32]byte {
	d := sha256.New()
	d.Write(header)
	d.Write(pageMap)
	d.Write(chunkDigests)
	var out [32]byte
	copy(out[:], d.Sum(nil))
	return out
}
