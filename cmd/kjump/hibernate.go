package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/kjump/kjump/hibernate"
	"github.com/kjump/kjump/internal/hibernatewrite"
	"github.com/kjump/kjump/internal/initmode"
	"github.com/kjump/kjump/jump"
)

func init() {
	registry = append(registry,
		command{
			name:    "hibernate",
			summary: "save the running system to disk through a second kernel and power off",
			usage:   "--to DEVICE|FILE [--size N] [--compress auto|zstd|lz4|none] [--key-file F | --passphrase-file F] [--then poweroff|reboot|suspend] [load flags] | --prepare | --status",
			help: `Hibernates the running system without the kernel's freezer copy: kjump loads a
second kernel (like 'kjump load'), syncs filesystems and jumps; the second kernel
writes this kernel's memory (free pages left out, zero pages as a note, chunks
compressed with zstd on all CPUs while that keeps ahead of the disk, the rest
stored raw: --compress auto) to DEVICE and powers off. The next boot's resume
kernel runs 'kjump resume --from DEVICE', restores the memory and jumps back:
processes carry on where they were. Because nothing is copied inside this
kernel, it works with nearly all RAM in use.

The image records this kernel's build, the machine's memory map, and the state of
every filesystem mounted now; resume refuses an image from another kernel build,
another machine, a filesystem mounted elsewhere since, and an image used once
already. If the second kernel cannot write the image it jumps back and this
command fails: the system carries on. It succeeds only when the resume kernel
reported the resume; back here in any other way, it revokes the image and says
why.

A parked writer (--prepare, e.g. from a unit at boot): kjump loads the writer
kernel, jumps into it once so that it boots, and it jumps back and waits;
'kjump hibernate' then re-enters it (a fraction of a second) instead of loading
and booting one (seconds). The parked writer drops its caches and looks the
disks up again at every re-entry; when it cannot serve a request (a disk added
since it booted) it says so and kjump loads a fresh writer. It needs the region
reserved with memmap=SIZE$ADDR. --status says whether one is parked.

Hybrid sleep (--then suspend): the second kernel writes the image, then
suspends to RAM instead of powering off. Waking (a key, the lid, an RTC alarm)
brings it back: it revokes the image and jumps straight back here, in seconds.
If power was lost while it slept, the next boot resumes from the image as
after a power-off.

Memory layout. The resume kernel is booted by the firmware, so without KASLR it
runs at its preferred address (16 MiB on x86_64). The second kernel's region must
start there, and this kernel should not need it: reserve it on this kernel's
command line with memmap=240M$16M (distribution kernels need
CONFIG_FIRMWARE_MEMMAP to load into it; ending on a 64 MiB boundary keeps it
clear of IO_STRICT_DEVMEM's "RAM buffer"). An unreserved region also works, but
the load then needs that much free memory. Boot the resume kernel with the
command line this command prints, e.g.
  nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K
dist/README.md has the GRUB entry and initramfs-tools hook for that.

The target is a raw disk or partition (overwritten; not mounted, not swap), or a
FILE on a disk filesystem (ext4, XFS; not tmpfs, btrfs, LVM or dm-crypt). A file
is preallocated (--size, default the memory in use plus 64 MiB), its blocks are
found with FIEMAP and its first block names them; the second kernel writes the
rest raw. The resume kernel cannot mount the filesystem, so it finds the file by
the disk offset of that first block: 'kjump resume --from DISK --offset N' (this
command prints it, like the kernel's resume_offset=). --key-file (32 random bytes) or --passphrase-file encrypts the image with
AES-256-GCM; give the same to 'kjump resume'.

Examples:
  $ kjump hibernate --to /dev/vdb
  $ kjump hibernate --to /var/lib/kjump/image   # prints: kjump resume --from /dev/sda2 --offset 0x…
  $ head -c 32 /dev/urandom > /etc/kjump.key; kjump hibernate --to /dev/sdb2 --key-file /etc/kjump.key
  $ kjump hibernate --to /dev/vdb --then suspend   # hybrid sleep
  $ kjump hibernate --prepare; kjump hibernate --status   # park a writer at boot
  # in the resume kernel's initramfs
  $ kjump resume --from /dev/sdb2 --key-file /etc/kjump.key`,
			setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
				var o hibernate.Options
				fs.StringVar(&o.Target, "to", "", "raw block device or file to write the image to (required; overwritten)")
				fs.Var(sizeFlag{&o.FileSize}, "size", "space to preallocate for a file target (default: memory in use + 64M)")
				fs.StringVar(&o.KeyFile, "key-file", "", "encrypt the image with this 32-byte key")
				fs.StringVar(&o.PassphraseFile, "passphrase-file", "", "encrypt the image with the passphrase in this file (Argon2id)")
				fs.StringVar(&o.Compression, "compress", "auto", "chunk compression: auto (zstd on the chunks the CPUs compress while keeping ahead of the disk, the rest raw), zstd (every chunk: smaller), lz4 (every chunk, cheaper on the CPU, a larger image) or none")
				fs.StringVar(&o.ResumeInitrd, "resume-initrd", "", "check before anything is loaded that this initramfs (the resume kernel's, e.g. /boot/initrd.img-RELEASE) holds kjump, dist/'s resume script and the disks' modules")
				prepare := fs.Bool("prepare", false, "park a writer kernel now (load it, boot it once, come back), so that hibernating later takes a re-entry instead of a load and a boot; needs a memmap=SIZE$ADDR region")
				status := fs.Bool("status", false, "say whether a writer kernel is parked, and exit")
				then := fs.String("then", "poweroff", "what the second kernel does once the image is written: poweroff, reboot, or suspend (hybrid sleep: suspend to RAM; on wake, revoke the image and come back)")
				secondKernelFlags(fs, &o.Load, "the second kernel's bzImage, also the resume kernel (default: the running kernel's)",
					"lowest physical address for the region (default: the resume kernel's load address)")
				return func(args []string, stdout, stderr io.Writer) error {
					o.Then, o.Log = initmode.Action(*then), stderr
					switch {
					case len(args) > 0:
						return errUsage
					case *status:
						p, err := jump.ReadParked("/")
						if err != nil {
							return err
						}
						if p == nil {
							fmt.Fprintln(stdout, "hibernate: no writer kernel is parked")
							return nil
						}
						fmt.Fprintf(stdout, "hibernate: a writer kernel is parked in %s since %s (park page %#x)\n", p.Region, p.Since.Format(time.RFC3339), p.Mailbox)
						return nil
					case *prepare:
						_, err := hibernate.Prepare(o)
						return err
					case o.Target == "":
						return errUsage
					}
					r, err := hibernate.Hibernate(o)
					if err != nil {
						return err
					}
					if r.Woke {
						fmt.Fprintf(stdout, "hibernate: woke from suspend to RAM after %s; the image %s was revoked (it was the fallback had power been lost)\n",
							r.Resumed.Sub(r.Saved).Round(time.Second), r.Image)
						return nil
					}
					fmt.Fprintf(stdout, "hibernate: resumed from image %s saved %s: %d pages restored, %d cleared in %.2fs; down for %s\n",
						r.Image, r.Saved.Format(time.RFC3339), r.Pages, r.ZeroPages, r.RestoreSeconds,
						r.Resumed.Sub(r.Saved).Round(time.Second))
					return nil
				}
			},
		},
		command{
			name:    "hibernate-write",
			summary: "in the second kernel: write the hibernation image (run by 'kjump hibernate')",
			usage:   "--mailbox ADDR",
			help: `The second kernel's half of 'kjump hibernate': reads the request from the mailbox
page at physical address ADDR (through /dev/mem), writes the first kernel's memory
from /proc/vmcore as a hibernation image to the requested device, and returns; init
then powers off. On failure the error goes into the mailbox and init jumps back.

Example (second kernel's command line):
  kjump.run="hibernate-write --mailbox 0x3a2b1000" kjump.then=poweroff kjump.onerror=back`,
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
					start := time.Now()
					st, err := hibernatewrite.Write(a, "/", progressLines(stderr, "hibernate-write"))
					if err != nil {
						return err
					}
					if st == nil {
						fmt.Fprintln(stdout, "hibernate-write: parked; waiting to be re-entered")
						return nil
					}
					fmt.Fprintf(stdout, "hibernate-write: %s\n", hibernatewrite.Summary(st, time.Since(start)))
					return nil
				}
			},
		},
		command{
			name:    "resume",
			summary: "in the resume kernel: restore a hibernated system and jump back to it",
			usage:   "--from DEVICE [--offset N] [--key-file F | --passphrase-file F] [--check]",
			help: `Restores the system 'kjump hibernate' saved on DEVICE and jumps back into it. Run
it from the resume kernel's initramfs before anything mounts a disk (the
initramfs-tools hook does). The resume kernel must run inside the region the
image was written from: boot it with the line 'kjump hibernate' prints
(nokaslr memmap=exactmap …).

First it checks what can be checked without reading the pages: the image's
header, page map and commit record (and the key, when encrypted), that this is
the kernel build and machine that saved it, that no filesystem it had mounted
was mounted since, that this kernel's memory is clear of the saved pages, that
every saved page is RAM in the firmware's map, and that the image fits this
kernel's memory budget (half of MemAvailable). Then it reads, checks and
decodes each chunk once, writing it into the saved system's memory through
/dev/mem (nothing runs there until the jump), leaves a report in the saved
system's mailbox, loads the jump back, and only then marks the image used
(resume is one-shot) and jumps. Any failure before that mark prints why and
exits 1 with the image still resumable: boot on normally. An image in a file is
found by --offset, the disk offset of the file's first block that
'kjump hibernate' printed.

On success it does not return: the saved system runs. With --check it only
validates and exits 0 when the image can be resumed here.

Examples:
  $ kjump resume --from /dev/vdb
  $ kjump resume --from /dev/vdb --check   # validate only`,
			setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
				var o hibernate.ResumeOptions
				fs.StringVar(&o.From, "from", "", "the device holding the image (required)")
				fs.StringVar(&o.KeyFile, "key-file", "", "the image's 32-byte key")
				fs.StringVar(&o.PassphraseFile, "passphrase-file", "", "a file holding the image's passphrase")
				check := fs.Bool("check", false, "only validate the image for this system; write nothing")
				offset := fs.String("offset", "", "the image is in a file whose first block is at this byte offset of DEVICE")
				return func(args []string, stdout, stderr io.Writer) error {
					if len(args) > 0 || o.From == "" {
						return errUsage
					}
					o.Log, o.Progress = stderr, progressLines(stderr, "resume")
					if *offset != "" {
						n, err := strconv.ParseUint(*offset, 0, 64)
						if err != nil {
							return fmt.Errorf("--offset %q: %w", *offset, err)
						}
						o.InFile, o.Offset = true, n
					}
					if *check {
						im, err := hibernate.Check(o)
						if err != nil {
							return err
						}
						defer im.Close()
						// Resume decodes each chunk while it restores; a check
						// that writes nothing decodes them all here.
						if err := im.Verify(); err != nil {
							return fmt.Errorf("%s: %w", o.From, err)
						}
						h := im.Header()
						fmt.Fprintf(stdout, "resume: image %x on %s can be resumed here (%d pages, saved %s)\n", h.UUID, o.From, h.Pages, h.Created.Format(time.RFC3339))
						return nil
					}
					err := hibernate.Resume(o)
					if err == nil {
						err = errors.New("resume returned")
					}
					return fmt.Errorf("%w; not resuming, boot on normally", err)
				}
			},
		},
	)
}
