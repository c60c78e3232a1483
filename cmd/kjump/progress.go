package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kjump/kjump/memmap"
)

// throttle returns fn called at most once per interval, and always for the
// last step (done == total): the libraries report every step, the command
// line decides how often a person wants to read about it.
func throttle(interval time.Duration, fn func(done, total uint64)) func(done, total uint64) {
	var mu sync.Mutex
	var last time.Time
	return func(done, total uint64) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); done >= total || now.Sub(last) >= interval {
			last = now
			fn(done, total)
		}
	}
}

// progressLines reports long work as a line every half second, for consoles
// that are not terminals (a serial line, a log).
func progressLines(w io.Writer, what string) func(done, total uint64) {
	start := time.Now()
	return throttle(500*time.Millisecond, func(done, total uint64) {
		pct, rate := 100.0, 0.0
		if total > 0 {
			pct = float64(done) * 100 / float64(total)
		}
		if el := time.Since(start).Seconds(); el > 0 {
			rate = float64(done) * 4096 / 1e6 / el
		}
		fmt.Fprintf(w, "%s: %3.0f%%  %s of %s  %.0f MB/s\n", what, pct,
			memmap.FormatSize(done*4096), memmap.FormatSize(total*4096), rate)
	})
}

// progressBar draws "[=====>    ]  42%  12345/80299 pages  512 MB/s  ETA 3s" on
// one terminal line, at most ten times a second.
type progressBar struct {
	w         io.Writer
	start     time.Time
	drawn     bool
	throttled func(done, total uint64)
}

func newProgressBar(w io.Writer) *progressBar {
	b := &progressBar{w: w, start: time.Now()}
	b.throttled = throttle(100*time.Millisecond, b.draw)
	return b
}

func (b *progressBar) update(done, total uint64) { b.throttled(done, total) }

func (b *progressBar) draw(done, total uint64) {
	now := time.Now()
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	filled := int(frac * width)
	bar := make([]byte, width)
	for i := range bar {
		switch {
		case i < filled:
			bar[i] = '='
		case i == filled:
			bar[i] = '>'
		default:
			bar[i] = ' '
		}
	}
	el := now.Sub(b.start).Seconds()
	rate, eta := 0.0, "?"
	if el > 0 && done > 0 {
		rate = float64(done) * 4096 / 1e6 / el
		eta = time.Duration(el / float64(done) * float64(total-done) * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\r[%s] %3.0f%%  %d/%d pages  %.0f MB/s  ETA %s  ", bar, frac*100, done, total, rate, eta)
	b.drawn = true
}

func (b *progressBar) finish() {
	if b.drawn {
		fmt.Fprint(b.w, "\n")
	}
}
