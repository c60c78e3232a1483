package modules

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// moduleInitCompressedFile is finit_module's MODULE_INIT_COMPRESSED_FILE flag
// (include/uapi/linux/module.h): the kernel decompresses the file itself.
const moduleInitCompressedFile = 4

// LoadList loads the modules listed in the file at list (see ListPath), in
// order, and reports each through say. A missing list is no work. It stops at
// the first module that fails to load, since later ones may depend on it.
func LoadList(list string, say func(format string, a ...any)) error {
	b, err := os.ReadFile(list)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, p := range strings.Fields(string(b)) {
		err := Load(p)
		if err != nil {
			return err
		}
		say("module %s loaded", Name(p))
	}
	return nil
}

// Load loads the module file at path with finit_module(2); a module that is
// already there (loaded, or built into the kernel) is success.
func Load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("loading module: %w", err)
	}
	defer f.Close()
	flags := 0
	if Compression(path) != "" {
		flags = moduleInitCompressedFile
	}
	err = unix.FinitModule(int(f.Fd()), "", flags)
	switch {
	case err == nil, errors.Is(err, unix.EEXIST):
		return nil
	case errors.Is(err, unix.EOPNOTSUPP) && flags != 0:
		return fmt.Errorf("loading module %s: this kernel cannot decompress modules (no CONFIG_MODULE_DECOMPRESS): %w", path, err)
	}
	return fmt.Errorf("loading module %s: %w", path, err)
}
