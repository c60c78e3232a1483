package qemu

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidConfig is matched (errors.Is) by every error Start returns for a
// Config it rejects before running anything.
var ErrInvalidConfig = errors.New("invalid QEMU configuration")

// TimeoutError is returned by Expect when no console line matched in time, and by
// Wait when QEMU did not exit in time. In both cases the VM has been killed and
// reaped before the error is returned.
type TimeoutError struct {
	Patterns []string      // what Expect waited for; nil for Wait
	After    time.Duration // the timeout
	Elapsed  time.Duration // time since QEMU started, when it was killed
	Log      string        // console log path
	Tail     []string      // the last console lines
	// Postmortem is what Config.Postmortem said it saved, if it ran.
	Postmortem string
}

func (e *TimeoutError) Error() string {
	var b strings.Builder
	if e.Patterns == nil {
		fmt.Fprintf(&b, "qemu: did not exit within %v", e.After)
	} else {
		fmt.Fprintf(&b, "qemu: no console line matched %s within %v", quoteList(e.Patterns), e.After)
	}
	fmt.Fprintf(&b, " (killed at %.3fs); console log %s", e.Elapsed.Seconds(), e.Log)
	if e.Postmortem != "" {
		fmt.Fprintf(&b, "; %s", e.Postmortem)
	}
	writeTail(&b, "last console lines", e.Tail)
	return b.String()
}

// ExitedError is returned by Expect when QEMU exited before a console line
// matched, and by Wait when QEMU exited with a non-zero status or was killed.
type ExitedError struct {
	Status   *os.ProcessState // how QEMU exited
	Patterns []string         // what Expect waited for; nil for Wait
	Log      string           // console log path
	Tail     []string         // the last console lines
	Stderr   []string         // the last lines QEMU wrote to its stderr
	Cause    error            // the context's error, if the context passed to Start ended the VM
}

func (e *ExitedError) Error() string {
	var b strings.Builder
	b.WriteString("qemu: ")
	if e.Status != nil {
		b.WriteString(e.Status.String())
	} else {
		b.WriteString("exited")
	}
	if e.Cause != nil {
		fmt.Fprintf(&b, " (%v)", e.Cause)
	}
	if e.Patterns != nil {
		fmt.Fprintf(&b, " before a console line matched %s", quoteList(e.Patterns))
	}
	fmt.Fprintf(&b, "; console log %s", e.Log)
	writeTail(&b, "qemu stderr", e.Stderr)
	writeTail(&b, "last console lines", e.Tail)
	return b.String()
}

// Unwrap returns Cause, so errors.Is(err, context.DeadlineExceeded) works.
func (e *ExitedError) Unwrap() error { return e.Cause }

func quoteList(patterns []string) string {
	q := make([]string, len(patterns))
	for i, p := range patterns {
		q[i] = strconv.Quote(p)
	}
	return strings.Join(q, " or ")
}

func writeTail(b *strings.Builder, title string, lines []string) {
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s:", title)
	for _, l := range lines {
		if len(l) > 200 {
			l = l[:200] + "..."
		}
		b.WriteString("\n    ")
		b.WriteString(l)
	}
}
