package hibernatewrite

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/hibernate"
	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/internal/blockdev"
	"github.com/kjump/kjump/pageclass/pageclasstest"
)

// BenchmarkWriteBesideDD writes a real vmcore's pages as a hibernation image
// the way the second kernel does (vmcoreRuns, pageSource, writeOptions,
// blockdev.Open's O_DIRECT), with --compress none, auto and lz4, to a
// preallocated file, and in each iteration times dd writing as many bytes
// with O_DIRECT and 4 MiB blocks to the same file: the write path's speed
// beside the disk's, on this machine's own CPU. (In the lab's TCG guest the
// emulated CPU, not the write path, is what limits --compress none: see the
// README.) The file is in $KJUMP_TEST_WRITE_DIR, else $TMPDIR; the vmcore is
// $KJUMP_TEST_VMCORE. Run it with -benchtime 3x or more: it reports the
// medians, and logs min–max.
//
//	KJUMP_TEST_VMCORE=~/.cache/kjump/bench-vmcore-readme.img \
//	  go test -run x -bench WriteBesideDD -benchtime 5x ./internal/hibernatewrite
func BenchmarkWriteBesideDD(b *testing.B) {
	vm, err := dump.OpenVmcore(pageclasstest.RealVmcore(b))
	if err != nil {
		b.Fatal(err)
	}
	defer vm.Close()
	dd, err := exec.LookPath("dd")
	if err != nil {
		b.Skip("no dd")
	}
	runs, err := vmcoreRuns(vm)
	if err != nil {
		b.Fatal(err)
	}
	var total uint64
	for _, r := range runs {
		if !r.Zero {
			total += r.Count
		}
	}
	dir := os.Getenv("KJUMP_TEST_WRITE_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, "kjump-bench-image")
	defer os.Remove(path)
	// Room for every page raw, a chunk's framing, and dd's whole blocks.
	size := int64(total)*image.PageSize + 64<<20
	if err := preallocate(path, size); err != nil {
		b.Skip(err)
	}
	budget, err := hibernate.MemoryBudget("/")
	if err != nil {
		b.Fatal(err)
	}
	for _, comp := range []string{"none", "auto", "lz4"} {
		b.Run("compress="+comp, func(b *testing.B) {
			opt, err := writeOptions(comp, budget, "/", path)
			if err != nil {
				b.Fatal(err)
			}
			var writer, disk, ddSpeed, tried []float64
			for b.Loop() {
				st := writeOnce(b, vm, runs, total, path, opt)
				writer = append(writer, float64(st.RawBytes)/1e6/st.Took.Seconds())
				disk = append(disk, float64(st.StoredBytes)/1e6/st.Took.Seconds())
				ddSpeed = append(ddSpeed, ddOnce(b, dd, path, int64(st.StoredBytes)))
				tried = append(tried, float64(st.Tried)/float64(st.Header.Chunks))
			}
			report := func(name string, v []float64) float64 {
				med, lo, hi := medianMinMax(v)
				b.ReportMetric(med, name)
				b.Logf("%s: %.0f (%.0f–%.0f) over %d runs", name, med, lo, hi, len(v))
				return med
			}
			med, lo, hi := medianMinMax(tried)
			b.Logf("chunks compressed: %.0f%% (%.0f–%.0f%%)", 100*med, 100*lo, 100*hi)
			report("memory-MB/s", writer)
			w := report("to-disk-MB/s", disk)
			d := report("dd-MB/s", ddSpeed)
			b.ReportMetric(w/d, "of-dd")
		})
	}
}

// writeOnce writes one image of the vmcore to path as the writer does. The
// vmcore's pages are in the page cache (vmcoreRuns read them all), as in the
// second kernel /proc/vmcore is memory.
func writeOnce(b *testing.B, vm *dump.Vmcore, runs []image.Run, total uint64, path string, opt image.WriteOptions) image.Stats {
	dev, err := blockdev.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	if _, ok := dev.(*os.File); ok {
		b.Fatalf("%s: no O_DIRECT here", path)
	}
	h := image.Header{Release: "bench", Identity: "bench", RAMSize: 1 << 30, CPUs: 1, JumpBack: 0x1000}
	st, err := image.Write(dev, h, runs, &pageSource{vm: vm, total: total}, opt)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// ddOnce times dd writing n bytes (rounded up to its 4 MiB blocks) to path with
// O_DIRECT, as bench-hibernate.sh measures the guest's image disk, and
// returns MB/s.
func ddOnce(b *testing.B, dd, path string, n int64) float64 {
	blocks := (n + 4<<20 - 1) / (4 << 20)
	start := time.Now()
	cmd := exec.Command(dd, "if=/dev/zero", "of="+path, "bs=4M", fmt.Sprint("count=", blocks), "oflag=direct", "conv=notrunc,fsync")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("dd: %v\n%s", err, out)
	}
	return float64(blocks<<22) / 1e6 / time.Since(start).Seconds()
}

// preallocate makes path a file of size bytes with its blocks allocated and
// written, so that neither side pays for allocation (a disk has none).
func preallocate(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		return fmt.Errorf("fallocate %s: %w", path, err)
	}
	buf := make([]byte, 4<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		if _, err := f.WriteAt(buf[:min(int64(len(buf)), size-off)], off); err != nil {
			return err
		}
	}
	return f.Sync()
}

func medianMinMax(v []float64) (med, lo, hi float64) {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2], s[0], s[len(s)-1]
}
