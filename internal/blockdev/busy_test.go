package blockdev

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestBusy: Busy reads io_ticks of the disk a file is on from sysfs under
// root, each time it is called; a stat file that is not one is an error.
func TestBusy(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "image")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(file, &st); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	sys := filepath.Join(root, "sys/dev/block", fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)))
	if err := os.MkdirAll(sys, 0o755); err != nil {
		t.Fatal(err)
	}
	stat := func(ticks int) {
		line := fmt.Sprintf("  2200878   192303 73707882  3878458   746411   618348 791392048  3505244        0   %d  7496327   441257       40 642487136    99268    95681    13357\n", ticks)
		if err := os.WriteFile(filepath.Join(sys, "stat"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stat(433620)
	busy, err := Busy(root, file)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := busy(); d != 433620*time.Millisecond || err != nil {
		t.Errorf("busy() = %v, %v; want 433.62s", d, err)
	}
	stat(433700)
	if d, err := busy(); d != 433700*time.Millisecond || err != nil {
		t.Errorf("busy() = %v, %v after the count grew; want 433.7s", d, err)
	}
	if err := os.WriteFile(filepath.Join(sys, "stat"), []byte("1 2 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := busy(); err == nil {
		t.Error("busy() of a 3-field stat file: no error")
	}
	if _, err := Busy(t.TempDir(), file); err == nil {
		t.Error("Busy with no sysfs: no error")
	}
}
