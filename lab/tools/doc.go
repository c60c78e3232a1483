// Package tools makes the dump readers the lab checks kjump's snapshots with
// that Debian 12 itself lacks: crash 8.0.6 and drgn 0.0.31 from Debian 13
// (trixie). Debian 12's crash 8.0.2 is older than Linux 6.12 and cannot set
// up its task list; trixie's tools can, but need trixie's C library, so they
// run in a Debian 13 chroot:
//
//	debootstrap --variant=minbase --include=crash,python3-drgn trixie DIR MIRROR
//
// MIRROR is the Debian mirror the host's apt already uses for bookworm
// (/etc/apt/sources.list, /etc/apt/sources.list.d/*.sources), so no other
// source is needed; about 35-65 s and 320 MB.
//
// Ensure builds the chroot once and caches it under
// CacheDir/tools/SUITE-KEY, where KEY hashes the suite, the package list,
// the mirror and this package's recipe: a change to any of them builds a
// new one. It is built in DIR.tmp and renamed into place when complete, under
// a lock (kernel.Lock), so an interrupted or concurrent build never leaves a
// chroot that looks complete. The installed versions (dpkg-query in the
// chroot) are recorded in DIR/versions and reported.
//
// Chroot.Command runs a program inside it, in a private mount namespace
// (unshare --mount) where the host directories the caller names are bound
// at the same paths and /proc is mounted, so nothing is left mounted
// afterwards. Building and running need root (debootstrap, chroot, mount);
// without network the build fails with debootstrap's reason.
package tools
