package hibernate_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kjump/kjump/hibernate"
	"github.com/kjump/kjump/memmap"
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
	// (MountedBlockDevices does that).
	blockDevices := map[string]bool{"254:1": true, "254:2": true, "8:33": true}
	mounts, err := hibernate.ParseMountinfo(strings.NewReader(mountinfo), func(dev string) bool { return blockDevices[dev] })
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

func ExampleSystem_Compare() {
	// What the image recorded (ReadSystem in the kernel that hibernated)...
	saved := hibernate.System{
		Release:  "6.12.9-kjump",
		Identity: "#1 SMP PREEMPT_DYNAMIC build-id 5f0c9e7d",
		RAMSize:  1 << 30,
		CPUs:     4,
	}
	// ...and the machine the resume kernel finds: the same kernel build,
	// but with more RAM (so another firmware memory map) and fewer CPUs.
	now := saved
	now.RAMSize = 2 << 30
	now.MemMapHash[0] = 1
	now.CPUs = 2

	fmt.Println(saved.Compare(saved))
	err := now.Compare(saved)
	fmt.Println(errors.Is(err, hibernate.ErrMismatch))
	for _, why := range strings.Split(err.Error(), "; ") {
		fmt.Println(why)
	}
	// Output:
	// <nil>
	// true
	// the image belongs to another system: the firmware's memory map differs (1 GiB of RAM then, 2 GiB now): the memory the image restores may not exist or may belong to the firmware
	// it had 4 possible CPUs, this machine has 2
}

func ExampleResumeCommandLine() {
	// The image was written by a second kernel in 240 MiB at 16 MiB: the
	// resume kernel must run there too.
	fmt.Println(hibernate.ResumeCommandLine(memmap.Range{Start: 16 << 20, Size: 240 << 20}))
	// Output:
	// nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K
}
