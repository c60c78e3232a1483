package dumpfile

// Interoperability with Debian's crash and makedumpfile, and with QEMU's
// kdump writer. Each test skips when its tool is not installed.
//
// Neither crash nor makedumpfile needs a vmlinux to print the kernel log of
// a dump: both find it through VMCOREINFO. fakeKernel is just enough of an
// x86-64 Linux 2.6.32 memory image for that: the legacy log_buf variables,
// system_utsname and mem_map (makedumpfile reads them), and a 4-level page
// table that maps the kernel text region with one 2 MiB page (makedumpfile
// translates kernel addresses through it; crash uses phys_base).

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kjump/kjump/flattened"
	"github.com/kjump/kjump/pageset"
)

const (
	fkStartKernelMap uint64 = 0xffffffff80000000 // __START_KERNEL_map
	fkPageOffset     uint64 = 0xffff888000000000 // x86-64 direct map, for ELF segment addresses
	fkPhysBase              = 0x200000
	fkVars           uint64 = 0xffffffff80200000 // a page of kernel variables
	fkLogBuf         uint64 = 0xffffffff80210000 // the log buffer: 8 pages
	fkPGD            uint64 = 0xffffffff80400000 // init_top_pgt
	fkPUD                   = 0x601000           // physical
	fkPMD                   = 0x602000           // physical
	fkLogBufLen             = 8 * PageSize
	fkRelease               = "2.6.32-kjump"
	fkMaxPFN                = 0x800 // 8 MiB
	fkHoleStart             = 0x700 // page frames [0x700, 0x780) do not exist
	fkHoleEnd               = 0x780
	fkTextStart             = 0x400000 // physical range the kernel text mapping covers
	fkTextEnd               = 0x600000
)

func fkPA(va uint64) uint64 { return va - fkStartKernelMap + fkPhysBase }

var fkUtsname = Utsname{Sysname: "Linux", Nodename: "kjump", Release: fkRelease, Version: "#1 SMP", Machine: "x86_64", Domainname: "(none)"}

type fakeKernel struct {
	pages      map[uint64][]byte // page frames with non-zero contents
	present    *pageset.Set
	vmcoreinfo []byte
	log        []byte // log_buf[0:log_end]
}

func newFakeKernel() *fakeKernel {
	fk := &fakeKernel{pages: map[uint64][]byte{}}
	page := func(pfn uint64) []byte {
		p := fk.pages[pfn]
		if p == nil {
			p = make([]byte, PageSize)
			fk.pages[pfn] = p
		}
		return p
	}
	put := func(pa uint64, b []byte) {
		for len(b) > 0 {
			n := copy(page(pa / PageSize)[pa%PageSize:], b)
			b, pa = b[n:], pa+uint64(n)
		}
	}
	le := binary.LittleEndian

	// The log: a page of text, a random page (stored raw), a zero page,
	// another page of text and 100 bytes more.
	var log []byte
	text := make([]byte, PageSize)
	fillPage(text, 1, kindText)
	log = append(log, text...)
	random := make([]byte, PageSize)
	fillPage(random, 2, kindRandom)
	log = append(log, random...)
	log = append(log, make([]byte, PageSize)...)
	fillPage(text, 3, kindText)
	log = append(log, text...)
	log = append(log, text[:100]...)
	fk.log = log
	put(fkPA(fkLogBuf), log)

	put(fkPA(fkVars+0x10), le.AppendUint64(nil, fkLogBuf))           // log_buf
	put(fkPA(fkVars+0x20), le.AppendUint32(nil, uint32(len(log))))   // log_end
	put(fkPA(fkVars+0x30), le.AppendUint32(nil, fkLogBufLen))        // log_buf_len
	put(fkPA(fkVars+0x40), le.AppendUint32(nil, uint32(len(log))))   // logged_chars
	put(fkPA(fkVars+0x50), le.AppendUint64(nil, 0xffffea0000000000)) // mem_map
	uts := make([]byte, 6*utsFieldLen)
	for i, f := range fkUtsname.fields() {
		copy(uts[i*utsFieldLen:], *f)
	}
	put(fkPA(fkVars+0x100), uts) // system_utsname

	// Page table: PGD[511] -> PUD[510] -> PMD[1] = 2 MiB page at fkTextStart.
	const present, large = 0x63, 0xe3
	put(fkPA(fkPGD)+511*8, le.AppendUint64(nil, fkPUD|present))
	put(fkPUD+510*8, le.AppendUint64(nil, fkPMD|present))
	put(fkPMD+1*8, le.AppendUint64(nil, fkPA(fkVars)&^0x1fffff|large))

	// More pages of each kind.
	for pfn := uint64(0x100); pfn < 0x110; pfn++ {
		fillPage(page(pfn), pfn, kindRandom)
	}
	for pfn := uint64(0x300); pfn < 0x340; pfn++ {
		fillPage(page(pfn), pfn, kindText)
	}

	fk.present = pageset.New(fkMaxPFN)
	fk.present.SetRange(0, fkHoleStart)
	fk.present.SetRange(fkHoleEnd, fkMaxPFN)
	fk.vmcoreinfo = fmt.Appendf(nil, "OSRELEASE=%s\nPAGESIZE=%d\n"+
		"SYMBOL(log_buf)=%x\nSYMBOL(log_end)=%x\nSYMBOL(log_buf_len)=%x\nSYMBOL(logged_chars)=%x\n"+
		"SYMBOL(mem_map)=%x\nSYMBOL(system_utsname)=%x\nSYMBOL(init_top_pgt)=%x\n"+
		"SIZE(page)=64\nOFFSET(page.flags)=0\nOFFSET(page._refcount)=52\nOFFSET(page.mapping)=24\n",
		fkRelease, PageSize, fkVars+0x10, fkVars+0x20, fkVars+0x30, fkVars+0x40,
		fkVars+0x50, fkVars+0x100, fkPGD)
	return fk
}

func (fk *fakeKernel) ReadPage(pfn uint64, buf []byte) error {
	if p := fk.pages[pfn]; p != nil {
		copy(buf, p)
	} else {
		clear(buf)
	}
	return nil
}

func (fk *fakeKernel) header(c Compression) Header {
	return Header{
		Utsname:     fkUtsname,
		Timestamp:   time.Unix(1747742400, 0),
		NrCPUs:      1,
		PhysBase:    fkPhysBase,
		MaxPFN:      fkMaxPFN,
		Compression: c,
		VMCOREINFO:  fk.vmcoreinfo,
		Notes:       appendNote(nil, "CORE", uint32(elf.NT_PRSTATUS), make([]byte, 336)),
	}
}

// writeDump writes the fake kernel's memory as a kdump file in dir.
func (fk *fakeKernel) writeDump(t *testing.T, dir string, c Compression) string {
	t.Helper()
	path := filepath.Join(dir, "ours-"+c.String()+".kdump")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	st, err := Write(out, fk.header(c), fk.present, fk.present, fk, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if st.ZeroPages == 0 || (c != None && st.RawPages == 0) || st.RawPages == st.Pages-st.ZeroPages && c != None {
		t.Fatalf("want zero, raw and compressed pages: %+v", st)
	}
	return path
}

// crashLogOutput is what crash --log prints for a legacy log buffer: NUL
// as a newline, other bytes up to 0x7f as they are, the rest as dots.
func crashLogOutput(log []byte) []byte {
	out := make([]byte, len(log))
	for i, c := range log {
		switch {
		case c == 0:
			out[i] = '\n'
		case c > 0x7f:
			out[i] = '.'
		default:
			out[i] = c
		}
	}
	return out
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed", name)
	}
	return p
}

func run(t *testing.T, stdin io.Reader, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\nstdout: %.2000s\nstderr: %.2000s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out, nil
}

// TestCrashReadsOurDump: crash 8.0.2 reads the header, VMCOREINFO and
// pages (zero, raw and compressed) of our dumps, for each compression.
func TestCrashReadsOurDump(t *testing.T) {
	crash := needTool(t, "crash")
	fk := newFakeKernel()
	dir := t.TempDir()
	for _, c := range writeCompressions {
		t.Run(c.String(), func(t *testing.T) {
			path := fk.writeDump(t, dir, c)
			out, err := run(t, nil, crash, "--osrelease", path)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(out)); got != fkRelease {
				t.Errorf("crash --osrelease = %q, want %q", got, fkRelease)
			}
			out, err = run(t, nil, crash, "--log", path)
			if err != nil {
				t.Fatal(err)
			}
			if want := crashLogOutput(fk.log); !bytes.Equal(bytes.TrimSpace(out), bytes.TrimSpace(want)) {
				t.Errorf("crash --log printed %d bytes, want %d:\n%.300q", len(out), len(want), out)
			}
		})
	}
}

// makedumpfileCompressions returns the output compressions this
// makedumpfile was built with, by its option: "" (none), -c, -l, -p, -z.
func makedumpfileCompressions(t *testing.T, mdf string) map[string]Compression {
	out, _ := exec.Command(mdf, "-v").CombinedOutput() // exits 0 or 1 by version
	have := map[string]Compression{"": None, "-c": Zlib}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || f[1] != "enabled" {
			continue
		}
		switch f[0] {
		case "lzo":
			have["-l"] = LZO
		case "snappy":
			have["-p"] = Snappy
		case "zstd":
			have["-z"] = Zstd
		}
	}
	return have
}

// TestMakedumpfileReadsOurDump: makedumpfile --dump-dmesg reads our dumps
// in every compression it was built to read.
func TestMakedumpfileReadsOurDump(t *testing.T) {
	mdf := needTool(t, "makedumpfile")
	fk := newFakeKernel()
	dir := t.TempDir()
	for _, c := range makedumpfileCompressions(t, mdf) {
		t.Run(c.String(), func(t *testing.T) {
			path := fk.writeDump(t, dir, c)
			dmesg := filepath.Join(dir, "dmesg-"+c.String())
			if _, err := run(t, nil, mdf, "--dump-dmesg", path, dmesg); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dmesg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, fk.log) {
				t.Errorf("makedumpfile --dump-dmesg wrote %d bytes, want the %d-byte log", len(got), len(fk.log))
			}
		})
	}
}

// TestMakedumpfileConvertsOurDump: makedumpfile re-filters our dump into
// each compression it can write (with liblzo2, zlib, ... of its own), and
// our reader reads the result: the LZO read path is tested here.
func TestMakedumpfileConvertsOurDump(t *testing.T) {
	mdf := needTool(t, "makedumpfile")
	fk := newFakeKernel()
	dir := t.TempDir()
	in := fk.writeDump(t, dir, Zlib)
	for flag, c := range makedumpfileCompressions(t, mdf) {
		t.Run(c.String(), func(t *testing.T) {
			out := filepath.Join(dir, "mdf-"+c.String()+".kdump")
			args := []string{"-d", "1", in, out}
			if flag != "" {
				args = append([]string{flag}, args...)
			}
			if _, err := run(t, nil, mdf, args...); err != nil {
				t.Fatal(err)
			}
			f := openFile(t, out)
			if f.Header.Compression != c || f.Header.PhysBase != fkPhysBase || f.Header.MaxPFN != fkMaxPFN ||
				f.Header.Utsname != fkUtsname || !bytes.Equal(f.Header.VMCOREINFO, fk.vmcoreinfo) {
				t.Errorf("header = %+v", f.Header)
			}
			equalBitmaps(t, "Dumped", f.Dumped, fk.present)
			checkPages(t, f, fk.ReadPage, c)
		})
	}
}

// checkPages reads every page of f and compares it with want. Unless c is
// None, some pages must be stored compressed with c.
func checkPages(t *testing.T, f *File, want func(pfn uint64, buf []byte) error, c Compression) {
	t.Helper()
	if err := f.Verify(); err != nil {
		t.Errorf("Verify: %v", err)
	}
	got, exp := make([]byte, f.Layout.BlockSize), make([]byte, f.Layout.BlockSize)
	var n, compressed uint64
	for pfn, ok := f.Dumped.Next(0); ok; pfn, ok = f.Dumped.Next(pfn + 1) {
		if err := f.ReadPage(pfn, got); err != nil {
			t.Fatal(err)
		}
		if err := want(pfn, exp); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, exp) {
			t.Fatalf("pfn %#x differs", pfn)
		}
		d, _ := f.PageDesc(pfn)
		if d.Flags != 0 {
			compressed++
			if d.Flags != c.flag() {
				t.Fatalf("pfn %#x flags %#x, want %v", pfn, d.Flags, c)
			}
		}
		n++
	}
	if n == 0 || (c != None && compressed == 0) {
		t.Errorf("%d pages, %d compressed", n, compressed)
	}
}

func openFile(t *testing.T, path string) *File {
	t.Helper()
	fd, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	fi, err := fd.Stat()
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(fd, fi.Size())
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return f
}

// writeELFCore writes the fake kernel as an ELF vmcore like /proc/vmcore:
// a PT_NOTE with NT_PRSTATUS and VMCOREINFO, and a PT_LOAD per run of
// present page frames; the kernel text range is mapped at its kernel
// address, the rest at the direct map.
func (fk *fakeKernel) writeELFCore(t *testing.T, path string) {
	t.Helper()
	notes, _, _, err := notesWithVMCOREINFO(fk.header(None).Notes, fk.vmcoreinfo)
	if err != nil {
		t.Fatal(err)
	}
	type seg struct{ start, end, vaddr uint64 }
	var segs []seg
	addSeg := func(start, end uint64) {
		for start < end {
			e, va := end, fkPageOffset+start
			switch {
			case start < fkTextStart:
				e = min(end, fkTextStart)
			case start < fkTextEnd:
				e, va = min(end, fkTextEnd), start-fkPhysBase+fkStartKernelMap
			}
			segs = append(segs, seg{start, e, va})
			start = e
		}
	}
	addSeg(0, fkHoleStart*PageSize)
	addSeg(fkHoleEnd*PageSize, fkMaxPFN*PageSize)

	const ehdr, phdr = 64, 56
	le := binary.LittleEndian
	var b []byte
	b = append(b, "\x7fELF\x02\x01\x01"...)
	b = append(b, make([]byte, 9)...)
	b = le.AppendUint16(b, uint16(elf.ET_CORE))
	b = le.AppendUint16(b, uint16(elf.EM_X86_64))
	b = le.AppendUint32(b, 1)
	b = le.AppendUint64(b, 0)    // e_entry
	b = le.AppendUint64(b, ehdr) // e_phoff
	b = le.AppendUint64(b, 0)    // e_shoff
	b = le.AppendUint32(b, 0)    // e_flags
	b = le.AppendUint16(b, ehdr) // e_ehsize
	b = le.AppendUint16(b, phdr) // e_phentsize
	b = le.AppendUint16(b, uint16(1+len(segs)))
	b = le.AppendUint16(b, 0) // e_shentsize
	b = le.AppendUint16(b, 0) // e_shnum
	b = le.AppendUint16(b, 0) // e_shstrndx
	off := uint64(ehdr + phdr*(1+len(segs)))
	ph := func(typ elf.ProgType, off, va, pa, size uint64) {
		b = le.AppendUint32(b, uint32(typ))
		b = le.AppendUint32(b, uint32(elf.PF_R|elf.PF_W|elf.PF_X))
		b = le.AppendUint64(b, off)
		b = le.AppendUint64(b, va)
		b = le.AppendUint64(b, pa)
		b = le.AppendUint64(b, size)
		b = le.AppendUint64(b, size)
		b = le.AppendUint64(b, 0)
	}
	ph(elf.PT_NOTE, off, 0, 0, uint64(len(notes)))
	data := (off + uint64(len(notes)) + PageSize - 1) &^ (PageSize - 1)
	for _, s := range segs {
		ph(elf.PT_LOAD, data, s.vaddr, s.start, s.end-s.start)
		data += s.end - s.start
	}
	b = append(b, notes...)
	b = append(b, make([]byte, (PageSize-len(b)%PageSize)%PageSize)...)
	page := make([]byte, PageSize)
	for _, s := range segs {
		for pa := s.start; pa < s.end; pa += PageSize {
			fk.ReadPage(pa/PageSize, page)
			b = append(b, page...)
		}
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMakedumpfileFromELF runs the ELF-vmcore checks on the fake kernel
// written as an ELF vmcore.
func TestMakedumpfileFromELF(t *testing.T) {
	needTool(t, "makedumpfile")
	fk := newFakeKernel()
	path := filepath.Join(t.TempDir(), "vmcore")
	fk.writeELFCore(t, path)
	checkELFVmcore(t, path, 1)
}

// TestRealVmcore runs the ELF-vmcore checks on a real /proc/vmcore copy
// named by KJUMP_TEST_VMCORE.
func TestRealVmcore(t *testing.T) {
	path := os.Getenv("KJUMP_TEST_VMCORE")
	if path == "" {
		t.Skip("set KJUMP_TEST_VMCORE to an ELF vmcore (a copy of /proc/vmcore) to run")
	}
	needTool(t, "makedumpfile")
	checkELFVmcore(t, path, 31)
}

// elfVmcore reads pages of an ELF vmcore by physical address.
type elfVmcore struct {
	f     *os.File
	loads []*elf.Prog // sorted by Paddr
	notes []byte
}

func openELFVmcore(t *testing.T, path string) *elfVmcore {
	fd, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	ef, err := elf.NewFile(fd)
	if err != nil {
		t.Fatal(err)
	}
	v := &elfVmcore{f: fd}
	for _, p := range ef.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			v.loads = append(v.loads, p)
		case elf.PT_NOTE:
			b, err := io.ReadAll(p.Open())
			if err != nil {
				t.Fatal(err)
			}
			v.notes = append(v.notes, b...)
		}
	}
	sort.Slice(v.loads, func(i, j int) bool { return v.loads[i].Paddr < v.loads[j].Paddr })
	return v
}

func (v *elfVmcore) ReadPage(pfn uint64, buf []byte) error {
	clear(buf)
	lo, hi := pfn*uint64(len(buf)), (pfn+1)*uint64(len(buf))
	for _, p := range v.loads {
		s, e := max(lo, p.Paddr), min(hi, p.Paddr+p.Filesz)
		if s >= e {
			continue
		}
		if _, err := v.f.ReadAt(buf[s-lo:e-lo], int64(p.Off+s-p.Paddr)); err != nil {
			return err
		}
	}
	return nil
}

// note returns the descriptor of the first note with name.
func (v *elfVmcore) note(t *testing.T, name string) ([]byte, int) {
	recs, err := walkNotes(v.notes)
	if err != nil {
		t.Fatal(err)
	}
	var desc []byte
	var prstatus int
	for _, n := range recs {
		if n.name == name && desc == nil {
			desc = v.notes[n.descOff : n.descOff+n.descSize]
		}
		if n.name == "CORE" && n.typ == uint32(elf.NT_PRSTATUS) {
			prstatus++
		}
	}
	return desc, prstatus
}

func vmcoreinfoValue(vmci []byte, key string) string {
	for _, line := range strings.Split(string(vmci), "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v
		}
	}
	return ""
}

// checkELFVmcore: makedumpfile turns the ELF vmcore into kdump files our
// reader reads page for page; our writer turns it into a kdump file whose
// log makedumpfile --dump-dmesg prints as it prints the vmcore's, and
// crash reads.
func checkELFVmcore(t *testing.T, path string, dumpLevel int) {
	mdf := needTool(t, "makedumpfile")
	v := openELFVmcore(t, path)
	vmci, cpus := v.note(t, "VMCOREINFO")
	if vmci == nil {
		t.Fatalf("%s has no VMCOREINFO note", path)
	}
	dir := t.TempDir()
	for flag, c := range makedumpfileCompressions(t, mdf) {
		t.Run("makedumpfile"+flag, func(t *testing.T) {
			out := filepath.Join(dir, "mdf-"+c.String()+".kdump")
			args := []string{"-d", fmt.Sprint(dumpLevel), path, out}
			if flag != "" {
				args = append([]string{flag}, args...)
			}
			if _, err := run(t, nil, mdf, args...); err != nil {
				t.Fatal(err)
			}
			f := openFile(t, out)
			if !bytes.Equal(f.Header.VMCOREINFO, vmci) {
				t.Errorf("VMCOREINFO = %q, want %q", f.Header.VMCOREINFO, vmci)
			}
			checkPages(t, f, v.ReadPage, c)
		})
	}

	t.Run("ours", func(t *testing.T) {
		var maxPFN uint64
		for _, p := range v.loads {
			maxPFN = max(maxPFN, (p.Paddr+p.Filesz+PageSize-1)/PageSize)
		}
		present := pageset.New(maxPFN)
		for _, p := range v.loads {
			present.SetRange(p.Paddr/PageSize, (p.Paddr+p.Filesz+PageSize-1)/PageSize)
		}
		var physBase uint64
		for _, p := range v.loads {
			if p.Vaddr >= fkStartKernelMap {
				physBase = p.Paddr - (p.Vaddr - fkStartKernelMap)
				break
			}
		}
		release := vmcoreinfoValue(vmci, "OSRELEASE")
		h := Header{
			Utsname:     Utsname{Sysname: "Linux", Release: release, Machine: "x86_64"},
			NrCPUs:      max(cpus, 1),
			PhysBase:    physBase,
			MaxPFN:      maxPFN,
			Compression: Zlib,
			Notes:       v.notes,
		}
		ours := filepath.Join(dir, "ours.kdump")
		fd, err := os.Create(ours)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Write(fd, h, present, present, v, Options{})
		if cerr := fd.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		checkPages(t, openFile(t, ours), v.ReadPage, Zlib)

		want := filepath.Join(dir, "dmesg-vmcore")
		got := filepath.Join(dir, "dmesg-ours")
		if _, err := run(t, nil, mdf, "--dump-dmesg", path, want); err != nil {
			t.Fatal(err)
		}
		if _, err := run(t, nil, mdf, "--dump-dmesg", ours, got); err != nil {
			t.Fatal(err)
		}
		w, _ := os.ReadFile(want)
		g, _ := os.ReadFile(got)
		if len(w) == 0 || !bytes.Equal(g, w) {
			t.Errorf("makedumpfile --dump-dmesg of our dump: %d bytes, of the vmcore: %d bytes", len(g), len(w))
		}
		if crash, err := exec.LookPath("crash"); err == nil {
			out, err := run(t, nil, crash, "--osrelease", ours)
			if err != nil || strings.TrimSpace(string(out)) != release {
				t.Errorf("crash --osrelease = %q, %v; want %q", out, err, release)
			}
		}
	})
}

// TestQEMUDump reads the kdump-compressed file QEMU's dump-guest-memory
// writes of a guest stopped before its first instruction (after
// makedumpfile -R turns QEMU's flattened output into a regular file), and
// compares every page with QEMU's ELF dump of the same guest.
func TestQEMUDump(t *testing.T) {
	if testing.Short() {
		t.Skip("starts QEMU")
	}
	qemu := needTool(t, "qemu-system-x86_64")
	mdf := needTool(t, "makedumpfile")
	dir := t.TempDir()
	flat := filepath.Join(dir, "guest.flat")
	elfPath := filepath.Join(dir, "guest.elf")
	cmds := fmt.Sprintf("dump-guest-memory -z %s\ndump-guest-memory %s\nquit\n", flat, elfPath)
	if _, err := run(t, strings.NewReader(cmds), qemu, "-machine", "pc,accel=tcg", "-m", "32M",
		"-nodefaults", "-nographic", "-S", "-monitor", "stdio"); err != nil {
		t.Fatal(err)
	}
	fb, err := os.ReadFile(flat)
	if err != nil {
		t.Fatalf("QEMU wrote no dump: %v", err)
	}
	if _, err := Open(bytes.NewReader(fb), int64(len(fb))); !errors.Is(err, ErrFlattened) {
		t.Errorf("Open(flattened) = %v, want ErrFlattened", err)
	}
	kd := filepath.Join(dir, "guest.kdump")
	if _, err := run(t, bytes.NewReader(fb), mdf, "-R", kd); err != nil {
		t.Fatal(err)
	}
	// Package flattened rebuilds QEMU's stream into the same bytes.
	var ours memFile
	if _, err := flattened.Rebuild(bytes.NewReader(fb), &ours); err != nil {
		t.Fatalf("flattened.Rebuild of QEMU's stream: %v", err)
	}
	if kb, _ := os.ReadFile(kd); !bytes.Equal(ours.Bytes(), kb) {
		t.Errorf("flattened.Rebuild: %d bytes that differ from makedumpfile -R's %d", len(ours.Bytes()), len(kb))
	}
	f := openFile(t, kd)
	if f.Header.Compression != Zlib || f.Header.Utsname.Machine != "x86_64" {
		t.Errorf("header = %+v", f.Header)
	}
	v := openELFVmcore(t, elfPath)
	checkPages(t, f, v.ReadPage, Zlib)
	// Every page of guest RAM is in the dump.
	for _, p := range v.loads {
		for pfn := p.Paddr / PageSize; pfn < (p.Paddr+p.Filesz)/PageSize; pfn++ {
			if !f.Dumped.Test(pfn) {
				t.Fatalf("pfn %#x of the ELF dump is not in the kdump file", pfn)
			}
		}
	}
}
