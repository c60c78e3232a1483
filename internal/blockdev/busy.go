package blockdev

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Busy returns a function that reads how long the disk holding path (a block
// device, or a file on one) has had I/O under way, as the kernel under root
// counts it: io_ticks, the tenth field of /sys/dev/block/MAJOR:MINOR/stat, in
// milliseconds (a jiffy's resolution). Unlike the time a write takes on the
// writer's clock, a busy CPU does not stretch it: the kernel counts the device's
// time, not the time until the writer runs again. Any I/O to the device counts.
func Busy(root, path string) (func() (time.Duration, error), error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dev := st.Dev
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		dev = st.Rdev
	}
	stat := filepath.Join(root, "sys/dev/block", fmt.Sprintf("%d:%d", unix.Major(dev), unix.Minor(dev)), "stat")
	read := func() (time.Duration, error) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return 0, err
		}
		return parseIOTicks(b)
	}
	if _, err := read(); err != nil {
		return nil, fmt.Errorf("%s: the disk's busy time: %w", path, err)
	}
	return read, nil
}

// parseIOTicks reads io_ticks from the text of a block device's stat file
// (Documentation/block/stat.rst: the tenth of at least eleven fields).
func parseIOTicks(b []byte) (time.Duration, error) {
	f := strings.Fields(string(b))
	if len(f) < 11 {
		return 0, fmt.Errorf("block device stat %q: %d fields, want 11 or more", b, len(f))
	}
	ms, err := strconv.ParseUint(f[9], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("block device stat: io_ticks %q: %w", f[9], err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}
