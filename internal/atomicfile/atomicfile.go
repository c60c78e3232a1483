// Package atomicfile writes files that never exist half-written: the content goes
// to a temporary file beside the target, which is synced and renamed over it.
package atomicfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write creates or replaces path with what fill writes, atomically: a temporary
// file in the same directory is filled, given perm, synced and renamed over path,
// and the directory is synced. On any error the temporary file is removed and
// path is left as it was.
func Write(path string, perm fs.FileMode, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil // renamed; only the directory's durability is unknown
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s after renaming %s: %w", dir, filepath.Base(path), err)
	}
	return nil
}

// Copy copies the file from to path atomically, with perm.
func Copy(from, path string, perm fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	return Write(path, perm, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
