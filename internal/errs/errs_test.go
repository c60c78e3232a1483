package errs_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kjump/kjump/extents"
	"github.com/kjump/kjump/internal/errs"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/physmem"
)

// Every package's "can't" error matches the one root, wrapped or not.
func TestRoot(t *testing.T) {
	_, devmem := physmem.Open("/nonexistent/mem")
	for _, err := range []error{
		kexec.ErrNotSupported,
		jump.ErrNoKexecJump,
		extents.ErrNotSupported,
		fmt.Errorf("hibernate: %w", jump.ErrNoKexecJump),
		devmem,
	} {
		if !errors.Is(err, errs.ErrNotSupported) || !errors.Is(err, kexec.ErrNotSupported) {
			t.Errorf("%v does not match ErrNotSupported", err)
		}
	}
	if errors.Is(kexec.ErrNotPermitted, kexec.ErrNotSupported) {
		t.Error("ErrNotPermitted matches ErrNotSupported")
	}
}
