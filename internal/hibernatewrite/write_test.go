package hibernatewrite

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/hibernate"
	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/pageclass/pageclasstest"
	"github.com/kjump/kjump/pageset"
	"github.com/kjump/kjump/snapshot"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeBlockDevice makes /sys/dev/block/DEV (its uevent) and /dev/NAME under root.
func fakeBlockDevice(t *testing.T, root, dev, name string, data []byte) {
	t.Helper()
	major, minor, _ := strings.Cut(dev, ":")
	writeFile(t, filepath.Join(root, "sys/dev/block", dev, "uevent"),
		[]byte("MAJOR="+major+"\nMINOR="+minor+"\nDEVNAME="+name+"\nDEVTYPE=disk\n"))
	writeFile(t, filepath.Join(root, "dev", name), data)
}

func TestBuildRuns(t *testing.T) {
	// Page contents by letter: 'd' data, 'z' all zero, '-' not kept,
	// 'n' kept but page returns nil (no PT_LOAD holds it).
	for _, tt := range []struct {
		name  string
		pages string
		want  []image.Run
	}{
		{name: "nothing kept", pages: "----"},
		{name: "one data page", pages: "d", want: []image.Run{{PFN: 0, Count: 1}}},
		{name: "one zero page", pages: "--z", want: []image.Run{{PFN: 2, Count: 1, Zero: true}}},
		{name: "adjacent data pages merge", pages: "dddd", want: []image.Run{{PFN: 0, Count: 4}}},
		{name: "adjacent zero pages merge", pages: "-zzz-", want: []image.Run{{PFN: 1, Count: 3, Zero: true}}},
		{
			name:  "zero and data pages alternate",
			pages: "dzdz",
			want: []image.Run{
				{PFN: 0, Count: 1}, {PFN: 1, Count: 1, Zero: true},
				{PFN: 2, Count: 1}, {PFN: 3, Count: 1, Zero: true},
			},
		},
		{
			name:  "groups",
			pages: "ddzzzd",
			want:  []image.Run{{PFN: 0, Count: 2}, {PFN: 2, Count: 3, Zero: true}, {PFN: 5, Count: 1}},
		},
		{
			name:  "a gap in the bitmap splits data",
			pages: "dd-dd",
			want:  []image.Run{{PFN: 0, Count: 2}, {PFN: 3, Count: 2}},
		},
		{
			name:  "a gap in the bitmap splits zeros",
			pages: "z--zz",
			want:  []image.Run{{PFN: 0, Count: 1, Zero: true}, {PFN: 3, Count: 2, Zero: true}},
		},
		{
			name:  "a page without contents is skipped and splits",
			pages: "ddndd",
			want:  []image.Run{{PFN: 0, Count: 2}, {PFN: 3, Count: 2}},
		},
		{
			name:  "only pages without contents",
			pages: "nnn",
		},
		{
			name:  "a run across 64-bit words of the bitmap",
			pages: "--------------------------------------------------------------dddd" + "zz",
			want:  []image.Run{{PFN: 62, Count: 4}, {PFN: 66, Count: 2, Zero: true}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keep := pageset.New(uint64(len(tt.pages)))
			for pfn, c := range tt.pages {
				if c != '-' {
					keep.Set(uint64(pfn))
				}
			}
			var asked []uint64
			page := func(pfn uint64) []byte {
				asked = append(asked, pfn)
				switch tt.pages[pfn] {
				case 'd':
					p := make([]byte, image.PageSize)
					p[pfn%image.PageSize] = byte(pfn) | 1
					return p
				case 'z':
					return make([]byte, image.PageSize)
				case 'n':
					return nil
				}
				t.Fatalf("page(%d) asked for a page frame that is not kept", pfn)
				return nil
			}
			got := buildRuns(keep, page)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("runs %+v, want %+v", got, tt.want)
			}
			var want []uint64
			for pfn, c := range tt.pages {
				if c != '-' {
					want = append(want, uint64(pfn))
				}
			}
			if !reflect.DeepEqual(asked, want) {
				t.Errorf("page asked for %v, want each kept frame once in order: %v", asked, want)
			}
		})
	}
}

// TestWriteFromVmcore: the writer's half on a synthetic kernel's vmcore
// (package pageclasstest): free pages are left out, all-zero pages become zero
// runs, and the image written from the vmcore restores every kept page as it
// was.
func TestWriteFromVmcore(t *testing.T) {
	k := pageclasstest.New(1024, false)
	k.SetFree(512, 2) // pages 512..515 free: not saved
	k.WritePage(600, []byte("hello"))
	k.WritePage(601, bytes.Repeat([]byte{0xa5}, image.PageSize))
	path := filepath.Join(t.TempDir(), "vmcore")
	writeFile(t, path, k.ELF(nil, true))
	vm, err := dump.OpenVmcore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	runs, err := vmcoreRuns(vm)
	if err != nil {
		t.Fatal(err)
	}
	kind := func(pfn uint64) string { // "data", "zero" or "" (not saved)
		for _, r := range runs {
			if pfn >= r.PFN && pfn < r.PFN+r.Count {
				if r.Zero {
					return "zero"
				}
				return "data"
			}
		}
		return ""
	}
	mem := k.Bytes()
	for pfn := uint64(0); pfn < 1024; pfn++ {
		page := mem[pfn*image.PageSize : (pfn+1)*image.PageSize]
		want := "data"
		switch {
		case pfn >= 512 && pfn < 516:
			want = ""
		case pageclass.IsZero(page):
			want = "zero"
		}
		if got := kind(pfn); got != want {
			t.Fatalf("page %d is %q in the runs, want %q", pfn, got, want)
		}
	}
	var total uint64
	for _, r := range runs {
		if !r.Zero {
			total += r.Count
		}
	}
	img, err := os.Create(filepath.Join(t.TempDir(), "image"))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	var reported uint64
	src := &pageSource{vm: vm, total: total, progress: func(done, _ uint64) { reported = done }}
	st, err := image.Write(img, image.Header{Release: "6.12.0", Identity: "test", RAMSize: 4 << 20, CPUs: 1, JumpBack: 600 * image.PageSize}, runs, src, image.WriteOptions{PagesPerChunk: 16})
	if err != nil {
		t.Fatal(err)
	}
	if reported != total || st.Header.Pages != total {
		t.Errorf("progress reported %d, header %d pages, want %d", reported, st.Header.Pages, total)
	}
	size, _ := img.Seek(0, 2)
	im, err := image.Open(img, size, image.Key{})
	if err != nil {
		t.Fatal(err)
	}
	var restored uint64
	err = im.Pages(func(pfn uint64, data []byte) error {
		if !bytes.Equal(data, mem[pfn*image.PageSize:pfn*image.PageSize+uint64(len(data))]) {
			t.Fatalf("pages from %d differ from the kernel's", pfn)
		}
		restored += uint64(len(data)) / image.PageSize
		return nil
	})
	if err != nil || restored != total {
		t.Fatalf("Pages = %v after %d pages, want %d", err, restored, total)
	}
}

// TestFreshView: a re-entered parked writer cannot serve a request naming a
// device it does not have (a disk added after it booted); with every device
// there, it drops its caches and serves.
func TestFreshView(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "proc/sys/vm/drop_caches"), nil)
	fakeBlockDevice(t, root, "254:16", "vdb", make([]byte, 4096))
	fakeBlockDevice(t, root, "254:0", "vda", make([]byte, 4096))
	devs := []string{"254:16", "254:0"}
	if err := freshView(root, nil, devs); err != nil {
		t.Fatalf("every device there: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "proc/sys/vm/drop_caches")); string(b) != "3" {
		t.Errorf("drop_caches holds %q, want 3", b)
	}
	if err := freshView(root, nil, append(devs, "8:32")); err == nil || !strings.Contains(err.Error(), "no block device 8:32 (added after it booted?)") {
		t.Errorf("a device added since: %v", err)
	}
}

func TestFailedMessage(t *testing.T) {
	for _, why := range []string{
		"short",
		strings.Repeat("é", 5000),               // 2-byte runes, cut must not split one
		strings.Repeat("\x00", 3000),            // each escapes to 6 bytes
		strings.Repeat("日本\"<", 2000),           // 3-byte runes and escapes mixed
		strings.Repeat("a", mailbox.MaxPayload), // fits as text, not as JSON
	} {
		m := failedMessage(9, errors.New(why), hibernate.Report{})
		if m.State != mailbox.Failed || m.Seq != 9 || len(m.Payload) > mailbox.MaxPayload {
			t.Fatalf("state %v seq %d, %d bytes", m.State, m.Seq, len(m.Payload))
		}
		page := make([]byte, mailbox.Size)
		if err := mailbox.Encode(page, m); err != nil {
			t.Fatal(err)
		}
		var rep hibernate.Report
		if err := json.Unmarshal(m.Payload, &rep); err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(rep.Error) {
			t.Errorf("reason cut inside a rune: %q…", rep.Error[len(rep.Error)-8:])
		}
		if why == "short" && rep.Error != why {
			t.Errorf("a short reason was changed: %q", rep.Error)
		}
		if why != "short" && (!strings.HasSuffix(rep.Error, "…") || len(rep.Error) < 500) {
			t.Errorf("a %d-byte reason became %d bytes ending %q", len(why), len(rep.Error), rep.Error[max(0, len(rep.Error)-10):])
		}
	}
}

// TestSnapshotParked: a parked writer asked for a snapshot to a device it does
// not have answers Failed with CannotServe (the first kernel loads a fresh
// snapshot kernel); a request that does not decode is Failed, not
// CannotServe (a fresh kernel would fail the same).
func TestSnapshotParked(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "proc/sys/vm/drop_caches"), nil)
	fakeBlockDevice(t, root, "254:16", "vdb", make([]byte, 4096))
	devmem := filepath.Join(t.TempDir(), "mem")
	writeFile(t, devmem, make([]byte, 2*mailbox.Size))
	for _, c := range []struct {
		name        string
		raw         string
		cannotServe bool
	}{
		{"a disk added since", `{"device":"8:32","level":31,"format":"kdump","compression":"zlib"}`, true},
		{"malformed", `{"device":8}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			box, err := mailbox.Attach(devmem, mailbox.Size)
			if err != nil {
				t.Fatal(err)
			}
			defer box.Close()
			if err := snapshotParked(box, 7, json.RawMessage(c.raw), root); err == nil {
				t.Fatal("no error")
			}
			m, err := box.Read()
			if err != nil {
				t.Fatal(err)
			}
			var r snapshot.Reply
			if err := json.Unmarshal(m.Payload, &r); err != nil {
				t.Fatal(err)
			}
			if m.State != mailbox.Failed || m.Seq != 7 || r.CannotServe != c.cannotServe || r.Error == "" {
				t.Errorf("state %v seq %d, cannot serve %v, error %q", m.State, m.Seq, r.CannotServe, r.Error)
			}
		})
	}
}
