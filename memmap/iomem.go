package memmap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrIomemHidden means /proc/iomem showed every range as 00000000-00000000:
// the kernel hides addresses from readers without CAP_SYS_ADMIN.
var ErrIomemHidden = errors.New("memmap: /proc/iomem addresses are hidden (all zero); run as root")

// Resource is one line of /proc/iomem with the lines nested under it.
type Resource struct {
	Range
	Name     string
	Depth    int // 0 for top-level resources
	Children []*Resource
}

func (r *Resource) String() string {
	return fmt.Sprintf("%s%v %s", strings.Repeat("  ", r.Depth), r.Range, r.Name)
}

// ParseIomem parses /proc/iomem into a tree. Each line is
// "START-END : NAME", hex without 0x, END inclusive, indented by two spaces
// per level of nesting. Malformed lines (no " : ", bad numbers, END < START,
// odd indentation or a jump of more than one level) are skipped. If the
// file has entries and every one is 00000000-00000000 the reader lacked
// CAP_SYS_ADMIN and the error is ErrIomemHidden.
func ParseIomem(r io.Reader) ([]*Resource, error) {
	var (
		roots  []*Resource
		stack  []*Resource // stack[d] is the last resource seen at depth d
		total  int
		zeroes int
	)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		res, ok := parseIomemLine(sc.Text())
		if !ok {
			continue
		}
		if res.Depth > len(stack) {
			continue // no parent at the level above
		}
		total++
		if res.Start == 0 && res.Size == 1 {
			zeroes++
		}
		stack = append(stack[:res.Depth], res)
		if res.Depth == 0 {
			roots = append(roots, res)
		} else {
			p := stack[res.Depth-1]
			p.Children = append(p.Children, res)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("memmap: reading iomem: %w", err)
	}
	if total > 0 && zeroes == total {
		return nil, ErrIomemHidden
	}
	return roots, nil
}

// ReadIomem parses root/proc/iomem (root is "/" normally).
func ReadIomem(root string) ([]*Resource, error) {
	f, err := os.Open(filepath.Join(root, "proc", "iomem"))
	if err != nil {
		return nil, fmt.Errorf("memmap: %w", err)
	}
	defer f.Close()
	return ParseIomem(f)
}

func parseIomemLine(line string) (*Resource, bool) {
	line = strings.TrimRight(line, "\r")
	body := strings.TrimLeft(line, " ")
	indent := len(line) - len(body)
	if indent%2 != 0 {
		return nil, false
	}
	span, name, ok := strings.Cut(body, " : ")
	if !ok {
		return nil, false
	}
	name = strings.TrimSpace(name)
	a, b, ok := strings.Cut(span, "-")
	if !ok || name == "" {
		return nil, false
	}
	start, err1 := strconv.ParseUint(a, 16, 64)
	last, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	rng, ok := RangeFromLast(start, last)
	if !ok {
		return nil, false
	}
	return &Resource{Range: rng, Name: name, Depth: indent / 2}, true
}

// Walk calls fn for every resource of tree, parents before children, in
// file order.
func Walk(tree []*Resource, fn func(*Resource)) {
	for _, r := range tree {
		fn(r)
		Walk(r.Children, fn)
	}
}

// FindIomem returns the ranges of all resources named exactly name, at any
// depth, in file order: "Crash kernel", "Kernel code", ...
func FindIomem(tree []*Resource, name string) []Range {
	var out []Range
	Walk(tree, func(r *Resource) {
		if r.Name == name {
			out = append(out, r.Range)
		}
	})
	return out
}

// IomemRAM returns the top-level "System RAM" resources as a Map, for
// machines without /sys/firmware/memmap.
func IomemRAM(tree []*Resource) Map {
	var m Map
	for _, r := range tree {
		if Type(r.Name) == RAM {
			m = append(m, Entry{Range: r.Range, Type: RAM})
		}
	}
	m.sort()
	return m
}
