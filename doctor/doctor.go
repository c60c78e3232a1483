package doctor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/kconfig"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/modules"
)

// Status is the outcome of one check.
type Status string

const (
	OK      Status = "ok"
	Missing Status = "missing" // kexec jump cannot work until this is fixed
	Warn    Status = "warn"    // could not be verified, or may cause trouble
	Info    Status = "info"    // worth knowing, not a problem
)

// Check is one row of a report.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the result of Run.
type Report struct {
	Checks []Check `json:"checks"`
	// Ready is true when no check is missing.
	Ready bool `json:"ready"`
	// Region is where the second kernel would go, if one could be chosen.
	Region *memmap.Region `json:"region,omitempty"`
	// Kernel is the running kernel's release, "" if unknown.
	Kernel string `json:"kernel"`
}

// Problems returns the names of the missing checks.
func (r Report) Problems() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == Missing {
			out = append(out, c.Name)
		}
	}
	return out
}

// An option the running kernel needs, and why.
type option struct {
	name string // without CONFIG_
	why  string
}

var options = []option{
	{"KEXEC_JUMP", "kexec jump itself; depends on CONFIG_KEXEC and CONFIG_HIBERNATION; Debian's kernels ship without it"},
	{"KEXEC", "the kexec_load syscall"},
	{"HIBERNATION", "the device suspend/resume path a jump uses"},
	{"CRASH_DUMP", "elfcorehdr= and crashkernel= reservations"},
	{"PROC_VMCORE", "/proc/vmcore: the second kernel reads the first one's memory"},
	{"PROC_KCORE", "/proc/kcore: reading the running kernel's memory for a preserve-context load"},
	{"DEVMEM", "/dev/mem: reading physical memory across the jump"},
}

// Run checks the machine whose root directory is root ("/" normally).
func Run(root string) Report {
	d := &run{root: root}
	rel, err := d.read("proc/sys/kernel/osrelease")
	if err == nil {
		d.report.Kernel = rel
	}
	d.config()
	d.kexecAllowed()
	d.lockdown()
	d.capSysBoot()
	d.memory()
	d.disks()
	d.parked()
	d.report.Ready = len(d.report.Problems()) == 0
	return d.report
}

// parked says whether a second kernel is parked (kjump hibernate --prepare):
// information, never a problem.
func (d *run) parked() {
	p, err := jump.ReadParked(d.root)
	switch {
	case err != nil:
		d.add("parked kernel", Warn, d.errText(err), "")
	case p == nil:
		d.add("parked kernel", Info, "none (kjump hibernate --prepare parks a writer kernel)", "")
	default:
		d.add("parked kernel", Info, fmt.Sprintf("%s, in %s since %s", p.Command, p.Region, p.Since.Format(time.RFC3339)), "")
	}
}

type run struct {
	root   string
	report Report
	cfg    kconfig.Config // the running kernel's, nil if unknown
}

func (d *run) add(name string, s Status, detail, fix string) {
	d.report.Checks = append(d.report.Checks, Check{Name: name, Status: s, Detail: detail, Fix: fix})
}

// path returns the real path of the absolute path p under root.
func (d *run) path(p string) string { return filepath.Join(d.root, p) }

// read returns the trimmed contents of root/p.
func (d *run) read(p string) (string, error) {
	b, err := os.ReadFile(d.path(p))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// errText returns err's message with root's paths shown as the machine's.
func (d *run) errText(err error) string {
	root := filepath.Clean(d.root)
	if root == "/" || root == "." {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), root+"/", "/")
}

// show turns a path under root back into the path on the machine.
func (d *run) show(p string) string {
	rel, err := filepath.Rel(d.root, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return "/" + filepath.ToSlash(rel)
}

func (d *run) config() {
	cfg, src, err := kconfig.LoadRunning(d.root)
	d.cfg = cfg
	switch {
	case err == nil:
		d.add("kernel config", OK, d.show(src), "")
	case errors.Is(err, kconfig.ErrNoConfig):
		rel := d.report.Kernel
		if rel == "" {
			rel = "RELEASE"
		}
		d.add("kernel config", Missing,
			"neither /proc/config.gz nor /boot/config-"+rel+" exists, so the options below cannot be verified",
			"build the kernel with CONFIG_IKCONFIG_PROC=y (or modprobe configs), or install the distribution's config file as /boot/config-"+rel)
	default:
		d.add("kernel config", Missing, d.errText(err), "repair or remove the broken config file")
	}
	for _, o := range options {
		name := "CONFIG_" + o.name
		switch {
		case cfg == nil:
			d.add(name, Warn, "cannot verify: no kernel config ("+o.why+")", "")
		case cfg.Enabled(o.name):
			d.add(name, OK, "="+cfg[o.name], "")
		default:
			state := "is not set"
			if v, ok := cfg[o.name]; ok && v != "n" {
				state = "=" + v
			}
			fix := "rebuild the kernel with " + name + "=y"
			if o.name == "KEXEC_JUMP" {
				fix += " (with CONFIG_KEXEC=y and CONFIG_HIBERNATION=y)"
			}
			d.add(name, Missing, state+": needed for "+o.why, fix)
		}
	}
}

func (d *run) kexecAllowed() {
	const name = "kernel.kexec_load_disabled"
	v, err := d.read("proc/sys/kernel/kexec_load_disabled")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.add(name, Warn, "/proc/sys/kernel/kexec_load_disabled does not exist: the kernel has no kexec support (or /proc is not mounted)", "")
		return
	case err != nil:
		d.add(name, Warn, "cannot read it: "+d.errText(err), "")
		return
	case v == "1":
		d.add(name, Missing, "kexec_load is disabled (kernel.kexec_load_disabled=1)",
			"the setting is one-way until reboot: reboot without it (look in /etc/sysctl.conf and /etc/sysctl.d)")
		return
	case v != "0":
		d.add(name, Warn, fmt.Sprintf("unexpected value %q", v), "")
		return
	}
	// Since 6.6 a counter may also forbid further loads.
	if lim, err := d.read("proc/sys/kernel/kexec_load_limit_reboot"); err == nil && lim == "0" {
		d.add(name, Missing, "kexec_load_disabled=0, but kernel.kexec_load_limit_reboot=0 allows no more loads",
			"the limit can only be lowered: reboot without setting kernel.kexec_load_limit_reboot")
		return
	}
	d.add(name, OK, "0: kexec_load is allowed", "")
}

func (d *run) lockdown() {
	const name = "lockdown"
	v, err := d.read("sys/kernel/security/lockdown")
	if errors.Is(err, fs.ErrNotExist) {
		d.add(name, OK, "no lockdown (securityfs not mounted or LSM absent)", "")
		return
	}
	if err != nil {
		d.add(name, Warn, "cannot read /sys/kernel/security/lockdown: "+d.errText(err), "")
		return
	}
	switch mode := lockdownMode(v); mode {
	case "none":
		d.add(name, OK, "[none]", "")
	case "integrity", "confidentiality":
		d.add(name, Missing, "["+mode+"]: the locked-down kernel refuses kexec_load, hibernation and /dev/mem",
			"boot without lockdown / Secure Boot (turn Secure Boot off in the firmware, drop lockdown= from the command line); it cannot be lifted at run time")
	default:
		d.add(name, Warn, fmt.Sprintf("cannot tell the mode from %q", v), "")
	}
}

const capSysBoot = 22 // include/uapi/linux/capability.h

func (d *run) capSysBoot() {
	const name = "CAP_SYS_BOOT"
	status, err := d.read("proc/self/status")
	if err != nil {
		d.add(name, Warn, "cannot read /proc/self/status: "+d.errText(err), "")
		return
	}
	caps, v, err := capEff(status)
	switch {
	case err != nil:
		d.add(name, Warn, err.Error(), "")
	case caps&(1<<capSysBoot) != 0:
		d.add(name, OK, "effective (CapEff "+v+")", "")
	default:
		d.add(name, Missing, "not effective (CapEff "+v+"): kexec_load and reboot fail with EPERM",
			"run kjump as root, or give it CAP_SYS_BOOT")
	}
}

// lockdownMode returns the selected mode from the contents of
// /sys/kernel/security/lockdown ("none [integrity] confidentiality"), or ""
// when none is selected.
func lockdownMode(s string) string {
	for _, f := range strings.Fields(s) {
		if len(f) > 2 && f[0] == '[' && f[len(f)-1] == ']' {
			return f[1 : len(f)-1]
		}
	}
	return ""
}

// capEff returns the effective capability set from the contents of
// /proc/PID/status, and its text.
func capEff(status string) (uint64, string, error) {
	for _, line := range strings.Split(status, "\n") {
		v, ok := strings.CutPrefix(line, "CapEff:")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		caps, err := strconv.ParseUint(v, 16, 64)
		if err != nil {
			return 0, "", fmt.Errorf("cannot parse CapEff %q in /proc/self/status", v)
		}
		return caps, v, nil
	}
	return 0, "", errors.New("no CapEff line in /proc/self/status")
}

// memory adds the RAM map, reservation and region rows.
func (d *run) memory() {
	tree, iomemErr := memmap.ReadIomem(d.root)
	iomemFix := "mount /proc and /sys"
	if errors.Is(iomemErr, memmap.ErrIomemHidden) {
		iomemFix = "run kjump as root: /proc/iomem shows addresses only to CAP_SYS_ADMIN"
	}

	ram, err := memmap.ReadFirmwareMemmap(d.root)
	from := "/sys/firmware/memmap"
	if err != nil {
		from = "/proc/iomem; no /sys/firmware/memmap: " + d.errText(err)
		if errors.Is(err, fs.ErrNotExist) {
			from = "/proc/iomem; no /sys/firmware/memmap (CONFIG_FIRMWARE_MEMMAP)"
		}
		ram = nil
		if iomemErr == nil {
			ram = memmap.IomemRAM(tree)
		}
	}
	if ram.TotalRAM() == 0 {
		detail := "no System RAM found in /sys/firmware/memmap or /proc/iomem"
		if iomemErr != nil {
			detail += ": " + d.errText(iomemErr)
		}
		d.add("RAM map", Missing, detail, iomemFix)
	} else {
		d.add("RAM map", OK, fmt.Sprintf("%s of System RAM in %d ranges (from %s)",
			memmap.FormatSize(ram.TotalRAM()), len(ram.RAM()), from), "")
	}

	d.reservation(tree, iomemErr)

	const name = "region"
	switch {
	case ram.TotalRAM() == 0:
		d.add(name, Missing, "cannot choose a region without a RAM map", iomemFix)
		return
	case iomemErr != nil:
		d.add(name, Missing, "cannot choose a region without /proc/iomem (the running kernel's image must be avoided): "+d.errText(iomemErr), iomemFix)
		return
	}
	var reserved []memmap.Range
	if cmdline, err := d.read("proc/cmdline"); err == nil {
		reserved = memmap.CmdlineReservations(cmdline)
	}
	r, err := memmap.ChooseRegion(ram, tree, memmap.Options{Reserved: reserved})
	switch {
	case err == nil:
		detail := r.String()
		if !r.Reserved {
			detail += ": swapped out and back at each jump"
		}
		d.add(name, OK, detail, "")
		d.report.Region = &r
	case errors.Is(err, memmap.ErrRegionTooLarge):
		d.add(name, Missing, d.errText(err), "choose a smaller region, or reserve one at boot with crashkernel=SIZE")
	default:
		d.add(name, Missing, d.errText(err), fmt.Sprintf("reserve a region at boot with crashkernel=%dM", memmap.DefaultSize/memmap.MiB))
	}
}

func (d *run) reservation(tree []*memmap.Resource, iomemErr error) {
	var found []string
	if iomemErr == nil {
		for _, r := range memmap.FindIomem(tree, "Crash kernel") {
			found = append(found, fmt.Sprintf("Crash kernel %v (%s)", r, memmap.FormatSize(r.Size)))
		}
	}
	if cmdline, err := d.read("proc/cmdline"); err == nil {
		for _, r := range memmap.CmdlineReservations(cmdline) {
			found = append(found, fmt.Sprintf("memmap= reservation %v (%s)", r, memmap.FormatSize(r.Size)))
		}
	}
	switch {
	case len(found) > 0:
		d.add("reservation", Info, strings.Join(found, "; "), "")
	case iomemErr != nil:
		d.add("reservation", Warn, "cannot see a crashkernel= reservation: "+d.errText(iomemErr), "")
	default:
		d.add("reservation", Info, "none: the region will be swapped out and back at each jump (fine, but slower and it needs that much free RAM)",
			fmt.Sprintf("optional: boot with crashkernel=%dM to reserve one", memmap.DefaultSize/memmap.MiB))
	}
}

// WriteTable writes the report as an aligned table, CHECK STATUS DETAIL,
// with a "fix:" line under every row that has one, then a verdict line.
func (r Report) WriteTable(w io.Writer) error {
	nameW, statusW := len("CHECK"), len("STATUS")
	for _, c := range r.Checks {
		nameW = max(nameW, len(c.Name))
		statusW = max(statusW, len(c.Status))
	}
	var b strings.Builder
	row := func(name, status, detail string) {
		line := fmt.Sprintf("%-*s  %-*s  %s", nameW, name, statusW, status, detail)
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	row("CHECK", "STATUS", "DETAIL")
	for _, c := range r.Checks {
		row(c.Name, string(c.Status), c.Detail)
		if c.Fix != "" && c.Status != OK {
			row("", "", "fix: "+c.Fix)
		}
	}
	if p := r.Problems(); len(p) == 0 {
		b.WriteString("ready: kexec jump can work on this machine\n")
	} else {
		fmt.Fprintf(&b, "not ready: %d problem(s): %s\n", len(p), strings.Join(p, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// disks adds the "disk drivers" row: which disks have a driver built as a
// module (Debian builds virtio_blk, ahci, nvme and sd_mod as modules), and
// whether kjump can give those modules to a second kernel that writes to the
// disk (package modules): each must be in modules.dep, and an xz-compressed
// one needs CONFIG_MODULE_DECOMPRESS.
func (d *run) disks() {
	const name = "disk drivers"
	entries, err := os.ReadDir(d.path("sys/block"))
	if err != nil {
		d.add(name, Warn, "cannot list the disks: "+d.errText(err), "mount sysfs on /sys")
		return
	}
	var builtin, handled, problems []string
	var dep *modules.Dep
	for _, e := range entries {
		disk := e.Name()
		if _, err := os.Stat(d.path("sys/block/" + disk + "/device")); err != nil {
			continue // virtual: loop, dm, zram, md
		}
		num, err := d.read("sys/block/" + disk + "/dev")
		if err != nil {
			continue
		}
		mods, err := modules.ForDevice(d.root, num)
		if err != nil {
			problems = append(problems, disk+": "+d.errText(err))
			continue
		}
		if len(mods) == 0 {
			builtin = append(builtin, disk)
			continue
		}
		if dep == nil {
			if dep, err = modules.LoadDep(d.root, d.report.Kernel); err != nil {
				problems = append(problems, fmt.Sprintf("%s: driver %s is a module and %s", disk, strings.Join(mods, ", "), d.errText(err)))
				dep = nil
				continue
			}
		}
		order, err := dep.Order(mods)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: driver %s is a module: %v", disk, strings.Join(mods, ", "), err))
			continue
		}
		decompresses := d.cfg != nil && d.cfg.Enabled("MODULE_DECOMPRESS")
		if c := modules.Compression(order[len(order)-1]); c == "xz" && !decompresses {
			problems = append(problems, fmt.Sprintf("%s: driver %s is an xz-compressed module and the kernel lacks CONFIG_MODULE_DECOMPRESS", disk, strings.Join(mods, ", ")))
			continue
		}
		handled = append(handled, fmt.Sprintf("%s (%s)", disk, strings.Join(mods, ", ")))
	}
	var parts []string
	if len(handled) > 0 {
		parts = append(parts, "modules, put into the second kernel's initramfs with their dependencies: "+strings.Join(handled, ", "))
	}
	if len(builtin) > 0 {
		parts = append(parts, "built in: "+strings.Join(builtin, ", "))
	}
	switch {
	case len(problems) > 0:
		d.add(name, Warn, strings.Join(append(problems, parts...), "; ")+": kjump snapshot and hibernate cannot write to those disks",
			"install the kernel's modules with depmod (modules.dep), uncompressed or gzip/zstd-compressed, or build the driver in (=y)")
	case len(parts) == 0:
		d.add(name, Info, "no disks", "")
	default:
		d.add(name, OK, strings.Join(parts, "; "), "")
	}
}
