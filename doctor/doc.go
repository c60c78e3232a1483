// Package doctor answers one question: can kexec jump work on this machine,
// and if not, what has to change?
//
// A kexec jump loads a second kernel with kexec_load(2) and the
// KEXEC_PRESERVE_CONTEXT flag, then calls reboot(LINUX_REBOOT_CMD_KEXEC):
// the running kernel suspends its devices like for hibernation, jumps into
// the second kernel, and continues where it stopped when the second kernel
// jumps back. That needs, on the running kernel:
//
//   - CONFIG_KEXEC_JUMP, which depends on CONFIG_KEXEC (the kexec_load
//     syscall) and CONFIG_HIBERNATION (the device suspend/resume path).
//     Debian's kernels ship without it, so most users need a kernel built
//     for the purpose; CONFIG_CRASH_DUMP and CONFIG_PROC_VMCORE (the second
//     kernel reading the first one's memory through /proc/vmcore),
//     CONFIG_PROC_KCORE and CONFIG_DEVMEM (reading physical memory) too.
//     The configuration is read from /proc/config.gz or
//     /boot/config-RELEASE (package kconfig).
//   - kexec_load allowed: sysctl kernel.kexec_load_disabled is 0 (once set
//     to 1 it stays until reboot), kernel.kexec_load_limit_reboot is not 0,
//     the kernel is not locked down (/sys/kernel/security/lockdown shows
//     the mode in brackets; "integrity" and "confidentiality" forbid
//     kexec_load and hibernation), and the caller has CAP_SYS_BOOT (bit 22
//     of CapEff in /proc/self/status).
//   - A memory map (/sys/firmware/memmap, else /proc/iomem, which shows real
//     addresses only to root) and a region of RAM for the second kernel
//     (package memmap): a crashkernel= reservation if there is one, else a
//     window of System RAM that is swapped out and back at each jump.
//   - The disks' drivers (row "disk drivers"): a distribution kernel builds
//     virtio_blk, ahci, nvme and sd_mod as modules, which a second kernel only
//     has if kjump puts them into its initramfs (package modules). The row says
//     which disks need modules and whether that works: every module in
//     modules.dep, and an xz-compressed one loadable (CONFIG_MODULE_DECOMPRESS).
//     A disk that cannot be handled is a warning: it only matters as the
//     target of a snapshot or a hibernation.
//
// [Run] performs every check against a root directory ("/" normally, a fake
// tree in tests) and returns a [Report] with one row per check. A row is
// "ok", "missing" (kexec jump cannot work until it is fixed; the row says
// how), "warn" (something could not be verified) or "info". The machine is
// ready when no row is missing.
package doctor
