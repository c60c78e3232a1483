package jump

import (
	"fmt"
	"os"
	"time"

	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/memmap"
)

// Called is the outcome of Call.
type Called struct {
	Addr uint64
	Size int
	Took time.Duration
}

// Call loads a flat binary at addr (0: the start of an automatically chosen
// region), runs it in physical mode through a preserve-context kexec, and unloads
// it. The blob is entered by `call` (see package kexec's doc for the convention)
// and returns with `ret`.
//
// It is loaded anew each time: on Linux before 6.14 the kernel takes the word
// above the blob's return address as the blob's re-entry point, so a second exec
// of the same image jumps to garbage.
func Call(path string, addr uint64, root string) (*Called, error) {
	if root == "" {
		root = "/"
	}
	blob, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(blob) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	if loaded, err := kexec.Loaded(); err != nil {
		return nil, err
	} else if loaded {
		return nil, fmt.Errorf("%w: run 'kjump unload' first", kexec.ErrLoaded)
	}
	if addr == 0 {
		r, err := ChooseRegion(LoadOptions{Root: root, Size: memmap.RegionAlign})
		if err != nil {
			return nil, err
		}
		addr = r.Start
	}
	if addr%kexec.PageSize != 0 {
		return nil, fmt.Errorf("address %#x is not page aligned", addr)
	}
	size := (uint64(len(blob)) + kexec.PageSize - 1) &^ (kexec.PageSize - 1)
	seg := kexec.Segment{Name: "blob", Data: blob, Mem: memmap.Range{Start: addr, Size: size}}
	if err := kexec.Load(addr, []kexec.Segment{seg}, kexec.PreserveContext); err != nil {
		return nil, err
	}
	took, err := kexec.Exec()
	if uerr := kexec.Unload(); err == nil {
		err = uerr
	}
	if err != nil {
		return nil, err
	}
	return &Called{Addr: addr, Size: len(blob), Took: took}, nil
}
