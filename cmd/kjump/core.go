package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/kjump/kjump/core"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/physmem"
)

func init() {
	registry = append(registry, command{
		name:    "core",
		summary: "in the first kernel: write the parked second kernel as an ELF core, or poke into it",
		usage:   "-o FILE | --poke ADDR --data FILE",
		help: `After 'kjump exec' and the second kernel's 'kjump back', the second kernel waits,
parked, for the next 'kjump exec'. 'kjump core -o FILE' writes it as an ELF core
file: every page of its RAM at its physical address (and in its direct map), its
kernel image's mapping, and its own VMCOREINFO note, so crash, makedumpfile and
drgn open the second kernel with its vmlinux, from the first. (Huang Ying's
kexec-jump patchset had /proc/kimgcore for this; it never reached mainline.)

Where its pages are: the jump swapped every page of the second kernel's image
(the low 256 KiB, its kernel, its initrd, its top MiB, and the whole region when
the region was not reserved at boot) into pages of this kernel; the rest stays in
the region. kjump reads the first from where this kernel's kexec page list says
they went, the rest where they are. Before each jump back, 'kjump back' leaves in
the note page (0x60000, in this kernel's reserved first MiB) where the second
kernel's VMCOREINFO note is and where this kernel's page list starts; 'kjump
load' prints "note" when it set one up.

FILE is written beside and renamed when complete (mode 0600: it holds the second
kernel's secrets); a block device is written in place. The core holds all of the
second kernel's RAM; 'kjump dump FILE OUT' makes a smaller kdump file of it.

--poke ADDR --data FILE writes FILE's bytes into the second kernel at its
physical address ADDR (a debugging aid): the range must lie in the second
kernel's RAM, and the next 'kjump exec' re-enters it with the change. Pages this
kernel holds in its own RAM (the swapped ones, a crashkernel= region) are read
through /proc/kcore, which is read-only; writing them needs /dev/mem, which
STRICT_DEVMEM forbids for a kernel's own RAM. So on a STRICT_DEVMEM kernel a
poke works for the pages that stay in a memmap=SIZE$ADDR region, and fails
naming the page elsewhere.

Needs root, CONFIG_PROC_KCORE and CONFIG_DEVMEM, no lockdown.

Examples:
  $ kjump load --run /usr/local/bin/my-test && kjump exec
  $ kjump core -o /var/crash/second.core
  core: /var/crash/second.core: 6.12.117, 65344 pages (65344 read from where the jump moved them), 255 MiB
  $ makedumpfile --dump-dmesg /var/crash/second.core second-dmesg.txt
  $ drgn -c /var/crash/second.core -s vmlinux     # the second kernel's tasks
  $ printf 'hello' > /tmp/p && kjump core --poke 0x9a3f000 --data /tmp/p && kjump exec`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			out := fs.String("o", "", "write the second kernel as an ELF core to FILE")
			poke := fs.String("poke", "", "physical address in the second kernel to write --data at")
			data := fs.String("data", "", "file whose bytes --poke writes")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 || (*out == "") == (*poke == "") || (*poke != "") != (*data != "") {
					return errUsage
				}
				k, err := core.Open()
				if err != nil {
					return err
				}
				defer k.Close()
				if *poke != "" {
					addr, err := strconv.ParseUint(*poke, 0, 64)
					if err != nil {
						return fmt.Errorf("--poke %q: %w", *poke, err)
					}
					b, err := os.ReadFile(*data)
					if err != nil {
						return err
					}
					if err := k.Poke(addr, b, physmem.Path); err != nil {
						return err
					}
					fmt.Fprintf(stdout, "core: wrote %d bytes at %#x of the second kernel (%s); 'kjump exec' re-enters it\n", len(b), addr, k.Note.Release)
					return nil
				}
				r, err := k.WriteFile(*out)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "core: %s: %s, %d pages (%d read from where the jump moved them), %s; VMCOREINFO at %#x\n",
					*out, r.Release, r.Pages, r.Moved, memmap.FormatSize(uint64(r.Bytes)), r.Vmcoreinfo)
				return nil
			}
		},
	})
}
