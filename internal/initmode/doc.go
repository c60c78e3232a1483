// Package initmode runs kjump as PID 1 of a kernel it booted with: the lab guest, the
// second kernel of a jump, the resume kernel of a hibernation.
//
// The job comes from the kernel command line, so a loader gives a kernel its task by
// appending parameters, with no files to prepare:
//
//	kjump.run=CMD      run CMD; repeatable, run in order. CMD is a kjump command line
//	                   ("doctor --json"; quote it when it has spaces:
//	                   kjump.run="doctor --json") or, when it starts with "/", a program
//	                   with its arguments (e.g. a shell script in the initramfs).
//	kjump.then=ACTION  what to do after the last command: poweroff (default), reboot,
//	                   shell (busybox sh on the console), hold (stay up, for debugging).
//	kjump.onerror=ACTION  the same, when a command failed (default: the value of then).
//
// Init mounts /proc, /sys, /dev (devtmpfs), /tmp and /run (tmpfs), loads the kernel
// modules listed in /etc/kjump/modules (the disk drivers a loader put in; package
// modules), runs each command as
// a child process (so a crash in one never kills PID 1) with its output on the console,
// and prints one line per command that scripts and the lab match:
//
//	kjump-init: run: doctor
//	kjump-init: ok: doctor (0.12s)
//	kjump-init: FAIL: doctor: exit status 1 (0.12s)
//	kjump-init: done: 1 ok, 0 failed; then poweroff
//
// Children are reaped while PID 1 lives, as init must.
package initmode
