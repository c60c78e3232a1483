package hibernate_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kjump/kjump/hibernate"
	"github.com/kjump/kjump/memmap"
)

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
