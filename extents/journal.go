package extents

import (
	"bufio"
	"io"
	"slices"
	"strings"
)

// journalsData reports whether the filesystem on device dev ("MAJOR:MINOR")
// is mounted with data=journal, reading /proc/self/mountinfo from r. In that
// mode ext4 writes file data to its journal first and copies it to the file's
// blocks later, at a checkpoint that may come after the other kernel wrote
// them, writing old data over new.
func journalsData(r io.Reader, dev string) (bool, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), 1<<20)
	for s.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
		fields := strings.Fields(s.Text())
		if len(fields) < 3 || fields[2] != dev {
			continue
		}
		sep := slices.Index(fields, "-")
		if sep < 0 || sep+3 >= len(fields) {
			continue
		}
		if slices.Contains(strings.Split(fields[sep+3], ","), "data=journal") {
			return true, nil
		}
	}
	return false, s.Err()
}
