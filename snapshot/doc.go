// Package snapshot takes a live snapshot of the running system through a kexec
// jump: the first kernel hands the machine to a second kernel, which writes the
// first kernel's memory as a dump file and jumps back; the system carries on.
//
// The protocol:
//
//  1. First kernel (Take): picks the second kernel's region, opens a mailbox page
//     outside it (package mailbox) and writes the request there (JSON: output
//     device, dump level, format, compression); loads a second kernel whose job is
//     "kjump snapshot-write --mailbox ADDR" and syncs; jumps.
//  2. Second kernel (internal/snapshotwrite.Write, kjump snapshot-write): reads the request from the mailbox through /dev/mem;
//     reads the first kernel's memory from /proc/vmcore; adds the pages the jump
//     swapped out of its own region from where the first kernel's page list says
//     they went (kexec.ReadSwapMap), so the dump shows every page at its true
//     address; gives the dump the NT_PRSTATUS note of the CPU that jumped
//     (registers from the first kernel's control page and stack, the thread
//     and crash_notes buffer named in the request; dump.JumpedCPU); writes
//     the dump to the raw device; writes a summary (or the error) into the
//     mailbox; init jumps back.
//  3. First kernel: reads the summary, unloads the second kernel, drops the
//     device's page cache so the dump reads back fresh.
//
// When a hibernation writer kernel is parked (kjump hibernate --prepare), Take
// re-enters it instead of loading a second kernel: the request goes into its
// park page inside a hibernate.Request (Snapshot), the parked writer drops its
// caches, writes the dump as above (internal/snapshotwrite.Answer), answers and
// jumps back, still parked. If it cannot serve (no such device: a disk added
// after it booted; Reply.CannotServe), Take unloads it and loads a fresh
// second kernel.
//
// The second kernel never mounts anything: the output is a raw block device the
// first kernel names by its device number.
package snapshot
