package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/internal/atomicfile"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/pageclass"
)

func init() {
	registry = append(registry, command{
		name:    "dump",
		summary: "copy a vmcore into a smaller dump file for crash or makedumpfile (makedumpfile -d N -c)",
		usage:   "[flags] SRC DST | -F [flags] SRC | -R DST | --dump-dmesg SRC LOGFILE",
		help: `Copies the ELF vmcore SRC (/proc/vmcore in a kdump or kexec-jump second kernel,
or a saved copy of it) to DST, leaving out the pages a crash analysis does not
need, like makedumpfile. --level takes makedumpfile's -d bits:
   1  pages that are all zero
   2  page cache without private data
   4  page cache with private data
   8  user process data (anonymous and hugetlbfs pages)
  16  free pages
Bits above 1 read the kernel's struct pages, found through SRC's VMCOREINFO
note. Hardware-poisoned and offline pages are always left out then.

--format kdump (default) writes the kdump-compressed format, each page
compressed on its own; --compress picks how:
  zlib    read by crash and by makedumpfile (the default)
  lzo     read by crash and by makedumpfile; faster, larger (makedumpfile -l)
  none    read by crash and by makedumpfile; largest
  zstd    read by crash only (Debian's makedumpfile is built without it)
  snappy  read by crash only (likewise)
--format elf writes an ELF core like makedumpfile -E, which both read.
makedumpfile's spellings work too: -c, -l, -p and -z for --compress zlib, lzo,
snappy and zstd, -E for --format elf, --num-threads for --threads.

-F writes the dump to standard output instead of DST, in makedumpfile's
flattened format (makedumpfile -F): a stream for a pipe or ssh, which crash
opens as it is and makedumpfile -R or kjump dump -R turn back into the file.
The summary goes to standard error then. -R DST reads such a stream (also
QEMU's dump-guest-memory's flattened formats) from standard input and writes
DST like a dump: a stream cut short leaves a file DST as it was.

--dump-dmesg SRC LOGFILE writes the kernel log that SRC holds (an ELF vmcore
such as /proc/vmcore, or a kdump-compressed file, kjump's or makedumpfile's)
to LOGFILE, as makedumpfile --dump-dmesg does: Linux 5.10 and later.

DST is written as DST.tmp-XXXX in the same directory, synced and renamed when
complete (mode 0600); on an error or Ctrl-C it is removed. A DST that is a block
device is written in place, its first block last (zeroed on an error). The
output does not depend on --threads. A progress bar goes to stderr when it is a
terminal.

Examples:
  # in the second kernel: save the first kernel's memory without free pages
  $ kjump dump /proc/vmcore /var/crash/vmcore.kdump
  $ crash --osrelease /var/crash/vmcore.kdump
  # keep everything but zero pages, zstd, and a JSON summary
  $ kjump dump --level 1 --compress zstd --json vmcore.elf vmcore.zst | jq .mb_per_s
  # a filtered ELF core that makedumpfile --dump-dmesg and crash read
  $ kjump dump --format elf vmcore.elf vmcore.small.elf
  # as makedumpfile would be called: LZO, level 31
  $ kjump dump -l -d 31 /proc/vmcore /var/crash/vmcore.kdump
  # from the second kernel to another machine, and back into a file there
  $ kjump dump -F -l /proc/vmcore | ssh host 'kjump dump -R /var/crash/vmcore.kdump'
  # the crashed kernel's log, as kdump-tools saves it beside the dump
  $ kjump dump --dump-dmesg /proc/vmcore /var/crash/dmesg.txt`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			level := fs.String("level", "31", "dump level: the page classes to leave out, 0 to 31 (makedumpfile -d)")
			fs.StringVar(level, "d", "31", "same as --level")
			format := fs.String("format", "kdump", "output format: kdump or elf")
			compress := fs.String("compress", "zlib", "kdump page compression: zlib, lzo, zstd, snappy or none (zstd and snappy: crash only)")
			spellings := map[string]*bool{"E": fs.Bool("E", false, "same as --format elf (makedumpfile -E)")}
			for _, m := range makedumpfileCompressions {
				spellings[m.flag] = fs.Bool(m.flag, false, "same as --compress "+m.compress+" (makedumpfile -"+m.flag+")")
			}
			threads := fs.Int("threads", runtime.NumCPU(), "goroutines that read and compress pages")
			fs.IntVar(threads, "num-threads", runtime.NumCPU(), "same as --threads (makedumpfile --num-threads)")
			asJSON := fs.Bool("json", false, "print a JSON summary at the end")
			flat := fs.Bool("F", false, "write the dump to standard output in makedumpfile's flattened format (makedumpfile -F); no DST")
			rebuild := fs.Bool("R", false, "rebuild DST from a flattened stream on standard input (makedumpfile -R); no SRC")
			log := fs.Bool("dump-dmesg", false, "write the kernel log SRC holds to LOGFILE instead of a dump (makedumpfile --dump-dmesg)")
			return func(args []string, stdout, stderr io.Writer) error {
				switch {
				case *flat && *rebuild:
					return fmt.Errorf("-F and -R: one writes a stream, the other reads one: %w", errUsage)
				case *log:
					if len(args) != 2 || fs.NFlag() != 1 {
						return fmt.Errorf("--dump-dmesg takes SRC and LOGFILE and no other flag: %w", errUsage)
					}
					if err := atomicfile.Write(args[1], 0o600, func(w io.Writer) error { return dump.Dmesg(args[0], w) }); err != nil {
						return err
					}
					fmt.Fprintf(stdout, "%s: the kernel log of %s\n", args[1], args[0])
					return nil
				case *rebuild:
					if len(args) != 1 || fs.NFlag() != 1 {
						return fmt.Errorf("-R takes DST and no other flag: %w", errUsage)
					}
					if isTerminal(os.Stdin) {
						return fmt.Errorf("-R reads the stream from standard input, which is a terminal: pipe it (ssh host 'kjump dump -F SRC' | kjump dump -R DST) or redirect it: %w", errUsage)
					}
					size, err := dump.Rebuild(os.Stdin, args[0])
					if err != nil {
						return err
					}
					fmt.Fprintf(stdout, "%s: rebuilt from the flattened stream, %s\n", args[0], memmap.FormatSize(uint64(size)))
					return nil
				case *flat:
					if len(args) != 1 {
						return fmt.Errorf("-F takes SRC only: the dump goes to standard output: %w", errUsage)
					}
					if f, ok := stdout.(*os.File); ok && isTerminal(f) {
						return fmt.Errorf("-F writes the dump to standard output, which is a terminal: pipe it (| ssh host 'kjump dump -R FILE') or redirect it: %w", errUsage)
					}
				case len(args) != 2:
					return errUsage
				}
				given := map[string]bool{}
				fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
				picked := map[string]bool{}
				for name, on := range spellings {
					picked[name] = *on
				}
				var err error
				if *compress, *format, err = resolveDumpFormat(picked, *compress, given["compress"], *format, given["format"]); err != nil {
					return fmt.Errorf("%w: %w", err, errUsage)
				}
				opt := dump.DefaultOptions()
				if opt.Level, err = pageclass.ParseLevel(*level); err != nil {
					return fmt.Errorf("--level: %w: %w", err, errUsage)
				}
				if opt.Format, err = dump.ParseFormat(*format); err != nil {
					return fmt.Errorf("--format: %w: %w", err, errUsage)
				}
				if opt.Compression, err = dump.ParseCompression(*compress); err != nil {
					return fmt.Errorf("--compress: %w: %w", err, errUsage)
				}
				if *threads < 1 {
					return fmt.Errorf("--threads %d: want at least 1: %w", *threads, errUsage)
				}
				opt.Threads = *threads
				var bar *progressBar
				if f, ok := stderr.(*os.File); ok && isTerminal(f) {
					bar = newProgressBar(f)
					opt.Progress = bar.update
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				var sum dump.Summary
				if *flat {
					sum, err = dump.RunFlattened(ctx, args[0], stdout, "standard output", opt)
					stdout = stderr // the summary: standard output holds the stream
				} else {
					sum, err = dump.RunContext(ctx, args[0], args[1], opt)
				}
				if bar != nil {
					bar.finish()
				}
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(sum)
				}
				writeDumpSummary(stdout, sum)
				return nil
			}
		},
	})
}

// makedumpfileCompressions are makedumpfile's compression flags and the
// --compress each stands for.
var makedumpfileCompressions = []struct{ flag, compress string }{
	{"c", "zlib"}, {"l", "lzo"}, {"p", "snappy"}, {"z", "zstd"},
}

// resolveDumpFormat folds makedumpfile's -c, -l, -p, -z and -E (those
// in picked that are true; kjump dump has them) into --compress and
// --format, which the user gave explicitly when compressSet and formatSet
// say so. Flags that contradict each other are an error, as is a
// compression given with the ELF format, which has none (makedumpfile
// refuses -E with -c too). kjump dump and kjump snapshot both check here.
func resolveDumpFormat(picked map[string]bool, compress string, compressSet bool, format string, formatSet bool) (string, string, error) {
	for _, m := range makedumpfileCompressions {
		if !picked[m.flag] {
			continue
		}
		if compressSet && compress != m.compress {
			return "", "", fmt.Errorf("-%s means --compress %s, and --compress %s was given too", m.flag, m.compress, compress)
		}
		compress, compressSet = m.compress, true
	}
	if picked["E"] {
		if formatSet && format != "elf" {
			return "", "", fmt.Errorf("-E means --format elf, and --format %s was given too", format)
		}
		format, formatSet = "elf", true
	}
	if format == "elf" && compressSet {
		return "", "", fmt.Errorf("--compress %s: the ELF format stores pages uncompressed; leave out the compression or use --format kdump", compress)
	}
	return compress, format, nil
}

func writeDumpSummary(w io.Writer, s dump.Summary) {
	what := "kdump-compressed, " + s.Compression
	if s.Format == "elf" {
		what = "ELF core"
	}
	fmt.Fprintf(w, "%s: %s, level %d, %s\n", s.Dest, what, s.Level, memmap.FormatSize(uint64(s.OutputBytes)))
	fmt.Fprintf(w, "  pages     %d in %s (%s), %d left out, %d written\n",
		s.PagesTotal, s.Source, memmap.FormatSize(s.InputBytes), s.PagesExcluded, s.PagesWritten)
	e := s.Excluded
	fmt.Fprintf(w, "  left out  zero %d, cache %d, cache with private %d, user %d, free %d, hwpoison %d, offline %d\n",
		e.Zero, e.Cache, e.CachePrivate, e.User, e.Free, e.HWPoison, e.Offline)
	if s.PagesOverlay > 0 {
		fmt.Fprintf(w, "  overlay   %d pages from outside SRC\n", s.PagesOverlay)
	}
	if s.PagesUnclassified > 0 {
		fmt.Fprintf(w, "  kept      %d pages whose struct page could not be read\n", s.PagesUnclassified)
	}
	fmt.Fprintf(w, "  took      %.2fs, %.0f MB/s, %d threads\n", s.Seconds, s.MBps, s.Threads)
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
