package image

import (
	"sync"
	"time"
)

// adaptive decides, chunk by chunk, whether Write compresses a chunk or
// stores it raw (WriteOptions.Adaptive), so that neither the workers nor the
// writer is the bottleneck. It learns, as the image is written, each a moving
// average per raw byte:
//
//	ta  a worker's time on a chunk it stores raw (reading it, when it reads
//	    its chunks, and its checksum)
//	tb  a worker's time on a chunk it compresses (reading it, compressing)
//	ts  a worker's sealing (encryption) time, 0 if plain
//	r   stored bytes per raw byte of a compressed chunk
//	tw  the disk's time per stored byte (time it was busy per write finished,
//	    by the kernel's count where WriteOptions.DiskBusy gives it)
//
// With a share f of the chunks compressed, the W workers spend
// (f·tb + (1 − f)·ta + ts)/W per raw byte and the disk (f·r + 1 − f)·tw. The
// share that balances the two is
//
//	f = (tw − (ta + ts)/W) / ((tb − ta)/W + (1 − r)·tw)
//
// kept within [minShare, 1]: all chunks are compressed while the workers
// keep ahead of the disk with them, fewer as the disk outpaces them, the
// fewest when the workers are behind even storing every chunk raw. minShare
// keeps the estimates fresh. Until tb and tw have warmUp samples every chunk
// is compressed (ta counts as 0 until a chunk was stored raw: that only
// errs towards compressing, and whether all should be is independent of ta).
// Chunks are chosen by error diffusion (of every 1/f chunks, one is
// compressed), in the order Write prepares them.
type adaptive struct {
	workers float64

	mu             sync.Mutex
	ta, tb, ts, tw ewma
	r              ewma
	acc            float64 // error diffusion
}

const (
	minShare = 1.0 / 64
	warmUp   = 2
)

// ewma is a moving average that starts as the mean of its first samples.
type ewma struct {
	v float64
	n int
}

func (e *ewma) add(x float64) {
	e.n++
	e.v += (x - e.v) / float64(min(e.n, 8))
}

func newAdaptive(workers int) *adaptive { return &adaptive{workers: float64(max(1, workers))} }

// compressed records a chunk a worker compressed: raw bytes in, stored bytes
// out, in d.
func (a *adaptive) compressed(raw, stored int, d time.Duration) {
	if raw == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tb.add(float64(d) / float64(raw))
	a.r.add(min(1, float64(stored)/float64(raw)))
}

// storedRaw records a chunk of raw bytes a worker stored raw, in d.
func (a *adaptive) storedRaw(raw int, d time.Duration) {
	if raw == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ta.add(float64(d) / float64(raw))
}

// sealed records the encryption of raw bytes of a chunk in d.
func (a *adaptive) sealed(raw int, d time.Duration) {
	if raw == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ts.add(float64(d) / float64(raw))
}

// wrote records n stored bytes written in d.
func (a *adaptive) wrote(n int, d time.Duration) {
	if n == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tw.add(float64(d) / float64(n))
}

// busyPeriod is how often busyFrom adds a sample to tw: long enough for a
// disk's busy count, in jiffies, to say something once averaged (four
// jiffies at HZ=250), short enough that the estimate is ready after the
// first few chunks.
const busyPeriod = 16 * time.Millisecond

// busyFrom returns a wrote that takes the disk's busy time from busy (the
// kernel's count) instead of the clock's d: a sample per busyPeriod, of the
// bytes stored in it. A failed read falls back to the clock's times.
func (a *adaptive) busyFrom(busy func() (time.Duration, error)) func(int, time.Duration) {
	var mu sync.Mutex
	last, err := busy()
	since := time.Now()
	var n int
	var clock time.Duration
	return func(stored int, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		n, clock = n+stored, clock+d
		if time.Since(since) < busyPeriod {
			return
		}
		since = time.Now()
		if err == nil {
			var now time.Duration
			if now, err = busy(); err == nil {
				a.wrote(n, max(0, now-last))
				last, n, clock = now, 0, 0
				return
			}
		}
		a.wrote(n, clock)
		n, clock = 0, 0
	}
}

// share is the share of chunks to compress now.
func (a *adaptive) share() float64 {
	if a.tb.n < warmUp || a.tw.n < warmUp {
		return 1
	}
	num := a.tw.v - (a.ta.v+a.ts.v)/a.workers
	den := (a.tb.v-a.ta.v)/a.workers + (1-a.r.v)*a.tw.v
	if num <= 0 {
		return minShare
	}
	if den <= 0 || num >= den {
		return 1
	}
	return max(minShare, num/den)
}

// next says whether to compress the next chunk.
func (a *adaptive) next() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.acc += a.share()
	if a.acc >= 1 {
		a.acc--
		return true
	}
	return false
}
