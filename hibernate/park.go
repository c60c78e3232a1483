package hibernate

import (
	"fmt"
	"time"

	"github.com/kjump/kjump/internal/initmode"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/memmap"
)

// ErrNotParkable means the region cannot hold a parked writer.
var ErrNotParkable = fmt.Errorf("%w: a parked writer needs a region reserved at boot with memmap=SIZE$ADDR (the hibernation layout)", kexec.ErrNotSupported)

// Prepare parks a hibernation writer (kjump hibernate --prepare): it loads the
// second kernel into the reserved region, jumps into it once so that it boots,
// and lets it answer through the region's park page and jump back. Later
// hibernations re-enter it (a fraction of a second) instead of loading and
// booting one (seconds); a writer that cannot serve a request says so, and
// Hibernate then loads a fresh one. The region must be reserved with
// memmap=SIZE$ADDR: only then is the park page outside this kernel's RAM,
// where STRICT_DEVMEM lets both kernels reach it.
func Prepare(o Options) (*jump.Parked, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	if p, err := jump.ReadParked(o.Root); err != nil || p != nil {
		if p != nil {
			return p, nil
		}
		return nil, err
	}
	sys, err := ReadSystem(o.Root)
	if err != nil {
		return nil, err
	}
	bz, lo, err := writerKernel(o, sys)
	if err != nil {
		return nil, err
	}
	region, err := jump.ChooseRegion(lo)
	if err != nil {
		return nil, err
	}
	if err := CheckResumeRegion(bz, region.Range); err != nil {
		return nil, err
	}
	if !region.Reserved || region.Source != memmap.FromMemmap {
		return nil, fmt.Errorf("%w; the region %s is %s", ErrNotParkable, region.Range, region.Source)
	}
	start := time.Now()
	r, err := jump.RunJob(jump.Job{
		Command: writeCommand,
		Request: Request{Park: true},
		Then:    initmode.Back,
		OnError: initmode.Back,
		Region:  region,
		Load:    lo,
		Mailbox: kexec.ParkPage(region.Range),
		Keep:    true,
	})
	if err != nil {
		kexec.Unload()
		return nil, err
	}
	rep, err := outcome(r)
	if err != nil || !rep.Parked {
		kexec.Unload()
		return nil, fmt.Errorf("the writer did not park (%v): see its console", err)
	}
	p := &jump.Parked{Command: writeCommand, Region: region.Range, Mailbox: kexec.ParkPage(region.Range), Kernel: lo.Kernel, Since: time.Now()}
	if err := p.Save(o.Root); err != nil {
		kexec.Unload()
		return nil, err
	}
	if o.Log != nil {
		fmt.Fprintf(o.Log, "hibernate: writer parked in %s (park page %#x) after %.2fs\n", region.Range, p.Mailbox, time.Since(start).Seconds())
	}
	return p, nil
}
