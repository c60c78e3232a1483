package dist

import (
	"fmt"
	"os"
	"strings"
)

// A resume boot on which kjump finds nothing to resume: the initramfs script
// takes the device and the key from the kernel command line, runs kjump (here
// a stand-in that refuses like 'kjump resume' does), logs the reason and lets
// the boot go on.
func Example_localPremount() {
	dir, err := os.MkdirTemp("", "kjump-dist-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	e := &premountEnv{dir: dir, devices: []string{"/dev/vdb"}}
	r, err := e.invoke("BOOT_IMAGE=/vmlinuz-6.12.58-kjump root=/dev/nvme0n1p2 ro nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K kjump.resume=/dev/vdb kjump.resume_key=/etc/kjump.key")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("kjump", strings.Join(r.args, " "))
	for _, w := range r.warnings {
		fmt.Println("warning:", w)
	}
	fmt.Println("exit status", r.exit)
	// Output:
	// kjump resume --from /dev/vdb --key-file /etc/kjump.key
	// warning: kjump: not resumed from /dev/vdb (kjump exit 1): kjump resume: no kjump image on /dev/vdb; not resuming, boot on normally; booting normally
	// exit status 0
}
