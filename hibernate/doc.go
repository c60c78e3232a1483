// Package hibernate saves the running system to disk through a kexec jump and
// restores it after a power-off: the first kernel (K1) jumps to a second kernel
// (K2) that writes K1's memory as an image (package image) and powers off; on
// the next boot a resume kernel (R) restores that memory and jumps back into
// K1, whose processes carry on. There is no freezer copy inside K1, so K1 may
// use nearly all of its RAM.
//
// The protocol:
//
//  1. K1 (Hibernate, kjump hibernate): checks everything first — the
//     action after the write (PowerOff or Reboot only: anything else would
//     let K1 carry on beside a valid image of itself), the compression and
//     key, the target (a raw block device not mounted, not swap, not held by
//     dm/md/LVM, at least as large as the memory in use plus ImageOverhead;
//     or a file on a disk filesystem), kjump doctor, and that the region
//     holds a resume kernel booted by the firmware (CheckResumeRegion).
//     Only then does it preallocate a file target, put the request (JSON)
//     into a mailbox page (package mailbox), load K2 with the job
//     "kjump hibernate-write --mailbox ADDR" (kjump.then=poweroff,
//     kjump.onerror=back), sync and jump.
//  2. K2 (internal/hibernatewrite.Write, kjump hibernate-write): takes the request and marks the
//     mailbox Working (the key leaves K1's memory before it is saved);
//     fingerprints every device K1 has mounted; lists K1's page frames from
//     /proc/vmcore, leaving out free pages (package pageclass) and recording
//     all-zero pages as zero runs; writes the image (header with K1's
//     identity, the jump-back entry, the mailbox address and the
//     fingerprints; commit record last); marks the mailbox Committed with the
//     image's UUID; powers off. Compression (Request.Compression,
//     CompressionOptions) is auto by default: zstd on as many chunks as the
//     workers compress while keeping ahead of the disk, the rest stored raw
//     (image.WriteOptions.Adaptive measures both as it goes, the disk's time
//     by the kernel's count, io_ticks). The device is written with O_DIRECT,
//     several chunks in flight, from reused buffers (a raw chunk straight
//     from the buffer its pages were read into). On an error it revokes what it wrote, marks
//     the mailbox Failed with the reason (cut on a rune boundary until its
//     JSON fits the page; the write is read back) and jumps back.
//  3. R (Resume, kjump resume, from the initramfs): runs inside K2's region
//     (ResumeCommandLine). Check validates, writing nothing: the header, map,
//     chunk headers and commit record (and the key); the kernel build and the
//     machine (System.Compare); the filesystems' fingerprints (ErrStaleFS);
//     that R's RAM is disjoint from the saved pages (ErrOverlap); that every
//     run is RAM in the firmware's map and the jump-back entry and mailbox lie
//     in saved pages (ErrLayout); that the image fits R's memory budget
//     (image.ErrLimit); that R could do the jump back's kexec_load. Then, in
//     this order, each step only if the one before succeeded:
//     a. every chunk is read (with O_DIRECT, straight into a reused buffer),
//     checked (CRC-32C, and GCM when encrypted),
//     decoded and written into K1's memory through /dev/mem, once; zero
//     runs are cleared. Nothing runs in that memory until the jump, so a
//     failure here (a chunk that does not decode, an I/O error, an
//     allocation) harms nothing: the image stays resumable;
//     b. the report goes into K1's mailbox page (which the image restored
//     as Working) as Done, and is read back;
//     c. the jump-back helper is loaded (kexec_load);
//     d. the image is marked consumed — only if it is still the image with
//     the UUID that was restored — and the device synced: the point of
//     no return;
//     e. the jump.
//     Any failure before d leaves the image resumable; R says why and boots on.
//  4. K1: returns from its jump and reads the mailbox. Done (the resume
//     kernel's report) is the only success. Anything else means K1 carries on
//     without having been resumed — Request (K2 never took it), Working (K2
//     died writing: a panic, the OOM killer), Committed (K2 came back after
//     committing), Failed (K2's reason) — and K1 revokes the image on the
//     target (its header becomes the begin marker: ErrIncomplete), removes a
//     file target, and fails saying which.
//
// # A parked writer
//
// Prepare (kjump hibernate --prepare) loads K2 into a region reserved with
// memmap=SIZE$ADDR, with the job "hibernate-write --mailbox PARK" where PARK
// is the region's park page (kexec.ParkPage: its last page, in no kexec
// segment and in neither kernel's RAM, so both reach it through /dev/mem and
// no process has to keep it), and jumps in once with Request.Park: K2 boots,
// answers Done (Report.Parked) and its init jumps back. K1 records the parked
// kernel under /run (jump.Parked) and leaves it loaded. Hibernate then writes
// its request into the park page and re-enters K2 (no load, no boot), with
// Request.Parked and Request.Report: a fresh page of K1's memory where K2 and
// R leave the states (the park page is not saved in the image, so the states
// R must find restored live there). K2 first drops its caches and looks up
// every device of the request; one it does not have (a disk added after it
// booted) makes it answer Failed with Report.CannotServe, and Hibernate
// unloads it and loads a fresh writer. Otherwise it writes as above and ends
// with Request.Then itself (its init's action is to jump back). After a
// resume K1 unloads it: its memory was the resume kernel's since. Hybrid
// sleep always uses a fresh writer.
//
// The parked writer also takes snapshots (package snapshot): kjump snapshot
// re-enters it with Request.Snapshot (a snapshot request) instead of loading a
// snapshot kernel. It drops its caches and looks the output device up as
// above (one it does not have: CannotServe in snapshot's reply, and kjump
// snapshot unloads it and loads a fresh second kernel), writes the dump as a
// fresh snapshot-write kernel does (internal/snapshotwrite.Answer), answers
// in the park page, and its init jumps back: it stays parked for the next
// snapshot or hibernation (ParkedWriter finds it).
//
// # Memory budget
//
// K2 and R live in a region of a few hundred MiB with an initramfs unpacked
// in it, on machines that may have 64 CPUs. Both take MemoryBudget — half of
// MemAvailable — as the Go runtime's memory limit and size everything from
// it: K2's compression workers (each holding two raw and two compressed
// chunks and an encoder) and its chunk writes in flight (up to 8, at most an
// eighth of the budget), the Argon2id memory of a passphrase (at most half
// the budget), R's decoding workers and chunks in flight (image.Limits:
// image.WorkerMemory each), and the page map. A header that asks for more
// than the budget (pages per chunk, runs, KDF memory) is refused before
// anything is allocated or written.
//
// # Test faults
//
// The lab makes the writer die on purpose with the second kernel's parameter
// kjump.test_fault= (kjump hibernate --append): FaultMidWrite kills it with
// SIGKILL halfway through the pages, FaultCommitted right after the commit
// record. Nothing else reads the parameter.
package hibernate
