package lab

import (
	"embed"
	"path"
)

// guestFiles are the scripts the lab puts under /lab in the guest's initramfs.
//
//go:embed guest/*.sh
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
