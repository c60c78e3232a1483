package hibernate

import (
	"fmt"
	"runtime/debug"

	"github.com/kjump/kjump/memmap"
)

// MemoryBudget is the memory kjump may use in a second or resume kernel, which
// lives in a region of a few hundred MiB with its initramfs unpacked in it:
// half of MemAvailable under root. The rest stays for the kernel, the page
// cache of the device and the Go runtime. It also sets the Go runtime's soft
// memory limit to it, so the collector works harder before the kernel's OOM
// killer would. Workers, chunks in flight, decoder windows and the key
// derivation are sized from it (package image's Limits), never from the CPU
// count or a header field alone.
func MemoryBudget(root string) (uint64, error) {
	avail, err := memmap.Available(root)
	if err != nil {
		return 0, fmt.Errorf("the memory budget: %w", err)
	}
	b := avail / 2
	debug.SetMemoryLimit(int64(b))
	return b, nil
}
