package lab

import (
	"context"
	"fmt"
	"io"
	"regexp"
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
	imageMB   float64 // image size
	writeMBps float64 // raw memory bytes written per second (kjump) / as the kernel reports (swsusp)
	rawDiskMB float64 // the guest's raw sequential write speed
	note      string
	inUse     string // from hog's line
}

var hogLine = regexp.MustCompile(`hog: holding \d+ MiB: (\d+% of RAM in use)`)

func measureHibernate(ctx context.Context, l *Lab, tool string, percent int) (hibernateRun, error) {
	r := hibernateRun{tool: tool, percent: percent}
	name := fmt.Sprintf("bench-hibernate-%s-%d", tool, percent)
	img, err := l.disk(name+"-image", 1536<<20)
	if err != nil {
		return r, err
	}
	scratch, err := l.disk(name+"-scratch", 256<<20)
	if err != nil {
		return r, err
	}
	disks := []qemu.Disk{{Path: img}, {Path: scratch}}
	job := fmt.Sprintf("/lab/bench-hibernate.sh %s %d", tool, percent)
	g := Guest{Name: name + "-save", Disks: disks, Append: `kjump.run="` + job + `"`}
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
	if m := regexp.MustCompile(`bench: raw disk write (\d+) MB/s`).FindStringSubmatch(console); m != nil {
		fmt.Sscan(m[1], &r.rawDiskMB)
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
		// hibernate-write: image …: N pages (X MiB) stored in Y MiB, … in S s
		mm := regexp.MustCompile(`hibernate-write: image \S+ \d+ pages \(([0-9.]+) MiB\) stored in ([0-9.]+) MiB, \d+ zero pages, in ([0-9.]+)s`).FindStringSubmatch(console)
		if mm != nil {
			var raw, stored, secs float64
			fmt.Sscan(mm[1], &raw)
			fmt.Sscan(mm[2], &stored)
			fmt.Sscan(mm[3], &secs)
			r.imageMB, r.writeMBps = stored*1.048576, raw*1.048576/secs
		}
	} else if mm := regexp.MustCompile(`Wrote (\d+) kbytes in ([0-9.]+) seconds \(([0-9.]+) MB/s\)`).FindStringSubmatch(console); mm != nil {
		var kb float64
		fmt.Sscan(mm[1], &kb)
		fmt.Sscan(mm[3], &r.writeMBps)
		r.imageMB = kb * 1024 / 1e6
	}

	rg := Guest{Name: name + "-resume", Disks: disks}
	if strings.HasPrefix(tool, "kjump") {
		rg = resumeGuest(name, Guest{Disks: disks}, "--from /dev/vda")
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

func benchHibernate(ctx context.Context, l *Lab, w io.Writer) error {
	var runs []hibernateRun
	for _, pct := range []int{25, 75, 90} {
		for _, tool := range []string{"kjump", "kjump-lz4", "swsusp"} {
			r, err := measureHibernate(ctx, l, tool, pct)
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				// A run that fails is a result too (the table says so); the
				// error names the console log.
				fmt.Fprintf(w, "%s at %d%%: %v\n", tool, pct, err)
				r.note = "failed (see above)"
			}
			runs = append(runs, r)
		}
	}
	fmt.Fprintf(w, "hibernate and resume, Linux %s in QEMU (TCG, 2 CPUs, 1 GiB, virtio disks), host clock at console markers.\n", l.Kernel.Release)
	fmt.Fprintf(w, "kjump's guest reserves 240 MiB at 16 MiB for the second and the resume kernel; kjump-lz4 is kjump hibernate --compress lz4;\n")
	fmt.Fprintf(w, "swsusp is the kernel's own hibernation to a swap partition (LZO, its default).\n")
	fmt.Fprintf(w, "\"in use\" is of the guest's MemTotal; downtime = command → power-off plus power-on → workload running.\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "tool\tasked\tin use\tcommand → off\tpower-on → running\tdowntime\timage\twrite\traw disk\tnote\t\n")
	for _, r := range runs {
		if r.note != "" {
			fmt.Fprintf(tw, "%s\t%d%%\t%s\t\t\t\t\t\t%.0f MB/s\t%s\t\n", r.tool, r.percent, r.inUse, r.rawDiskMB, r.note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d%%\t%s\t%.1f s\t%.1f s\t%.1f s\t%.0f MB\t%.0f MB/s\t%.0f MB/s\t\t\n",
			r.tool, r.percent, r.inUse, r.save, r.resume, r.save+r.resume, r.imageMB, r.writeMBps, r.rawDiskMB)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i := 0; i+2 < len(runs); i += 3 {
		k, k4, s := runs[i], runs[i+1], runs[i+2]
		if k.percent == 75 && s.note == "" && k.note == "" && k4.note == "" {
			fmt.Fprintf(w, "\nat 75%%: kjump's downtime is %.2f× the kernel's with zstd, %.2f× with lz4 (goal ≤ 0.7×)\n",
				(k.save+k.resume)/(s.save+s.resume), (k4.save+k4.resume)/(s.save+s.resume))
		}
	}
	return nil
}
