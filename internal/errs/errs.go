// Package errs holds the root of kjump's "this kernel or system can't" errors
// (cilium/ebpf's pattern): every package's own not-supported sentinel wraps
// ErrNotSupported, so a caller branches on all of them with one errors.Is. It
// is re-exported as kexec.ErrNotSupported.
package errs

import (
	"errors"
	"fmt"
)

// ErrNotSupported is the root: the running kernel or system lacks what is
// needed (a config option, a device, a filesystem feature).
var ErrNotSupported = errors.New("not supported")

// NotSupported returns a sentinel for one thing that is not supported; it
// matches ErrNotSupported with errors.Is.
func NotSupported(what string) error { return fmt.Errorf("%s: %w", what, ErrNotSupported) }
