package lab

import (
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strings"
)

// guestFiles are the scripts and blobs the lab puts under /lab in the guest's
// initramfs. hello.bin is assembled from hello.S (guest_test.go checks it).
//
//go:generate sh ../internal/flatbin/flatbin.sh guest/hello.S guest/hello.bin
//go:embed guest/*.sh guest/*.bin
var guestFiles embed.FS

func guestScripts() (map[string][]byte, error) {
	out := map[string][]byte{}
	entries, err := guestFiles.ReadDir("guest")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := guestFiles.ReadFile(path.Join("guest", e.Name()))
		if err != nil {
			return nil, err
		}
		out["/lab/"+e.Name()] = b
	}
	return out, nil
}

// addDynamic adds a dynamically linked host program and the libraries ldd names
// for it, at their host paths, and a manifest listing them all (so a guest script
// can pass them on to the next initramfs).
func addDynamic(files map[string][]byte, prog, manifest string) error {
	out, err := exec.Command("ldd", prog).Output()
	if err != nil {
		return fmt.Errorf("ldd %s: %w", prog, err)
	}
	paths := []string{prog}
	for _, m := range regexp.MustCompile(`(?m)(/\S+) \(0x`).FindAllStringSubmatch(string(out), -1) {
		paths = append(paths, m[1])
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[p] = b
	}
	files[manifest] = []byte(strings.Join(paths, "\n") + "\n")
	return nil
}
