package image

import (
	"errors"
	"sync"
	"time"

	"github.com/kjump/kjump/internal/blockdev"
)

// ordered runs n jobs: prepare(i) is called in order on one goroutine (for
// sequential I/O), work(i, p) runs on up to workers goroutines, and emit(i, t)
// is called in index order on the caller's goroutine. The first error stops
// the pipeline and is returned. At most 2*workers jobs are in flight.
func ordered[P, T any](n uint64, workers int, prepare func(uint64) (P, error), work func(uint64, P) (T, error), emit func(uint64, T) error) error {
	if workers < 1 {
		workers = 1
	}
	type result struct {
		v   T
		err error
	}
	queue := make(chan chan result, workers)
	sem := make(chan struct{}, workers)
	done := make(chan struct{})
	var wg sync.WaitGroup
	go func() {
		defer close(queue)
		for i := uint64(0); i < n; i++ {
			ch := make(chan result, 1)
			p, err := prepare(i)
			if err != nil {
				ch <- result{err: err}
				select {
				case queue <- ch:
				case <-done:
				}
				return
			}
			select {
			case sem <- struct{}{}:
			case <-done:
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := work(i, p)
				<-sem
				ch <- result{v, err}
			}()
			select {
			case queue <- ch:
			case <-done:
				return
			}
		}
	}()
	var err error
	var i uint64
	for ch := range queue {
		r := <-ch
		if r.err == nil {
			r.err = emit(i, r.v)
		}
		i++
		if r.err != nil {
			err = r.err
			break
		}
	}
	close(done)
	for range queue { // let the producer finish
	}
	wg.Wait()
	return err
}

// writes runs up to n writes at once, each on its own goroutine: start waits
// for a free slot (and returns the error of a write that failed since), wait
// waits for them all and returns every error. done, if set, is told of each
// write that succeeded: its bytes, and the time the writer was busy since the
// previous one finished (time with at least one write under way). With
// several writes in flight that is the disk's time for these bytes, where
// one write's own duration would count the queue in front of it too.
type writes struct {
	slots chan struct{}
	wg    sync.WaitGroup
	done  func(n int, busy time.Duration)

	mu       sync.Mutex
	err      error
	inFlight int
	since    time.Time     // of the last start or end
	busy     time.Duration // not yet told to done
}

func newWrites(n int, done func(int, time.Duration)) *writes {
	return &writes{slots: make(chan struct{}, max(1, n)), done: done}
}

// account adds the time since the last event to busy if a write was under
// way, and counts delta more writes under way. Call it with mu held.
func (p *writes) account(delta int) {
	now := time.Now()
	if p.inFlight > 0 {
		p.busy += now.Sub(p.since)
	}
	p.since, p.inFlight = now, p.inFlight+delta
}

func (p *writes) start(n int, write func() error) error {
	p.slots <- struct{}{}
	if err := p.failed(); err != nil {
		<-p.slots
		return err
	}
	p.mu.Lock()
	p.account(1)
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		err := write()
		p.mu.Lock()
		p.account(-1)
		busy := p.busy
		if err != nil {
			p.err = errors.Join(p.err, err)
		} else {
			p.busy = 0
		}
		p.mu.Unlock()
		if err == nil && p.done != nil {
			p.done(n, busy)
		}
		<-p.slots
	}()
	return nil
}
func (p *writes) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *writes) wait() error {
	p.wg.Wait()
	return p.failed()
}

// buffers is a free list of up to n byte slices of capacity size.
type buffers struct {
	size int
	free chan []byte
}

func newBuffers(size, n int) *buffers { return &buffers{size: size, free: make(chan []byte, n)} }

// get returns a slice of length n <= size whose first byte is aligned to
// BlockSize, so that a device opened with O_DIRECT reads into it and writes
// from it with no copy; its bytes are not cleared.
func (b *buffers) get(n int) []byte {
	select {
	case p := <-b.free:
		return p[:n]
	default:
		return blockdev.AlignedBuffer(b.size)[:n] // BlockSize == blockdev.Align
	}
}

// put gives p back (dropped when the list is full).
func (b *buffers) put(p []byte) {
	if cap(p) != b.size {
		return
	}
	select {
	case b.free <- p[:b.size]:
	default:
	}
}
