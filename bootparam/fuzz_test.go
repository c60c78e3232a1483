package bootparam_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kjump/kjump/bootparam"
)

// FuzzParse: Parse never panics; on error it returns no image and a
// *FormatError of one of the three kinds; on success the parts have the
// sizes the header announces, the header passes the checks Parse
// promises, and BootParams round-trips.
func FuzzParse(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzParse.
	small := defaultFake()
	small.setupSects, small.syssize, small.versionPtr = 1, 4, 0x100
	f.Add(small.bytes())
	f.Add([]byte("\x7fELF\x02\x01\x01\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		b, err := bootparam.Parse(data)
		if !bytes.Equal(data, orig) {
			t.Fatal("Parse modified its input")
		}
		if err != nil {
			if b != nil {
				t.Fatalf("image returned with error %v", err)
			}
			var fe *bootparam.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FormatError: %v", err, err)
			}
			n := 0
			for _, kind := range []error{bootparam.ErrNotBzImage, bootparam.ErrTruncated, bootparam.ErrUnsupported} {
				if errors.Is(err, kind) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error matches %d kinds: %v", n, err)
			}
			return
		}
		h := b.Header
		sects := int(h.SetupSects)
		if sects == 0 {
			sects = 4
		}
		if len(b.Setup) != (sects+1)*512 || uint64(len(b.Kernel)) != uint64(h.Syssize)*16 {
			t.Fatalf("parts %d+%d do not match setup_sects %d, syssize %d", len(b.Setup), len(b.Kernel), h.SetupSects, h.Syssize)
		}
		if h.Version < 0x020c || h.XLoadFlags&bootparam.XLFKernel64 == 0 || h.RelocatableKernel == 0 || h.BootFlag != 0xaa55 {
			t.Fatalf("accepted a header Parse should reject: %+v", h)
		}
		p := validParams()
		p.CmdlineSize = min(p.CmdlineSize, h.CmdlineSize)
		if !h.CanLoadAbove4G() {
			p.InitrdAddr, p.InitrdSize = 0, 0
		}
		zp, err := b.BootParams(p)
		if err != nil {
			t.Fatalf("BootParams: %v", err)
		}
		checkZeroPage(t, b, zp, p)
		if b.MemSize()%4096 != 0 || b.MemSize() < uint64(len(b.Kernel)) {
			t.Fatalf("MemSize %#x", b.MemSize())
		}
	})
}
