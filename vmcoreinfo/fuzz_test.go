package vmcoreinfo_test

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/kjump/kjump/vmcoreinfo"
)

func addTestdata(f *testing.F, wrap func([]byte) []byte) {
	for _, name := range []string{"testdata/x86_64-kaslr-numa.txt", "testdata/x86_64-tiny-crashed.txt"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wrap(data))
	}
}

// sampleLines keeps the first line of each kind (SYMBOL, SIZE, ...; each
// plain key) of text: a small seed, since the fuzzer minimises every new
// input it finds and that is slow for kilobytes of text.
func sampleLines(text []byte) []byte {
	seen := map[string]bool{}
	var out []byte
	for _, line := range bytes.SplitAfter(text, []byte("\n")) {
		kind, _, _ := bytes.Cut(line, []byte("("))
		kind, _, _ = bytes.Cut(kind, []byte("="))
		if !seen[string(kind)] {
			seen[string(kind)] = true
			out = append(out, line...)
		}
	}
	return out
}

func FuzzParse(f *testing.F) {
	addTestdata(f, sampleLines)
	f.Add([]byte("PAGESIZE=4096\n\x00\x00"))
	f.Add([]byte("NUMBER(x)=-1\nSYMBOL(y)=0xff\nSIZE(z)=3"))
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := vmcoreinfo.Parse(data)
		if err != nil {
			var se *vmcoreinfo.SyntaxError
			if info != nil || !errors.As(err, &se) {
				t.Fatalf("Parse = %v, %v (%T)", info, err, err)
			}
			if !slices.ContainsFunc([]error{vmcoreinfo.ErrEmpty, vmcoreinfo.ErrBinary, vmcoreinfo.ErrSyntax, vmcoreinfo.ErrDuplicate},
				func(s error) bool { return errors.Is(err, s) }) {
				t.Fatalf("error %v matches no sentinel", err)
			}
			return
		}
		// Round trip: the rendered text parses to the same Info.
		text := info.Bytes()
		again, err := vmcoreinfo.Parse(text)
		if err != nil {
			t.Fatalf("Parse(Bytes()) of %q: %v", text, err)
		}
		if !maps.Equal(info.Raw, again.Raw) || !slices.Equal(info.Keys(), again.Keys()) || info.Identity() != again.Identity() {
			t.Fatalf("round trip changed %q into %q", text, again.Bytes())
		}
		if !bytes.Equal(text, again.Bytes()) {
			t.Fatalf("Bytes not stable")
		}
		if len(info.Keys()) != len(info.Raw) {
			t.Fatalf("%d keys, %d raw values", len(info.Keys()), len(info.Raw))
		}
	})
}

func FuzzParseNote(f *testing.F) {
	addTestdata(f, kernelBuffer)
	f.Add(vmcoreinfo.AppendNote(nil, []byte("A=1\n")))
	f.Add(make([]byte, 24))
	f.Fuzz(func(t *testing.T, note []byte) {
		text, err := vmcoreinfo.ParseNote(note)
		if err != nil {
			if text != nil || !errors.Is(err, vmcoreinfo.ErrNote) {
				t.Fatalf("ParseNote = %q, %v", text, err)
			}
			return
		}
		// The text lies inside the input, right after the name.
		if len(text) == 0 || 24+len(text) > len(note) || !bytes.Equal(note[24:24+len(text)], text) {
			t.Fatalf("ParseNote returned %d bytes not at offset 24 of %d", len(text), len(note))
		}
		// Re-wrapping gives a note that parses to the same text.
		again, err := vmcoreinfo.ParseNote(vmcoreinfo.AppendNote(nil, text))
		if err != nil || !bytes.Equal(again, text) {
			t.Fatalf("re-wrapped: %q, %v", again, err)
		}
	})
}
