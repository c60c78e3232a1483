package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/kjump/kjump/hibernate"
	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/memmap"
)

func init() {
	registry = append(registry, command{
		name:    "image",
		summary: "inspect or verify a hibernation image (a file or a raw device)",
		usage:   "inspect [--json] PATH | verify [--key-file F | --passphrase-file F] PATH | prepare --size N FILE",
		help: `Reads a kjump hibernation image (see image/doc.go for the format).

  inspect PATH   the header: the saved kernel's identity, RAM, CPUs, pages, chunks,
                 and the state: valid, incomplete (the write was interrupted:
                 no commit record), consumed (already used to resume: resume
                 is one-shot) or corrupt. Needs no key and reads no page data.
  verify PATH    checks everything a resume would: header, page map, commit
                 record, and every chunk's checksum, decryption and
                 decompression; lists every problem found. Exits 1 on any.

  prepare --size N FILE
                 preallocates an image file (on ext4 or XFS) for 'kjump
                 hibernate --to FILE --size N', which then reuses its blocks,
                 and prints KJUMP_FILE=, KJUMP_RESUME_OFFSET= (the disk offset of
                 its first block) and the device, for /etc/kjump/resume.conf:
                 the resume entry knows where the image will be before the
                 first hibernation.

An encrypted image needs its key: --key-file (32 raw bytes) or
--passphrase-file (a passphrase, stretched with Argon2id).

Examples:
  $ kjump image inspect /dev/vdb
  $ kjump image inspect --json /dev/vdb | jq .state
  $ kjump image verify --key-file /etc/kjump/image.key /dev/vdb`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			asJSON := fs.Bool("json", false, "inspect: print the summary as JSON")
			keyFile := fs.String("key-file", "", "verify: a file holding the 32-byte key of an encrypted image")
			passFile := fs.String("passphrase-file", "", "verify: a file holding the passphrase of an encrypted image")
			var size uint64
			fs.Var(sizeFlag{&size}, "size", "prepare: the file's size (as 'kjump hibernate --size' will be given)")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) == 2 && args[0] == "prepare" {
					if size == 0 {
						return fmt.Errorf("prepare needs --size: %w", errUsage)
					}
					m, node, err := hibernate.PrepareFile(args[1], size)
					if err != nil {
						return err
					}
					fmt.Fprintf(stdout, "KJUMP_FILE=%s\nKJUMP_RESUME_OFFSET=%#x\n# on %s (device %s): name it in KJUMP_DEVICE, by PARTUUID= or PARTLABEL=\n", args[1], m.Extents[0].Physical, node, m.Device)
					return nil
				}
				if len(args) != 2 || (args[0] != "inspect" && args[0] != "verify") {
					return errUsage
				}
				file, size, err := openSized(args[1])
				if err != nil {
					return err
				}
				defer file.Close()
				// An image file written by 'kjump hibernate --to FILE' starts
				// with its locator block.
				f, size := hibernate.ImagePart(file, size)
				if args[0] == "inspect" {
					s, err := image.Inspect(f, size)
					if err != nil {
						return err
					}
					if *asJSON {
						enc := json.NewEncoder(stdout)
						enc.SetIndent("", "  ")
						return enc.Encode(s)
					}
					writeSummary(stdout, args[1], s)
					if s.State != "valid" {
						return errSilent
					}
					return nil
				}
				key, err := image.KeyFromFiles(*keyFile, *passFile)
				if err != nil {
					return err
				}
				im, err := image.Open(f, size, key)
				if err == nil {
					err = im.Verify()
				}
				if err != nil {
					return fmt.Errorf("%s is not a valid image:\n  %s", args[1], strings.ReplaceAll(err.Error(), "\n", "\n  "))
				}
				h := im.Header()
				fmt.Fprintf(stdout, "%s: valid: %d pages of %s (%s) in %d chunks, every checksum right\n", args[1], h.Pages, h.Release, h.Identity, h.Chunks)
				return nil
			}
		},
	})
}

// openSized opens a file or a block device and returns its size.
func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, size, nil
}

func writeSummary(w io.Writer, path string, s *image.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	state := s.State
	if s.Problem != "" {
		state += ": " + s.Problem
	}
	row("image", path)
	row("state", state)
	row("kernel", s.Release+" ("+s.Identity+")")
	row("created", s.Created.Format("2006-01-02 15:04:05 MST"))
	row("RAM", fmt.Sprintf("%s, %d CPUs", memmap.FormatSize(s.RAMSize), s.CPUs))
	row("pages", fmt.Sprintf("%d in %d runs, %d chunks (%s, %d pages each)", s.Pages, s.Runs, s.Chunks, s.Compression, s.PagesPerChunk))
	row("size", fmt.Sprintf("%s of memory in %s", memmap.FormatSize(s.RawBytes), memmap.FormatSize(s.Length)))
	enc := "no"
	if s.Encrypted {
		enc = "yes (" + s.KDF + ")"
	}
	row("encrypted", enc)
	row("jump back", fmt.Sprintf("%#x", s.JumpBack))
	row("uuid", s.UUID)
	tw.Flush()
}
