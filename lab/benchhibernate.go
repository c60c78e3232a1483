package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kjump/kjump/lab/qemu"
)

// hibernateRun is one hibernation and resume, timed on the host clock.
type hibernateRun struct {
	tool      string
	percent   int
	save      float64 // "bench: hibernating" → the kernel's power-down line
	resume    float64 // power-on (QEMU start) → the workload running again
	full      float64 // power-on → the workload has touched all its memory again
	imageMB   float64 // image size
	writeMBps float64 // raw memory bytes written per second (kjump) / as the kernel reports (swsusp)
	diskMBps  float64 // kjump: the image's bytes written per second (image.Write, header to commit)
	ddMBps    float64 // dd's sequential write speed to the image disk, in the same guest
	note      string
	inUse     string // from hog's line
}

var hogLine = regexp.MustCompile(`hog: holding \d+ MiB: (\d+% of RAM in use)`)

// HibernateBench chooses the rows of kjump lab bench hibernate; the zero
// value is the whole matrix of a 1 GiB guest.
type HibernateBench struct {
	MemoryMiB int      // the guest's RAM; default 1024
	Tools     []string // default hibernateTools
	Loads     []int    // percent of RAM in use; default 25, 75, 90
	Runs      int      // runs per row; default 3
}

// hibernateTools are the tools bench-hibernate.sh knows.
var hibernateTools = []string{"kjump", "kjump-parked", "kjump-lz4", "kjump-none", "swsusp"}

func (o HibernateBench) withDefaults() (HibernateBench, error) {
	if o.MemoryMiB == 0 {
		o.MemoryMiB = 1024
	}
	if len(o.Tools) == 0 {
		o.Tools = hibernateTools
	}
	for _, t := range o.Tools {
		if !slices.Contains(hibernateTools, t) {
			return o, fmt.Errorf("no hibernate bench tool %q (have: %s)", t, strings.Join(hibernateTools, ", "))
		}
	}
	if len(o.Loads) == 0 {
		o.Loads = []int{25, 75, 90}
	}
	if o.Runs == 0 {
		o.Runs = 3
	}
	return o, nil
}

// measureHibernate measures run (1-based) of tool at percent; each run has
// logs of its own, so that a failed run's stay for a look.
func measureHibernate(ctx context.Context, l *Lab, o HibernateBench, tool string, percent, run int) (hibernateRun, error) {
	r := hibernateRun{tool: tool, percent: percent}
	row := fmt.Sprintf("bench-hibernate-%s-%dM-%d", tool, o.MemoryMiB, percent)
	name := fmt.Sprintf("%s-run%d", row, run)
	// The image disk holds every page of RAM uncompressed, and is swsusp's
	// swap: as large as RAM, plus room.
	img, err := l.disk(row+"-image", int64(o.MemoryMiB+512)<<20)
	if err != nil {
		return r, err
	}
	defer os.Remove(img) // gigabytes of the host's disk once written
	disks := []qemu.Disk{{Path: img}}
	job := fmt.Sprintf("/lab/bench-hibernate.sh %s %d", tool, percent)
	g := Guest{Name: name + "-save", Disks: disks, MemoryMiB: o.MemoryMiB, Append: `kjump.run="` + job + `"`}
	if strings.HasPrefix(tool, "kjump") {
		g.Append = hibernateAppend() + " " + g.Append
	}
	vm, err := l.Boot(ctx, g)
	if err != nil {
		return r, err
	}
	idx, line, err := vm.Expect(900*time.Second, `reboot: Power down`, `bench: swsusp failed`, `kjump-init: FAIL`, `Kernel panic`)
	if err == nil && idx == 0 {
		err = vm.Wait(60 * time.Second)
	}
	vm.Kill()
	if err != nil {
		return r, err
	}
	console := vm.Console()
	if m := hogLine.FindStringSubmatch(console); m != nil {
		r.inUse = m[1]
	}
	if m := regexp.MustCompile(`bench: dd to the image disk (\d+) MB/s`).FindStringSubmatch(console); m != nil {
		fmt.Sscan(m[1], &r.ddMBps)
	}
	if idx == 1 {
		r.note = "swsusp failed: " + lastKernelError(console)
		return r, nil
	}
	if idx != 0 {
		return r, fmt.Errorf("%s: %s (log: %s)", name, strings.TrimSpace(line), vm.LogPath())
	}
	m, err := readMarks(vm.LogPath())
	if err != nil {
		return r, err
	}
	t0, err1 := m.at("bench: hibernating", 1, 0)
	t1, err2 := m.at("reboot: Power down", 1, t0)
	if err1 != nil || err2 != nil {
		return r, fmt.Errorf("%s: markers missing (log: %s)", name, vm.LogPath())
	}
	r.save = t1 - t0
	if strings.HasPrefix(tool, "kjump") {
		// hibernate-write: image …: N pages (X MiB) stored in Y MiB, … in S s; written in T s at D MB/s
		mm := regexp.MustCompile(`hibernate-write: image \S+ \d+ pages \(([0-9.]+) ([MG])iB\) stored in ([0-9.]+) ([MG])iB, .* in ([0-9.]+)s; written in [0-9.]+s at (\d+) MB/s`).FindStringSubmatch(console)
		if mm == nil {
			return r, fmt.Errorf("%s: no hibernate-write summary line (log: %s)", name, vm.LogPath())
		}
		var raw, stored, secs float64
		fmt.Sscan(mm[1], &raw)
		fmt.Sscan(mm[3], &stored)
		fmt.Sscan(mm[5], &secs)
		fmt.Sscan(mm[6], &r.diskMBps)
		mb := map[string]float64{"M": 1.048576, "G": 1073.741824}
		r.imageMB, r.writeMBps = stored*mb[mm[4]], raw*mb[mm[2]]/secs
	} else if mm := regexp.MustCompile(`Wrote (\d+) kbytes in ([0-9.]+) seconds \(([0-9.]+) MB/s\)`).FindStringSubmatch(console); mm != nil {
		var kb float64
		fmt.Sscan(mm[1], &kb)
		fmt.Sscan(mm[3], &r.writeMBps)
		r.imageMB = kb * 1024 / 1e6
	}

	rg := Guest{Name: name + "-resume", Disks: disks, MemoryMiB: o.MemoryMiB}
	if strings.HasPrefix(tool, "kjump") {
		rg = resumeGuest(name, Guest{Disks: disks, MemoryMiB: o.MemoryMiB}, "--from /dev/vda")
	} else {
		rg.Append = `kjump.run=/lab/swsusp-resume.sh`
	}
	rvm, err := l.Boot(ctx, rg)
	if err != nil {
		return r, err
	}
	defer rvm.Kill()
	if err := expectOK(rvm, job, 900*time.Second); err != nil {
		return r, err
	}
	if err := powerOff(rvm); err != nil {
		return r, err
	}
	rm, err := readMarks(rvm.LogPath())
	if err != nil {
		return r, err
	}
	if r.resume, err = rm.at("bench: running again", 1, 0); err != nil {
		return r, fmt.Errorf("%s: %w (log: %s)", name, err, rvm.LogPath())
	}
	if r.full, err = rm.at("bench: back to full speed", 1, r.resume); err != nil {
		return r, fmt.Errorf("%s: %w (log: %s)", name, err, rvm.LogPath())
	}
	if !strings.Contains(rvm.Console(), "hog: verified") {
		return r, fmt.Errorf("%s: the workload's memory did not survive (log: %s)", name, rvm.LogPath())
	}
	return r, nil
}

// lastKernelError is the last "PM:" line of a console, which says why the
// kernel's hibernation failed.
func lastKernelError(console string) string {
	last := "see the console log"
	for _, line := range strings.Split(console, "\n") {
		if i := strings.Index(line, "PM: "); i >= 0 {
			last = strings.TrimSpace(line[i:])
		}
	}
	return last
}

// benchHibernate measures every tool at every load (l.HibernateBench)
// several times, the tools taking turns so that a busy moment of the host
// falls on all alike.
func benchHibernate(ctx context.Context, l *Lab, w io.Writer) error {
	o, err := l.HibernateBench.withDefaults()
	if err != nil {
		return err
	}
	type row struct {
		tool    string
		percent int
		runs    []hibernateRun
		failed  []string
	}
	var rows []*row
	for _, pct := range o.Loads {
		byTool := map[string]*row{}
		for _, tool := range o.Tools {
			byTool[tool] = &row{tool: tool, percent: pct}
			rows = append(rows, byTool[tool])
		}
		for i := 0; i < o.Runs; i++ {
			for _, tool := range o.Tools {
				r, err := measureHibernate(ctx, l, o, tool, pct, i+1)
				switch {
				case err != nil && ctx.Err() != nil:
					return err
				case err != nil:
					// A run that fails is a result too (the table says so).
					fmt.Fprintf(w, "%s at %d%%: %v\n", tool, pct, err)
					byTool[tool].failed = append(byTool[tool].failed, err.Error())
				case r.note != "":
					byTool[tool].failed = append(byTool[tool].failed, r.note)
				default:
					byTool[tool].runs = append(byTool[tool].runs, r)
				}
			}
		}
	}
	fmt.Fprintf(w, "hibernate and resume, Linux %s in QEMU (TCG, 2 CPUs, %d MiB, virtio disks), host clock at console markers;\n", l.Kernel.Release, o.MemoryMiB)
	fmt.Fprintf(w, "each cell: the median of %d runs (min–max); the tools take turns.\n", o.Runs)
	fmt.Fprintf(w, "kjump's guest reserves 240 MiB at 16 MiB for the second and the resume kernel; kjump is --compress auto (the default);\n")
	fmt.Fprintf(w, "kjump-parked re-enters a writer parked before the workload started (kjump hibernate --prepare); kjump-lz4 and\n")
	fmt.Fprintf(w, "kjump-none are --compress lz4 and none; swsusp is the kernel's own hibernation to a swap partition (LZO, its\n")
	fmt.Fprintf(w, "default). downtime = command → power-off plus power-on → running; full speed = power-on → the workload has\n")
	fmt.Fprintf(w, "touched every one of its pages again. write = memory saved per second; to disk = the image's bytes per second\n")
	fmt.Fprintf(w, "while kjump writes it; dd = dd's O_DIRECT sequential write to the same disk in the same guest.\n\n")
	stat := func(rs []hibernateRun, f func(hibernateRun) float64) (med, lo, hi float64) {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2], v[0], v[len(v)-1]
	}
	cell := func(rs []hibernateRun, f func(hibernateRun) float64, unit string) string {
		m, lo, hi := stat(rs, f)
		return fmt.Sprintf("%.1f %s (%.1f–%.1f)", m, unit, lo, hi)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "tool\tasked\tin use\tcommand → off\tpower-on → running\tdowntime\tdowntime + back to full speed\timage\twrite\tto disk\tdd\tnote\t\n")
	median := map[string]float64{}
	for _, r := range rows {
		if len(r.runs) == 0 {
			fmt.Fprintf(tw, "%s\t%d%%\t\t\t\t\t\t\t\t\t\t%s\t\n", r.tool, r.percent, strings.Join(r.failed, "; "))
			continue
		}
		note := ""
		if len(r.failed) > 0 {
			note = fmt.Sprintf("%d of %d runs failed", len(r.failed), o.Runs)
		}
		total, _, _ := stat(r.runs, func(h hibernateRun) float64 { return h.save + h.full })
		median[fmt.Sprintf("%s/%d", r.tool, r.percent)] = total
		median[fmt.Sprintf("%s/%d/off", r.tool, r.percent)], _, _ = stat(r.runs, func(h hibernateRun) float64 { return h.save })
		img, _, _ := stat(r.runs, func(h hibernateRun) float64 { return h.imageMB })
		wr, _, _ := stat(r.runs, func(h hibernateRun) float64 { return h.writeMBps })
		disk, _, _ := stat(r.runs, func(h hibernateRun) float64 { return h.diskMBps })
		dd, _, _ := stat(r.runs, func(h hibernateRun) float64 { return h.ddMBps })
		toDisk := "–"
		if disk > 0 {
			toDisk = fmt.Sprintf("%.0f MB/s (%.0f%% of dd)", disk, 100*disk/max(dd, 1))
		}
		fmt.Fprintf(tw, "%s\t%d%%\t%s\t%s\t%s\t%s\t%s\t%.0f MB\t%.0f MB/s\t%s\t%.0f MB/s\t%s\t\n", r.tool, r.percent, r.runs[0].inUse,
			cell(r.runs, func(h hibernateRun) float64 { return h.save }, "s"),
			cell(r.runs, func(h hibernateRun) float64 { return h.resume }, "s"),
			cell(r.runs, func(h hibernateRun) float64 { return h.save + h.resume }, "s"),
			cell(r.runs, func(h hibernateRun) float64 { return h.save + h.full }, "s"),
			img, wr, toDisk, dd, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, pct := range o.Loads {
		s := median[fmt.Sprintf("swsusp/%d", pct)]
		if s == 0 {
			continue
		}
		for _, tool := range o.Tools {
			if tool == "swsusp" {
				continue
			}
			if k := median[fmt.Sprintf("%s/%d", tool, pct)]; k > 0 {
				fmt.Fprintf(w, "at %d%%: %s's downtime + back to full speed is %.2f× the kernel's; command → off %.2f×\n", pct, tool, k/s,
					median[fmt.Sprintf("%s/%d/off", tool, pct)]/median[fmt.Sprintf("swsusp/%d/off", pct)])
			}
		}
	}
	return nil
}
