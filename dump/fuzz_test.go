package dump

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/pageclass/pageclasstest"
)

// smallVmcore is a 2 MiB synthetic vmcore with a free block, a page cache
// page and an anonymous page.
func smallVmcore() []byte {
	k := pageclasstest.New(512, true)
	for pfn := pageclasstest.FirstFree(k.MaxPFN); pfn < k.MaxPFN; pfn += 3 {
		k.WritePage(pfn, pageBytes(pfn))
	}
	k.SetFree(256, 4)
	k.SetPage(300, pageclasstest.CachePage)
	k.SetPage(301, pageclasstest.AnonPage)
	return k.ELF(nil, true)
}

// tooBig reports whether an input claims so much memory that the bitmaps
// alone would exhaust the fuzzer (Run accepts up to the physical address
// space, and its bitmaps take one bit per page of it).
func tooBig(data []byte) bool {
	f, err := elfcore.NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return false
	}
	for _, l := range f.Loads {
		if l.Phys != ^uint64(0) && l.Phys+l.MemSize > 1<<32 {
			return true
		}
	}
	return false
}

// runBoth dumps src in both formats and checks the outcome: on error no
// output and no temporary file; on success an output its reader accepts
// and a summary that adds up.
func runBoth(t *testing.T, src string) {
	dir := filepath.Dir(src)
	for _, format := range []Format{Kdump, ELF} {
		dst := filepath.Join(dir, "out-"+format.String())
		sum, err := Run(src, dst, Options{Level: 31, Format: format, Compression: dumpfile.Snappy, Threads: 2, Timestamp: fixedTime})
		noTempFiles(t, dir)
		if err != nil {
			if _, serr := os.Stat(dst); serr == nil {
				t.Fatalf("%v: %s exists after %v", format, dst, err)
			}
			continue
		}
		if sum.PagesWritten+sum.PagesExcluded != sum.PagesTotal || sum.Excluded.Total() != sum.PagesExcluded {
			t.Fatalf("%v: summary does not add up: %+v", format, sum)
		}
		if format == Kdump {
			d := openKdump(t, dst)
			if err := d.Verify(); err != nil {
				t.Fatalf("kdump output does not verify: %v", err)
			}
			if d.Present.Count() != sum.PagesTotal {
				t.Fatalf("kdump output has %d pages, summary %d", d.Present.Count(), sum.PagesTotal)
			}
		} else {
			f, err := elfcore.Open(dst)
			if err != nil {
				t.Fatalf("ELF output does not open: %v", err)
			}
			f.Close()
		}
		os.Remove(dst)
	}
}

// FuzzSource: any bytes as SRC.
func FuzzSource(f *testing.F) {
	good := smallVmcore()
	f.Add(good[:8192])
	f.Add(good[:len(good)-100])
	f.Add([]byte("KDUMP   \x06\x00\x00\x00"))
	f.Add([]byte("makedumpfile\x00\x00\x00\x00"))
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if tooBig(data) {
			t.Skip()
		}
		runBoth(t, writeFile(t, t.TempDir(), "src", data))
	})
}

// FuzzRun: the small synthetic vmcore with some bytes overwritten (its
// headers, its VMCOREINFO, its page tables, struct pages or pages).
func FuzzRun(f *testing.F) {
	good := smallVmcore()
	f.Add(uint32(0), []byte{})
	f.Add(uint32(64+8), []byte{0xff, 0xff}) // the PT_NOTE's offset
	f.Add(uint32(64+56+32), []byte{0, 0, 0, 0x10})
	f.Add(uint32(bytes.Index(good, []byte("SIZE(page)="))+11), []byte("4096"))
	f.Add(uint32(bytes.Index(good, []byte("SYMBOL(mem_section)="))+20), []byte("ffffffff"))
	f.Add(uint32(8192+16*4096), bytes.Repeat([]byte{0xff}, 256)) // struct pages
	f.Fuzz(func(t *testing.T, off uint32, patch []byte) {
		data := append([]byte(nil), good...)
		copy(data[int(off)%len(data):], patch)
		if tooBig(data) {
			t.Skip()
		}
		runBoth(t, writeFile(t, t.TempDir(), "src", data))
	})
}
