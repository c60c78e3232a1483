// Package dist holds no Go code to import: the directory is kjump's
// integration with a distribution's boot (Debian 12: GRUB 2, initramfs-tools,
// systemd 252), and this package only tests those files.
//
// The protocol they implement, end to end: the running system reserves a
// memory region at boot (memmap=240M$16M, or crashkernel=240M@16M on UEFI);
// systemd/kjump-sleep (run for "systemctl hibernate") makes GRUB boot the
// resume entry once (grub-reboot 'kjump-resume>kjump-resume-RELEASE') and runs
// 'kjump hibernate --to DEVICE' confined to the region; the second kernel
// writes the image and powers off. At power-on GRUB boots the entry that
// grub.d/42_kjump-resume generated — the same kernel, confined to the region
// with "nokaslr memmap=exactmap memmap=256K@128K memmap=<size>K@<start>K" and
// given "kjump.resume=DEVICE" — and its initramfs, built with
// initramfs-tools/hooks/kjump, runs initramfs-tools/scripts/local-premount/kjump
// before any filesystem is checked or mounted. That script reads kjump.resume=,
// kjump.resume_key=, kjump.resume_passphrase=, kjump.resume_offset= (an image
// file's first block on DEVICE) and kjump.resume_wait= from
// /proc/cmdline (split without pathname expansion, nothing evaluated), waits
// a bounded time for the device, and runs
// 'kjump resume --from DEVICE [--offset N] [--key-file F | --passphrase-file F]', which
// does not return when it resumes; when it returns, the script logs why and
// exits 0 so the boot goes on. README.md explains the memory layout and the
// installation.
//
// The tests run every script under sh -n and shellcheck, run the initramfs
// script, the hook, the GRUB helper and kjump-sleep against fake environments
// (a fake /proc/cmdline, a fake kjump on PATH that records its arguments, stub
// initramfs functions), and check the systemd units with systemd-analyze.
// Each check that needs a tool the machine lacks (shellcheck,
// initramfs-tools' hook-functions, GRUB's grub-mkconfig_lib, systemd-analyze)
// skips with the reason.
package dist
