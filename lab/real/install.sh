#!/bin/sh
# install.sh: dist/README.md's "Installing" steps 1-5, as written, run in the
# real machine's Debian 12 tree (a chroot) from a copy of the kjump source tree
# whose ./kjump was built with step 1's 'CGO_ENABLED=0 go build' on the host.
# Lines ending in "# lab: …" do what the README says in words (edit a file);
# every other command is the README's, in its order (dist_test checks it).
# Step 6 and 'kjump doctor' run on the booted machine (the real-… scenarios).
set -eux

# 1. kjump itself
install -m 0755 kjump /usr/sbin/kjump

# 2. settings: edit KJUMP_DEVICE at least
install -d -m 0755 /etc/kjump
install -m 0644 dist/resume.conf /etc/kjump/resume.conf
sed -i "s|^KJUMP_DEVICE=.*|KJUMP_DEVICE=${KJUMP_LAB_DEVICE}|" /etc/kjump/resume.conf # lab: edit KJUMP_DEVICE

# 3. reserve the region: in /etc/default/grub
sed -i 's|^GRUB_CMDLINE_LINUX_DEFAULT=.*|GRUB_CMDLINE_LINUX_DEFAULT="quiet memmap=240M\\\\\\$16M"|' /etc/default/grub # lab: edit /etc/default/grub
install -m 0755 dist/grub.d/42_kjump-resume /etc/grub.d/
update-grub
grep -n -e 'memmap=' -e kjump-resume /boot/grub/grub.cfg

# 4. the initramfs
install -m 0755 dist/initramfs-tools/hooks/kjump /etc/initramfs-tools/hooks/kjump
install -D -m 0755 dist/initramfs-tools/scripts/local-premount/kjump \
	/etc/initramfs-tools/scripts/local-premount/kjump
update-initramfs -u -k all
lsinitramfs /boot/initrd.img-"$(uname -r)" | grep kjump

# 5. systemd: option B
install -D -m 0755 dist/systemd/kjump-sleep /usr/lib/kjump/kjump-sleep
install -D -m 0644 dist/systemd/systemd-hibernate.service.d/kjump.conf \
	/etc/systemd/system/systemd-hibernate.service.d/kjump.conf
install -D -m 0644 dist/systemd/systemd-logind.service.d/kjump.conf \
	/etc/systemd/system/systemd-logind.service.d/kjump.conf
install -m 0644 dist/systemd/kjump-resume-cleanup.service /etc/systemd/system/
systemctl daemon-reload && systemctl enable kjump-resume-cleanup.service
