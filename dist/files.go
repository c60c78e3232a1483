package dist

import "embed"

// Files are the files of this directory a machine installs, laid out as in
// the source tree (README.md, resume.conf, grub.d/, initramfs-tools/,
// systemd/): the lab's real machine installs them by following README.md.
//
//go:embed README.md resume.conf grub.d initramfs-tools systemd
var Files embed.FS
