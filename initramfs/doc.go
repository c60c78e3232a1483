// Package initramfs builds the gzip-compressed cpio archive (an initramfs)
// that the kernel unpacks into its root file system at boot and from which
// it runs /init as process 1.
//
// The kernel receives the archive from the boot loader (or from kjump's
// kexec_load, or QEMU's -initrd), decompresses it if it is compressed
// (CONFIG_RD_GZIP for gzip), and unpacks every cpio "newc" entry in order
// into an empty tmpfs or ramfs: directories, files, symbolic links and
// device nodes, each with the mode, owner and time its header gives. The
// format is described in package [github.com/kjump/kjump/cpio]. The kernel
// then opens /dev/console as standard input, output and error and executes
// /init. The archive is all there is: no disk is mounted, no shared
// libraries exist, and nothing creates device nodes unless someone mounts
// devtmpfs.
//
// [Kjump] builds the archive that makes kjump that process 1:
//
//	/init             the kjump binary (0755); the kernel runs it as PID 1
//	/bin/kjump        symbolic link to /init, so kjump is on $PATH too
//	/dev/console      character device 5,1 (0600): the kernel opens it for
//	                  /init's standard streams before any devtmpfs exists;
//	                  without it PID 1 starts with no stdin/stdout/stderr
//	/dev/null         character device 1,3 (0666)
//	/dev/ttyS0        character device 4,64 (0600): the first serial port,
//	                  the console under QEMU's -nographic
//	/proc /sys /run   empty mount points for procfs, sysfs and a tmpfs
//	/tmp              mode 1777; /root 0700; /bin /sbin /etc /mnt 0755
//	/bin/busybox      optional: a static busybox and one symbolic link per
//	                  applet (/bin/sh -> busybox, …), so a demo has a shell
//	extra files       optional: lab scripts and the like
//
// Because nothing in the archive can load shared libraries, every program
// must be a statically linked x86-64 ELF executable: one without a PT_INTERP
// program header naming a dynamic loader. Kjump checks this and refuses other
// binaries with an error matching [ErrNotStatic] that says how to get a
// static one (build kjump with CGO_ENABLED=0; use Debian's busybox-static).
//
// The output is reproducible: entries are written sorted by path (so every
// parent directory precedes its children), owned by 0:0, with mtime 0,
// inode numbers counted from 0, and a gzip header without a name or time.
// The same inputs give the same bytes.
package initramfs
