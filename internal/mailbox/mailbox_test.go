package mailbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncodeDecode(t *testing.T) {
	tests := []Message{
		{State: Request, Seq: 1, Payload: []byte(`{"level":31}`)},
		{State: Done, Seq: 1 << 40, Payload: nil},
		{State: Failed, Seq: 7, Payload: bytes.Repeat([]byte("x"), MaxPayload)},
	}
	for _, m := range tests {
		page := make([]byte, Size)
		if err := Encode(page, m); err != nil {
			t.Fatal(err)
		}
		got, err := Decode(page)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != m.State || got.Seq != m.Seq || !bytes.Equal(got.Payload, m.Payload) {
			t.Errorf("got %+v, want %+v", got, m)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good := make([]byte, Size)
	Encode(good, Message{State: Done, Seq: 3, Payload: []byte("hello")})
	tests := []struct {
		name string
		mod  func(p []byte)
	}{
		{"empty page", func(p []byte) { clear(p) }},
		{"wrong version", func(p []byte) { p[8] = 9 }},
		{"payload flipped", func(p []byte) { p[headerSize] ^= 1 }},
		{"length too large", func(p []byte) { p[24], p[25] = 0xff, 0xff }},
		{"length changed", func(p []byte) { p[24] = 4 }},
	}
	for _, tt := range tests {
		p := bytes.Clone(good)
		tt.mod(p)
		if _, err := Decode(p); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", tt.name, err)
		}
	}
	if err := Encode(make([]byte, Size), Message{Payload: make([]byte, MaxPayload+1)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized payload: err = %v", err)
	}
}

// TestOpenAndAttach opens a real mailbox page and, where /dev/mem allows it
// (STRICT_DEVMEM forbids mapping RAM in the kernel that owns it), attaches to it
// through /dev/mem as the other kernel would.
func TestOpenAndAttach(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for /proc/self/pagemap frame numbers")
	}
	b, err := Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Phys == 0 || b.Phys%Size != 0 {
		t.Fatalf("phys %#x", b.Phys)
	}
	if err := b.Write(Message{State: Request, Seq: 42, Payload: []byte("ping")}); err != nil {
		t.Fatal(err)
	}
	other, err := Attach("/dev/mem", b.Phys)
	if err != nil {
		t.Skipf("cannot map this kernel's own RAM through /dev/mem (expected with STRICT_DEVMEM): %v", err)
	}
	defer other.Close()
	m, err := other.Read()
	if err != nil || string(m.Payload) != "ping" || m.Seq != 42 {
		t.Fatalf("other side read %+v, %v", m, err)
	}
	other.Write(Message{State: Done, Seq: 42, Payload: []byte("pong")})
	if m, err := b.Read(); err != nil || string(m.Payload) != "pong" || m.State != Done {
		t.Fatalf("reply %+v, %v", m, err)
	}
}

func TestOpenAvoids(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for /proc/self/pagemap frame numbers")
	}
	first, err := Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	avoid := [][2]uint64{{first.Phys, Size}}
	first.Close()
	b, err := Open(avoid)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Phys == avoid[0][0] {
		t.Errorf("Open returned the avoided page %#x", b.Phys)
	}
}

func FuzzDecode(f *testing.F) {
	page := make([]byte, Size)
	Encode(page, Message{State: Done, Seq: 1, Payload: []byte(`{"ok":true}`)})
	f.Add(page)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := make([]byte, Size)
		copy(p, data)
		m, err := Decode(p)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		q := make([]byte, Size)
		if err := Encode(q, m); err != nil {
			t.Fatal(err)
		}
		if m2, err := Decode(q); err != nil || m2.Seq != m.Seq || !bytes.Equal(m2.Payload, m.Payload) {
			t.Fatalf("round trip: %+v %v", m2, err)
		}
	})
}

// TestTakeRequest uses a plain file as the "physical memory": the request at
// page 1 is decoded; an answered mailbox or a non-JSON payload is refused.
func TestTakeRequest(t *testing.T) {
	mem := filepath.Join(t.TempDir(), "mem")
	put := func(m Message) {
		page := make([]byte, Size)
		if err := Encode(page, m); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(mem, append(make([]byte, Size), page...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	type req struct{ Device string }
	tests := []struct {
		name    string
		msg     Message
		want    string
		wantErr string
	}{
		{"request", Message{State: Request, Seq: 7, Payload: []byte(`{"Device":"254:16"}`)}, "254:16", ""},
		{"answered", Message{State: Done, Seq: 7, Payload: []byte(`{}`)}, "", "holds no request (state done)"},
		{"not json", Message{State: Request, Seq: 7, Payload: []byte(`{`)}, "", "the request in the mailbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			put(tt.msg)
			var r req
			box, m, err := TakeRequest(mem, Size, &r)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || box != nil {
					t.Fatalf("err = %v, box %v; want %q", err, box, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer box.Close()
			if r.Device != tt.want || m.Seq != 7 || box.Phys != Size {
				t.Errorf("got %+v, seq %d, phys %#x", r, m.Seq, box.Phys)
			}
		})
	}
}
