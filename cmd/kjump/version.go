package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time with -ldflags "-X main.version=v1.2.3
// -X main.commit=abc123" (./run sets commit); commit falls back to the VCS stamp.
var (
	version = "dev"
	commit  = ""
)

func init() {
	registry = append(registry, command{
		name:    "version",
		summary: "print kjump's version, the commit it was built from, and the Go toolchain",
		usage:   "",
		help: `Prints kjump's version, the VCS commit it was built from (when built from a git
checkout) and the Go toolchain.

Example:
  $ kjump version
  kjump dev (commit 1a2b3c4d5e6f, go1.26.8 linux/amd64)`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return errUsage
				}
				commit := commit
				if bi, ok := debug.ReadBuildInfo(); ok && commit == "" {
					for _, s := range bi.Settings {
						switch s.Key {
						case "vcs.revision":
							commit = s.Value
							if len(commit) > 12 {
								commit = commit[:12]
							}
						case "vcs.modified":
							if s.Value == "true" {
								commit += "+dirty"
							}
						}
					}
				}
				if commit == "" {
					commit = "unknown"
				}
				fmt.Fprintf(stdout, "kjump %s (commit %s, %s %s/%s)\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
				return nil
			}
		},
	})
}
