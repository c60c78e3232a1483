# real-hibernate-file (first boot): the image goes into a file on the root
# ext4 (KJUMP_FILE), set up as dist/resume.conf says: kjump image prepare,
# resume.conf, update-grub; then real-hibernate.sh runs (the lab appends it).
wait_running
mkdir -p /var/lib/kjump
kjump image prepare --size 1G /var/lib/kjump/image >/run/prepared || fail "kjump image prepare"
cat /run/prepared
. /run/prepared
partuuid=$(blkid -s PARTUUID -o value "$(findmnt -n -o SOURCE /)")
[ -n "$partuuid" ] || fail "the root partition has no PARTUUID"
sed -i -e "s|^KJUMP_DEVICE=.*|KJUMP_DEVICE=PARTUUID=$partuuid|" \
	-e "s|^KJUMP_FILE=.*|KJUMP_FILE=$KJUMP_FILE|" \
	-e "s|^KJUMP_RESUME_OFFSET=.*|KJUMP_RESUME_OFFSET=$KJUMP_RESUME_OFFSET|" \
	-e "s|^KJUMP_HIBERNATE_ARGS=.*|KJUMP_HIBERNATE_ARGS='--size 1G'|" /etc/kjump/resume.conf
grep -v '^#' /etc/kjump/resume.conf | grep .
update-grub 2>&1 | tail -n 3
grep -q "kjump.resume_offset=$KJUMP_RESUME_OFFSET" /boot/grub/grub.cfg || fail "the resume entry has no kjump.resume_offset=$KJUMP_RESUME_OFFSET"
