package jump_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kjump/kjump/jump"
)

// The second kernel's command line: the first kernel's, without what the
// loader sets itself or what was the first kernel's own business, plus the
// second kernel's job. (kexec.PlanLinux then adds the confinement and the
// jump-back placeholder.)
func ExampleCmdline() {
	cmdline, err := jump.Cmdline(jump.LoadOptions{
		Cmdline: "BOOT_IMAGE=/boot/vmlinuz root=/dev/vda1 ro console=ttyS0 crashkernel=256M nokaslr kjump.then=shell",
		Append:  "loglevel=7",
		Run:     []string{"doctor --json", "/bin/cat /proc/iomem"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cmdline)
	// Output:
	// root=/dev/vda1 ro console=ttyS0 loglevel=7 kjump.run="doctor --json" kjump.run="/bin/cat /proc/iomem" kjump.then=back
}

// In the second kernel, Entry reads the first kernel's re-entry point from
// the command line the purgatory filled in. Here root is a fake tree; on the
// machine it is "/".
func ExampleEntry() {
	root, err := os.MkdirTemp("", "kjump-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	os.Mkdir(filepath.Join(root, "proc"), 0o755)
	cmdline := "console=ttyS0 nokaslr memmap=exactmap kexec_jump_back_entry=0x000000003f7fe0d8 kjump.then=back\n"
	if err := os.WriteFile(filepath.Join(root, "proc", "cmdline"), []byte(cmdline), 0o644); err != nil {
		log.Fatal(err)
	}
	entry, err := jump.Entry(root)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("jump back to %#x\n", entry)
	// Output:
	// jump back to 0x3f7fe0d8
}
