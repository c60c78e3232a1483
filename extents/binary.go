package extents

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Magic starts an encoded Map.
const Magic = "KJEXTMAP"

// Version is the encoding version MarshalBinary writes and UnmarshalBinary reads.
const Version = 1

const (
	headerSize    = 32
	extentSize    = 24
	trailerSize   = 4
	maxDeviceName = 32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes a valid Map in the format described in the package
// comment.
func (m *Map) MarshalBinary() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, headerSize+len(m.Device)+extentSize*len(m.Extents)+trailerSize)
	b = append(b, Magic...)
	b = binary.LittleEndian.AppendUint32(b, Version)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Device)))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.Size))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(m.Extents)))
	b = append(b, m.Device...)
	for _, e := range m.Extents {
		b = binary.LittleEndian.AppendUint64(b, e.Logical)
		b = binary.LittleEndian.AppendUint64(b, e.Physical)
		b = binary.LittleEndian.AppendUint64(b, e.Length)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// UnmarshalBinary decodes a Map written by MarshalBinary and checks it like
// Validate. Every field is checked: magic, version, lengths (the data must end
// exactly after the checksum), checksum and the map rules. On error m is left
// unchanged.
func (m *Map) UnmarshalBinary(data []byte) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidMap, fmt.Sprintf(format, args...))
	}
	if len(data) < headerSize+trailerSize {
		return bad("%d bytes, shorter than a header and checksum (%d)", len(data), headerSize+trailerSize)
	}
	if !bytes.Equal(data[:8], []byte(Magic)) {
		return bad("magic %q, want %q", data[:8], Magic)
	}
	le := binary.LittleEndian
	if v := le.Uint32(data[8:]); v != Version {
		return bad("version %d, this program reads version %d", v, Version)
	}
	body := data[:len(data)-trailerSize]
	if got, want := le.Uint32(data[len(body):]), crc32.Checksum(body, castagnoli); got != want {
		return bad("checksum %#08x, the data sums to %#08x", got, want)
	}
	devLen := uint64(le.Uint32(data[12:]))
	size := le.Uint64(data[16:])
	count := le.Uint64(data[24:])
	rest := uint64(len(body) - headerSize)
	switch {
	case devLen == 0 || devLen > maxDeviceName:
		return bad("device name of %d bytes (1 to %d allowed)", devLen, maxDeviceName)
	case size > 1<<63-1:
		return bad("size %#x is beyond 2^63", size)
	case devLen > rest || count > (rest-devLen)/extentSize || (rest-devLen)%extentSize != 0 || count != (rest-devLen)/extentSize:
		return bad("%d bytes after the header do not hold a %d-byte device name and %d extents", rest, devLen, count)
	}
	n := Map{Device: string(body[headerSize : headerSize+devLen]), Size: int64(size)}
	if count > 0 {
		n.Extents = make([]Extent, count)
	}
	p := body[headerSize+devLen:]
	for i := range n.Extents {
		n.Extents[i] = Extent{Logical: le.Uint64(p), Physical: le.Uint64(p[8:]), Length: le.Uint64(p[16:])}
		p = p[extentSize:]
	}
	if err := n.Validate(); err != nil {
		return err
	}
	*m = n
	return nil
}
