// Package qemu boots a guest in qemu-system-x86_64 for kjump's lab and tests, and
// watches its serial console.
//
// Start runs QEMU with TCG (no KVM needed), no default devices, no display, the
// first serial port on QEMU's stdin/stdout, no monitor, no network, and -no-reboot,
// so a guest reboot or power-off ends the QEMU process. Disks are virtio block
// devices; several boots of the same disk image are made by powering one VM off (or
// killing it) and starting a new one, which is what hibernation and resume need.
//
// What the runner guarantees:
//
//   - Console log. Every console line is written to Config.Log as it arrives,
//     prefixed with the host time since QEMU started, as "[  12.345] text". The
//     first line of the log is the full QEMU command line; QEMU's own stderr lines
//     are logged as "[  12.345] (qemu stderr) text"; the last line records how
//     QEMU exited. The log is flushed after every read from the console and closed
//     when QEMU exits. Config.Echo, if set, gets the same lines (all but the
//     command line) from a goroutine of its own. Carriage returns are dropped;
//     other bytes are kept as they are. The console is always drained, so a slow
//     log disk, a slow Echo writer or a caller that never calls Expect cannot
//     stall the guest's serial port.
//
//   - Cursor. Expect matches regular expressions against console lines after a
//     cursor, one line at a time and in order, and moves the cursor past the line
//     that matched; each line is matched by at most one Expect call. The last
//     line, before its newline has come, is matched too, once the console has been
//     quiet for 100 ms (a shell prompt waiting for input, say): the quiet time keeps
//     a pattern from matching the beginning of a line still being printed. A match
//     there consumes that whole line, including whatever is appended to it later
//     (typically the echo of a command typed at the prompt).
//
//   - Kill on timeout. When Expect or Wait times out, the VM is killed and reaped
//     before the *TimeoutError is returned; its message names the patterns, the
//     time and the log path. If QEMU exits before a line matches, Expect returns an
//     *ExitedError with the exit status, the log path and the last console lines.
//
//   - One process group per VM. QEMU runs in a process group of its own, and is
//     given SIGKILL as its parent-death signal. Kill, a timeout, the end of the
//     context passed to Start, and QEMU's own exit all end with SIGKILL to the
//     whole group before the leader is reaped, so a child QEMU started cannot
//     outlive it, and a group id is never signalled after it could have been
//     reused. Linux sends the parent-death signal when the thread that started
//     QEMU exits, which in a Go program is normally when the program exits.
//
// Send types into the console, through QEMU's stdin.
//
// A VM is driven from one goroutine at a time; Console, LogPath, Pid, Elapsed and
// Kill may be called from any goroutine.
package qemu
