package mailbox

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/physmem"
)

// Size is the mailbox: one page.
const Size = 4096

const (
	magic      = "KJMAILBX"
	version    = 1
	headerSize = 32
	// MaxPayload is the largest message.
	MaxPayload = Size - headerSize
)

// State says what the page holds.
type State uint32

const (
	Empty   State = 0
	Request State = 1
	Done    State = 2
	Failed  State = 3
	Working State = 4 // the other kernel took the request and is at work
	// Committed: the other kernel finished its work and committed what it
	// wrote (a hibernation image), but has not been resumed from it.
	Committed State = 5
)

func (s State) String() string {
	switch s {
	case Empty:
		return "empty"
	case Request:
		return "request"
	case Done:
		return "done"
	case Failed:
		return "failed"
	case Working:
		return "working"
	case Committed:
		return "committed"
	}
	return fmt.Sprintf("state %d", uint32(s))
}

// Errors.
var (
	ErrCorrupt  = errors.New("mailbox: not a valid message")
	ErrTooLarge = errors.New("mailbox: payload too large")
	ErrNoPFN    = errors.New("mailbox: cannot find the page's physical address")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Message is what a mailbox holds.
type Message struct {
	State   State
	Seq     uint64
	Payload []byte
}

// Encode writes m into page (Size bytes), state last.
func Encode(page []byte, m Message) error {
	if len(m.Payload) > MaxPayload {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(m.Payload), MaxPayload)
	}
	binary.LittleEndian.PutUint32(page[12:], uint32(Empty))
	copy(page[0:8], magic)
	binary.LittleEndian.PutUint32(page[8:], version)
	binary.LittleEndian.PutUint64(page[16:], m.Seq)
	binary.LittleEndian.PutUint32(page[24:], uint32(len(m.Payload)))
	binary.LittleEndian.PutUint32(page[28:], crc32.Checksum(m.Payload, castagnoli))
	copy(page[headerSize:], m.Payload)
	binary.LittleEndian.PutUint32(page[12:], uint32(m.State))
	return nil
}

// Decode reads a message from page, checking everything that can be checked.
func Decode(page []byte) (Message, error) {
	if len(page) < Size {
		return Message{}, fmt.Errorf("%w: %d bytes, want %d", ErrCorrupt, len(page), Size)
	}
	if !bytes.Equal(page[0:8], []byte(magic)) {
		return Message{}, fmt.Errorf("%w: no magic (the other side never wrote it)", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint32(page[8:]); v != version {
		return Message{}, fmt.Errorf("%w: version %d, want %d", ErrCorrupt, v, version)
	}
	m := Message{State: State(binary.LittleEndian.Uint32(page[12:])), Seq: binary.LittleEndian.Uint64(page[16:])}
	n := binary.LittleEndian.Uint32(page[24:])
	if n > MaxPayload {
		return Message{}, fmt.Errorf("%w: length %d", ErrCorrupt, n)
	}
	m.Payload = append([]byte(nil), page[headerSize:headerSize+int(n)]...)
	if crc32.Checksum(m.Payload, castagnoli) != binary.LittleEndian.Uint32(page[28:]) {
		return Message{}, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return m, nil
}

// Box is a mapped mailbox page.
type Box struct {
	Phys uint64 // physical address of the page
	page []byte
	own  [][]byte // pages locked while looking for one outside avoid
}

// Open allocates and locks a mailbox page in this process, outside the physical
// ranges in avoid (start, size pairs: the memory the jump swaps). Needs root
// (/proc/self/pagemap shows frame numbers only to CAP_SYS_ADMIN).
func Open(avoid [][2]uint64) (*Box, error) {
	b := &Box{}
	for try := 0; try < 64; try++ {
		page, err := unix.Mmap(-1, 0, Size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE|unix.MAP_LOCKED)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("mailbox: allocating a page: %w", err)
		}
		page[0] = 1 // make sure it is backed
		phys, err := physAddr(page)
		if err != nil {
			unix.Munmap(page)
			b.Close()
			return nil, err
		}
		inside := false
		for _, a := range avoid {
			if phys >= a[0] && phys < a[0]+a[1] {
				inside = true
			}
		}
		if inside {
			b.own = append(b.own, page) // keep it so the next try gets another
			continue
		}
		clear(page)
		b.page, b.Phys = page, phys
		for _, p := range b.own {
			unix.Munmap(p)
		}
		b.own = nil
		return b, nil
	}
	b.Close()
	return nil, fmt.Errorf("mailbox: 64 pages in a row fell inside the swapped region")
}

// physAddr reads a mapped page's frame number from /proc/self/pagemap.
func physAddr(page []byte) (uint64, error) {
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoPFN, err)
	}
	defer f.Close()
	var e [8]byte
	vaddr := uint64(uintptrOf(page))
	if _, err := f.ReadAt(e[:], int64(vaddr/Size*8)); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoPFN, err)
	}
	v := binary.LittleEndian.Uint64(e[:])
	pfn := v & (1<<55 - 1)
	if v&(1<<63) == 0 || pfn == 0 {
		return 0, fmt.Errorf("%w: the page is not present or its frame is hidden (needs root)", ErrNoPFN)
	}
	return pfn * Size, nil
}

// Attach maps the mailbox at phys through devmem (in the other kernel).
func Attach(devmem string, phys uint64) (*Box, error) {
	if phys%Size != 0 {
		return nil, fmt.Errorf("mailbox: address %#x is not page aligned", phys)
	}
	m, err := physmem.OpenWritable(devmem)
	if err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	defer m.Close()
	page, err := m.Map(phys, Size)
	if err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	return &Box{Phys: phys, page: page}, nil
}

// Write puts a message into the mailbox.
func (b *Box) Write(m Message) error { return Encode(b.page, m) }

// WriteChecked puts a message into the mailbox and reads it back: a state the
// other kernel acts on is only as good as the write that put it there.
func (b *Box) WriteChecked(m Message) error {
	if err := b.Write(m); err != nil {
		return err
	}
	got, err := b.Read()
	if err != nil {
		return fmt.Errorf("mailbox at %#x: reading back the %v message: %w", b.Phys, m.State, err)
	}
	if got.State != m.State || got.Seq != m.Seq || !bytes.Equal(got.Payload, m.Payload) {
		return fmt.Errorf("mailbox at %#x: wrote a %v message, read back %v (seq %d)", b.Phys, m.State, got.State, got.Seq)
	}
	return nil
}

// Read takes the message in the mailbox.
func (b *Box) Read() (Message, error) { return Decode(b.page) }

// Close unmaps the page.
func (b *Box) Close() error {
	for _, p := range b.own {
		unix.Munmap(p)
	}
	b.own = nil
	if b.page == nil {
		return nil
	}
	err := unix.Munmap(b.page)
	b.page = nil
	return err
}

// TakeRequest is the other kernel's start: it attaches to the mailbox at phys
// through devmem and decodes the request in it (JSON) into req. The caller
// answers through the returned Box (repeating the message's Seq) and closes it.
func TakeRequest(devmem string, phys uint64, req any) (*Box, Message, error) {
	box, err := Attach(devmem, phys)
	if err != nil {
		return nil, Message{}, err
	}
	m, err := box.Read()
	if err == nil && m.State != Request {
		err = fmt.Errorf("the mailbox at %#x holds no request (state %v)", phys, m.State)
	}
	if err == nil {
		if err = json.Unmarshal(m.Payload, req); err != nil {
			err = fmt.Errorf("the request in the mailbox: %w", err)
		}
	}
	if err != nil {
		box.Close()
		return nil, Message{}, err
	}
	return box, m, nil
}

// Fit is a message whose payload is encode(text), with text cut on a rune
// boundary (and "…" put at the cut) until the payload fits MaxPayload: for a
// reason or a log of any length, whose encoding (JSON escapes) may be several
// times longer than the text.
func Fit(state State, seq uint64, text string, encode func(text string) []byte) Message {
	for {
		payload := encode(text)
		if len(payload) <= MaxPayload {
			return Message{State: state, Seq: seq, Payload: payload}
		}
		cut := len(text) - max((len(payload)-MaxPayload)/6, 1) - len("…")
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:max(cut, 0)] + "…"
	}
}
