package jump

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kjump/kjump/internal/purgatory"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/physmem"
)

// stateFile records that this kernel loaded its jump-back helper, and for which
// entry: the helper must be loaded only once per second-kernel lifetime.
const stateFile = "/run/kjump/jump-back-entry"

// Entry returns the first kernel's re-entry point from this kernel's command line.
func Entry(root string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(root, "proc", "cmdline"))
	if err != nil {
		return 0, err
	}
	e, err := purgatory.ParseJumpBack(string(b))
	switch {
	case errors.Is(err, purgatory.ErrNoJumpBack):
		return 0, fmt.Errorf("%w: this kernel was not started by 'kjump exec' (no kexec_jump_back_entry= on its command line); pass --entry", kexec.ErrNoJumpBack)
	case err != nil:
		return 0, fmt.Errorf("%w: malformed: %v; pass --entry", kexec.ErrNoJumpBack, err)
	case e == 0:
		return 0, fmt.Errorf("%w: kexec_jump_back_entry= is 0: the purgatory that fills it in did not run (was this kernel loaded by kjump?); pass --entry", kexec.ErrNoJumpBack)
	}
	return e, nil
}

// Target returns where this kernel jumps back to: the purgatory's gate if the
// loader named one (kjump.gate=, see kexec/doc.go "The gate"), which keeps
// every later re-entry inside pages both kernels' kexec identity maps cover;
// else the first kernel's re-entry point ([Entry]).
func Target(root string) (uint64, error) {
	e, err := Entry(root)
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(filepath.Join(root, "proc", "cmdline"))
	if err != nil {
		return 0, err
	}
	g, found, err := purgatory.ParseGate(string(b))
	switch {
	case err != nil:
		return 0, fmt.Errorf("%w: malformed: %v; pass --entry", kexec.ErrNoJumpBack, err)
	case !found:
		return e, nil
	case g == 0:
		return 0, fmt.Errorf("%w: kjump.gate= is 0; pass --entry", kexec.ErrNoJumpBack)
	}
	return g, nil
}

// Gate returns the gate's address from this kernel's command line, and false
// if there is none or it cannot be read.
func Gate(root string) (uint64, bool) {
	b, err := os.ReadFile(filepath.Join(root, "proc", "cmdline"))
	if err != nil {
		return 0, false
	}
	g, found, err := purgatory.ParseGate(string(b))
	return g, found && err == nil && g != 0
}

// Back returns to the first kernel at entry and comes back when the first kernel
// re-enters this one. before, if not nil, is called once the jump-back helper is
// loaded, just before the jump: the last chance to do what must happen only
// if the jump can be made (a resume marks its image consumed there). If it
// returns an error, Back does not jump, unloads a helper it loaded, and
// returns that error.
func Back(entry uint64, before func(loadedNow bool) error) (time.Duration, error) {
	loaded, err := kexec.Loaded()
	if err != nil {
		return 0, err
	}
	loadedNow := false
	if loaded {
		b, err := os.ReadFile(stateFile)
		prev, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 0, 64)
		if err != nil || perr != nil || prev != entry {
			return 0, fmt.Errorf("%w: it is not kjump's jump-back helper for entry %#x; run 'kjump unload' first", kexec.ErrLoaded, entry)
		}
	} else {
		if err := kexec.LoadJumpBack(physmem.Path, entry); err != nil {
			return 0, err
		}
		os.MkdirAll(filepath.Dir(stateFile), 0o755)
		if err := os.WriteFile(stateFile, []byte(fmt.Sprintf("%#x\n", entry)), 0o644); err != nil {
			return 0, err
		}
		loadedNow = true
	}
	if before != nil {
		if err := before(loadedNow); err != nil {
			if loadedNow {
				kexec.Unload()
				os.Remove(stateFile)
			}
			return 0, err
		}
	}
	return kexec.Exec()
}
