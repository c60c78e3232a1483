package lab

import (
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// guestProgs are small Go programs for lab guests (stdlib only), built from this
// embedded source with the go command, so kjump's own binary carries no test tools.
//
//go:embed guestprog
var guestProgs embed.FS

// buildGuestProg builds guestprog/NAME as a static binary under dir.
func buildGuestProg(name, dir string) (string, error) {
	src, err := guestProgs.ReadFile("guestprog/" + name + "/main.go")
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp("", "kjump-guestprog-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if err := os.WriteFile(filepath.Join(work, "main.go"), src, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte("module kjump.lab/"+name+"\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building lab guest program %s (needs the go command): %v\n%s", name, err, b)
	}
	return out, nil
}
