package image

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kjump/kjump/internal/imagetest"
)

// hostile returns an image whose header asks for what edit sets, resealed so
// only the limits can refuse it.
func hostile(t *testing.T, edit func(b []byte)) []byte {
	t.Helper()
	b := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2})
	edit(b)
	if err := imagetest.Reseal(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenLimited(t *testing.T) {
	bigChunks := writeImage(t, []Run{{PFN: 0, Count: MaxPagesPerChunk}}, WriteOptions{PagesPerChunk: MaxPagesPerChunk, Compression: None})
	pass := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 3, Key: Passphrase([]byte("pw")), KDF: KDFParams{Time: 1, MemoryKiB: 64 << 10, Threads: 1}})
	for _, c := range []struct {
		name    string
		b       []byte
		key     Key
		lim     Limits
		wantErr error
		workers int
	}{
		{"no limit", writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2}), Key{}, Limits{Workers: 3}, nil, 3},
		{"room for two workers", writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2}), Key{}, Limits{Memory: 2*WorkerMemory(2) + 8192, Workers: 8}, nil, 2},
		{"16 MiB chunks in 32 MiB", bigChunks, Key{}, Limits{Memory: 32 << 20}, ErrLimit, 0},
		{"16 MiB chunks in 128 MiB", bigChunks, Key{}, Limits{Memory: 128 << 20, Workers: 64}, nil, 1},
		{"Argon2id 64 MiB in 100 MiB", pass, Passphrase([]byte("pw")), Limits{Memory: 100 << 20}, ErrLimit, 0},
		{"Argon2id 64 MiB in 200 MiB", pass, Passphrase([]byte("pw")), Limits{Memory: 200 << 20, Workers: 1}, nil, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			im, err := OpenLimited(&memFile{b: c.b}, int64(len(c.b)), c.key, c.lim)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("OpenLimited = %v, want %v", err, c.wantErr)
			}
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) || fe.Where != "header" {
					t.Errorf("error %v is not a FormatError about the header", err)
				}
				return
			}
			if im.workers != c.workers {
				t.Errorf("workers = %d, want %d", im.workers, c.workers)
			}
			if err := im.Verify(); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// A header claiming millions of runs on a large device is refused before the
// map is allocated: by the run count against the pages, and by the limit.
func TestHostileRunCount(t *testing.T) {
	b := hostile(t, func(b []byte) { le.PutUint64(b[offRuns:], 50) })
	if _, err := Open(&memFile{b: b}, int64(len(b)), Key{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("runs > pages: Open = %v, want ErrCorrupt", err)
	}
	// A header that is self-consistent but asks for a 16 MiB map on a
	// (pretend) 1 TiB device.
	h := &Header{PagesPerChunk: 1, Runs: 1 << 20, mapLen: mapLength(1 << 20)}
	if _, err := (Limits{Memory: 48 << 20}).workers(h); !errors.Is(err, ErrLimit) {
		t.Errorf("16 MiB map in 48 MiB: %v, want ErrLimit", err)
	}
}

func TestMarkConsumedOtherImage(t *testing.T) {
	a := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2, Rand: detRand(1)})
	b := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2, Rand: detRand(2)})
	f := &memFile{b: bytes.Clone(b)}
	if err := MarkConsumed(f, int64(len(f.b)), uuidOf(a)); !errors.Is(err, ErrNotImage) {
		t.Fatalf("MarkConsumed of another image's UUID = %v, want ErrNotImage", err)
	}
	if !bytes.Equal(f.b, b) {
		t.Error("MarkConsumed of another UUID changed the image")
	}
	if _, err := Open(f, int64(len(f.b)), Key{}); err != nil {
		t.Errorf("the other image is no longer valid: %v", err)
	}
}

func TestRevoke(t *testing.T) {
	for _, b := range [][]byte{
		writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2}),
		writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2, Key: mustRawKey(t, testRawKey)}),
		make([]byte, 3*BlockSize), // nothing there: revoking is harmless
	} {
		f := &memFile{b: bytes.Clone(b)}
		if err := Revoke(f); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(f, int64(len(f.b)), mustRawKey(t, testRawKey)); !errors.Is(err, ErrIncomplete) {
			t.Errorf("Open after Revoke = %v, want ErrIncomplete", err)
		}
		if _, err := Inspect(f, int64(len(f.b))); !errors.Is(err, ErrIncomplete) {
			t.Errorf("Inspect after Revoke = %v, want ErrIncomplete", err)
		}
	}
}

// An image whose chunk passes its CRC but does not decode: Verify and Pages
// refuse it, CheckChunks (stored bytes only) does not.
func TestSpoiledChunk(t *testing.T) {
	for _, comp := range []Compression{Zstd, LZ4} {
		b := writeImage(t, []Run{{PFN: 0, Count: 64}}, WriteOptions{PagesPerChunk: 16, Compression: comp})
		i, err := imagetest.SpoilChunk(b, 1)
		if err != nil {
			t.Fatal(err)
		}
		im, err := Open(&memFile{b: b}, int64(len(b)), Key{})
		if err != nil {
			t.Fatalf("%v: a resealed image does not open: %v", comp, err)
		}
		if err := im.CheckChunks(); err != nil {
			t.Errorf("%v: CheckChunks = %v, want nil (the CRC matches)", comp, err)
		}
		if err := im.Verify(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%v: Verify = %v, want ErrCorrupt", comp, err)
		}
		var delivered uint64
		err = im.Pages(func(pfn uint64, d []byte) error { delivered += uint64(len(d) / PageSize); return nil })
		if !errors.Is(err, ErrCorrupt) || delivered != uint64(i)*16 {
			t.Errorf("%v: Pages = %v after %d pages, want ErrCorrupt after %d", comp, err, delivered, i*16)
		}
	}
}
