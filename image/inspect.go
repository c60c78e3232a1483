package image

import (
	"encoding/hex"
	"errors"
	"io"
	"time"
)

// Summary is a JSON-able description of an image (kjump image inspect --json).
type Summary struct {
	State         string       `json:"state"`             // valid, incomplete, consumed, corrupt
	Problem       string       `json:"problem,omitempty"` // why State is not valid
	Version       uint32       `json:"version"`
	UUID          string       `json:"uuid"`
	Created       time.Time    `json:"created"`
	Release       string       `json:"release"`
	Identity      string       `json:"identity"`
	RAMSize       uint64       `json:"ram_size"`
	MemMapHash    string       `json:"memmap_hash"`
	CPUs          uint32       `json:"cpus"`
	JumpBack      uint64       `json:"jump_back"`
	SecondKernel  Range        `json:"second_kernel"`
	Mailbox       uint64       `json:"mailbox"` // physical address of the mailbox page, 0 = none
	Filesystems   []Filesystem `json:"filesystems"`
	Encrypted     bool         `json:"encrypted"`
	KDF           string       `json:"kdf"`
	Compression   string       `json:"compression"`
	PagesPerChunk uint32       `json:"pages_per_chunk"`
	Runs          uint64       `json:"runs"`
	Pages         uint64       `json:"pages"`      // pages stored in chunks (data runs)
	ZeroPages     uint64       `json:"zero_pages"` // pages of zero runs (not stored)
	Chunks        uint64       `json:"chunks"`
	RawBytes      uint64       `json:"raw_bytes"`              // bytes of the data runs' pages
	StoredBytes   uint64       `json:"stored_bytes,omitempty"` // chunk bytes on disk, when the chunks could be walked
	Length        uint64       `json:"length"`
}

// Inspect summarises the image in r without a key and without reading chunk
// payloads. It fails only if the header block itself is unusable; problems
// behind a valid header (interrupted write, consumed, corrupt map or chunk
// headers) are reported in State and Problem.
func Inspect(r io.ReaderAt, size int64) (*Summary, error) {
	im, err := load(r, size, Key{}, false, nil, Limits{})
	var h *Header
	switch {
	case err == nil:
		h = im.h
	default:
		// Re-read the header alone to describe what is there.
		if size < BlockSize {
			return nil, err
		}
		b := make([]byte, BlockSize)
		if rerr := readAt(r, b, 0); rerr != nil {
			return nil, rerr
		}
		var herr error
		if h, herr = decodeHeader(b, size); herr != nil {
			return nil, herr
		}
	}
	s := &Summary{
		State:         "valid",
		Version:       h.Version,
		UUID:          formatUUID(h.UUID),
		Created:       h.Created,
		Release:       h.Release,
		Identity:      h.Identity,
		RAMSize:       h.RAMSize,
		MemMapHash:    hex.EncodeToString(h.MemMapHash[:]),
		CPUs:          h.CPUs,
		JumpBack:      h.JumpBack,
		SecondKernel:  h.SecondKernel,
		Mailbox:       h.Mailbox,
		Filesystems:   append([]Filesystem{}, h.Filesystems...),
		Encrypted:     h.Encrypted,
		KDF:           h.KDF.String(),
		Compression:   h.Compression.String(),
		PagesPerChunk: h.PagesPerChunk,
		Runs:          h.Runs,
		Pages:         h.Pages,
		ZeroPages:     h.ZeroPages,
		Chunks:        h.Chunks,
		RawBytes:      h.Pages * PageSize,
		Length:        h.Length,
	}
	if im != nil {
		s.StoredBytes = im.stored
	}
	if err != nil {
		s.Problem = err.Error()
		switch {
		case errors.Is(err, ErrIncomplete):
			s.State = "incomplete"
		case errors.Is(err, ErrConsumed):
			s.State = "consumed"
		default:
			s.State = "corrupt"
		}
	}
	return s, nil
}

func formatUUID(u [16]byte) string {
	x := hex.EncodeToString(u[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}
