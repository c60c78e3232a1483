package blockdev_test

import (
	"fmt"
	"strings"

	"github.com/kjump/kjump/internal/blockdev"
)

func ExampleParseMountinfo() {
	// A /proc/self/mountinfo: pseudo filesystems, a root filesystem bind
	// mounted a second time, and a USB stick whose label has a space.
	const mountinfo = `22 29 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
23 29 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw
29 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro
30 29 254:2 / /home rw,relatime shared:2 - ext4 /dev/vda2 rw
31 29 254:1 /var/lib/docker /var/lib/docker rw,relatime shared:1 - ext4 /dev/vda1 rw
41 29 8:33 / /media/MY\040STICK rw,nosuid,nodev,relatime shared:40 - vfat /dev/sdc1 rw,fmask=0022
`
	// On a real system isBlock looks for /sys/dev/block/MAJOR:MINOR
	// (Mounted does that).
	blockDevices := map[string]bool{"254:1": true, "254:2": true, "8:33": true}
	mounts, err := blockdev.ParseMountinfo(strings.NewReader(mountinfo), func(dev string) bool { return blockDevices[dev] })
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range mounts {
		fmt.Printf("%-5s %s\n", m.Device, m.Name)
	}
	// Output:
	// 254:1 /dev/vda1 on / (ext4)
	// 254:2 /dev/vda2 on /home (ext4)
	// 8:33  /dev/sdc1 on /media/MY STICK (vfat)
}
