package memmap

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// InUse returns the bytes of RAM the running kernel does not have free
// (sysinfo(2): total minus free): an upper bound for what a dump or a
// hibernation image of it holds, before compression.
func InUse() (uint64, error) {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0, err
	}
	return (si.Totalram - si.Freeram) * uint64(si.Unit), nil
}

// OutputSize is the size to preallocate for a copy of this kernel's memory:
// want when set, else the memory in use plus margin; rounded up to a MiB.
func OutputSize(want, margin uint64) (int64, error) {
	size := want
	if size == 0 {
		used, err := InUse()
		if err != nil {
			return 0, err
		}
		size = used + margin
	}
	return int64((size + MiB - 1) &^ (MiB - 1)), nil
}

// Available returns the kernel's estimate of the memory it can give a new
// workload without swapping (MemAvailable in root's /proc/meminfo). Second
// and resume kernels size their buffers and workers from it.
func Available(root string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(root, "proc/meminfo"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("proc/meminfo: MemAvailable %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("proc/meminfo has no MemAvailable")
}
