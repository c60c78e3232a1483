package image

import (
	"bytes"
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

// TestAdaptiveShare: the share of chunks compressed for the costs the writer
// observed, per MiB: all of them while the workers keep ahead of the disk,
// fewer as the disk outpaces them, never fewer than minShare.
func TestAdaptiveShare(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name    string
		workers int
		// per MiB: a worker on a chunk it compresses, on one it stores raw
		// (0: none yet), sealing; the disk
		compress, store, seal, put time.Duration
		ratio                      float64
		samples                    int
		want                       float64
	}{
		{"learning: compress", 1, time.Second, 0, 0, time.Millisecond, 0.5, 1, 1},
		{"fast CPU, slow disk", 2, 2 * time.Millisecond, 0, 0, 10 * time.Millisecond, 0.4, 4, 1},
		{"balanced at all compressed", 1, 4 * time.Millisecond, 0, 0, 10 * time.Millisecond, 0.4, 4, 1},
		// f = tw / (tb/W + (1-r) tw) = 1 / (10 + 0.6) for a CPU 10x slower than the disk
		{"slow CPU, fast disk", 1, 10 * time.Millisecond, 0, 0, time.Millisecond, 0.4, 4, 1 / 10.6},
		{"two workers halve it", 2, 10 * time.Millisecond, 0, 0, time.Millisecond, 0.4, 4, 1 / 5.6},
		{"very slow CPU", 1, time.Second, 0, 0, time.Millisecond, 0.4, 4, minShare},
		// f = (10 - 2) / (10 - 2 + 0.5*10) = 8/13: storing raw costs the worker too
		{"reading costs the workers", 1, 10 * time.Millisecond, 2 * time.Millisecond, 0, 10 * time.Millisecond, 0.5, 4, 8.0 / 13},
		// the workers are behind the disk even storing every chunk raw: compressing only adds to their time
		{"workers behind even raw", 2, 12 * time.Millisecond, 10 * time.Millisecond, 0, 4 * time.Millisecond, 0.5, 4, minShare},
		// whether to compress all does not depend on the raw chunks' time
		{"compress all, whatever raw costs", 1, 4 * time.Millisecond, 3 * time.Millisecond, 0, 10 * time.Millisecond, 0.4, 4, 1},
		// sealing alone takes the workers longer than the disk: no time left to compress
		{"sealing outpaces the disk", 1, time.Millisecond, 0, 2 * time.Millisecond, time.Millisecond, 0.4, 4, minShare},
		// f = (4 - 2) / (4 + 0.5*4) = 1/3
		{"sealing takes half", 1, 4 * time.Millisecond, 0, 2 * time.Millisecond, 4 * time.Millisecond, 0.5, 4, 1.0 / 3},
		{"incompressible, slow CPU", 1, 10 * time.Millisecond, 0, 0, 5 * time.Millisecond, 1, 4, 0.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newAdaptive(c.workers)
			for range c.samples {
				a.compressed(mib, int(c.ratio*mib), c.compress)
				if c.store > 0 {
					a.storedRaw(mib, c.store)
				}
				if c.seal > 0 {
					a.sealed(mib, c.seal)
				}
				a.wrote(mib, c.put)
			}
			if got := a.share(); math.Abs(got-c.want) > 1e-6 {
				t.Errorf("share = %.4f, want %.4f", got, c.want)
			}
		})
	}
}

// TestAdaptiveNext: next compresses the share of chunks, spread evenly.
func TestAdaptiveNext(t *testing.T) {
	a := newAdaptive(1)
	for range warmUp {
		a.compressed(1<<20, 1<<19, 20*time.Millisecond) // tc 20, r 0.5
		a.wrote(1<<20, 10*time.Millisecond)             // tw 10: f = 10 / (20 + 5) = 0.4
	}
	var got []bool
	n := 0
	for range 10 {
		c := a.next()
		got = append(got, c)
		if c {
			n++
		}
	}
	if n != 4 {
		t.Errorf("compressed %d of 10 chunks (%v), want 4", n, got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] && got[i-1] {
			t.Errorf("chunks %d and %d both compressed at a share of 0.4: %v", i-1, i, got)
		}
	}
}

// slowFile is a memFile whose writes take at least delay.
type slowFile struct {
	memFile
	delay time.Duration
}

func (s *slowFile) WriteAt(p []byte, off int64) (int, error) {
	time.Sleep(s.delay)
	return s.memFile.WriteAt(p, off)
}

// TestAdaptiveWrite: an adaptive image written to a disk far faster than the
// compressors (memory) stores chunks raw; to a slow disk it compresses them
// all; both read back page for page.
func TestAdaptiveWrite(t *testing.T) {
	runs := []Run{{PFN: 0, Count: 256}}
	tried := map[string]uint64{}
	for _, c := range []struct {
		name  string
		delay time.Duration
	}{
		{"memory", 0},
		{"slow disk", 5 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &slowFile{memFile: memFile{b: make([]byte, 2<<20)}, delay: c.delay}
			st, err := Write(f, testHeader(), runs, patternSource{}, WriteOptions{PagesPerChunk: 4, Workers: 1, Adaptive: true})
			if err != nil {
				t.Fatal(err)
			}
			tried[c.name] = st.Tried
			if c.delay > 0 && st.Tried != st.Header.Chunks || c.delay == 0 && st.Tried == st.Header.Chunks {
				t.Errorf("tried to compress %d of %d chunks", st.Tried, st.Header.Chunks)
			}
			im, err := Open(&f.memFile, int64(len(f.b)), Key{})
			if err != nil {
				t.Fatal(err)
			}
			checkPages(t, im, runs)
		})
	}
	t.Logf("chunks tried: %v", tried)
}

// TestAdaptiveDiskBusy: when the kernel says the disk was hardly busy, a
// write's time on the clock (stretched here as workers that keep every CPU
// busy stretch it) does not make compressing look worth it: the chunks are
// stored raw. Without DiskBusy the same writes compress every chunk.
func TestAdaptiveDiskBusy(t *testing.T) {
	runs := []Run{{PFN: 0, Count: 256}}
	for _, c := range []struct {
		name   string
		busy   func() (time.Duration, error)
		mostly bool // compressed, else stored raw
	}{
		{"the clock", nil, true},
		{"the kernel's count", func() (time.Duration, error) { return time.Millisecond, nil }, false},
		{"the count fails", func() (time.Duration, error) { return 0, errInjected }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &slowFile{memFile: memFile{b: make([]byte, 2<<20)}, delay: 5 * time.Millisecond}
			st, err := Write(f, testHeader(), runs, patternSource{}, WriteOptions{PagesPerChunk: 4, Workers: 1, Adaptive: true, DiskBusy: c.busy})
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Tried > st.Header.Chunks/2; got != c.mostly {
				t.Errorf("tried to compress %d of %d chunks", st.Tried, st.Header.Chunks)
			}
			im, err := Open(&f.memFile, int64(len(f.b)), Key{})
			if err != nil {
				t.Fatal(err)
			}
			checkPages(t, im, runs)
		})
	}
}

// lockedFile is a memFile safe for parallel WriteAt calls; fail, if set,
// fails the write at that offset.
type lockedFile struct {
	mu sync.Mutex
	memFile
	fail int64
}

func (l *lockedFile) WriteAt(p []byte, off int64) (int, error) {
	time.Sleep(time.Millisecond)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != 0 && off == l.fail {
		return 0, errInjected
	}
	return l.memFile.WriteAt(p, off)
}

// TestInFlight: with several chunk writes under way at once the image is
// byte-identical to one written a chunk at a time, and a failed write fails
// Write.
func TestInFlight(t *testing.T) {
	runs := []Run{{PFN: 0, Count: 200}, {PFN: 300, Count: 7, Zero: true}, {PFN: 400, Count: 50}}
	opt := WriteOptions{PagesPerChunk: 8, Rand: detRand(3)}
	want := writeImage(t, runs, opt)
	for _, n := range []int{2, 4, 32} {
		opt.InFlight, opt.Rand = n, detRand(3)
		f := &lockedFile{}
		h := testHeader()
		if _, err := Write(f, h, runs, patternSource{}, opt); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.b, want) {
			t.Errorf("%d in flight: the image differs from one written a chunk at a time", n)
		}
		opt.Rand = detRand(3)
		bad := &lockedFile{fail: int64(BlockSize * 2)}
		if _, err := Write(bad, h, runs, patternSource{}, opt); !errors.Is(err, errInjected) {
			t.Errorf("%d in flight, a chunk write fails: %v", n, err)
		}
	}
}

// TestWritesBusy: with several writes queued on a disk that does one at a
// time, each finished write is told the disk's time for it, not its time in
// the queue; the times add up to the time the disk was busy.
func TestWritesBusy(t *testing.T) {
	const each = 20 * time.Millisecond
	var disk, mu sync.Mutex
	var busy []time.Duration
	p := newWrites(4, func(n int, d time.Duration) {
		mu.Lock()
		busy = append(busy, d)
		mu.Unlock()
	})
	start := time.Now()
	for range 12 {
		if err := p.start(1<<20, func() error {
			disk.Lock()
			defer disk.Unlock()
			time.Sleep(each)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.wait(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	var sum time.Duration
	for _, d := range busy {
		sum += d
	}
	if len(busy) != 12 || sum > took || sum < took*8/10 {
		t.Errorf("%d writes told %v busy in all, in %v", len(busy), sum, took)
	}
	if mean := sum / time.Duration(len(busy)); mean > 2*each {
		t.Errorf("a write was told %v on average, the disk takes %v (its queue counted?)", mean, each)
	}
}
