package hibernate

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/initmode"
	"github.com/kjump/kjump/internal/imagetest"
	"github.com/kjump/kjump/mailbox"
	"github.com/kjump/kjump/memmap"
)

func TestOutcome(t *testing.T) {
	const seq = 77
	js := func(r Report) []byte { b, _ := json.Marshal(r); return b }
	for _, c := range []struct {
		name string
		m    mailbox.Message
		rerr error
		want error // nil: resumed
		text string
	}{
		{"resumed", mailbox.Message{State: mailbox.Done, Seq: seq, Payload: js(Report{Image: "ab", Pages: 3})}, nil, nil, ""},
		{"resumed, report garbled", mailbox.Message{State: mailbox.Done, Seq: seq, Payload: []byte("{")}, nil, ErrNoReport, ""},
		// A writer that dies (panic, OOM kill, oops) leaves Working: never a success.
		{"writer died", mailbox.Message{State: mailbox.Working, Seq: seq}, nil, ErrWriterDied, ""},
		{"came back after committing", mailbox.Message{State: mailbox.Committed, Seq: seq, Payload: js(Report{Image: "c0ffee"})}, nil, ErrNotResumed, "c0ffee"},
		{"failed", mailbox.Message{State: mailbox.Failed, Seq: seq, Payload: js(Report{Error: "disk full"})}, nil, ErrNotSaved, "disk full"},
		{"failed without a reason", mailbox.Message{State: mailbox.Failed, Seq: seq, Payload: []byte("x")}, nil, ErrNotSaved, ""},
		{"request never taken", mailbox.Message{State: mailbox.Request, Seq: seq}, nil, ErrNoReply, ""},
		{"another request's reply", mailbox.Message{State: mailbox.Done, Seq: seq + 1, Payload: js(Report{})}, nil, ErrNoReply, ""},
		{"unreadable", mailbox.Message{}, mailbox.ErrCorrupt, ErrNoReply, ""},
		{"unknown state", mailbox.Message{State: 99, Seq: seq}, nil, ErrNoReply, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := outcome(c.m, c.rerr, seq)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("outcome = %+v, %v; want %v", rep, err, c.want)
			}
			if c.want == nil && rep.Image != "ab" {
				t.Errorf("report %+v", rep)
			}
			if err != nil && !strings.Contains(err.Error(), c.text) {
				t.Errorf("%v does not say %q", err, c.text)
			}
		})
	}
}

func TestFailedMessage(t *testing.T) {
	for _, why := range []string{
		"short",
		strings.Repeat("é", 5000),                // 2-byte runes, cut must not split one
		strings.Repeat("\x00", 3000),             // each escapes to 6 bytes
		strings.Repeat("日本\"<", 2000),            // 3-byte runes and escapes mixed
		strings.Repeat("a", mailbox.MaxPayload), // fits as text, not as JSON
	} {
		m := failedMessage(9, errors.New(why))
		if m.State != mailbox.Failed || m.Seq != 9 || len(m.Payload) > mailbox.MaxPayload {
			t.Fatalf("state %v seq %d, %d bytes", m.State, m.Seq, len(m.Payload))
		}
		page := make([]byte, mailbox.Size)
		if err := mailbox.Encode(page, m); err != nil {
			t.Fatal(err)
		}
		var rep Report
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

func TestHibernateRefusesThen(t *testing.T) {
	for _, then := range []initmode.Action{initmode.Back, initmode.Shell, initmode.Hold, "sleep"} {
		// Nothing under root: the check must come before anything is read.
		_, err := Hibernate(Options{Target: "/dev/null", Then: then, Root: t.TempDir()})
		if !errors.Is(err, ErrInvalidThen) {
			t.Errorf("Then %q: %v, want ErrInvalidThen", then, err)
		}
	}
}

func TestCheckLayout(t *testing.T) {
	ram := []memmap.Range{{Start: 0x1000, Size: 0x9f000}, {Start: 0x100000, Size: 0x3ff00000}}
	runs := []image.Run{{PFN: 0x10, Count: 4}, {PFN: 0x200, Count: 0x100, Zero: true}, {PFN: 0x1000, Count: 16}}
	h := image.Header{RAMSize: 1 << 30, JumpBack: 0x1000*4096 + 0x123, Mailbox: 0x12 * 4096}
	for _, c := range []struct {
		name string
		edit func(h *image.Header, runs []image.Run) []image.Run
		want string
	}{
		{"fits", nil, ""},
		{"a run in the hole below 1 MiB", func(h *image.Header, r []image.Run) []image.Run {
			return append([]image.Run{{PFN: 0xa0, Count: 1}}, r...)
		}, "are not RAM"},
		{"a run across the end of RAM", func(h *image.Header, r []image.Run) []image.Run {
			return append(r, image.Run{PFN: 0x40000 - 1, Count: 2})
		}, "are not RAM"},
		{"page 0", func(h *image.Header, r []image.Run) []image.Run { return append([]image.Run{{PFN: 0, Count: 1}}, r...) }, "are not RAM"},
		{"more pages than RAM", func(h *image.Header, r []image.Run) []image.Run { h.RAMSize = 8 * 4096; return r }, "more than"},
		{"no entry", func(h *image.Header, r []image.Run) []image.Run { h.JumpBack = 0; return r }, "jump-back entry 0x0"},
		{"entry outside the saved pages", func(h *image.Header, r []image.Run) []image.Run { h.JumpBack = 0x5000 * 4096; return r }, "jump-back entry"},
		{"mailbox outside the saved pages", func(h *image.Header, r []image.Run) []image.Run { h.Mailbox = 0x20 * 4096; return r }, "mailbox page"},
		{"entry in a zero run", func(h *image.Header, r []image.Run) []image.Run { h.JumpBack = 0x250 * 4096; return r }, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			hh, rr := h, append([]image.Run(nil), runs...)
			if c.edit != nil {
				rr = c.edit(&hh, rr)
			}
			err := checkLayout(hh, rr, ram)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("checkLayout = %v, want ErrLayout saying %q", err, c.want)
			}
		})
	}
}

// fakeMemory is the saved system's "physical memory" as a file: page pfn holds
// byte(pfn) repeated; the mailbox page holds a Working message.
// The saved mailbox page holds state box (Working, as the second kernel left it).
type patternPages struct{ box mailbox.State }

func (p patternPages) ReadPages(pfn uint64, n int, buf []byte) error {
	for i := 0; i < n; i++ {
		page := buf[i*image.PageSize : (i+1)*image.PageSize]
		if pfn+uint64(i) == testMailboxPFN {
			clear(page)
			if p.box != mailbox.Empty {
				mailbox.Encode(page, mailbox.Message{State: p.box, Seq: testSeq})
			}
			continue
		}
		copy(page, bytes.Repeat([]byte{byte(pfn) + byte(i) + 1}, image.PageSize))
	}
	return nil
}

const (
	testMailboxPFN = 0x12
	testSeq        = 4242
)

// resumeFixture writes an image of pages 0x10..0x13 (data), 0x20..0x2f (zero)
// and 0x100..0x17f (data) into a file, and a "memory" file of 2 MiB whose
// mailbox page holds Working. edit may change the image's bytes.
func resumeFixture(t *testing.T, box mailbox.State, edit func(b []byte)) (*Opened, ResumeOptions, string) {
	t.Helper()
	dir := t.TempDir()
	runs := []image.Run{{PFN: 0x10, Count: 4}, {PFN: 0x20, Count: 16, Zero: true}, {PFN: 0x100, Count: 128}}
	h := image.Header{Release: "6.12.0", Identity: "x", RAMSize: 2 << 20, CPUs: 1, JumpBack: 0x100 * 4096, Mailbox: testMailboxPFN * 4096}
	imgPath := filepath.Join(dir, "image")
	w, err := os.Create(imgPath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = image.Write(w, h, runs, patternPages{box}, image.WriteOptions{PagesPerChunk: 16})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(imgPath)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(b)
		writeFile(t, imgPath, b)
	}
	memPath := filepath.Join(dir, "memory")
	mem := make([]byte, 2<<20)
	for i := range mem {
		mem[i] = 0xee // what the resume kernel's boot left there
	}
	writeFile(t, memPath, mem)
	f, err := os.OpenFile(imgPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	im, err := image.OpenLimited(f, int64(len(b)), image.Key{}, image.Limits{Memory: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return &Opened{Image: im, dev: f, rw: f, size: int64(len(b))}, ResumeOptions{Memory: memPath}, imgPath
}

// imageState is what Open says of the image file now.
func imageState(t *testing.T, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = image.Open(bytes.NewReader(b), int64(len(b)), image.Key{})
	return err
}

var errJumped = errors.New("jumped (test)")

// TestResumeOrder: the image is marked consumed only after every page is
// restored and the report left, right before the jump; a failure before that
// leaves it resumable.
func TestResumeOrder(t *testing.T) {
	t.Run("good", func(t *testing.T) {
		op, o, path := resumeFixture(t, mailbox.Working, nil)
		var consumedAtJump error
		err := resume(op, o, func(entry uint64, before func(bool) error) (time.Duration, error) {
			if imageState(t, path) != nil {
				t.Error("the image was consumed before the jump's last step")
			}
			if err := before(true); err != nil {
				return 0, err
			}
			consumedAtJump = imageState(t, path)
			return 0, errJumped
		})
		if !errors.Is(err, errJumped) {
			t.Fatalf("resume = %v", err)
		}
		if !errors.Is(consumedAtJump, image.ErrConsumed) {
			t.Errorf("at the jump the image is %v, want consumed", consumedAtJump)
		}
		mem, _ := os.ReadFile(o.Memory)
		for pfn := 0; pfn < 512; pfn++ {
			page := mem[pfn*4096 : (pfn+1)*4096]
			var want byte = 0xee
			switch {
			case pfn == testMailboxPFN:
				continue
			case pfn >= 0x10 && pfn < 0x14, pfn >= 0x100 && pfn < 0x180:
				want = byte(pfn) + 1
			case pfn >= 0x20 && pfn < 0x30:
				want = 0
			}
			if page[0] != want || page[4095] != want {
				t.Fatalf("page %#x holds %#x, want %#x", pfn, page[0], want)
			}
		}
		m, err := mailbox.Decode(mem[testMailboxPFN*4096:])
		if err != nil || m.State != mailbox.Done || m.Seq != testSeq {
			t.Fatalf("mailbox %v %d, %v; want the resume kernel's report", m.State, m.Seq, err)
		}
		if rep, err := outcome(m, nil, testSeq); err != nil || rep.Pages != 132 || rep.ZeroPages != 16 {
			t.Errorf("the first kernel reads %+v, %v", rep, err)
		}
	})
	t.Run("a chunk that does not decode", func(t *testing.T) {
		op, o, path := resumeFixture(t, mailbox.Working, func(b []byte) {
			if _, err := imagetest.SpoilChunk(b, 3); err != nil {
				t.Fatal(err)
			}
		})
		err := resume(op, o, func(uint64, func(bool) error) (time.Duration, error) {
			t.Fatal("jumped with a bad chunk")
			return 0, nil
		})
		if !errors.Is(err, image.ErrCorrupt) || !strings.Contains(err.Error(), "can be resumed again") {
			t.Fatalf("resume = %v", err)
		}
		if err := imageState(t, path); err != nil {
			t.Errorf("after a failed restore the image is %v, want resumable", err)
		}
	})
	t.Run("no hibernation in the mailbox", func(t *testing.T) {
		op, o, path := resumeFixture(t, mailbox.Empty, nil)
		err := resume(op, o, func(uint64, func(bool) error) (time.Duration, error) {
			t.Fatal("jumped without leaving a report")
			return 0, nil
		})
		if err == nil || !strings.Contains(err.Error(), "not marked consumed") {
			t.Fatalf("resume = %v", err)
		}
		if err := imageState(t, path); err != nil {
			t.Errorf("the image is %v, want resumable", err)
		}
	})
	t.Run("the jump cannot be loaded", func(t *testing.T) {
		op, o, path := resumeFixture(t, mailbox.Working, nil)
		loadErr := errors.New("kexec_load: EPERM")
		err := resume(op, o, func(uint64, func(bool) error) (time.Duration, error) { return 0, loadErr })
		if !errors.Is(err, loadErr) {
			t.Fatalf("resume = %v", err)
		}
		if err := imageState(t, path); err != nil {
			t.Errorf("the image is %v, want resumable", err)
		}
	})
	t.Run("another image on the device by the jump", func(t *testing.T) {
		op, o, path := resumeFixture(t, mailbox.Working, nil)
		err := resume(op, o, func(_ uint64, before func(bool) error) (time.Duration, error) {
			other, _, _ := resumeFixture(t, mailbox.Working, nil)
			b := make([]byte, op.size)
			other.rw.ReadAt(b, 0)
			op.rw.WriteAt(b, 0)
			return 0, before(true)
		})
		if !errors.Is(err, image.ErrNotImage) {
			t.Fatalf("resume = %v, want the other image refused", err)
		}
		if err := imageState(t, path); err != nil {
			t.Errorf("the other image is %v, want untouched", err)
		}
	})
}
