package image

import (
	"fmt"
	"testing"
)

// BenchmarkWrite measures Write of 16 MiB of pages with 1 and 4 workers.
func BenchmarkWrite(b *testing.B) {
	runs := []Run{{PFN: 0, Count: 4096}}
	for _, w := range []int{1, 4} {
		for _, key := range []Key{{}, mustRawKey(b, testRawKey)} {
			b.Run(fmt.Sprintf("workers=%d/encrypted=%v", w, !key.IsZero()), func(b *testing.B) {
				b.SetBytes(4096 * PageSize)
				for b.Loop() {
					var f memFile
					if _, err := Write(&f, testHeader(), runs, patternSource{}, WriteOptions{Workers: w, Key: key}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkVerify measures Open + Verify of a 16 MiB image.
func BenchmarkVerify(b *testing.B) {
	img := writeImage(b, []Run{{PFN: 0, Count: 4096}}, WriteOptions{})
	b.SetBytes(4096 * PageSize)
	for b.Loop() {
		im, err := Open(&memFile{b: img}, int64(len(img)), Key{})
		if err != nil {
			b.Fatal(err)
		}
		if err := im.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}
