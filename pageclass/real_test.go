package pageclass

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kjump/kjump/pageclass/pageclasstest"
	"github.com/kjump/kjump/pageset"

	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/vmcoreinfo"
)

func realVmcore(t testing.TB) string { return pageclasstest.RealVmcore(t) }

// openReal opens the real vmcore and returns it with its VMCOREINFO, the
// page frames its PT_LOADs cover (a partial last page counts, as
// makedumpfile's is_in_segs counts it) and its direct-map base.
func openReal(t testing.TB) (*elfcore.File, *vmcoreinfo.Info, *pageset.Set, uint64) {
	t.Helper()
	f, err := elfcore.Open(realVmcore(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	text, ok := f.VMCOREINFO()
	if !ok {
		t.Fatal("no VMCOREINFO note")
	}
	info, err := vmcoreinfo.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	var maxPFN, po uint64
	for _, s := range f.Loads {
		maxPFN = max(maxPFN, (s.Phys+s.MemSize+pageSize-1)/pageSize)
		if s.Virt >= 0xffff800000000000 && s.Virt < StartKernelMap {
			po = s.Virt - s.Phys
		}
	}
	present := pageset.New(maxPFN)
	for _, s := range f.Loads {
		present.SetRange(s.Phys/pageSize, (s.Phys+s.MemSize+pageSize-1)/pageSize)
	}
	return f, info, present, po
}

// makedumpfile's counts for the real vmcore at -d 31, from
// "makedumpfile -d 31 -c --message-level 31": 1.7.2 (Debian 12) and the
// development version 1.7.9++ print the same.
const (
	mdfCache = 0x4c82
	mdfUser  = 0x191
	mdfFree  = 0x1777f
)

// TestRealVmcoreMatchesMakedumpfile: Exclude's counts on the real vmcore
// equal makedumpfile's. The page frames left in differ by one: the
// vmcore's PT_LOAD for 0x60000-0x9fc00 ends mid-page, and makedumpfile
// leaves that page (0x9f) out of its bitmaps while Exclude's input here
// has it (it is a reserved page, so it stays).
func TestRealVmcoreMatchesMakedumpfile(t *testing.T) {
	f, info, present, po := openReal(t)
	for _, p := range []uint64{po, 0} { // direct map by base, and by page tables
		c, err := New(info, f, Config{PageOffset: p, MaxPFN: present.Len()})
		if err != nil {
			t.Fatal(err)
		}
		kept, st, err := c.Exclude(MaxLevel, present)
		if err != nil {
			t.Fatal(err)
		}
		want := Stats{Cache: mdfCache, User: mdfUser, Free: mdfFree}
		if st != want {
			t.Errorf("page offset %#x: stats %+v, want makedumpfile's %+v", p, st, want)
		}
		if kept.Count()+st.Excluded() != present.Count() {
			t.Errorf("kept %d + excluded %d != %d", kept.Count(), st.Excluded(), present.Count())
		}
		if !kept.Test(0x9f) {
			t.Error("page frame 0x9f left out")
		}
		// makedumpfile keeps 0x139aa page frames (zero pages included, as
		// they stay in a kdump file's bitmap): all but 0x9f.
		if got := kept.Count() - 1; got != 0x139aa {
			t.Errorf("kept %#x page frames besides 0x9f, makedumpfile keeps 0x139aa", got)
		}
	}
}

// TestRealClassifyAgrees: Classify of single page frames agrees with
// Exclude at MaxLevel, for every 7th page frame.
func TestRealClassifyAgrees(t *testing.T) {
	f, info, present, po := openReal(t)
	c, err := New(info, f, Config{PageOffset: po, MaxPFN: present.Len()})
	if err != nil {
		t.Fatal(err)
	}
	kept, _, _ := c.Exclude(MaxLevel, present)
	counts := map[Class]int{}
	for pfn, ok := present.Next(0); ok; pfn, ok = present.Next(pfn + 7) {
		cl, err := c.Classify(pfn)
		if err != nil {
			t.Fatalf("Classify(%#x): %v", pfn, err)
		}
		counts[cl]++
		if (cl == Kept) != kept.Test(pfn) {
			t.Errorf("Classify(%#x) = %v, but Exclude kept it: %v", pfn, cl, kept.Test(pfn))
		}
	}
	t.Logf("classes of every 7th page frame: %v", counts)
}

// TestRealUtsname reads init_uts_ns through the AddressSpace, by
// phys_base (a kernel-image address).
func TestRealUtsname(t *testing.T) {
	f, info, _, _ := openReal(t)
	as, err := NewAddressSpace(info, f, 0)
	if err != nil {
		t.Fatal(err)
	}
	sym, _ := info.Symbol("init_uts_ns")
	var b [65 * 3]byte
	if err := as.ReadVirt(b[:], sym); err != nil {
		t.Fatal(err)
	}
	if got := string(b[130 : 130+len(info.OSRelease())]); got != info.OSRelease() {
		t.Errorf("release %q, want %q", got, info.OSRelease())
	}
}

func BenchmarkRealExclude(b *testing.B) {
	f, info, present, po := openReal(b)
	for b.Loop() {
		c, err := New(info, f, Config{PageOffset: po, MaxPFN: present.Len()})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Exclude(MaxLevel, present); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(present.Count()) * pageSize)
}

// TestRealMakedumpfileLive runs the installed makedumpfile on the real
// vmcore and compares its per-class counts with Exclude's.
func TestRealMakedumpfileLive(t *testing.T) {
	mdf, err := exec.LookPath("makedumpfile")
	if err != nil {
		t.Skip("makedumpfile not installed")
	}
	f, info, present, po := openReal(t)
	out, err := exec.Command(mdf, "-d", "31", "-c", "--message-level", "31", realVmcore(t), filepath.Join(t.TempDir(), "out")).CombinedOutput()
	if err != nil {
		t.Fatalf("makedumpfile: %v\n%s", err, out)
	}
	counts := map[string]uint64{}
	for _, line := range strings.Split(string(out), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(val), 0, 64); err == nil {
			counts[strings.TrimSpace(name)] = n
		}
	}
	c, err := New(info, f, Config{PageOffset: po, MaxPFN: present.Len()})
	if err != nil {
		t.Fatal(err)
	}
	_, st, _ := c.Exclude(MaxLevel, present)
	for name, got := range map[string]uint64{
		"Non-private cache pages": st.Cache,
		"Private cache pages":     st.CachePrivate,
		"User process data pages": st.User,
		"Free pages":              st.Free,
		"Hwpoison pages":          st.HWPoison,
		"Offline pages":           st.Offline,
	} {
		want, ok := counts[name]
		if !ok {
			t.Errorf("makedumpfile printed no %q:\n%s", name, out)
			continue
		}
		if got != want {
			t.Errorf("%s: %#x, makedumpfile %#x", name, got, want)
		}
	}
}
