package hibernate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kjump/kjump/image"
)

// TestCheck runs Check on a fake root: each refusal comes before anything is
// written, and a good image passes with nothing written either.
func TestCheck(t *testing.T) {
	type setup struct {
		edit      func(h *image.Header, runs *[]image.Run, opt *image.WriteOptions)
		iomem     string
		available string // MemAvailable in kB
	}
	const regionRAM = "01000000-0fffffff : System RAM\n"
	for _, c := range []struct {
		name string
		s    setup
		want error
	}{
		{"resumable", setup{}, nil},
		{"another kernel build", setup{edit: func(h *image.Header, _ *[]image.Run, _ *image.WriteOptions) { h.Identity += "x" }}, ErrMismatch},
		{"another CPU count", setup{edit: func(h *image.Header, _ *[]image.Run, _ *image.WriteOptions) { h.CPUs = 2 }}, ErrMismatch},
		{"this kernel's RAM holds saved pages", setup{iomem: "20000000-2fffffff : System RAM\n"}, ErrOverlap},
		{"a saved run that is not RAM", setup{edit: func(_ *image.Header, r *[]image.Run, _ *image.WriteOptions) {
			*r = append(*r, image.Run{PFN: 0x3ffe0, Count: 1}) // the firmware's reserved range at the top
		}}, ErrLayout},
		{"the entry outside the saved pages", setup{edit: func(h *image.Header, _ *[]image.Run, _ *image.WriteOptions) { h.JumpBack = 0x30000000 }}, ErrLayout},
		{"chunks larger than this kernel can hold", setup{available: "65536", edit: func(_ *image.Header, _ *[]image.Run, o *image.WriteOptions) {
			o.PagesPerChunk = image.MaxPagesPerChunk
		}}, image.ErrLimit},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := defaultFakeSystem().write(t)
			sys, err := ReadSystem(root)
			if err != nil {
				t.Fatal(err)
			}
			avail := c.s.available
			if avail == "" {
				avail = "200000"
			}
			writeFile(t, filepath.Join(root, "proc/meminfo"), []byte("MemTotal:  250000 kB\nMemAvailable:  "+avail+" kB\n"))
			iomem := c.s.iomem
			if iomem == "" {
				iomem = regionRAM
			}
			writeFile(t, filepath.Join(root, "proc/iomem"), []byte(iomem))
			h := image.Header{Release: sys.Release, Identity: sys.Identity, MemMapHash: sys.MemMapHash, RAMSize: sys.RAMSize,
				CPUs: sys.CPUs, JumpBack: 0x20000000 + 0x123, SecondKernel: image.Range{Start: 16 << 20, Size: 240 << 20}}
			runs := []image.Run{{PFN: 0x20000, Count: 64}, {PFN: 0x20040, Count: 64, Zero: true}}
			opt := image.WriteOptions{PagesPerChunk: 16}
			if c.s.edit != nil {
				c.s.edit(&h, &runs, &opt)
			}
			dev := filepath.Join(root, "image")
			f, err := os.Create(dev)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := image.Write(f, h, runs, patternPages{}, opt); err != nil {
				t.Fatal(err)
			}
			f.Close()
			before, _ := os.ReadFile(dev)
			op, err := Check(ResumeOptions{From: dev, Root: root})
			if op != nil {
				op.Close()
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Check = %v, want %v", err, c.want)
			}
			if after, _ := os.ReadFile(dev); !bytes.Equal(before, after) {
				t.Error("Check changed the image")
			}
		})
	}
}
