package doctor

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/memmap"
)

const release = "6.12.0-kjump"

// allOptions is a config with everything kexec jump needs.
const allOptions = `#
# Linux/x86 6.12.0 Kernel Configuration
#
CONFIG_KEXEC=y
CONFIG_KEXEC_JUMP=y
CONFIG_HIBERNATION=y
CONFIG_CRASH_DUMP=y
CONFIG_PROC_VMCORE=y
CONFIG_PROC_KCORE=y
CONFIG_DEVMEM=y
`

// debianConfig is what Debian's 6.12 kernel has.
const debianConfig = `CONFIG_KEXEC=y
# CONFIG_KEXEC_JUMP is not set
CONFIG_HIBERNATION=y
CONFIG_CRASH_DUMP=y
CONFIG_PROC_VMCORE=y
CONFIG_PROC_KCORE=y
CONFIG_DEVMEM=y
`

// A QEMU guest with 1 GiB, its kernel at 16 MiB.
const guestIomem = `00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-3ffdffff : System RAM
  01000000-01c031d0 : Kernel code
  01e00000-0228dfff : Kernel rodata
  02400000-0262a7ff : Kernel data
  02b8a000-02ffffff : Kernel bss
3ffe0000-3fffffff : Reserved
40000000-febfffff : PCI Bus 0000:00
fffc0000-ffffffff : Reserved
`

const (
	capsRoot = "000001ffffffffff"
	capsUser = "0000000000000000"
)

// machine describes a fake root tree; empty fields leave files out.
type machine struct {
	procConfig string // gzipped into proc/config.gz
	bootConfig string // boot/config-RELEASE
	memmap     [][3]string
	iomem      string
	disabled   string // proc/sys/kernel/kexec_load_disabled
	limit      string // proc/sys/kernel/kexec_load_limit_reboot
	lockdown   string
	capEff     string
	cmdline    string
}

// guest is a machine that is ready for kexec jump.
func guest() machine {
	return machine{
		procConfig: allOptions,
		memmap: [][3]string{
			{"0x0", "0x9fbff", "System RAM"},
			{"0x9fc00", "0x9ffff", "Reserved"},
			{"0xf0000", "0xfffff", "Reserved"},
			{"0x100000", "0x3ffdffff", "System RAM"},
			{"0x3ffe0000", "0x3fffffff", "Reserved"},
			{"0xfffc0000", "0xffffffff", "Reserved"},
		},
		iomem:    guestIomem,
		disabled: "0",
		limit:    "-1",
		capEff:   capsRoot,
		cmdline:  "console=ttyS0 panic=-1",
	}
}

func (m machine) build(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write := func(p, content string) {
		t.Helper()
		if content == "" {
			return
		}
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("proc/sys/kernel/osrelease", release+"\n")
	if m.procConfig != "" {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(m.procConfig))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		write("proc/config.gz", b.String())
	}
	write("boot/config-"+release, m.bootConfig)
	for i, e := range m.memmap {
		dir := fmt.Sprintf("sys/firmware/memmap/%d/", i)
		write(dir+"start", e[0]+"\n")
		write(dir+"end", e[1]+"\n")
		write(dir+"type", e[2]+"\n")
	}
	write("proc/iomem", m.iomem)
	write("proc/sys/kernel/kexec_load_disabled", m.disabled)
	write("proc/sys/kernel/kexec_load_limit_reboot", m.limit)
	write("sys/kernel/security/lockdown", m.lockdown)
	if m.capEff != "" {
		write("proc/self/status", "Name:\tkjump\nUmask:\t0022\nState:\tR (running)\nCapInh:\t0000000000000000\nCapPrm:\t"+m.capEff+"\nCapEff:\t"+m.capEff+"\nCapBnd:\t000001ffffffffff\n")
	}
	write("proc/cmdline", m.cmdline)
	return root
}

func statuses(r Report) map[string]Status {
	out := map[string]Status{}
	for _, c := range r.Checks {
		out[c.Name] = c.Status
	}
	return out
}

func find(t *testing.T, r Report, name string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %q row in %+v", name, r.Checks)
	return Check{}
}

var rowNames = []string{
	"kernel config", "CONFIG_KEXEC_JUMP", "CONFIG_KEXEC", "CONFIG_HIBERNATION", "CONFIG_CRASH_DUMP",
	"CONFIG_PROC_VMCORE", "CONFIG_PROC_KCORE", "CONFIG_DEVMEM", "kernel.kexec_load_disabled",
	"lockdown", "CAP_SYS_BOOT", "RAM map", "reservation", "region", "disk drivers", "parked kernel",
}

func TestRun(t *testing.T) {
	for _, tt := range []struct {
		name      string
		m         func() machine
		ready     bool
		problems  []string          // names of missing rows, in order
		want      map[string]Status // a few other rows to check
		detailHas map[string]string // row -> substring of its detail
		fixHas    map[string]string // row -> substring of its fix
	}{
		{
			name:  "ready guest",
			m:     guest,
			ready: true,
			want:  map[string]Status{"kernel config": OK, "lockdown": OK, "reservation": Info, "region": OK, "RAM map": OK},
			detailHas: map[string]string{
				"kernel config": "/proc/config.gz",
				"lockdown":      "no lockdown",
				"RAM map":       "1023.4 MiB of System RAM in 2 ranges (from /sys/firmware/memmap)",
				"region":        "[0x2c000000-0x3bffffff] 256 MiB (auto, not reserved): swapped out",
				"reservation":   "none",
			},
			fixHas: map[string]string{"reservation": "crashkernel=256M"},
		},
		{
			name: "ready guest with crashkernel and lockdown none",
			m: func() machine {
				m := guest()
				m.iomem += "  20000000-2fdfffff : Crash kernel\n"
				m.lockdown = "[none] integrity confidentiality\n"
				m.cmdline = "console=ttyS0 crashkernel=254M"
				return m
			},
			ready:     true,
			want:      map[string]Status{"lockdown": OK, "reservation": Info, "region": OK},
			detailHas: map[string]string{"region": "(crashkernel, reserved at boot)", "reservation": "Crash kernel [0x20000000-0x2fdfffff] (254 MiB)"},
		},
		{
			name: "Debian-like: /boot config without KEXEC_JUMP, lockdown integrity",
			m: func() machine {
				m := guest()
				m.procConfig = ""
				m.bootConfig = debianConfig
				m.lockdown = "none [integrity] confidentiality\n"
				return m
			},
			problems:  []string{"CONFIG_KEXEC_JUMP", "lockdown"},
			want:      map[string]Status{"kernel config": OK, "CONFIG_KEXEC": OK, "CONFIG_HIBERNATION": OK},
			detailHas: map[string]string{"kernel config": "/boot/config-" + release, "CONFIG_KEXEC_JUMP": "is not set", "lockdown": "[integrity]"},
			fixHas:    map[string]string{"CONFIG_KEXEC_JUMP": "CONFIG_KEXEC_JUMP=y", "lockdown": "Secure Boot"},
		},
		{
			name: "no config anywhere",
			m: func() machine {
				m := guest()
				m.procConfig = ""
				return m
			},
			problems: []string{"kernel config"},
			want: map[string]Status{
				"CONFIG_KEXEC_JUMP": Warn, "CONFIG_KEXEC": Warn, "CONFIG_HIBERNATION": Warn, "CONFIG_CRASH_DUMP": Warn,
				"CONFIG_PROC_VMCORE": Warn, "CONFIG_PROC_KCORE": Warn, "CONFIG_DEVMEM": Warn,
			},
			detailHas: map[string]string{"kernel config": "neither /proc/config.gz nor /boot/config-" + release, "CONFIG_KEXEC_JUMP": "cannot verify"},
			fixHas:    map[string]string{"kernel config": "CONFIG_IKCONFIG_PROC=y"},
		},
		{
			name: "kexec_load_disabled=1",
			m: func() machine {
				m := guest()
				m.disabled = "1"
				return m
			},
			problems: []string{"kernel.kexec_load_disabled"},
			fixHas:   map[string]string{"kernel.kexec_load_disabled": "one-way until reboot"},
		},
		{
			name: "kexec_load_limit_reboot=0",
			m: func() machine {
				m := guest()
				m.limit = "0"
				return m
			},
			problems:  []string{"kernel.kexec_load_disabled"},
			detailHas: map[string]string{"kernel.kexec_load_disabled": "kexec_load_limit_reboot=0"},
		},
		{
			name: "no CAP_SYS_BOOT",
			m: func() machine {
				m := guest()
				m.capEff = capsUser
				return m
			},
			problems: []string{"CAP_SYS_BOOT"},
			fixHas:   map[string]string{"CAP_SYS_BOOT": "root"},
		},
		{
			name: "every capability but CAP_SYS_BOOT",
			m: func() machine {
				m := guest()
				m.capEff = "000001ffffbfffff"
				return m
			},
			problems: []string{"CAP_SYS_BOOT"},
		},
		{
			name: "kernel without kexec and debian's config",
			m: func() machine {
				m := guest()
				m.procConfig = "# CONFIG_KEXEC is not set\n# CONFIG_HIBERNATION is not set\nCONFIG_CRASH_DUMP=y\nCONFIG_PROC_VMCORE=y\nCONFIG_PROC_KCORE=y\nCONFIG_DEVMEM=y\n"
				m.disabled, m.limit = "", ""
				return m
			},
			problems: []string{"CONFIG_KEXEC_JUMP", "CONFIG_KEXEC", "CONFIG_HIBERNATION"},
			want:     map[string]Status{"kernel.kexec_load_disabled": Warn},
		},
		{
			name: "iomem hidden from non-root: RAM from firmware memmap, no region",
			m: func() machine {
				m := guest()
				m.iomem = "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n  00000000-00000000 : Kernel code\n"
				return m
			},
			problems:  []string{"region"},
			want:      map[string]Status{"RAM map": OK, "reservation": Warn},
			fixHas:    map[string]string{"region": "run kjump as root"},
			detailHas: map[string]string{"region": "hidden"},
		},
		{
			name: "no firmware memmap: RAM from iomem",
			m: func() machine {
				m := guest()
				m.memmap = nil
				return m
			},
			ready:     true,
			detailHas: map[string]string{"RAM map": "from /proc/iomem; no /sys/firmware/memmap"},
		},
		{
			name: "no memory map at all",
			m: func() machine {
				m := guest()
				m.memmap, m.iomem = nil, ""
				return m
			},
			problems: []string{"RAM map", "region"},
		},
		{
			name: "small machine: default region more than half of RAM",
			m: func() machine {
				m := guest()
				m.memmap = [][3]string{{"0x0", "0x9fbff", "System RAM"}, {"0x100000", "0x17ffffff", "System RAM"}}
				m.iomem = "00100000-17ffffff : System RAM\n  01000000-01ffffff : Kernel code\n"
				return m
			},
			problems:  []string{"region"},
			detailHas: map[string]string{"region": "more than half"},
			fixHas:    map[string]string{"region": "crashkernel=SIZE"},
		},
		{
			name: "memmap= reservation on the command line",
			m: func() machine {
				m := guest()
				m.cmdline = "console=ttyS0 memmap=256M$0x30000000"
				m.iomem = strings.Replace(guestIomem, "00100000-3ffdffff : System RAM\n", "00100000-2fffffff : System RAM\n", 1)
				m.iomem = strings.Replace(m.iomem, "3ffe0000-3fffffff : Reserved\n", "30000000-3fffffff : Reserved\n", 1)
				return m
			},
			ready: true,
			// The firmware map still says RAM up to 0x3ffdffff; the window
			// stays below the reservation.
			detailHas: map[string]string{"reservation": "memmap= reservation [0x30000000-0x3fffffff] (256 MiB", "region": "[0x20000000-0x2fffffff]"},
		},
		{
			name: "lockdown confidentiality",
			m: func() machine {
				m := guest()
				m.lockdown = "none integrity [confidentiality]\n"
				return m
			},
			problems: []string{"lockdown"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := tt.m().build(t)
			r := Run(root)
			var names []string
			for _, c := range r.Checks {
				names = append(names, c.Name)
				if c.Status != OK && c.Status != Missing && c.Status != Warn && c.Status != Info {
					t.Errorf("row %q has status %q", c.Name, c.Status)
				}
				if c.Status == Missing && c.Fix == "" {
					t.Errorf("missing row %q has no fix", c.Name)
				}
				if strings.Contains(c.Detail+c.Fix, root) {
					t.Errorf("row %q shows the test root: %q %q", c.Name, c.Detail, c.Fix)
				}
			}
			if !reflect.DeepEqual(names, rowNames) {
				t.Errorf("rows = %q, want %q", names, rowNames)
			}
			if r.Ready != tt.ready {
				t.Errorf("Ready = %v, want %v", r.Ready, tt.ready)
			}
			if got := r.Problems(); !reflect.DeepEqual(got, tt.problems) {
				t.Errorf("problems = %q, want %q\n%+v", got, tt.problems, r.Checks)
			}
			st := statuses(r)
			for name, want := range tt.want {
				if st[name] != want {
					t.Errorf("%s: status %q, want %q (%s)", name, st[name], want, find(t, r, name).Detail)
				}
			}
			for name, s := range tt.detailHas {
				if d := find(t, r, name).Detail; !strings.Contains(d, s) {
					t.Errorf("%s detail %q does not contain %q", name, d, s)
				}
			}
			for name, s := range tt.fixHas {
				if f := find(t, r, name).Fix; !strings.Contains(f, s) {
					t.Errorf("%s fix %q does not contain %q", name, f, s)
				}
			}
			if r.Kernel != release {
				t.Errorf("Kernel = %q", r.Kernel)
			}
			if (st["region"] == OK) != (r.Region != nil) {
				t.Errorf("region row %q but Region %v", st["region"], r.Region)
			}
		})
	}
}

func TestRunReadyRegion(t *testing.T) {
	r := Run(guest().build(t))
	want := memmap.Region{Range: memmap.Range{Start: 0x2c000000, Size: 256 * memmap.MiB}, Source: memmap.FromAuto}
	if r.Region == nil || *r.Region != want {
		t.Errorf("Region = %v, want %v", r.Region, want)
	}
}

func TestWriteTable(t *testing.T) {
	r := Report{
		Checks: []Check{
			{Name: "kernel config", Status: OK, Detail: "/proc/config.gz"},
			{Name: "CONFIG_KEXEC_JUMP", Status: Missing, Detail: "is not set", Fix: "rebuild the kernel with CONFIG_KEXEC_JUMP=y"},
			{Name: "reservation", Status: Info, Detail: "none", Fix: "optional: crashkernel=256M"},
			{Name: "lockdown", Status: Missing, Detail: "[integrity]", Fix: "boot without lockdown / Secure Boot"},
			{Name: "ok row", Status: OK, Detail: "", Fix: "never shown"},
		},
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := `CHECK              STATUS   DETAIL
kernel config      ok       /proc/config.gz
CONFIG_KEXEC_JUMP  missing  is not set
                            fix: rebuild the kernel with CONFIG_KEXEC_JUMP=y
reservation        info     none
                            fix: optional: crashkernel=256M
lockdown           missing  [integrity]
                            fix: boot without lockdown / Secure Boot
ok row             ok
not ready: 2 problem(s): CONFIG_KEXEC_JUMP, lockdown
`
	if b.String() != want {
		t.Errorf("WriteTable:\n%s\nwant:\n%s", b.String(), want)
	}

	b.Reset()
	ready := Report{Checks: []Check{{Name: "x", Status: OK, Detail: "fine"}}, Ready: true}
	if err := ready.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if want := "CHECK  STATUS  DETAIL\nx      ok      fine\nready: kexec jump can work on this machine\n"; b.String() != want {
		t.Errorf("WriteTable:\n%q\nwant\n%q", b.String(), want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteTableError(t *testing.T) {
	if err := (Report{}).WriteTable(failWriter{}); err == nil {
		t.Error("WriteTable to a failing writer succeeded")
	}
}

func TestJSON(t *testing.T) {
	r := Run(guest().build(t))
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"checks", "ready", "region", "kernel"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON %s has no %q", b, k)
		}
	}
	row := m["checks"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "status", "detail"} {
		if _, ok := row[k]; !ok {
			t.Errorf("JSON check %v has no %q", row, k)
		}
	}
	region := m["region"].(map[string]any)
	if region["start"] != float64(0x2c000000) || region["source"] != "auto" || region["reserved"] != false {
		t.Errorf("JSON region = %v", region)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("JSON round trip: %v\n%+v\n%+v", err, back, r)
	}
	// Without a region the key is left out.
	nr := Run(machine{}.build(t))
	b, _ = json.Marshal(nr)
	if strings.Contains(string(b), `"region":`) {
		t.Errorf("JSON of a report without region: %s", b)
	}
}

// TestRunThisMachine runs the doctor on the development machine, whose
// kernel is not built for kexec jump.
func TestRunThisMachine(t *testing.T) {
	r := Run("/")
	var b strings.Builder
	r.WriteTable(&b)
	t.Logf("doctor on this machine:\n%s", b.String())
	st := statuses(r)
	if r.Ready || st["CONFIG_KEXEC_JUMP"] == OK && st["kernel config"] == OK {
		t.Skip("this machine's kernel has CONFIG_KEXEC_JUMP; this test is for one without")
	}
	if len(r.Problems()) == 0 {
		t.Error("not ready but no problem listed")
	}
	if st["kernel config"] == OK && st["CONFIG_KEXEC_JUMP"] != Missing {
		t.Errorf("config found without KEXEC_JUMP, but its row is %q", st["CONFIG_KEXEC_JUMP"])
	}
	if !strings.Contains(b.String(), "not ready: ") {
		t.Errorf("table has no verdict:\n%s", b.String())
	}
}

// TestParkedRow: the parked kernel's row names it when its description is
// there and an image is loaded, and says none otherwise.
func TestParkedRow(t *testing.T) {
	root := t.TempDir()
	row := func() Check {
		for _, c := range Run(root).Checks {
			if c.Name == "parked kernel" {
				return c
			}
		}
		t.Fatal("no parked kernel row")
		return Check{}
	}
	if c := row(); c.Status != Info || !strings.HasPrefix(c.Detail, "none") {
		t.Errorf("nothing parked: %+v", c)
	}
	p := jump.Parked{Command: "hibernate-write", Region: memmap.Range{Start: 16 << 20, Size: 240 << 20}, Mailbox: 0xffff000}
	if err := p.Save(root); err != nil {
		t.Fatal(err)
	}
	// Nothing loaded: the description alone is stale.
	if c := row(); !strings.HasPrefix(c.Detail, "none") {
		t.Errorf("described but not loaded: %+v", c)
	}
	page := make([]byte, mailbox.Size)
	if err := mailbox.Encode(page, mailbox.Message{State: mailbox.Done, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	// A sparse "/dev/mem" with the park page in place.
	mem := append(make([]byte, 0, 0x1000), page...)
	for path, data := range map[string][]byte{"sys/kernel/kexec_loaded": []byte("1\n"), "dev/mem": mem} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, path), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Move the page to the park page's offset, leaving a hole before it.
	f, err := os.OpenFile(filepath.Join(root, "dev/mem"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(page, 0xffff000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if c := row(); c.Status != Info || !strings.Contains(c.Detail, "hibernate-write, in [0x1000000-0xfffffff]") {
		t.Errorf("parked: %+v", c)
	}
}
