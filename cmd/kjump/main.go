// Command kjump is the user-space half of Linux's kexec jump: it loads a second kernel
// with preserved context, jumps to it and back, and proves all of it in a QEMU lab.
// Run `kjump help` for the commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/kjump/kjump/internal/initmode"
)

// command is one subcommand: flags → library calls → output.
type command struct {
	name    string
	summary string
	usage   string // after "kjump NAME"
	help    string // what it does, an example, what it needs from the kernel
	// setup defines the command's flags on fs and returns the function that runs it
	// with the remaining arguments once fs is parsed.
	setup func(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error
}

// errUsage makes main exit 2 after the error was printed with the usage.
var errUsage = errors.New("usage")

// errSilent makes main exit 1 without printing anything more: the command already
// said what went wrong.
var errSilent = errors.New("failed")

// registry holds the commands in the order help lists them; each file adds its own
// in init.
var registry []command

func commands() []command {
	rank := map[string]int{}
	for i, n := range helpOrder {
		rank[n] = i + 1
	}
	out := slices.Clone(registry)
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := rank[out[i].name], rank[out[j].name]
		if ri == 0 || rj == 0 {
			return ri != 0 && rj == 0 // listed ones first
		}
		return ri < rj
	})
	return out
}

// helpOrder is the order 'kjump help' lists commands in: the workflow's.
var helpOrder = []string{"doctor", "load", "exec", "back", "unload", "shell", "call", "initramfs", "core",
	"snapshot", "snapshot-write", "dump", "hibernate", "hibernate-write", "resume", "image", "lab", "version"}

func main() {
	if os.Getpid() == 1 {
		initmode.Main(initmode.Config{}) // never returns
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		if len(args) > 1 {
			if c, ok := find(args[1]); ok {
				commandHelp(stdout, c)
				return 0
			}
			fmt.Fprintf(stderr, "kjump: no command %q\n", args[1])
			return 2
		}
		usage(stdout)
		return 0
	}
	if sub, ok := kexecToolsAction(args); ok && strings.HasPrefix(name, "-") {
		name = sub
	}
	c, ok := find(name)
	if !ok {
		fmt.Fprintf(stderr, "kjump: no command %q; run 'kjump help'\n", name)
		return 2
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runCmd := c.setup(fs)
	var err error
	rest := args[1:]
	if name != args[0] {
		rest = args // kexec-tools style: the action flag is among the flags
	}
	positional, perr := parseInterleaved(fs, rest, c.name != "lab")
	if errors.Is(perr, flag.ErrHelp) {
		commandHelp(stdout, c)
		return 0
	} else if perr != nil {
		fmt.Fprintf(stderr, "kjump %s: %v\n", c.name, perr)
		err = errUsage
	} else {
		err = runCmd(positional, stdout, stderr)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		if err != errUsage {
			fmt.Fprintf(stderr, "kjump %s: %v\n", c.name, err)
		}
		fmt.Fprintf(stderr, "usage: kjump %s %s\n", c.name, c.usage)
		return 2
	case errors.Is(err, errSilent):
		return 1
	}
	fmt.Fprintf(stderr, "kjump %s: %v\n", c.name, err)
	return 1
}

// kexecToolsAction maps kexec-tools' action flags to kjump commands, so
// "kjump -l bzImage --append=…" and "kjump -e" work like kexec.
func kexecToolsAction(args []string) (string, bool) {
	for _, a := range args {
		switch a {
		case "-l", "--load", "-load", "--load-preserve-context", "-load-preserve-context":
			return "load", true
		case "-e", "--exec", "-exec":
			return "exec", true
		case "-u", "--unload", "-unload":
			return "unload", true
		}
	}
	return "", false
}

// parseInterleaved parses flags anywhere among the arguments, as kexec-tools'
// getopt does ("kjump load bzImage --append=…"), unless interleave is false.
// "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string, interleave bool) ([]string, error) {
	var after []string
	for i, a := range args {
		if a == "--" {
			args, after = args[:i], args[i+1:]
			break
		}
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if !interleave || len(args) == 0 {
			positional = append(positional, args...)
			return append(positional, after...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func find(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage(w io.Writer) {
	fmt.Fprint(w, `kjump — jump from the running Linux kernel into a second kernel and back.

Linux can hand the machine to a second, kexec-loaded kernel and take it back
(CONFIG_KEXEC_JUMP, kexec_load(2) with KEXEC_PRESERVE_CONTEXT). kjump is the
user-space half of that: it checks the machine, and proves every feature on a
real kernel in a QEMU lab.

Usage: kjump COMMAND [flags] [args]

Commands:
`)
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'kjump help COMMAND' for what a command does, an example, and what it needs
from the kernel. Start with 'kjump doctor' on a machine, or 'kjump lab demo'.
`)
}

func commandHelp(w io.Writer, c command) {
	fmt.Fprintf(w, "usage: kjump %s %s\n\n%s\n", c.name, c.usage, strings.TrimSpace(c.help))
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.setup(fs)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nflags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}
