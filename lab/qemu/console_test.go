package qemu

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

type timedLine struct {
	text string
	at   time.Duration
}

func splitAll(chunks [][]byte) (lines []timedLine, partial string) {
	var s splitter
	for i, c := range chunks {
		s.write(c, time.Duration(i), func(text string, at time.Duration) {
			lines = append(lines, timedLine{text, at})
		})
	}
	return lines, s.partial()
}

func TestSplitter(t *testing.T) {
	long := strings.Repeat("x", maxLine)
	tests := []struct {
		name    string
		chunks  []string
		lines   []timedLine
		partial string
	}{
		{"empty", nil, nil, ""},
		{"one line", []string{"hello\n"}, []timedLine{{"hello", 0}}, ""},
		{"crlf", []string{"a\r\nb\r\n"}, []timedLine{{"a", 0}, {"b", 0}}, ""},
		{"stray cr", []string{"1\r2\r3"}, nil, "123"},
		{"partial", []string{"line\nprompt# "}, []timedLine{{"line", 0}}, "prompt# "},
		{"line across chunks keeps first byte time", []string{"ab", "", "c\nd"}, []timedLine{{"abc", 0}}, "d"},
		{"empty lines", []string{"\n", "\r\n"}, []timedLine{{"", 0}, {"", 1}}, ""},
		{"cr before chunk start does not start a line", []string{"\r", "x\n"}, []timedLine{{"x", 1}}, ""},
		{"stray bytes kept", []string{"\x00\xff\x1b[0m\n"}, []timedLine{{"\x00\xff\x1b[0m", 0}}, ""},
		{"long line cut", []string{long + "tail\n"}, []timedLine{{long, 0}, {"tail", 0}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var chunks [][]byte
			for _, c := range tt.chunks {
				chunks = append(chunks, []byte(c))
			}
			lines, partial := splitAll(chunks)
			if !slices.Equal(lines, tt.lines) {
				t.Errorf("lines = %+v, want %+v", lines, tt.lines)
			}
			if partial != tt.partial {
				t.Errorf("partial = %q, want %q", partial, tt.partial)
			}
		})
	}
}

// FuzzSplitter feeds guest console bytes, which are untrusted, cut into chunks
// at arbitrary places. However the stream is cut, the lines are the same, hold no
// '\r' or '\n', are no longer than maxLine, and together with the incomplete line
// hold exactly the input's other bytes.
func FuzzSplitter(f *testing.F) {
	f.Add([]byte("Linux version 6.12\r\nlogin: "), []byte{3, 7})
	f.Add([]byte("\r\r\n\n\x00\xff"), []byte{1})
	f.Add(bytes.Repeat([]byte("a"), maxLine+3), []byte{200, 0, 255})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		var chunks [][]byte
		rest := data
		for _, c := range cuts {
			n := min(int(c), len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		chunks = append(chunks, rest)

		whole, wholePartial := splitAll([][]byte{data})
		lines, partial := splitAll(chunks)
		if len(lines) != len(whole) || partial != wholePartial {
			t.Fatalf("chunked: %d lines + %q, whole: %d lines + %q", len(lines), partial, len(whole), wholePartial)
		}
		var got strings.Builder
		for i, l := range lines {
			if l.text != whole[i].text {
				t.Fatalf("line %d: chunked %q, whole %q", i, l.text, whole[i].text)
			}
			if strings.ContainsAny(l.text, "\r\n") || len(l.text) > maxLine {
				t.Fatalf("line %d is not a line: %q", i, l.text)
			}
			got.WriteString(l.text)
		}
		got.WriteString(partial)
		want := strings.NewReplacer("\r", "", "\n", "").Replace(string(data))
		if got.String() != want {
			t.Fatalf("text %q, want %q", got.String(), want)
		}
	})
}

// slowWriter records what it gets, slowly.
type slowWriter struct {
	mu  sync.Mutex
	got []string
}

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, string(p))
	return len(p), nil
}

func TestEchoerKeepsOrderAndDrains(t *testing.T) {
	w := &slowWriter{}
	e := newEchoer(w)
	var want []string
	for i := range 50 {
		s := strings.Repeat("x", i) + "\n"
		want = append(want, s)
		e.push(s)
	}
	e.close()
	if !slices.Equal(w.got, want) {
		t.Errorf("echoed %q, want %q", w.got, want)
	}
}
