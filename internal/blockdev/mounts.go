package blockdev

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Mount is a mounted block device.
type Mount struct {
	Device string `json:"device"` // "MAJOR:MINOR"
	Name   string `json:"name"`   // "SOURCE on MOUNTPOINT (TYPE)"
}

// ParseMountinfo returns the block devices in a /proc/self/mountinfo, once each
// (the first mount of a device names it). isBlock says whether "MAJOR:MINOR"
// is a block device (pseudo filesystems have device numbers too).
func ParseMountinfo(r io.Reader, isBlock func(dev string) bool) ([]Mount, error) {
	var out []Mount
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 6 || sep < 0 || sep+2 >= len(f) || !strings.Contains(f[2], ":") {
			return nil, fmt.Errorf("mountinfo line %d: malformed: %q", line, sc.Text())
		}
		dev := f[2]
		if seen[dev] || !isBlock(dev) {
			continue
		}
		seen[dev] = true
		out = append(out, Mount{Device: dev, Name: fmt.Sprintf("%s on %s (%s)", unescape(f[sep+2]), unescape(f[4]), f[sep+1])})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '7' {
			return false
		}
	}
	return s[0] <= '3'
}

// Mounted lists the block devices mounted under root ("/" normally).
func Mounted(root string) ([]Mount, error) {
	f, err := os.Open(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseMountinfo(f, func(dev string) bool {
		_, err := os.Stat(filepath.Join(root, "sys/dev/block", dev))
		return err == nil
	})
}
