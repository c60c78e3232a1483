package main

import (
	"encoding/json"
	"flag"
	"io"

	"github.com/kjump/kjump/doctor"
)

func init() {
	registry = append(registry, command{
		name:    "doctor",
		summary: "check whether kexec jump can work on this machine (kernel options, lockdown, memory)",
		usage:   "[--json] [--root DIR]",
		help: `Checks, one row each, what kexec jump needs on this machine and says how to fix
what is missing:
  - kernel options CONFIG_KEXEC_JUMP, KEXEC, HIBERNATION, CRASH_DUMP, PROC_VMCORE,
    PROC_KCORE, DEVMEM (read from /proc/config.gz or /boot/config-$(uname -r));
  - kernel.kexec_load_disabled, kernel lockdown, the CAP_SYS_BOOT capability;
  - the RAM map (/sys/firmware/memmap, else /proc/iomem), a crashkernel= or memmap=$
    reservation, and the region a second kernel would get.
Exits 0 when kexec jump can work, 1 when something is missing.

Debian's own kernels are built without CONFIG_KEXEC_JUMP: on them doctor says so.
Inside the lab guest ('kjump lab test boot') it reports ready.

Examples:
  $ sudo kjump doctor
  $ sudo kjump doctor --json | jq .ready`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			asJSON := fs.Bool("json", false, "print the report as JSON")
			root := fs.String("root", "/", "read /proc, /sys and /boot below this directory (to check a mounted system image)")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return errUsage
				}
				r := doctor.Run(*root)
				if *asJSON {
					enc := json.NewEncoder(stdout)
					enc.SetIndent("", "  ")
					if err := enc.Encode(r); err != nil {
						return err
					}
				} else if err := r.WriteTable(stdout); err != nil {
					return err
				}
				if !r.Ready {
					return errSilent
				}
				return nil
			}
		},
	})
}
