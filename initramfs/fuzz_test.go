package initramfs

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"path"
	"strings"
	"testing"
)

// FuzzCheckStatic feeds arbitrary bytes to the ELF check. Invariants: no
// panic, and whatever it accepts is, by a separate reading of the raw
// headers, an ELF64 x86-64 executable with no PT_INTERP program header.
func FuzzCheckStatic(f *testing.F) {
	f.Add(makeELF64(elf.EM_X86_64, elf.ET_EXEC, ""))
	f.Add(makeELF64(elf.EM_X86_64, elf.ET_DYN, "/lib64/ld-linux-x86-64.so.2"))
	f.Add(makeELF64(elf.EM_AARCH64, elf.ET_EXEC, ""))
	f.Add(makeELF32())
	f.Add([]byte("#!/bin/sh\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkStatic(bytes.NewReader(b)) != "" {
			return
		}
		if len(b) < 64 || string(b[:4]) != elf.ELFMAG || b[elf.EI_CLASS] != byte(elf.ELFCLASS64) {
			t.Fatalf("accepted a file that is not ELF64: % x", b[:min(len(b), 16)])
		}
		var bo binary.ByteOrder = binary.LittleEndian
		if b[elf.EI_DATA] == byte(elf.ELFDATA2MSB) {
			bo = binary.BigEndian
		}
		if typ := elf.Type(bo.Uint16(b[16:])); typ != elf.ET_EXEC && typ != elf.ET_DYN {
			t.Fatalf("accepted type %v", typ)
		}
		if m := elf.Machine(bo.Uint16(b[18:])); m != elf.EM_X86_64 {
			t.Fatalf("accepted machine %v", m)
		}
		phoff, phentsize, phnum := bo.Uint64(b[32:]), uint64(bo.Uint16(b[54:])), uint64(bo.Uint16(b[56:]))
		for i := range phnum {
			off := phoff + i*phentsize
			if off+4 < off || off+4 > uint64(len(b)) {
				break
			}
			if elf.ProgType(bo.Uint32(b[off:])) == elf.PT_INTERP {
				t.Fatalf("accepted a file with PT_INTERP at program header %d", i)
			}
		}
	})
}

// FuzzArchivePaths adds a file and a symbolic link at fuzzed paths.
// Invariants: WriteTo either fails having written nothing, or writes an
// archive whose names are clean relative paths, each preceded by its parent
// directory, with the file's data under its cleaned path.
func FuzzArchivePaths(f *testing.F) {
	f.Add("/bin/kjump", "bin/sh", "busybox", []byte("data"))
	f.Add("a/../../b", "./c//d/", "/init", []byte(nil))
	f.Add("x", "x/y", "", []byte("z"))
	f.Fuzz(func(t *testing.T, file, link, target string, data []byte) {
		a := New()
		a.File(file, 0o644, data)
		a.Symlink(link, target)
		var buf bytes.Buffer
		n, err := a.WriteTo(&buf)
		if err != nil {
			if n != 0 || buf.Len() != 0 {
				t.Fatalf("WriteTo failed (%v) after writing %d bytes", err, buf.Len())
			}
			return
		}
		names, entries := readArchive(t, buf.Bytes())
		seen := map[string]bool{}
		for _, name := range names {
			if name == "" || name != path.Clean(name) || strings.HasPrefix(name, "/") || name == ".." || strings.HasPrefix(name, "../") {
				t.Fatalf("unclean name %q", name)
			}
			if dir := path.Dir(name); dir != "." && !seen[dir] {
				t.Fatalf("%q precedes its parent", name)
			}
			seen[name] = true
		}
		clean, _ := cleanPath(file)
		if clean != mustClean(t, link) && entries[clean].data != string(data) {
			t.Fatalf("file %q holds %q, want %q", clean, entries[clean].data, data)
		}
	})
}

func mustClean(t *testing.T, p string) string {
	c, err := cleanPath(p)
	if err != nil {
		t.Fatalf("WriteTo accepted path %q: %v", p, err)
	}
	return c
}
