package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// collect reads every page of an image into a map by pfn.
func collect(t *testing.T, im *Image) map[uint64][]byte {
	t.Helper()
	got := map[uint64][]byte{}
	last := int64(-1)
	err := im.Pages(func(pfn uint64, data []byte) error {
		if len(data) == 0 || len(data)%PageSize != 0 {
			t.Fatalf("pfn %#x: %d bytes", pfn, len(data))
		}
		if int64(pfn) <= last {
			t.Fatalf("pfn %#x delivered after %#x", pfn, last)
		}
		for i := 0; i < len(data)/PageSize; i++ {
			got[pfn+uint64(i)] = bytes.Clone(data[i*PageSize : (i+1)*PageSize])
			last = int64(pfn) + int64(i)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Pages: %v", err)
	}
	return got
}

// checkPages checks that Pages delivers exactly the pages of runs' data runs
// with their contents, and none of the zero runs'.
func checkPages(t *testing.T, im *Image, runs []Run) {
	t.Helper()
	got := collect(t, im)
	pages, _ := dataPages(runs)
	if uint64(len(got)) != pages {
		t.Fatalf("got %d pages, want %d", len(got), pages)
	}
	for _, r := range runs {
		for p := r.PFN; !r.Zero && p < r.PFN+r.Count; p++ {
			if !bytes.Equal(got[p], pageData(p)) {
				t.Fatalf("page %#x differs", p)
			}
		}
	}
	// len(got) == pages and every data page was found, so no page of a zero
	// run (disjoint from the data runs) was delivered.

	// PagesConcurrently delivers the same pages, each once, in any order.
	var mu sync.Mutex
	conc := map[uint64][]byte{}
	err := im.PagesConcurrently(func(pfn uint64, data []byte) error {
		mu.Lock()
		defer mu.Unlock()
		for i := 0; i < len(data)/PageSize; i++ {
			if _, dup := conc[pfn+uint64(i)]; dup {
				return fmt.Errorf("page %#x delivered twice", pfn+uint64(i))
			}
			conc[pfn+uint64(i)] = bytes.Clone(data[i*PageSize : (i+1)*PageSize])
		}
		return nil
	})
	if err != nil || !maps.EqualFunc(got, conc, bytes.Equal) {
		t.Fatalf("PagesConcurrently: %v; delivered %d pages, Pages %d, or other contents", err, len(conc), len(got))
	}
}

func TestRoundTrip(t *testing.T) {
	manyRuns := []Run{}
	for i := uint64(0); i < 40; i++ {
		manyRuns = append(manyRuns, Run{PFN: i * 100, Count: 1 + i%7, Zero: i%3 == 1})
	}
	tests := []struct {
		name string
		runs []Run
		opt  WriteOptions
		key  Key
	}{
		{"zstd default chunk", smallRuns, WriteOptions{}, Key{}},
		{"zstd 3 pages per chunk", smallRuns, WriteOptions{PagesPerChunk: 3}, Key{}},
		{"uncompressed 1 page per chunk", smallRuns, WriteOptions{PagesPerChunk: 1, Compression: None}, Key{}},
		{"lz4 3 pages per chunk", smallRuns, WriteOptions{PagesPerChunk: 3, Compression: LZ4}, Key{}},
		{"lz4 raw key", manyRuns, WriteOptions{PagesPerChunk: 4, Compression: LZ4, Key: mustRawKey(t, testRawKey)}, mustRawKey(t, testRawKey)},
		{"many runs", manyRuns, WriteOptions{PagesPerChunk: 16, Workers: 3}, Key{}},
		{"no pages", nil, WriteOptions{}, Key{}},
		{"raw key", smallRuns, WriteOptions{PagesPerChunk: 2, Key: mustRawKey(t, testRawKey)}, mustRawKey(t, testRawKey)},
		{"passphrase", smallRuns, WriteOptions{PagesPerChunk: 3, Key: Passphrase([]byte("hunter2"))}, Passphrase([]byte("hunter2"))},
		{"concurrent source uncompressed", manyRuns, WriteOptions{PagesPerChunk: 4, Workers: 3, Compression: None, ConcurrentSource: true}, Key{}},
		{"concurrent source zstd raw key", manyRuns, WriteOptions{PagesPerChunk: 4, Workers: 3, ConcurrentSource: true, Key: mustRawKey(t, testRawKey)}, mustRawKey(t, testRawKey)},
		{"adaptive zstd", manyRuns, WriteOptions{PagesPerChunk: 1, Adaptive: true, Workers: 2}, Key{}},
		{"adaptive lz4 raw key", manyRuns, WriteOptions{PagesPerChunk: 1, Compression: LZ4, Adaptive: true, Key: mustRawKey(t, testRawKey)}, mustRawKey(t, testRawKey)},
		{"raw key uncompressed", manyRuns, WriteOptions{PagesPerChunk: 5, Compression: None, Key: mustRawKey(t, testRawKey)}, mustRawKey(t, testRawKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := writeImage(t, tt.runs, tt.opt)
			if len(b)%BlockSize != 0 {
				t.Fatalf("image length %d not block aligned", len(b))
			}
			// A raw device is usually larger than the image.
			dev := &memFile{b: append(bytes.Clone(b), make([]byte, 3*BlockSize)...)}
			im, err := Open(dev, int64(len(dev.b)), tt.key)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if err := im.Verify(); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			h := im.Header()
			want := testHeader()
			if h.Release != want.Release || h.Identity != want.Identity || h.RAMSize != want.RAMSize ||
				h.MemMapHash != want.MemMapHash || h.CPUs != want.CPUs || h.JumpBack != want.JumpBack ||
				h.SecondKernel != want.SecondKernel || !h.Created.Equal(want.Created) ||
				h.Mailbox != want.Mailbox || !slices.Equal(h.Filesystems, want.Filesystems) {
				t.Errorf("header identity changed: got %+v", h)
			}
			if h.Encrypted != !tt.key.IsZero() || h.Length != uint64(len(b)) {
				t.Errorf("Encrypted %v Length %d, want %v %d", h.Encrypted, h.Length, !tt.key.IsZero(), len(b))
			}
			pages, zero := dataPages(tt.runs)
			if h.Pages != pages || h.ZeroPages != zero || !slices.Equal(im.Runs(), tt.runs) {
				t.Errorf("Pages %d ZeroPages %d runs %v, want %d %d %v", h.Pages, h.ZeroPages, im.Runs(), pages, zero, tt.runs)
			}
			checkPages(t, im, tt.runs)
			s, err := Inspect(dev, int64(len(dev.b)))
			if err != nil || s.State != "valid" || s.Pages != pages || s.ZeroPages != zero || s.Encrypted != h.Encrypted {
				t.Fatalf("Inspect = %+v, %v", s, err)
			}
			if _, err := json.Marshal(s); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWorkersByteIdentical(t *testing.T) {
	runs := []Run{{PFN: 0, Count: 300}, {PFN: 1000, Count: 77}}
	for _, key := range []Key{{}, mustRawKey(t, testRawKey), Passphrase([]byte("pw"))} {
		var ref []byte
		for _, w := range []int{1, 4, 7} {
			// A concurrent source (each chunk read by its worker) changes nothing either.
			b := writeImage(t, runs, WriteOptions{Workers: w, PagesPerChunk: 16, Key: key, Rand: detRand(9), ConcurrentSource: w > 1})
			if ref == nil {
				ref = b
			} else if !bytes.Equal(ref, b) {
				t.Fatalf("encrypted=%v: %d workers wrote different bytes than 1 worker", !key.IsZero(), w)
			}
		}
	}
}

func TestTruncation(t *testing.T) {
	b := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2})
	points := []int{1, 7, 8, 100, BlockSize - 1, BlockSize, BlockSize + 1, len(b) - BlockSize, len(b) - 1}
	for n := 512; n < len(b); n += 512 {
		points = append(points, n)
	}
	for _, n := range points {
		f := &memFile{b: bytes.Clone(b[:n])}
		im, err := Open(f, int64(n), Key{})
		if !errors.Is(err, ErrIncomplete) || im != nil {
			t.Errorf("truncated to %d: Open = %v, %v; want ErrIncomplete", n, im, err)
		}
		if err := MarkConsumed(f, int64(n), uuidOf(f.b)); !errors.Is(err, ErrIncomplete) {
			t.Errorf("truncated to %d: MarkConsumed = %v; want ErrIncomplete", n, err)
		}
	}
	if _, err := Open(&memFile{}, 0, Key{}); !errors.Is(err, ErrNotImage) {
		t.Errorf("empty: %v, want ErrNotImage", err)
	}
}

func TestInterruptedWrite(t *testing.T) {
	opt := WriteOptions{PagesPerChunk: 2, Rand: detRand(2)}
	full := writeImage(t, smallRuns, opt)
	// Count the writes of a full Write.
	counter := &failAfter{w: &memFile{}, n: 1 << 30}
	if _, err := Write(counter, testHeader(), smallRuns, patternSource{}, opt); err != nil {
		t.Fatal(err)
	}
	total := 1<<30 - counter.n
	// An older committed image with the same layout (other UUID) on the device.
	old := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2, Rand: detRand(3)})
	for _, prefilled := range []bool{false, true} {
		for n := 0; n < total; n++ {
			f := &memFile{}
			if prefilled {
				f.b = bytes.Clone(old)
			}
			opt.Rand = detRand(2)
			_, err := Write(&failAfter{w: f, n: n}, testHeader(), smallRuns, patternSource{}, opt)
			if !errors.Is(err, errInjected) {
				t.Fatalf("write %d: Write = %v, want injected failure", n, err)
			}
			size := max(len(f.b), len(full))
			f.b = append(f.b, make([]byte, size-len(f.b))...)
			if n == 0 {
				// Nothing was written: the device holds what it held before.
				_, err := Open(f, int64(size), Key{})
				if prefilled && err != nil || !prefilled && !errors.Is(err, ErrNotImage) {
					t.Errorf("prefilled=%v, no write done: Open = %v", prefilled, err)
				}
				continue
			}
			if _, err := Open(f, int64(size), Key{}); !errors.Is(err, ErrIncomplete) {
				t.Errorf("prefilled=%v, stopped before write %d of %d: Open = %v, want ErrIncomplete", prefilled, n, total, err)
			}
			s, err := Inspect(f, int64(size))
			if err == nil && s.State != "incomplete" {
				t.Errorf("stopped before write %d: Inspect state %q", n, s.State)
			}
		}
	}
}

func TestMarkConsumed(t *testing.T) {
	for _, key := range []Key{{}, mustRawKey(t, testRawKey)} {
		f := &memFile{b: writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2, Key: key})}
		size := int64(len(f.b))
		im, err := Open(f, size, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := MarkConsumed(f, size, im.Header().UUID); err != nil {
			t.Fatalf("MarkConsumed: %v", err)
		}
		if _, err := Open(f, size, key); !errors.Is(err, ErrConsumed) {
			t.Errorf("Open after MarkConsumed = %v, want ErrConsumed", err)
		}
		if err := im.Verify(); !errors.Is(err, ErrConsumed) {
			t.Errorf("Verify after MarkConsumed = %v, want ErrConsumed", err)
		}
		if err := MarkConsumed(f, size, im.Header().UUID); !errors.Is(err, ErrConsumed) {
			t.Errorf("second MarkConsumed = %v, want ErrConsumed", err)
		}
		if s, err := Inspect(f, size); err != nil || s.State != "consumed" {
			t.Errorf("Inspect = %+v, %v; want state consumed", s, err)
		}
		if !strings.Contains(ErrConsumed.Error(), "not valid twice") {
			t.Errorf("ErrConsumed message %q does not explain itself", ErrConsumed)
		}
	}
}

func TestWrongKey(t *testing.T) {
	raw := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2, Key: mustRawKey(t, testRawKey)})
	pass := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2, Key: Passphrase([]byte("correct horse"))})
	other := bytes.Clone(testRawKey)
	other[31] ^= 1
	tests := []struct {
		name  string
		image []byte
		key   Key
	}{
		{"raw image, no key", raw, Key{}},
		{"raw image, wrong key", raw, mustRawKey(t, other)},
		{"raw image, passphrase", raw, Passphrase(testRawKey)},
		{"passphrase image, wrong passphrase", pass, Passphrase([]byte("correct horsE"))},
		{"passphrase image, empty passphrase", pass, Passphrase(nil)},
		{"passphrase image, raw key", pass, mustRawKey(t, testRawKey)},
		{"passphrase image, no key", pass, Key{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := Open(&memFile{b: tt.image}, int64(len(tt.image)), tt.key)
			if !errors.Is(err, ErrKey) || im != nil {
				t.Fatalf("Open = %v, %v; want ErrKey", im, err)
			}
		})
	}
	if _, err := RawKey(make([]byte, 16)); err == nil {
		t.Error("RawKey accepted a 16-byte key")
	}
}

// TestTamperedChunk changes ciphertext and then recomputes every unkeyed
// checksum, as an attacker without the key could: the commit MAC (Open) and
// GCM tag (Verify) must still catch it.
func TestTamperedChunk(t *testing.T) {
	key := mustRawKey(t, testRawKey)
	b := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2, Key: key})
	im, err := Open(&memFile{b: b}, int64(len(b)), key)
	if err != nil {
		t.Fatal(err)
	}
	loc := im.chunks[1]
	b[loc.off+chunkHeaderSize+5] ^= 0x80
	payload := b[loc.off+chunkHeaderSize : loc.off+chunkHeaderSize+uint64(loc.hdr.storedLen)]
	c := loc.hdr
	c.digest = chunkSum(payload)
	c.encode(b[loc.off:])
	var digests []byte
	for i, l := range im.chunks {
		d := sha256Sum(b[l.off : l.off+chunkHeaderSize])
		if i == 1 {
			l.digest = d
		}
		digests = append(digests, d[:]...)
	}
	h := im.Header()
	_, mac, _ := checkCommit(&h, b[h.commitOff:h.commitOff+BlockSize])
	digest := commitDigest(b[:BlockSize], b[h.mapOff:h.mapOff+h.mapLen], digests)
	copy(b[h.commitOff:], encodeCommit(&h, digest, mac))
	if _, err := Open(&memFile{b: b}, int64(len(b)), key); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open of re-hashed tampered image = %v, want ErrCorrupt (MAC)", err)
	}
	// Bypass the MAC: the GCM tag alone must reject the chunk.
	im.chunks[1].hdr = c
	im.chunks[1].digest = sha256Sum(b[loc.off : loc.off+chunkHeaderSize])
	im.r = &memFile{b: b}
	if _, err := im.decodeChunk(nil, 1, b[loc.off:loc.end]); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "authentication") {
		t.Errorf("decodeChunk of tampered ciphertext = %v, want authentication ErrCorrupt", err)
	}
}

// TestByteFlips flips random single bytes anywhere in small images (with
// zero runs, a mailbox and filesystem records); every flip must be detected
// by Open or Verify.
func TestByteFlips(t *testing.T) {
	const flips = 1500
	zeroOnly := []Run{{PFN: 0x10, Count: 3, Zero: true}, {PFN: 0x13, Count: 1, Zero: true}, {PFN: 0x400, Count: 9, Zero: true}}
	images := []struct {
		name string
		runs []Run
		opt  WriteOptions
		key  Key
	}{
		{"zstd", smallRuns, WriteOptions{PagesPerChunk: 2}, Key{}},
		{"uncompressed", smallRuns, WriteOptions{PagesPerChunk: 3, Compression: None}, Key{}},
		{"lz4", smallRuns, WriteOptions{PagesPerChunk: 2, Compression: LZ4}, Key{}},
		{"encrypted", smallRuns, WriteOptions{PagesPerChunk: 2, Key: mustRawKey(t, testRawKey)}, mustRawKey(t, testRawKey)},
		{"zero runs only", zeroOnly, WriteOptions{PagesPerChunk: 2}, Key{}},
	}
	for _, img := range images {
		t.Run(img.name, func(t *testing.T) {
			orig := writeImage(t, img.runs, img.opt)
			r := rand.New(rand.NewPCG(7, uint64(len(orig))))
			detected := 0
			regions := map[string]int{}
			for i := 0; i < flips; i++ {
				b := bytes.Clone(orig)
				pos := r.IntN(len(b))
				b[pos] ^= byte(1 + r.IntN(255))
				f := &memFile{b: b}
				im, err := Open(f, int64(len(b)), img.key)
				if err == nil {
					// The resume kernel's check must catch what the full
					// Verify catches.
					if cerr, verr := im.CheckChunks(), im.Verify(); (cerr == nil) != (verr == nil) {
						t.Errorf("flip at offset %d (%s): CheckChunks says %v, Verify says %v", pos, region(orig, pos), cerr, verr)
					} else {
						err = cerr
					}
				}
				if err == nil {
					t.Errorf("flip at offset %d (%s) not detected", pos, region(orig, pos))
					continue
				}
				if !isSentinel(err) {
					t.Errorf("flip at offset %d: error %v wraps no sentinel", pos, err)
				}
				detected++
				regions[region(orig, pos)]++
			}
			if detected != flips {
				t.Fatalf("detected %d of %d flips", detected, flips)
			}
			want := []string{"header", "map", "commit"}
			if pages, _ := dataPages(img.runs); pages > 0 {
				want = append(want, "data")
			}
			for _, want := range want {
				if regions[want] == 0 {
					t.Errorf("no flip landed in the %s", want)
				}
			}
			t.Logf("%d/%d flips detected; by region %v", detected, flips, regions)
		})
	}
}

func region(b []byte, pos int) string {
	h, err := decodeHeader(b[:BlockSize], int64(len(b)))
	switch {
	case err != nil:
		return "?"
	case uint64(pos) < h.mapOff:
		return "header"
	case uint64(pos) < h.dataOff:
		return "map"
	case uint64(pos) < h.commitOff:
		return "data"
	}
	return "commit"
}

func TestVerifyReportsAllProblems(t *testing.T) {
	b := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2, Compression: None})
	f := &memFile{b: b}
	im, err := Open(f, int64(len(b)), Key{})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2, 3} {
		b[im.chunks[i].off+chunkHeaderSize+10] ^= 1
	}
	err = im.Verify()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Verify = %v, want ErrCorrupt", err)
	}
	for _, want := range []string{"chunk 0", "chunk 2", "chunk 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Verify error does not name %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "chunk 1 ") {
		t.Errorf("Verify blames intact chunk 1: %v", err)
	}
	if err := im.Pages(func(uint64, []byte) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Pages over a corrupt chunk = %v, want ErrCorrupt", err)
	}
}

func TestPagesStopsOnCallbackError(t *testing.T) {
	b := writeImage(t, []Run{{PFN: 0, Count: 50}}, WriteOptions{PagesPerChunk: 1})
	im, err := Open(&memFile{b: b}, int64(len(b)), Key{})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err = im.Pages(func(uint64, []byte) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("Pages = %v after %d calls, want stop after 3", err, calls)
	}
}

func TestWriteRejects(t *testing.T) {
	long := testHeader()
	long.Filesystems = nil
	long.Identity = strings.Repeat("x", HeaderVarSize-len(long.Release)+1)
	withFS := func(fs ...Filesystem) Header { h := testHeader(); h.Filesystems = fs; return h }
	unaligned := testHeader()
	unaligned.Mailbox = 0x9f008
	tests := []struct {
		name string
		h    Header
		runs []Run
		src  PageSource
		opt  WriteOptions
	}{
		{"unsorted runs", testHeader(), []Run{{PFN: 10, Count: 1}, {PFN: 5, Count: 1}}, patternSource{}, WriteOptions{}},
		{"overlapping runs", testHeader(), []Run{{PFN: 10, Count: 5}, {PFN: 12, Count: 1}}, patternSource{}, WriteOptions{}},
		{"zero run overlaps data run", testHeader(), []Run{{PFN: 10, Count: 5}, {PFN: 14, Count: 1, Zero: true}}, patternSource{}, WriteOptions{}},
		{"data run overlaps zero run", testHeader(), []Run{{PFN: 10, Count: 5, Zero: true}, {PFN: 11, Count: 1}}, patternSource{}, WriteOptions{}},
		{"empty run", testHeader(), []Run{{PFN: 10, Count: 0}}, patternSource{}, WriteOptions{}},
		{"empty zero run", testHeader(), []Run{{PFN: 10, Count: 0, Zero: true}}, patternSource{}, WriteOptions{}},
		{"overflowing run", testHeader(), []Run{{PFN: ^uint64(0) - 1, Count: 5}}, patternSource{}, WriteOptions{}},
		{"overflowing zero run", testHeader(), []Run{{PFN: 1, Count: 1 << 52, Zero: true}}, patternSource{}, WriteOptions{}},
		{"strings too long", long, smallRuns, patternSource{}, WriteOptions{}},
		{"unaligned mailbox", unaligned, smallRuns, patternSource{}, WriteOptions{}},
		{"empty device", withFS(Filesystem{Name: "x"}), smallRuns, patternSource{}, WriteOptions{}},
		{"device not MAJOR:MINOR", withFS(Filesystem{Device: "/dev/vda"}), smallRuns, patternSource{}, WriteOptions{}},
		{"device with sign", withFS(Filesystem{Device: "+8:1"}), smallRuns, patternSource{}, WriteOptions{}},
		{"chunk too big", testHeader(), smallRuns, patternSource{}, WriteOptions{PagesPerChunk: MaxPagesPerChunk + 1}},
		{"unknown compression", testHeader(), smallRuns, patternSource{}, WriteOptions{Compression: 9}},
		{"source fails", testHeader(), smallRuns, failSource{}, WriteOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Write(&memFile{}, tt.h, tt.runs, tt.src, tt.opt); err == nil {
				t.Error("Write succeeded")
			}
		})
	}
}

func TestNotImageAndVersion(t *testing.T) {
	b := writeImage(t, smallRuns, WriteOptions{})
	notImage := bytes.Clone(b)
	copy(notImage, "ELF\x7fxxxx")
	if _, err := Open(&memFile{b: notImage}, int64(len(b)), Key{}); !errors.Is(err, ErrNotImage) {
		t.Errorf("bad magic: %v, want ErrNotImage", err)
	}
	future := bytes.Clone(b)
	future[offVersion] = 2
	if _, err := Open(&memFile{b: future}, int64(len(b)), Key{}); !errors.Is(err, ErrVersion) {
		t.Errorf("version 2: %v, want ErrVersion", err)
	}
	if _, err := Inspect(&memFile{b: notImage}, int64(len(b))); !errors.Is(err, ErrNotImage) {
		t.Errorf("Inspect bad magic: %v, want ErrNotImage", err)
	}
}
