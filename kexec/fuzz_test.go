package kexec

import (
	"testing"

	"github.com/kjump/kjump/memmap"
)

// FuzzPlanLinux plans a synthetic kernel with fuzzed region, init_size,
// initrd and command line. On success every invariant of checkPlan holds
// (segments page aligned, sorted, disjoint, exactly the low range and the
// region; boot_params, command line and purgatory consistent with them); on
// failure there is an error and no plan.
func FuzzPlanLinux(f *testing.F) {
	f.Add(uint64(256), uint32(256), uint32(0x1800000), uint32(5000), "console=ttyS0", false)
	f.Add(uint64(16), uint32(57), uint32(0x1800000), uint32(0), "", true)
	f.Add(uint64(16), uint32(56), uint32(0x1800000), uint32(0), "", false)
	f.Add(uint64(258), uint32(256), uint32(0x1800000), uint32(1), "quiet", false)
	f.Add(uint64(0), uint32(256), uint32(0x1800000), uint32(1), "quiet", false)
	f.Add(uint64(5<<10), uint32(100), uint32(0xe2b000), uint32(4<<20), `dyndbg="file x.c +p" console=ttyS0,115200`, false)
	f.Add(uint64(256), uint32(256), uint32(0x1800000), uint32(1), `foo="bar`, false)
	f.Add(uint64(256), uint32(256), uint32(0x1800000), uint32(1), "kexec_jump_back_entry=0x0000000000000000", false)
	f.Add(uint64(1)<<44-16, uint32(64), uint32(0x1000), uint32(1), "a\tb\n", false)
	f.Add(uint64(256), uint32(256), uint32(0xffffffff), uint32(1), "", false)

	base := defaultFakeKernel()
	f.Fuzz(func(t *testing.T, startMiB uint64, sizeMiB, initSize, initrdLen uint32, cmdline string, noVerify bool) {
		start, size := startMiB<<20, uint64(sizeMiB)<<20
		fk := base
		fk.initSize = initSize
		initrd := make([]byte, initrdLen%(64<<10+1)) // small: every exec checksums and compares it
		for i := range initrd {
			initrd[i] = byte(i)
		}
		l := Linux{
			Kernel:   fk.parse(t),
			Initrd:   initrd,
			Cmdline:  cmdline,
			Region:   memmap.Range{Start: start, Size: size},
			Firmware: qemuFirmware,
			NoVerify: noVerify,
		}
		p, err := PlanLinux(l)
		if err != nil {
			if p != nil {
				t.Fatalf("plan with error %v", err)
			}
			return
		}
		if p == nil {
			t.Fatal("no plan and no error")
		}
		checkPlan(t, l, p)
	})
}
