// Package hibernate saves the running system to disk through a kexec jump and
// restores it after a power-off: the first kernel (K1) jumps to a second kernel
// (K2) that writes K1's memory as an image (package image) and powers off; on
// the next boot a resume kernel (R) restores that memory and jumps back into
// K1, whose processes carry on. There is no freezer copy inside K1, so K1 may
// use nearly all of its RAM.
//
// The protocol:
//
//  1. K1 (Hibernate, kjump hibernate): reads its identity (ReadSystem: uname
//     release and version, GNU build ID from /sys/kernel/notes, a hash of the
//     firmware's memory map, possible CPUs) and the block devices it has
//     mounted; checks the image target (a raw block device, not mounted, not
//     swap) and that the second kernel's region holds a resume kernel booted by
//     the firmware (CheckResumeRegion: without KASLR it runs from its preferred
//     load address, 16 MiB on x86_64). It puts the request (JSON) into a
//     mailbox page (package mailbox), loads K2 with the job
//     "kjump hibernate-write --mailbox ADDR" (kjump.then=poweroff,
//     kjump.onerror=back), syncs filesystems and jumps.
//  2. K2 (Write, kjump hibernate-write): takes the request and marks the
//     mailbox "working" (the key leaves K1's memory); fingerprints every device
//     K1 has mounted (Fingerprint: the ext2/3/4 superblock, which a mount
//     rewrites, or the first 128 KiB); lists K1's page frames from
//     /proc/vmcore, leaving out free pages (package pageclass) and recording
//     all-zero pages as zero runs; writes the image (header with K1's identity,
//     the jump-back entry from kexec_jump_back_entry=, the mailbox address and
//     the fingerprints; commit record last) and powers off. K1's memory is saved
//     as it is during the jump, pages the jump moved out of the region included
//     where kexec put them: on the way back K1's own kexec code moves them home.
//     On any error it writes the error into the mailbox and jumps back: K1
//     reports it and carries on.
//  3. R (Resume, kjump resume, from the initramfs): must run inside K2's region
//     (ResumeCommandLine: nokaslr memmap=exactmap …). Check opens the image and
//     validates everything before writing anything: the format, every chunk's
//     checksum (and with a key, its authentication), the kernel build and the
//     machine (System.Compare), the mounted filesystems' fingerprints
//     (ErrStaleFS), and that R's RAM is disjoint from the saved pages
//     (ErrOverlap). Any failure leaves the disk and memory untouched and R boots
//     on normally. Then Resume marks the image consumed on disk (one-shot),
//     writes the pages and zero runs into K1's memory through /dev/mem, leaves a
//     report in K1's mailbox, and jumps back to the saved entry (loading the
//     jump-back helper as K2 would).
//  4. K1: returns from its jump, reads the report, unloads K2.
package hibernate
