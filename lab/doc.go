// Package lab proves kjump on real kernels: it builds the lab kernel (package
// lab/kernel), an initramfs whose /init is the running kjump binary itself (package
// initramfs), boots them in QEMU (package lab/qemu, TCG: no KVM needed) and runs
// scenarios against the guest's serial console.
//
// A scenario gives the guest its job through kjump.* kernel parameters (package
// initmode), then matches the console lines kjump prints. Each scenario's console is
// logged with host timestamps under LogDir; a failure names its log.
//
// The real machine (Real, the real-… scenarios) is what a user runs instead: the
// kernel is Debian's own 6.12 configuration plus CONFIG_KEXEC_JUMP, its modules
// reduced by localmodconfig to a QEMU guest's (kernel.Real); the system is Debian
// 12 from debootstrap (systemd, udev, initramfs-tools, grub-pc) on a raw disk
// image with an MBR and one ext4 partition, the kernel installed as its package
// does (/boot/vmlinuz-*, /boot/config-*, modules, update-initramfs), GRUB in the
// MBR, and kjump installed by real/install.sh, which runs dist/README.md's steps
// (TestInstallIsTheREADME holds them equal). QEMU boots it like a PC: q35,
// SeaBIOS, GRUB from the virtio root disk, no -kernel; a second virtio disk with
// serial kjump-image holds images; a virtio-net NIC on QEMU's user network gets
// a DHCP lease. The scenario's script reaches the guest through fw_cfg
// (opt/kjump/script), run by lab-run.service after the boot; its "lab: " lines
// are matched on the serial console.
//
// `kjump lab test` prints one line per scenario, "PASS name (N.Ns)" or
// "FAIL name: reason (log: PATH)", then "N passed, M failed".
package lab
