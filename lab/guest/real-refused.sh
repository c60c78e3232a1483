# real-hibernate-refused (first boot): make GRUB boot the resume entry once,
# with no image on the image disk (none was ever written); lab-run then powers off.
wait_running
entry="kjump-resume>kjump-resume-$(uname -r)"
grub-reboot "$entry" || fail "grub-reboot $entry"
say "next boot: $entry, with no image to resume"
