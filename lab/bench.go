package lab

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"runtime"

	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/lab/qemu"
)

// Bench is a named benchmark of the lab.
type Bench struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, l *Lab, w io.Writer) error
}

// Benches lists the benchmarks.
func Benches() []Bench {
	return []Bench{{
		Name:    "jump",
		Summary: "load, exec → second kernel user space, jump back, round trip, re-entry: kjump beside kexec-tools in the same VM",
		Run:     benchJump,
	}, {
		Name:    "dump",
		Summary: "kjump dump beside makedumpfile on the same vmcore of a 1 GiB guest with half its RAM in use; /proc/vmcore read() vs mmap",
		Run:     benchDump,
	}, {
		Name:    "hibernate",
		Summary: "kjump hibernate/resume beside the kernel's own hibernation (swsusp) at 25, 75 and 90% of RAM in use: downtime, image size, write speed",
		Run:     benchHibernate,
	}}
}

// marks are console lines with the host time they arrived, read from a VM log.
type marks []struct {
	at   float64
	line string
}

func readMarks(path string) (marks, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	re := regexp.MustCompile(`^\[\s*([0-9.]+)\] (.*)$`)
	var m marks
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if s := re.FindStringSubmatch(sc.Text()); s != nil {
			at, _ := strconv.ParseFloat(s[1], 64)
			m = append(m, struct {
				at   float64
				line string
			}{at, s[2]})
		}
	}
	return m, sc.Err()
}

// at returns the time of the nth (1-based) line containing s after time from.
func (m marks) at(s string, n int, from float64) (float64, error) {
	for _, e := range m {
		if e.at >= from && strings.Contains(e.line, s) {
			if n--; n == 0 {
				return e.at, nil
			}
		}
	}
	return 0, fmt.Errorf("no line %q in the console", s)
}

// jumpTimes are the steps of benchJump, in seconds.
type jumpTimes struct {
	load, toSecond, back, roundTrip, reentry float64
}

func measureJump(ctx context.Context, l *Lab, tool string) (jumpTimes, error) {
	var t jumpTimes
	vm, err := l.RunJob(ctx, Guest{Name: "bench-jump-" + tool, CPUs: 1, Append: "crashkernel=256M"}, "/lab/bench-jump.sh "+tool, 600*time.Second)
	if err != nil {
		return t, err
	}
	m, err := readMarks(vm.LogPath())
	if err != nil {
		return t, err
	}
	get := func(s string, n int, from float64) float64 {
		v, e := m.at(s, n, from)
		if e != nil && err == nil {
			err = fmt.Errorf("%s: %w (log: %s)", tool, e, vm.LogPath())
		}
		return v
	}
	load := get("bench: load", 1, 0)
	t.load = get("bench: loaded", 1, load) - load
	exec1 := get("bench: exec 1", 1, 0)
	t.toSecond = get("bench: second kernel user space", 1, exec1) - exec1
	back1 := get("bench: back 1", 1, exec1)
	t.back = back1 - get("jumping back to the first kernel", 1, exec1)
	t.roundTrip = back1 - exec1
	var re float64
	for i := 2; i <= 3; i++ {
		e := get(fmt.Sprintf("bench: exec %d", i), 1, 0)
		re += get("bench: second kernel user space", 1, e) - e
	}
	t.reentry = re / 2
	return t, err
}

func benchJump(ctx context.Context, l *Lab, w io.Writer) error {
	kj, err := measureJump(ctx, l, "kjump")
	if err != nil {
		return err
	}
	kt, err := measureJump(ctx, l, "kexec-tools")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "kexec jump, Linux %s in QEMU (TCG, 1 CPU, 1 GiB, crashkernel=256M), host clock at console markers;\n", l.Kernel.Release)
	fmt.Fprintf(w, "the kexec-tools column returns with 'kjump back' (its own helper cannot on 6.12)\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "step\t   kjump\t kexec-tools\n")
	row := func(name string, a, b float64) { fmt.Fprintf(tw, "%s\t%6.2f s\t%10.2f s\n", name, a, b) }
	row("load", kj.load, kt.load)
	row("exec → second kernel's user space", kj.toSecond, kt.toSecond)
	row("jump back → first kernel running", kj.back, kt.back)
	row("full round trip", kj.roundTrip, kt.roundTrip)
	row("re-entry: exec → second kernel running", kj.reentry, kt.reentry)
	return tw.Flush()
}

func benchDump(ctx context.Context, l *Lab, w io.Writer) error {
	img, err := l.disk("bench-dump-vmcore", 1200<<20)
	if err != nil {
		return err
	}
	vm, err := l.Boot(ctx, Guest{Name: "bench-dump", Append: "kjump.run=/lab/bench-dump.sh", Disks: []qemu.Disk{{Path: img}}})
	if err != nil {
		return err
	}
	defer vm.Kill()
	if _, _, err := vm.Expect(600*time.Second, `bench: copied`); err != nil {
		return err
	}
	if err := vm.Wait(60 * time.Second); err != nil {
		return err
	}
	m, err := readMarks(vm.LogPath())
	if err != nil {
		return err
	}
	span := func(a, b string) float64 {
		t0, e1 := m.at(a, 1, 0)
		t1, e2 := m.at(b, 1, t0)
		if e1 != nil || e2 != nil {
			return 0
		}
		return t1 - t0
	}
	read, mapped := span("bench: read start", "bench: read done"), span("bench: mmap start", "bench: mmap done")
	f, err := elfcore.Open(img)
	if err != nil {
		return fmt.Errorf("the copied vmcore: %w", err)
	}
	var mem uint64
	for _, s := range f.Loads {
		mem += s.FileSize
	}
	f.Close()
	mb := float64(mem) / 1e6

	fmt.Fprintf(w, "the vmcore of a 1 GiB guest (Linux %s) with 512 MiB in use: %.0f MB of memory; this host, %d CPUs\n\n", l.Kernel.Release, mb, runtime.NumCPU())
	fmt.Fprintf(w, "/proc/vmcore in the second kernel (QEMU TCG): read() %.0f MB/s, mmap (kjump dump -d 0) %.0f MB/s\n\n", mb/read, mb/mapped)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "dump -d 31\t  seconds\t  MB/s\t  output\n")
	row := func(name string, secs float64, size int64) {
		fmt.Fprintf(tw, "%s\t%9.2f\t%6.0f\t%6.2f MB\n", name, secs, mb/secs, float64(size)/1e6)
	}
	dir := l.LogDir
	// best runs f three times and returns the shortest time: a run of a few
	// tenths of a second is noisy on a shared machine.
	best := func(f func() error) (float64, error) {
		min := 0.0
		for i := 0; i < 3; i++ {
			start := time.Now()
			if err := f(); err != nil {
				return 0, err
			}
			if d := time.Since(start).Seconds(); i == 0 || d < min {
				min = d
			}
		}
		return min, nil
	}
	fmt.Fprintf(tw, "(each the best of 3 runs)\t\t\t\n")
	for _, mdf := range []struct{ name, flag string }{{"makedumpfile -c (zlib)", "-c"}, {"makedumpfile -l (lzo)", "-l"}} {
		out := filepath.Join(dir, "bench-makedumpfile"+mdf.flag)
		secs, err := best(func() error {
			os.Remove(out)
			if b, err := exec.CommandContext(ctx, "makedumpfile", "-d", "31", mdf.flag, img, out).CombinedOutput(); err != nil {
				return fmt.Errorf("makedumpfile: %v\n%s", err, b)
			}
			return nil
		})
		if err != nil {
			return err
		}
		st, _ := os.Stat(out)
		row(mdf.name, secs, st.Size())
		os.Remove(out)
	}
	for _, c := range []dumpfile.Compression{dumpfile.Zlib, dumpfile.Zstd, dumpfile.Snappy} {
		for _, threads := range []int{1, runtime.NumCPU()} {
			opt := dump.DefaultOptions()
			opt.Compression, opt.Threads = c, threads
			out := filepath.Join(dir, "bench-kjump.kdump")
			var sum dump.Summary
			secs, err := best(func() (err error) {
				sum, err = dump.RunContext(ctx, img, out, opt)
				return err
			})
			if err != nil {
				return err
			}
			row(fmt.Sprintf("kjump %s, %d thread(s)", c, threads), secs, sum.OutputBytes)
			os.Remove(out)
		}
	}
	return tw.Flush()
}
