package memmap

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadFirmwareMemmap reads the memory map the firmware handed to the running
// kernel from root/sys/firmware/memmap (root is "/" normally). Each numbered
// directory holds start, end (inclusive) and type. The result is sorted by
// Start. A missing directory gives an error matching fs.ErrNotExist; a
// malformed or empty one an error naming the entry.
func ReadFirmwareMemmap(root string) (Map, error) {
	dir := filepath.Join(root, "sys", "firmware", "memmap")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("memmap: %w", err)
	}
	var m Map
	for _, de := range ents {
		if _, err := strconv.ParseUint(de.Name(), 10, 32); err != nil {
			continue // not an entry (the kernel creates only numbered ones)
		}
		e, err := readFirmwareEntry(filepath.Join(dir, de.Name()))
		if err != nil {
			return nil, err
		}
		m = append(m, e)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("memmap: %s has no entries", dir)
	}
	m.sort()
	return m, nil
}

func readFirmwareEntry(dir string) (Entry, error) {
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("memmap: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	var vals [2]uint64
	for i, name := range []string{"start", "end"} {
		s, err := read(name)
		if err != nil {
			return Entry{}, err
		}
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			return Entry{}, fmt.Errorf("memmap: %s/%s: %w", dir, name, err)
		}
		vals[i] = v
	}
	typ, err := read("type")
	if err != nil {
		return Entry{}, err
	}
	if typ == "" {
		return Entry{}, fmt.Errorf("memmap: %s/type is empty", dir)
	}
	r, ok := RangeFromLast(vals[0], vals[1])
	if !ok {
		return Entry{}, fmt.Errorf("memmap: %s: invalid range start %#x end %#x", dir, vals[0], vals[1])
	}
	return Entry{Range: r, Type: Type(typ)}, nil
}
