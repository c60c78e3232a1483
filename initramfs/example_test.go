package initramfs_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"log"

	"github.com/kjump/kjump/cpio"
	"github.com/kjump/kjump/initramfs"
)

func ExampleArchive() {
	a := initramfs.New()
	a.File("/init", 0o755, []byte("#!/bin/sh\nexec /bin/sh\n"))
	a.Symlink("/bin/sh", "busybox")
	a.CharDev("/dev/console", 0o600, 5, 1)
	a.Dir("/tmp", fs.ModeSticky|0o777)

	var buf bytes.Buffer
	if _, err := a.WriteTo(&buf); err != nil {
		log.Fatal(err)
	}

	// Read it back the way the kernel does: gunzip, then unpack cpio.
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		log.Fatal(err)
	}
	r := cpio.NewReader(zr)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		fmt.Printf("%06o %-11s %d,%d %q\n", h.Mode, h.Name, h.RDevMajor, h.RDevMinor, data)
	}
	// Output:
	// 040755 bin         0,0 ""
	// 120777 bin/sh      0,0 "busybox"
	// 040755 dev         0,0 ""
	// 020600 dev/console 5,1 ""
	// 100755 init        0,0 "#!/bin/sh\nexec /bin/sh\n"
	// 041777 tmp         0,0 ""
}

func ExampleKjump() {
	a, err := initramfs.Kjump(initramfs.Options{
		Kjump:   "/usr/local/bin/kjump",
		Busybox: "/bin/busybox",
		Files:   map[string][]byte{"lab/jump.sh": []byte("#!/bin/sh\nkjump jump\n")},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := a.WriteFile("/tmp/kjump-initrd.gz"); err != nil {
		log.Fatal(err)
	}
}
