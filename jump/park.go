package jump

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/physmem"
)

// Parked describes a second kernel left loaded and booted, waiting for jobs
// in its region's park page (kexec.ParkPage): re-entering it takes a fraction
// of a second where loading and booting one takes seconds. kjump hibernate
// --prepare parks a hibernation writer.
type Parked struct {
	Command string       `json:"command"` // its job's kjump subcommand
	Region  memmap.Range `json:"region"`
	Mailbox uint64       `json:"mailbox"` // the park page
	Kernel  string       `json:"kernel"`  // its bzImage
	Since   time.Time    `json:"since"`
}

// parkedFile is where the first kernel keeps the parked kernel's description
// (under /run: it is about this boot only).
const parkedFile = "run/kjump/parked.json"

// ReadParked returns the parked second kernel, or nil when there is none: no
// description, nothing loaded, or a park page that holds no mailbox (another
// image was loaded since).
func ReadParked(root string) (*Parked, error) {
	b, err := os.ReadFile(filepath.Join(root, parkedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var p Parked
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", parkedFile, err)
	}
	if l, err := os.ReadFile(filepath.Join(root, "sys/kernel/kexec_loaded")); err != nil || strings.TrimSpace(string(l)) != "1" {
		return nil, nil
	}
	box, err := mailbox.Attach(filepath.Join(root, strings.TrimPrefix(physmem.Path, "/")), p.Mailbox)
	if err != nil {
		return nil, nil
	}
	defer box.Close()
	if _, err := box.Read(); err != nil {
		return nil, nil
	}
	return &p, nil
}

// Save records p as this boot's parked kernel.
func (p *Parked) Save(root string) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	path := filepath.Join(root, parkedFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Unpark unloads the parked kernel and forgets it: when it cannot serve a
// job (a fresh kernel needs the region), before a job it cannot do, or once
// its memory was another kernel's (after a resume).
func Unpark(root string) error {
	kexec.Unload()
	err := os.Remove(filepath.Join(root, parkedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
