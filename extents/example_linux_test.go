//go:build linux

package extents_test

import (
	"log"
	"os"

	"github.com/kjump/kjump/extents"
)

// The whole protocol, as the two kernels run it (not run here: it needs a
// disk filesystem and, in the other kernel, the raw device).
func ExamplePrepare() {
	// First kernel, before the jump.
	const path = "/var/lib/kjump/image"
	m, err := extents.Prepare(path, 256<<20)
	if err != nil {
		log.Fatal(err) // e.g. "extents: file ... is on tmpfs, which has no disk blocks; ..."
	}
	encoded, err := m.MarshalBinary() // handed to the other kernel
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Verify(path); err != nil { // right before the jump
		log.Fatal(err)
	}

	// Other kernel: open the device m.Device names and write the file raw.
	var theirs extents.Map
	if err := theirs.UnmarshalBinary(encoded); err != nil {
		log.Fatal(err)
	}
	dev, err := os.OpenFile("/dev/vda", os.O_RDWR, 0)
	if err != nil {
		log.Fatal(err)
	}
	f, err := extents.NewFile(dev, &theirs)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("image data"), 0); err != nil {
		log.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		log.Fatal(err)
	}

	// First kernel, after the jump back: forget stale pages, then read.
	if err := extents.DropCache(path); err != nil {
		log.Fatal(err)
	}
}
