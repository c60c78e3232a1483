package qemu

import (
	"io"
	"sync"
	"time"
)

// maxLine is the longest console line kept as one line: a guest that prints
// without newlines gets its output cut into lines of this length, so the
// incomplete line, which Expect re-matches on every read, stays small.
const maxLine = 64 << 10

// splitter cuts a console byte stream into lines. It drops '\r', ends a line at
// '\n' or at maxLine bytes, and remembers when the current line's first byte
// arrived.
type splitter struct {
	buf   []byte        // the incomplete line
	start time.Duration // arrival time of buf's first byte
}

// write adds p, which arrived at time now, and calls emit for every line it
// completes, with the time the line's first byte arrived.
func (s *splitter) write(p []byte, now time.Duration, emit func(text string, at time.Duration)) {
	for _, b := range p {
		switch b {
		case '\r':
			continue
		case '\n':
			s.emit(now, emit)
			continue
		}
		if len(s.buf) == 0 {
			s.start = now
		}
		s.buf = append(s.buf, b)
		if len(s.buf) >= maxLine {
			s.emit(now, emit)
		}
	}
}

func (s *splitter) emit(now time.Duration, emit func(string, time.Duration)) {
	at := s.start
	if len(s.buf) == 0 {
		at = now
	}
	text := string(s.buf)
	s.buf = s.buf[:0]
	emit(text, at)
}

// partial returns the incomplete line.
func (s *splitter) partial() string { return string(s.buf) }

// echoer copies text to a writer from a goroutine of its own, so a slow writer
// never holds up the console reader. Text queues up without bound meanwhile.
type echoer struct {
	w    io.Writer
	wake chan struct{}
	done chan struct{}

	mu      sync.Mutex
	pending []string
	closed  bool
}

func newEchoer(w io.Writer) *echoer {
	e := &echoer{w: w, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go e.run()
	return e
}

func (e *echoer) push(s string) {
	e.mu.Lock()
	e.pending = append(e.pending, s)
	e.mu.Unlock()
	e.poke()
}

func (e *echoer) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// close lets the queued text drain and waits until it has been written.
func (e *echoer) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.poke()
	<-e.done
}

func (e *echoer) run() {
	defer close(e.done)
	for {
		e.mu.Lock()
		batch, closed := e.pending, e.closed
		e.pending = nil
		e.mu.Unlock()
		for _, s := range batch {
			// A failing Echo writer loses its copy only; the log has everything.
			_, _ = io.WriteString(e.w, s)
		}
		if len(batch) > 0 {
			continue
		}
		if closed {
			return
		}
		<-e.wake
	}
}
