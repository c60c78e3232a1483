package hibernate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/memmap"
)

// System identifies a machine and the kernel running on it: what an image
// records of the saved system and what a resume kernel compares it with.
type System struct {
	Release  string `json:"release"`  // uname -r
	Identity string `json:"identity"` // uname -v and the kernel's GNU build ID
	// MemMapHash is SHA-256 of the firmware's memory map
	// (/sys/firmware/memmap: the map the firmware handed over, before any
	// memmap= option changed it), so another RAM size or layout differs.
	MemMapHash [32]byte `json:"-"`
	RAMSize    uint64   `json:"ram_size"` // System RAM in the firmware's map
	CPUs       uint32   `json:"cpus"`     // possible CPUs
}

// ErrMismatch means an image was saved on another kernel build or machine.
var ErrMismatch = errors.New("the image belongs to another system")

// ReadSystem reads the running system's identity under root ("/" normally).
func ReadSystem(root string) (System, error) {
	var s System
	read := func(p string) (string, error) {
		b, err := os.ReadFile(filepath.Join(root, p))
		return strings.TrimSpace(string(b)), err
	}
	var err error
	if s.Release, err = read("proc/sys/kernel/osrelease"); err != nil {
		return s, err
	}
	version, err := read("proc/sys/kernel/version")
	if err != nil {
		return s, err
	}
	notes, err := os.ReadFile(filepath.Join(root, "sys/kernel/notes"))
	if err != nil {
		return s, fmt.Errorf("reading the kernel's build ID: %w", err)
	}
	id, err := buildID(notes)
	if err != nil {
		return s, fmt.Errorf("sys/kernel/notes: %w", err)
	}
	s.Identity = version + " build-id " + id
	fw, err := memmap.ReadFirmwareMemmap(root)
	if err != nil {
		return s, fmt.Errorf("%w (the firmware's memory map identifies the machine; it needs CONFIG_FIRMWARE_MEMMAP)", err)
	}
	s.MemMapHash, s.RAMSize = hashMemmap(fw)
	possible, err := read("sys/devices/system/cpu/possible")
	if err != nil {
		return s, err
	}
	n, err := countCPUs(possible)
	if err != nil {
		return s, fmt.Errorf("sys/devices/system/cpu/possible: %w", err)
	}
	s.CPUs = n
	return s, nil
}

// buildID returns the hex GNU build ID among ELF notes.
func buildID(notes []byte) (string, error) {
	ns, err := elfcore.ParseNotes(notes)
	if err != nil {
		return "", err
	}
	for _, n := range ns {
		if n.Name == "GNU" && n.Type == 3 { // NT_GNU_BUILD_ID
			return hex.EncodeToString(n.Desc), nil
		}
	}
	return "", errors.New("no GNU build ID note (the kernel was linked without --build-id)")
}

func hashMemmap(m memmap.Map) (sum [32]byte, ram uint64) {
	h := sha256.New()
	for _, e := range m {
		fmt.Fprintf(h, "%#x %#x %s\n", e.Start, e.Size, e.Type)
	}
	for _, r := range m.RAM() {
		ram += r.Size
	}
	copy(sum[:], h.Sum(nil))
	return sum, ram
}

// countCPUs counts the CPUs of a kernel cpu list such as "0-3,8".
func countCPUs(list string) (uint32, error) {
	var n uint32
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("bad cpu list %q", list)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 32); err != nil || b < a {
				return 0, fmt.Errorf("bad cpu list %q", list)
			}
		}
		n += uint32(b - a + 1)
	}
	return n, nil
}

// Compare says why an image saved on system saved cannot be resumed on s, or
// returns nil.
func (s System) Compare(saved System) error {
	var why []string
	if s.Release != saved.Release || s.Identity != saved.Identity {
		why = append(why, fmt.Sprintf("it was saved by kernel %s (%s) and this is %s (%s): boot the kernel that hibernated",
			saved.Release, saved.Identity, s.Release, s.Identity))
	}
	if s.MemMapHash != saved.MemMapHash {
		why = append(why, fmt.Sprintf("the firmware's memory map differs (%s of RAM then, %s now): the memory the image restores may not exist or may belong to the firmware",
			memmap.FormatSize(saved.RAMSize), memmap.FormatSize(s.RAMSize)))
	}
	if s.CPUs != saved.CPUs {
		why = append(why, fmt.Sprintf("it had %d possible CPUs, this machine has %d", saved.CPUs, s.CPUs))
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrMismatch, strings.Join(why, "; "))
}
