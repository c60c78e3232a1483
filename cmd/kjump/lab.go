package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/kjump/kjump/lab"
)

func init() {
	registry = append(registry, command{
		name:    "lab",
		summary: "build a kexec-jump kernel and prove kjump on it in QEMU (build, test, demo)",
		usage:   "build [--real] | list | test [SCENARIO...] | demo | bench [NAME...] [--ram MIB] [--tools T,...] [--load PCT,...] [--runs N]",
		help: `The lab proves every kjump feature end to end on a real kernel, in QEMU, on a
machine without KVM. It builds Linux from Debian's linux-source-6.12 with kjump's
config fragment (tinyconfig + kexec jump, hibernation, crash dump, SMP, KASLR,
STRICT_DEVMEM), caches it under $XDG_CACHE_HOME/kjump (default ~/.cache/kjump) keyed
by the source and the config, makes an initramfs whose /init is this kjump binary
(plus busybox for a shell), and boots it with qemu-system-x86_64.

Subcommands:
  build              build (or find cached) the kernel and the initramfs; print paths
  build --real       also the real machine: Debian's own 6.12 config plus
                     CONFIG_KEXEC_JUMP (modules reduced to a QEMU guest's; about
                     30 minutes on 2 cores, once), and a Debian 12 disk image
                     (debootstrap, GRUB, the kernel, kjump installed by
                     dist/README.md); the real-... scenarios build it too
  list               list the scenarios
  test [SCENARIO...] run scenarios (all by default): one line each,
                     "PASS name (N.Ns)" or "FAIL name: reason (log: PATH)",
                     then "N passed, M failed"; exits 1 if any failed
  demo               a readable transcript of kjump at work in a guest
  bench [NAME...]    benchmarks (all by default), each printing a table:
                     jump: kjump beside kexec-tools, load / exec / back / re-entry
                     dump: kjump dump beside makedumpfile on a lab vmcore
                     hibernate: kjump hibernate beside swsusp; its rows:
                     --ram MIB (guest RAM, default 1024), --tools (of kjump,
                     kjump-parked, kjump-lz4, kjump-none, swsusp; default
                     all), --load (percent of RAM in use, default 25,75,90),
                     --runs (per row, default 3)

Needs: apt-get install linux-source-6.12 qemu-system-x86 busybox-static
       build-essential flex bison bc libelf-dev libssl-dev
The first build takes about 6 minutes on 2 cores; later runs reuse it.
kjump must be a static binary (CGO_ENABLED=0 go build ./cmd/kjump): it becomes the
guest's /init.

Examples:
  $ kjump lab test boot
  $ kjump lab demo
  $ kjump lab bench hibernate --ram 4096 --tools kjump-none,swsusp --load 75 --runs 1`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) == 0 {
					return errUsage
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				sub, rest := args[0], args[1:]
				switch sub {
				case "list":
					for _, s := range lab.Scenarios() {
						fmt.Fprintf(stdout, "%-24s %s\n", s.Name, s.Summary)
					}
					return nil
				case "build", "test", "demo", "bench":
				default:
					return fmt.Errorf("no lab subcommand %q: %w", sub, errUsage)
				}
				var scenarios []lab.Scenario
				var benches []lab.Bench
				var hb lab.HibernateBench
				buildReal := false
				if sub == "test" {
					var err error
					if scenarios, err = lab.Lookup(rest); err != nil {
						return err
					}
				} else if sub == "bench" {
					names, err := benchFlags(rest, &hb)
					if err != nil {
						return err
					}
					benches = lab.Benches()
					if len(names) > 0 {
						benches = nil
						for _, name := range names {
							found := false
							for _, b := range lab.Benches() {
								if b.Name == name {
									benches, found = append(benches, b), true
								}
							}
							if !found {
								return fmt.Errorf("no lab bench %q", name)
							}
						}
					}
				} else if sub == "build" && len(rest) == 1 && (rest[0] == "--real" || rest[0] == "-real") {
					buildReal = true
				} else if len(rest) > 0 {
					return errUsage
				}
				l, err := lab.New(ctx, lab.Options{Progress: stderr})
				if err != nil {
					return err
				}
				l.HibernateBench = hb
				switch sub {
				case "build":
					fmt.Fprintf(stdout, "kernel:    %s\nconfig:    %s\nvmlinux:   %s\ninitramfs: %s\n",
						l.Kernel.BzImage, l.Kernel.Config, l.Kernel.Vmlinux, l.Initramfs)
					if buildReal {
						m, err := l.Real(ctx)
						if err != nil {
							return err
						}
						fmt.Fprintf(stdout, "real kernel:  %s\nreal config:  %s\nreal vmlinux: %s\nreal modules: %s\nreal disk:    %s\n",
							m.Kernel.BzImage, m.Kernel.Config, m.Kernel.Vmlinux, m.Kernel.Modules, m.Disk)
					}
				case "test":
					for _, r := range l.Test(ctx, scenarios, stdout) {
						if r.Err != nil {
							return errSilent
						}
					}
				case "demo":
					return l.Demo(ctx, stdout)
				case "bench":
					for _, b := range benches {
						fmt.Fprintf(stdout, "== bench %s: %s\n", b.Name, b.Summary)
						if err := b.Run(ctx, l, stdout); err != nil {
							return err
						}
						fmt.Fprintln(stdout)
					}
				}
				return nil
			}
		},
	})
}

// benchFlags parses kjump lab bench's arguments: bench names, and the
// hibernate bench's flags anywhere among them.
func benchFlags(args []string, hb *lab.HibernateBench) ([]string, error) {
	fs := flag.NewFlagSet("lab bench", flag.ContinueOnError)
	fs.IntVar(&hb.MemoryMiB, "ram", 0, "hibernate: the guest's RAM in MiB (default 1024)")
	tools := fs.String("tools", "", "hibernate: comma-separated tools (default all)")
	loads := fs.String("load", "", "hibernate: comma-separated percentages of RAM in use (default 25,75,90)")
	fs.IntVar(&hb.Runs, "runs", 0, "hibernate: runs per row (default 3)")
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		names, args = append(names, args[0]), args[1:]
	}
	if *tools != "" {
		hb.Tools = strings.Split(*tools, ",")
	}
	if *loads != "" {
		for _, p := range strings.Split(*loads, ",") {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 95 {
				return nil, fmt.Errorf("--load %q: want percentages of 1 to 95: %w", *loads, errUsage)
			}
			hb.Loads = append(hb.Loads, n)
		}
	}
	if hb.MemoryMiB < 0 || hb.Runs < 0 {
		return nil, errUsage
	}
	return names, nil
}
