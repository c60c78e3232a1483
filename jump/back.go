package jump

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/kjump/kjump/internal/purgatory"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/physmem"
	"golang.org/x/sys/unix"
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
		if err := loadRetrying(func() error { return kexec.LoadJumpBack(physmem.Path, entry) }, freeMemory); err != nil {
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

// loadRetrying runs load; when the kernel is out of memory for it
// (kexec.ErrNoMemory) it runs free and tries once more.
func loadRetrying(load func() error, free func()) error {
	err := load()
	if errors.Is(err, kexec.ErrNoMemory) {
		free()
		err = load()
	}
	return err
}

// freeMemory gives back what can be given before a retried kexec_load: this
// process's unused heap, then the page cache. The kernel allocates a kexec
// image's control pages with __GFP_NORETRY, which fails while reclaimable
// memory is plentiful; a resume kernel, a few hundred MiB, has just restored
// gigabytes (in the lab's 4 GiB bench 1 resume of 3 failed so, "Could not
// allocate control_code_buffer", and powered off with the image intact; it
// read the image through its page cache then, and reads it with O_DIRECT
// now, but its heap and other caches still hold what the retry frees).
func freeMemory() {
	debug.FreeOSMemory()
	unix.Sync()
	os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0)
}
