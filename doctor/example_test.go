package doctor_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kjump/kjump/doctor"
)

func ExampleReport_WriteTable() {
	r := doctor.Report{
		Checks: []doctor.Check{
			{Name: "kernel config", Status: doctor.OK, Detail: "/boot/config-6.12.0-1-amd64"},
			{Name: "CONFIG_KEXEC_JUMP", Status: doctor.Missing, Detail: "is not set",
				Fix: "rebuild the kernel with CONFIG_KEXEC_JUMP=y"},
			{Name: "CAP_SYS_BOOT", Status: doctor.OK, Detail: "effective"},
		},
	}
	if err := r.WriteTable(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// CHECK              STATUS   DETAIL
	// kernel config      ok       /boot/config-6.12.0-1-amd64
	// CONFIG_KEXEC_JUMP  missing  is not set
	//                             fix: rebuild the kernel with CONFIG_KEXEC_JUMP=y
	// CAP_SYS_BOOT       ok       effective
	// not ready: 1 problem(s): CONFIG_KEXEC_JUMP
}

func ExampleRun() {
	// A fake root with only a Debian-like kernel config and lockdown on;
	// on a real machine the root is "/".
	root, err := os.MkdirTemp("", "doctor-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)
	for path, content := range map[string]string{
		"proc/sys/kernel/osrelease":    "6.12.0-1-amd64\n",
		"boot/config-6.12.0-1-amd64":   "CONFIG_KEXEC=y\n# CONFIG_KEXEC_JUMP is not set\n",
		"sys/kernel/security/lockdown": "none [integrity] confidentiality\n",
	} {
		p := filepath.Join(root, path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			panic(err)
		}
	}
	r := doctor.Run(root)
	fmt.Println("kernel:", r.Kernel, "ready:", r.Ready)
	for _, c := range r.Checks {
		if c.Name == "CONFIG_KEXEC_JUMP" || c.Name == "lockdown" {
			fmt.Printf("%s: %s: %s\n", c.Name, c.Status, c.Detail)
		}
	}
	// Output:
	// kernel: 6.12.0-1-amd64 ready: false
	// CONFIG_KEXEC_JUMP: missing: is not set: needed for kexec jump itself; depends on CONFIG_KEXEC and CONFIG_HIBERNATION; Debian's kernels ship without it
	// lockdown: missing: [integrity]: the locked-down kernel refuses kexec_load, hibernation and /dev/mem
}
