package extents

import (
	"strings"
	"testing"
)

func TestJournalsData(t *testing.T) {
	const mountinfo = `26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict
27 26 8:1 / /data rw,relatime shared:1 - ext4 /dev/sda1 rw,data=journal
28 26 8:2 / /j rw,relatime - ext4 /dev/sda2 rw,journal_checksum,data=ordered
29 26 8:3 / /odd rw - data=journal
30 26 8:4 /data=journal /x rw,relatime - ext4 /dev/sda4 rw
`
	tests := []struct {
		dev  string
		want bool
	}{
		{"254:0", false},
		{"8:1", true},
		{"8:2", false},
		{"8:3", false}, // malformed line: no super options
		{"8:4", false}, // "data=journal" in the mount root, not an option
		{"9:9", false},
	}
	for _, tt := range tests {
		got, err := journalsData(strings.NewReader(mountinfo), tt.dev)
		if err != nil || got != tt.want {
			t.Errorf("journalsData(%s) = %v, %v; want %v", tt.dev, got, err, tt.want)
		}
	}
}
