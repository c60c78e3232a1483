// Package modules finds, packs and loads the kernel modules a block device
// needs, so that a second kernel (or a resume kernel) whose disk drivers are
// modules can reach the disk it writes to.
//
// A distribution kernel builds its disk drivers as modules (Debian 6.12:
// virtio_blk, ahci, nvme, sd_mod) and loads them from its initramfs. kjump's
// own initramfs for the second kernel holds no modules unless it is told
// which, and the second kernel then has no disk. The modules come from the
// device itself, in the first kernel:
//
//   - the device chain: /sys/dev/block/MAJOR:MINOR resolves to the disk's
//     directory under /sys/devices; every directory from there up to the root
//     that has a "driver" link names a driver, and a driver built as a module
//     has a "module" link (/sys/bus/virtio/drivers/virtio_blk/module ->
//     /sys/module/virtio_blk) to a directory with an "initstate". Built-in
//     drivers need nothing: they have no link, or (virtio_pci, with module
//     parameters) one to a /sys/module entry without an initstate.
//     [ForDevice] returns those module names.
//   - modules.dep (/lib/modules/RELEASE/modules.dep, written by depmod):
//     one line per module, "PATH: DEP DEP …", each PATH relative to that
//     directory, with every dependency the module needs, direct or not.
//     [ParseDep] reads it; [Dep.Order] returns the files to load with every
//     dependency before its users, each once.
//   - [Files] reads those files for an initramfs: a module compressed with
//     gzip or zstd is decompressed; an xz one is kept as it is when the kernel
//     decompresses modules itself (CONFIG_MODULE_DECOMPRESS), and refused
//     otherwise. The list of files, in load order, goes to [ListPath].
//
// In the second kernel, kjump's init calls [LoadList] before its commands: it
// loads each listed file with finit_module(2) (flag MODULE_INIT_COMPRESSED_FILE
// for a compressed one), taking EEXIST (already there, or built in) as success.
// The driver probes the disk in the background: the command that needs the
// disk waits for it by a name that does not depend on probe order
// (blockdev.Locator).
package modules
