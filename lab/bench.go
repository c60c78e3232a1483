package lab

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

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
	img, read, mapped, err := benchVmcore(ctx, l)
	if err != nil {
		return err
	}
	f, err := elfcore.Open(img)
	if err != nil {
		return fmt.Errorf("the copied vmcore: %w", err)
	}
	var mem, end uint64
	for _, s := range f.Loads {
		mem += s.FileSize
		end = max(end, s.FileOff+s.FileSize)
	}
	f.Close()
	mb := float64(mem) / 1e6

	what := "the vmcore of a 1 GiB guest with 512 MiB in use"
	if read == 0 {
		what = img
	}
	fmt.Fprintf(w, "%s (Linux %s): %.0f MB of memory; this host, %d CPUs\n\n", what, l.Kernel.Release, mb, runtime.NumCPU())
	if read > 0 && mapped > 0 {
		fmt.Fprintf(w, "/proc/vmcore in the second kernel (QEMU TCG): read() %.0f MB/s, mmap (kjump dump -d 0) %.0f MB/s\n\n", mb/read, mb/mapped)
	}
	// Warm the page cache, so that every run reads the vmcore from memory.
	if g, err := os.Open(img); err == nil {
		io.Copy(io.Discard, io.NewSectionReader(g, 0, int64(end)))
		g.Close()
	}
	dir := l.LogDir
	runs := benchDumpRuns
	fmt.Fprintf(w, "dump -d 31, %d runs of each tool, each a process of its own, taking turns: median wall seconds (min–max),\n", runs)
	fmt.Fprintf(w, "MB/s of the median, median CPU seconds (user + system; less disturbed by other load than wall time), output, largest peak RSS\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "tool\tseconds\tmin–max\tMB/s\tCPU s\toutput\tpeak RSS\t\n")
	row := func(name string, r dumpRuns) {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f–%.3f\t%.0f\t%.3f\t%.2f MB\t%.1f MiB\t\n", name, r.median(), r.secs[0], r.secs[len(r.secs)-1], mb/r.median(), r.cpu[len(r.cpu)/2], float64(r.size)/1e6, float64(r.maxRSS)/1024)
	}
	// Round robin: run i of every tool, then run i+1, so that a busy moment
	// of a shared machine falls on all tools alike.
	tools := benchDumpTools(l.ropt.Kjump)
	results := make([]dumpRuns, len(tools))
	outs := make([]string, len(tools))
	for i := range tools {
		outs[i] = filepath.Join(dir, fmt.Sprintf("bench-dump-out-%d", i))
		defer os.Remove(outs[i])
	}
	for range runs {
		for i, t := range tools {
			args := append(append([]string(nil), t.args...), img, outs[i])
			if err := results[i].measure(ctx, t.prog, args, outs[i]); err != nil {
				return err
			}
		}
	}
	var lzoOut string
	for i, t := range tools {
		sort.Float64s(results[i].secs)
		sort.Float64s(results[i].cpu)
		row(t.name, results[i])
		if t.name == "kjump lzo, 1 thread" {
			lzoOut = outs[i]
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Both Debian readers open kjump's LZO file: makedumpfile prints the log
	// the vmcore holds, crash --minimal the same log.
	want, err := dumpDmesg(img)
	if err != nil {
		return err
	}
	got, err := dumpDmesg(lzoOut)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("makedumpfile --dump-dmesg of kjump's LZO file: %d bytes, the vmcore's log is %d", len(got), len(want))
	}
	out, err := crash(l.Kernel.Vmlinux, lzoOut, "log\nquit\n")
	if err != nil {
		return err
	}
	if !strings.Contains(out, "Linux version "+l.Kernel.Release) {
		return fmt.Errorf("crash --minimal log of kjump's LZO file lacks the banner:\n%s", tail(out, 30))
	}
	fmt.Fprintf(w, "\nkjump's LZO file: makedumpfile --dump-dmesg prints the vmcore's log (%d bytes); crash --minimal's log has the banner\n", len(want))
	return nil
}

// benchDumpRuns is how many times benchDump runs each tool.
const benchDumpRuns = 5

// benchVmcore boots a guest whose second kernel times /proc/vmcore and copies
// it to a disk, and returns that disk (an ELF vmcore followed by zeros) and the
// guest's read() and mmap times. With $KJUMP_TEST_VMCORE set, it returns that
// file instead and no times.
func benchVmcore(ctx context.Context, l *Lab) (img string, read, mapped float64, err error) {
	if p := os.Getenv("KJUMP_TEST_VMCORE"); p != "" {
		fmt.Fprintf(l.progress, "bench dump: the vmcore is $KJUMP_TEST_VMCORE (%s); no guest\n", p)
		return p, 0, 0, nil
	}
	img, err = l.disk("bench-dump-vmcore", 1200<<20)
	if err != nil {
		return "", 0, 0, err
	}
	vm, err := l.Boot(ctx, Guest{Name: "bench-dump", Append: "kjump.run=/lab/bench-dump.sh", Disks: []qemu.Disk{{Path: img}}})
	if err != nil {
		return "", 0, 0, err
	}
	defer vm.Kill()
	if _, _, err := vm.Expect(600*time.Second, `bench: copied`); err != nil {
		return "", 0, 0, err
	}
	if err := vm.Wait(60 * time.Second); err != nil {
		return "", 0, 0, err
	}
	m, err := readMarks(vm.LogPath())
	if err != nil {
		return "", 0, 0, err
	}
	span := func(a, b string) float64 {
		t0, e1 := m.at(a, 1, 0)
		t1, e2 := m.at(b, 1, t0)
		if e1 != nil || e2 != nil {
			return 0
		}
		return t1 - t0
	}
	return img, span("bench: read start", "bench: read done"), span("bench: mmap start", "bench: mmap done"), nil
}

// benchTool is a row of benchDump: a program and its arguments before SRC DST.
type benchTool struct {
	name string
	prog string
	args []string
}

func benchDumpTools(kjump string) []benchTool {
	all := strconv.Itoa(runtime.NumCPU())
	tools := []benchTool{
		{"makedumpfile -c (zlib)", "makedumpfile", []string{"-d", "31", "-c"}},
		{"makedumpfile -l (lzo)", "makedumpfile", []string{"-d", "31", "-l"}},
		// No compression: the floor under every row (reading the vmcore,
		// writing the pages; for kjump the fsync before the rename).
		{"makedumpfile (none)", "makedumpfile", []string{"-d", "31"}},
		{"kjump none, 1 thread", kjump, []string{"dump", "--compress", "none", "--threads", "1"}},
	}
	for _, c := range []string{"zlib", "lzo", "zstd", "snappy"} {
		for _, n := range []string{"1", all} {
			name := fmt.Sprintf("kjump %s, %s thread", c, n)
			if n != "1" {
				name += "s"
			}
			tools = append(tools, benchTool{name, kjump, []string{"dump", "--compress", c, "--threads", n}})
		}
	}
	return tools
}

// dumpRuns are the runs of one tool: seconds and CPU seconds (sorted once
// all runs are in), the output's size and the largest peak RSS (KiB).
type dumpRuns struct {
	secs   []float64
	cpu    []float64 // user + system seconds
	size   int64
	maxRSS int64
}

func (r dumpRuns) median() float64 { return r.secs[len(r.secs)/2] }

// measure runs prog once, writing out anew, and adds the run to r. It runs
// prog under /usr/bin/time for the peak RSS: the rusage Go's os/exec reports
// for a child counts this process's memory too (the child starts as a vfork
// of it).
func (r *dumpRuns) measure(ctx context.Context, prog string, args []string, out string) error {
	os.Remove(out)
	const mark = "kjump-bench-maxrss-kib "
	cmd := exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-f", mark + "%M %U %S", prog}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, stderr.String())
	}
	r.secs = append(r.secs, d)
	_, rss, ok := strings.Cut(stderr.String(), mark)
	if !ok {
		return fmt.Errorf("/usr/bin/time printed no peak RSS for %s:\n%s", prog, stderr.String())
	}
	var kib int64
	var user, sys float64
	if _, err := fmt.Sscan(rss, &kib, &user, &sys); err != nil {
		return fmt.Errorf("/usr/bin/time's peak RSS and CPU times for %s: %w", prog, err)
	}
	r.maxRSS = max(r.maxRSS, kib)
	r.cpu = append(r.cpu, user+sys)
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	r.size = st.Size()
	return nil
}
