package lab

import (
	"embed"
	"path"
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
