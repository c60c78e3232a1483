package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/kjump/kjump/internal/initmode"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/memmap"
)

// sizeFlag is a memory size flag in kexec-tools/crashkernel syntax (256M, 0x1000000).
type sizeFlag struct{ v *uint64 }

func (s sizeFlag) String() string {
	if s.v == nil || *s.v == 0 {
		return ""
	}
	return fmt.Sprintf("%#x", *s.v)
}
func (s sizeFlag) Set(v string) error {
	n, err := memmap.ParseSize(v)
	*s.v = n
	return err
}

// secondKernelFlags are the load flags of commands that load a second kernel
// for a job of their own (snapshot, hibernate): its bzImage and its region.
func secondKernelFlags(fs *flag.FlagSet, o *jump.LoadOptions, kernelHelp, minHelp string) {
	fs.Var(sizeFlag{&o.Size}, "mem-size", "size of the second kernel's region (default 256M)")
	fs.Var(sizeFlag{&o.Min}, "mem-min", minHelp)
	fs.Var(sizeFlag{&o.Max}, "mem-max", "highest physical address for the region")
	fs.StringVar(&o.Kernel, "kernel", "", kernelHelp)
	fs.StringVar(&o.Append, "append", "", "more parameters for the second kernel's command line")
}

// listFlag collects a repeatable flag.
type listFlag struct{ v *[]string }

func (l listFlag) String() string     { return "" }
func (l listFlag) Set(v string) error { *l.v = append(*l.v, v); return nil }

func init() {
	registry = append(registry,
		command{
			name:    "load",
			summary: "load a second kernel to jump to and back (kexec -l --load-preserve-context)",
			usage:   "[flags] [BZIMAGE]",
			help: `Loads a second kernel with preserved context (kexec_load with
KEXEC_PRESERVE_CONTEXT), confined to a region of RAM, with kjump's own purgatory.
'kjump exec' then jumps to it; it comes back with 'kjump back'.

BZIMAGE defaults to the running kernel (/boot/vmlinuz-$(uname -r)). The initrd
defaults to one generated from kjump itself (kjump as /init, plus busybox when
/bin/busybox is static): the second kernel runs the --run commands and then, by
default, jumps back (--then back).

The region: a "Crash kernel" reservation (crashkernel=SIZE at boot) if there is
one, else a memmap=SIZE$ADDR reservation from the command line, else the highest free 16 MiB-aligned window of --mem-size below 4 GiB, away
from the running kernel's image, within --mem-min/--mem-max. A region not reserved
at boot is swapped out at each jump and back on return, so it must be at most
half of RAM and needs that much free RAM. The second kernel is confined to it
with memmap=exactmap and nokaslr, and learns where to return from
kexec_jump_back_entry=0x… on its command line (the purgatory writes it).

The command line is the running kernel's (--reuse-cmdline, minus memmap=,
crashkernel=, initrd=, kjump.* and the like) unless --command-line replaces it.

Needs: CONFIG_KEXEC_JUMP, root, no lockdown ('kjump doctor' checks).

Examples:
  # jump to the running kernel, print its memory map, come back
  $ kjump load --run "/bin/grep System.RAM /proc/iomem" && kjump exec
  # kexec-tools' spelling works too
  $ kjump -l /boot/vmlinuz-6.12.117 --append="console=ttyS0" --load-preserve-context`,
			setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
				var o jump.LoadOptions
				fs.StringVar(&o.Initrd, "initrd", "", "initramfs for the second kernel (default: generated from kjump)")
				fs.StringVar(&o.Initrd, "ramdisk", "", "same as --initrd")
				fs.StringVar(&o.Append, "append", "", "add to the second kernel's command line")
				fs.StringVar(&o.Cmdline, "command-line", "", "the second kernel's command line, instead of the running kernel's")
				fs.BoolVar(&o.Reuse, "reuse-cmdline", false, "base the command line on the running kernel's (the default)")
				fs.Var(listFlag{&o.Run}, "run", "a command for the second kernel: a kjump command or /path/to/program args (repeatable)")
				o.Then = initmode.Back
				fs.Var(&o.Then, "then", "what the second kernel does after its commands: back, poweroff, reboot, shell, hold")
				fs.Var(listFlag{&o.Add}, "add", "put HOSTFILE[=PATH] into the generated initramfs (repeatable)")
				fs.Var(sizeFlag{&o.Size}, "mem-size", "size of the second kernel's region (default 256M; ignored with a crashkernel reservation)")
				fs.Var(sizeFlag{&o.Min}, "mem-min", "lowest physical address for the region")
				fs.Var(sizeFlag{&o.Max}, "mem-max", "highest physical address for the region")
				fs.BoolVar(&o.NoVerify, "no-checksum", false, "skip the purgatory's checksums of kernel, initrd and boot data")
				fs.BoolVar(&o.NoVmcore, "no-vmcore", false, "do not give the second kernel /proc/vmcore (no ELF core header, no elfcorehdr=)")
				fs.Bool("l", false, "kexec-tools compatibility: load (the default action)")
				fs.Bool("load-preserve-context", false, "kexec-tools compatibility: kjump always preserves context")
				return func(args []string, stdout, stderr io.Writer) error {
					if len(args) > 1 {
						return errUsage
					}
					if len(args) == 1 {
						o.Kernel = args[0]
					}
					l, err := jump.Load(o)
					if err != nil {
						return err
					}
					p := l.Plan
					if l.Warning != "" {
						fmt.Fprintf(stderr, "kjump load: warning: %s\n", l.Warning)
					}
					fmt.Fprintf(stdout, "loaded %s (%s) with preserved context\n", l.Kernel, l.KernelRelease)
					fmt.Fprintf(stdout, "  region   %s\n", l.Region)
					fmt.Fprintf(stdout, "  ram      %s\n", rangesString(p.RAM))
					fmt.Fprintf(stdout, "  kernel   %#x\n", p.KernelAddr)
					fmt.Fprintf(stdout, "  initrd   %#x, %s (%s)\n", p.InitrdAddr, memmap.FormatSize(uint64(l.InitrdSize)), l.InitrdFrom)
					fmt.Fprintf(stdout, "  entry    %#x (purgatory)\n", p.Entry)
					if l.Note != 0 {
						fmt.Fprintf(stdout, "  note     %#x: the second kernel says there where it is when it jumps back ('kjump core')\n", l.Note)
					} else if l.NoNote != "" {
						fmt.Fprintf(stderr, "kjump load: warning: no note page (%s): 'kjump core' will not find this kernel\n", l.NoNote)
					}
					if p.CoreHeader != 0 {
						fmt.Fprintf(stdout, "  vmcore   ELF core header at %#x: the second kernel sees this one as /proc/vmcore\n", p.CoreHeader)
					}
					fmt.Fprintf(stdout, "  cmdline  %s\n", p.Cmdline)
					fmt.Fprintln(stdout, "run 'kjump exec' to jump; the second kernel returns with 'kjump back'")
					return nil
				}
			},
		},
		command{
			name:    "exec",
			summary: "jump to the loaded kernel; returns when it jumps back (kexec -e)",
			usage:   "",
			help: `Jumps to the kernel 'kjump load' loaded (reboot(LINUX_REBOOT_CMD_KEXEC)), after
syncing the filesystems as kexec -e does. The kernel
freezes processes and suspends devices first, like hibernation does; after the
second kernel jumps back, devices resume and processes continue. The first exec
starts the second kernel; each later exec re-enters it where it left off.

Example:
  $ kjump exec
  back from the second kernel after 2.31s`,
			setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
				fs.Bool("e", false, "kexec-tools compatibility: execute")
				return func(args []string, stdout, stderr io.Writer) error {
					if len(args) > 0 {
						return errUsage
					}
					d, err := kexec.Exec()
					if err != nil {
						return err
					}
					fmt.Fprintf(stdout, "back from the second kernel after %.2fs\n", d.Seconds())
					return nil
				}
			},
		},
		command{
			name:    "unload",
			summary: "unload the loaded kernel (kexec -u)",
			usage:   "",
			help: `Unloads the kexec image. A second kernel that was entered loses its state; the
note page it left for 'kjump core' is emptied.

Example:
  $ kjump unload`,
			setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
				fs.Bool("u", false, "kexec-tools compatibility: unload")
				return func(args []string, stdout, stderr io.Writer) error {
					if len(args) > 0 {
						return errUsage
					}
					return jump.Unload()
				}
			},
		},
		command{
			name:    "initramfs",
			summary: "write the initramfs 'kjump load' gives a second kernel (for kexec-tools or any loader)",
			usage:   "[--add HOSTFILE[=PATH]]... -o FILE",
			help: `Writes the initramfs 'kjump load' generates when no --initrd is given: this kjump
binary as /init (it reads its job from kjump.run= / kjump.then= on the kernel
command line), busybox when /bin/busybox is static, and the --add files.

Example: give a kexec-tools-loaded second kernel kjump, and return with it:
  $ kjump initramfs -o /tmp/second.cpio.gz
  $ kexec -l --load-preserve-context --initrd=/tmp/second.cpio.gz \
      --append="console=ttyS0 kjump.then=back …" /boot/vmlinuz-$(uname -r)`,
			setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
				var add []string
				fs.Var(listFlag{&add}, "add", "put HOSTFILE[=PATH] into the initramfs (repeatable)")
				out := fs.String("o", "", "output file (required)")
				return func(args []string, stdout, stderr io.Writer) error {
					if len(args) > 0 || *out == "" {
						return errUsage
					}
					data, what, err := jump.Initramfs(add, nil)
					if err != nil {
						return err
					}
					if err := os.WriteFile(*out, data, 0o644); err != nil {
						return err
					}
					fmt.Fprintf(stdout, "%s: %s, %s\n", *out, memmap.FormatSize(uint64(len(data))), strings.TrimPrefix(what, "generated: "))
					return nil
				}
			},
		},
		command{
			name:    "call",
			summary: "run a flat binary in physical mode and return (a kexec jump to code, not a kernel)",
			usage:   "[--addr ADDR] FILE",
			help: `Loads FILE, a flat binary of position-independent x86_64 code, at a page-aligned
physical address (--addr, or the start of an automatically chosen free region),
jumps to it with a preserve-context kexec, and comes back when it returns.

The calling convention (what Linux's relocate_kernel gives the code):
  - entered by "call" at its first byte, in 64-bit mode, identity-mapped page
    tables covering RAM and the loaded segments, interrupts off;
  - the GDT and IDT are invalid: do not reload segment registers, take no faults;
  - %rsp is at the top of the kernel's swap page: 0(%rsp) is the return address;
    keep %rsp balanced and return with "ret"; all other registers may be used;
  - no console but the hardware: e.g. write to COM1 at port 0x3f8.
The devices are suspended and other CPUs offline while it runs. kjump loads,
runs and unloads the blob each time: on Linux before 6.14 the kernel reads the
callee's re-entry point from the word above the return address, which a plain
"ret" leaves undefined, so a second run of the same image would crash.

Example (lab/guest/hello.S prints a line on COM1):
  $ kjump call /lab/hello.bin
  kjump call: hello from physical mode
  /lab/hello.bin (84 bytes at 0x2c000000) returned after 0.31s`,
			setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
				var addr uint64
				fs.Var(sizeFlag{&addr}, "addr", "page-aligned physical address to load FILE at (default: an automatically chosen free region)")
				return func(args []string, stdout, stderr io.Writer) error {
					if len(args) != 1 {
						return errUsage
					}
					c, err := jump.Call(args[0], addr, "/")
					if err != nil {
						return err
					}
					fmt.Fprintf(stdout, "%s (%d bytes at %#x) returned after %.2fs\n", args[0], c.Size, c.Addr, c.Took.Seconds())
					return nil
				}
			},
		},
		command{
			name:    "back",
			summary: "in the second kernel: jump back to the first; returns when re-entered",
			usage:   "[--entry ADDR]",
			help: `Run in the second kernel: jumps back to the first kernel through the purgatory's
gate (kjump.gate=0x… on this kernel's command line, put there by 'kjump load'),
or, without one, at the address the purgatory put in kexec_jump_back_entry=0x…;
--entry overrides both. It loads the jump-back helper the first time (one
segment: the page holding the entry, read from /dev/mem, so it works on Linux
6.12 where kexec-tools' helper cannot) and jumps. When the first kernel runs
'kjump exec' again, this kernel continues where it left off and back returns.
The gate is a page both kernels' kexec page tables map: without it, re-entering
a second kernel in a memmap=SIZE$ADDR region crashes the machine (--entry
bypasses it).

Example (in the second kernel):
  $ kjump back
  jumping back to the first kernel at 0xff001d0
  re-entered by the first kernel after 5.02s`,
			setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
				entry := fs.String("entry", "", "the address to jump back to (default: kjump.gate=, else kexec_jump_back_entry= from /proc/cmdline)")
				return func(args []string, stdout, stderr io.Writer) error {
					if len(args) > 0 {
						return errUsage
					}
					var e uint64
					var err error
					if *entry != "" {
						if e, err = strconv.ParseUint(*entry, 0, 64); err != nil {
							return fmt.Errorf("--entry %q: %w", *entry, err)
						}
						if g, ok := jump.Gate("/"); ok && g != e {
							fmt.Fprintf(stderr, "kjump back: warning: --entry %#x bypasses the way back at %#x (kjump.gate=): the first kernel's next 'kjump exec' can re-enter this kernel only if its kexec page tables map this kernel's control page, which a memmap=SIZE$ADDR region is not; drop --entry\n", e, g)
						}
					} else if e, err = jump.Target("/"); err != nil {
						return err
					}
					d, err := jump.Back(e, func(loadedNow bool) error {
						if err := jump.LeaveNote("/"); err != nil {
							fmt.Fprintf(stderr, "kjump back: warning: %v: 'kjump core' in the first kernel will not find this kernel\n", err)
						}
						how := ""
						if loadedNow {
							how = " (jump-back helper loaded)"
						}
						fmt.Fprintf(stdout, "jumping back to the first kernel at %#x%s\n", e, how)
						return nil
					})
					if err != nil {
						return err
					}
					fmt.Fprintf(stdout, "re-entered by the first kernel after %.2fs\n", d.Seconds())
					return nil
				}
			},
		},
	)
}

func rangesString(rs []memmap.Range) string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprintf("%s %s", r, memmap.FormatSize(r.Size)))
	}
	return strings.Join(s, ", ")
}

func init() {
	registry = append(registry, command{
		name:    "shell",
		summary: "jump to a second kernel whose console is a shell over this kernel's memory; 'kjump back' or exit returns",
		usage:   "[load flags]",
		help: `Loads a second kernel (like 'kjump load') whose job is an interactive shell on the
console, jumps to it, and returns when you leave the shell: 'kjump back' in it
returns to this kernel, and so does 'exit'. The second kernel is unloaded then.

In the shell, this kernel's memory is /proc/vmcore (an ELF core with this
kernel's VMCOREINFO), the kjump commands and busybox are there: 'kjump dump
/proc/vmcore FILE' writes a dump, 'head -c 64 /proc/vmcore | hexdump -C' shows its
ELF header, /dev/mem maps this kernel's pages. This kernel is frozen meanwhile,
as in any kexec jump: nothing here changes under you. (The kexec-hibernation
proposal: "the user could even do it via an interactive shell on the new
kernel".)

The shell is on the console of the second kernel's command line (this kernel's,
by default: console=ttyS0 for a serial console). Give it a disk to write to with
--append (the second kernel mounts nothing of this kernel's: use a spare disk).

Needs what 'kjump load' needs (kjump doctor), busybox-static for the shell.

Example:
  $ kjump shell
  shell: jumping to a second kernel: 'kjump back' or 'exit' returns
  kjump-shell# kjump dump --level 31 /proc/vmcore /dev/vdb
  kjump-shell# kjump back
  shell: back from the second kernel after 41.20s`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			var o jump.LoadOptions
			secondKernelFlags(fs, &o, "the second kernel's bzImage (default: the running kernel's)", "lowest physical address for the region")
			fs.Var(listFlag{&o.Add}, "add", "put HOSTFILE[=PATH] into the second kernel's initramfs (repeatable)")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return errUsage
				}
				o.Then, o.OnError = initmode.ShellBack, initmode.ShellBack
				l, err := jump.Load(o)
				if err != nil {
					return err
				}
				defer jump.Unload()
				if l.Warning != "" {
					fmt.Fprintf(stderr, "kjump shell: warning: %s\n", l.Warning)
				}
				fmt.Fprintf(stdout, "shell: jumping to a second kernel (%s, region %s): 'kjump back' or 'exit' returns\n", l.KernelRelease, l.Region)
				d, err := kexec.Exec()
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "shell: back from the second kernel after %.2fs\n", d.Seconds())
				return nil
			}
		},
	})
}
