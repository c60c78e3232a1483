#!/bin/sh
# setup.sh: make the debootstrap'd Debian 12 tree a machine (run in its chroot,
# before the kernel and kjump are installed): name, filesystem table, DHCP on
# every Ethernet NIC (systemd-networkd), GRUB and the kernel on the serial
# console, a persistent journal, and the lab's runner (lab-run.service), which
# runs the script QEMU hands over through fw_cfg. None of this is kjump's.
set -eu
echo kjump-real >/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 kjump-real\n' >/etc/hosts
echo 'LABEL=kjump-root / ext4 errors=remount-ro 0 1' >/etc/fstab
cat >/etc/systemd/network/20-wired.network <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=yes
NET
systemctl enable systemd-networkd.service
# Persistent journal: a refused resume reboots, and the reason must survive.
mkdir -p /var/log/journal
# The serial console is the lab's: no getty on it (its hangup would cut the
# runner's output).
systemctl mask serial-getty@ttyS0.service
cat >/etc/default/grub <<'GRUB'
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0,115200"
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB
install -m 0755 /root/lab/lab-run /usr/local/sbin/lab-run
cat >/etc/systemd/system/lab-run.service <<'UNIT'
[Unit]
Description=kjump lab: run the script QEMU passed through fw_cfg
After=multi-user.target network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/lab-run
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
TTYReset=no
TTYVHangup=no

[Install]
WantedBy=multi-user.target
UNIT
systemctl enable lab-run.service systemd-networkd-wait-online.service
