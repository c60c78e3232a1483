package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/internal/snapshotwrite"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/snapshot"
)

func init() {
	registry = append(registry,
		command{
			name:    "snapshot",
			summary: "take a live snapshot: jump to a second kernel, dump this one's memory, jump back",
			usage:   "-o DEVICE|FILE [--size N] [--level N] [--compress zlib|zstd|snappy|none] [--format kdump|elf] [load flags]",
			help: `Takes a snapshot of the running system without stopping it for good: kjump loads
a second kernel (like 'kjump load'), jumps to it, and the second kernel writes this
kernel's memory to DEVICE as a dump file, then jumps back. The system carries on;
run it again later and compare.

The dump is what 'kjump dump' writes (kdump-compressed by default, which crash and
makedumpfile open): free pages, zero pages and caches are left out at the default
--level 31. Pages the jump moved out of the second kernel's region are read from
where the kernel put them, so the dump shows every page at its true address.

The second kernel never mounts this kernel's filesystems. The output is a raw
block device (a spare disk or partition; it is overwritten), or a FILE on a disk
filesystem (ext4, XFS, ...; not tmpfs, btrfs, LVM or dm-crypt): kjump preallocates
it (--size, default the memory in use plus 16 MiB), finds its blocks on the disk
(FIEMAP), and the second kernel writes those blocks raw; the file is then cut to
the dump's size. Afterwards kjump drops the cached blocks, so reading the device
or file here gives the new dump. The two kernels talk through a mailbox page
(package mailbox): the request goes in before the jump, the summary comes back.

If a hibernation writer kernel is parked ('kjump hibernate --prepare'), it takes
the snapshot: a re-entry instead of a load and a boot, and it stays parked. If it
cannot (the output is on a disk added after it booted), kjump unloads it and
loads a fresh second kernel.

A live kernel has no crash notes; the dump gets the NT_PRSTATUS note a crash
would have left for the CPU that jumped (its registers as the jump saved them,
the task that jumped), so crash opens it without an "invalid NT_PRSTATUS note"
warning.

Reading it: crash 8.0.6 and drgn 0.0.31 (Debian 13) list the tasks of a 6.12
kernel; Debian 12's crash 8.0.2 cannot, and reads the log with --minimal. On
Debian 12, run the newer tools in a Debian 13 chroot (README, "A live snapshot").

Needs what 'kjump load' needs (kjump doctor), and CONFIG_PROC_VMCORE, DEVMEM in
the second kernel.

Examples:
  $ kjump snapshot -o /dev/vdb
  $ kjump snapshot -o /var/crash/live.kdump
  $ makedumpfile --dump-dmesg /dev/vdb dmesg.txt
  $ crash -s vmlinux /dev/vdb                       # crash 8.0.6: ps, bt, log
  $ crash -s --minimal vmlinux /dev/vdb             # crash 8.0.2: log, rd, sym, dis
  $ drgn -c /var/crash/live.kdump -s vmlinux -e '
  from drgn.helpers.linux.pid import for_each_task
  from drgn.helpers.linux.printk import get_dmesg
  for t in for_each_task(prog): print(t.pid.value_(), t.comm.string_().decode())
  print(get_dmesg(prog).decode()[-2000:])'`,
			setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
				var o snapshot.Options
				fs.StringVar(&o.Output, "o", "", "raw block device or file to write the dump to (required; overwritten)")
				fs.Var(sizeFlag{&o.FileSize}, "size", "space to preallocate for a file output (default: memory in use + 16M)")
				fs.IntVar(&o.Level, "level", 31, "dump level, makedumpfile's -d bits: 1 zero, 2 cache, 4 private cache, 8 user, 16 free pages left out")
				fs.StringVar(&o.Compression, "compress", "zlib", "page compression: zlib (crash and makedumpfile read it), zstd or snappy (crash only), none")
				fs.StringVar(&o.Format, "format", "kdump", "kdump (kdump-compressed) or elf")
				secondKernelFlags(fs, &o.Load, "the second kernel's bzImage (default: the running kernel's)", "lowest physical address for the region")
				return func(args []string, stdout, stderr io.Writer) error {
					if len(args) > 0 || o.Output == "" {
						return errUsage
					}
					given := map[string]bool{}
					fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
					if _, _, err := resolveDumpFormat(nil, o.Compression, given["compress"], o.Format, given["format"]); err != nil {
						return fmt.Errorf("%w: %w", err, errUsage)
					}
					o.Log = stderr
					r, err := snapshot.Take(o)
					if err != nil {
						return err
					}
					sum := dump.Summary{}
					if r.Summary != nil {
						sum = *r.Summary
					}
					fmt.Fprintf(stdout, "snapshot: %s: %s, %s, level %d: %d of %d pages written (%s); %d pages were read from where the jump had moved them\n",
						r.Output, sum.Format, sum.Compression, sum.Level, sum.PagesWritten, sum.PagesTotal,
						memmap.FormatSize(uint64(sum.OutputBytes)), r.Swapped)
					fmt.Fprintf(stdout, "snapshot: the second kernel wrote it in %.2fs; back after %.2fs\n", r.Seconds, r.Took.Seconds())
					return nil
				}
			},
		},
		command{
			name:    "snapshot-write",
			summary: "in the second kernel: answer a snapshot request (run by 'kjump snapshot')",
			usage:   "--mailbox ADDR",
			help: `The second kernel's half of 'kjump snapshot': reads the request from the mailbox
page at physical address ADDR (in the first kernel's memory, through /dev/mem),
writes the first kernel's memory from /proc/vmcore plus the pages the jump moved
to the requested device, and puts a summary (or the error) in the mailbox. kjump
snapshot starts it with kjump.run= on the second kernel's command line.

Example (second kernel's command line):
  kjump.run="snapshot-write --mailbox 0x3a2b1000" kjump.then=back`,
			setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
				addr := fs.String("mailbox", "", "physical address of the mailbox page (required)")
				return func(args []string, stdout, stderr io.Writer) error {
					if len(args) > 0 || *addr == "" {
						return errUsage
					}
					a, err := strconv.ParseUint(*addr, 0, 64)
					if err != nil {
						return fmt.Errorf("--mailbox %q: %w", *addr, err)
					}
					r, err := snapshotwrite.Write(a, "/", nil)
					if r != nil {
						b, _ := json.Marshal(r)
						fmt.Fprintf(stdout, "snapshot-write: %s\n", b)
					}
					return err
				}
			},
		},
	)
}
