package lzo

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// strictDecode decodes an LZO1X stream by the rules of the kernel's
// lzo1x_decompress_safe as Documentation/staging/lzo.rst describes them,
// and refuses what that decoder refuses: a stream shorter than 3 bytes, a
// first byte 17 (an LZO-RLE version byte in streams of 5 or more bytes),
// an instruction or its operands running past the end, a literal run not
// followed by at least 3 more bytes, a copy from before the output's
// start, output beyond max, an end marker of another length than 3, and
// bytes after the end marker. It also refuses what this package promises
// never to write (2- and 3-byte matches, distances over 16384, the RLE
// form), so that a test learns when the compressor starts writing them.
func strictDecode(in []byte, max int) ([]byte, error) {
	if len(in) < 3 {
		return nil, errors.New("shorter than 3 bytes")
	}
	if in[0] == 17 && len(in) >= 5 {
		return nil, errors.New("first byte 17 in 5 or more bytes: an LZO-RLE version byte")
	}
	var out []byte
	ip := 0
	state := 0
	need := func(n int) error {
		if len(in)-ip < n {
			return fmt.Errorf("at %d: %d more bytes needed, %d left", ip, n, len(in)-ip)
		}
		return nil
	}
	// length reads a length continued in zero bytes: base + 255 per zero
	// byte + the first non-zero byte.
	length := func(base int) (int, error) {
		zeros := 0
		for {
			if err := need(1); err != nil {
				return 0, err
			}
			b := in[ip]
			ip++
			if b != 0 {
				return base + 255*zeros + int(b), nil
			}
			zeros++
		}
	}
	literals := func(t int) error {
		if err := need(t + 3); err != nil { // the kernel wants an instruction after them
			return fmt.Errorf("literal run of %d: %w", t, err)
		}
		if len(out)+t > max {
			return errors.New("output overrun")
		}
		out = append(out, in[ip:ip+t]...)
		ip += t
		return nil
	}
	copyMatch := func(d, m int) error {
		if d < 1 || d > len(out) {
			return fmt.Errorf("at %d: distance %d with %d bytes of output (lookbehind overrun)", ip, d, len(out))
		}
		if d > m3MaxOffset {
			return fmt.Errorf("distance %d: the compressor should not write over %d", d, m3MaxOffset)
		}
		if m < minMatch {
			return fmt.Errorf("match of %d bytes: the compressor writes at least %d", m, minMatch)
		}
		if len(out)+m > max {
			return errors.New("output overrun")
		}
		for i := 0; i < m; i++ {
			out = append(out, out[len(out)-d])
		}
		return nil
	}
	if in[0] > 17 {
		t := int(in[0]) - 17
		ip++
		if err := literals(t); err != nil {
			return nil, err
		}
		state = min(t, 4)
	}
	for {
		if err := need(1); err != nil {
			return nil, err
		}
		op := int(in[ip])
		ip++
		var d, m, s int
		switch {
		case op < 16 && state == 0:
			t := op + 3
			if op == 0 {
				var err error
				if t, err = length(18); err != nil {
					return nil, err
				}
			}
			if err := literals(t); err != nil {
				return nil, err
			}
			state = 4
			continue
		case op < 16:
			return nil, fmt.Errorf("at %d: a %d-byte match (0000DDSS after state %d)", ip-1, map[bool]int{true: 3, false: 2}[state == 4], state)
		case op >= 64:
			if err := need(1); err != nil {
				return nil, err
			}
			m = op>>5 + 1
			d = (op>>2)&7 + int(in[ip])<<3 + 1
			s = op & 3
			ip++
		case op >= 32:
			m = op&31 + 2
			if op&31 == 0 {
				var err error
				if m, err = length(33); err != nil {
					return nil, err
				}
			}
			if err := need(2); err != nil {
				return nil, err
			}
			v := int(binary.LittleEndian.Uint16(in[ip:]))
			ip += 2
			d, s = v>>2+1, v&3
		default: // 16..31
			m = op&7 + 2
			if op&7 == 0 {
				var err error
				if m, err = length(9); err != nil {
					return nil, err
				}
			}
			if err := need(2); err != nil {
				return nil, err
			}
			v := int(binary.LittleEndian.Uint16(in[ip:]))
			ip += 2
			d, s = 16384+(op&8)<<11+v>>2, v&3
			if d == 16384 {
				if m != 3 {
					return nil, fmt.Errorf("end marker with length %d, want 3", m)
				}
				if ip != len(in) {
					return nil, fmt.Errorf("%d bytes after the end marker", len(in)-ip)
				}
				return out, nil
			}
		}
		if err := copyMatch(d, m); err != nil {
			return nil, err
		}
		if err := literals(s); err != nil {
			return nil, err
		}
		state = s
	}
}
