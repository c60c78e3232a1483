package pageclass

import "testing"

func TestIsZero(t *testing.T) {
	if !IsZero(nil) {
		t.Error("IsZero(nil) = false")
	}
	for _, n := range []int{1, 7, 8, 9, 20, 4095, 4096, 4097, 3 * 4096} {
		if !IsZero(make([]byte, n)) {
			t.Errorf("%d zero bytes are not all zero", n)
		}
		for _, i := range []int{0, n / 2, n - 1} {
			b := make([]byte, n)
			b[i] = 0x80
			if IsZero(b) {
				t.Errorf("%d bytes with byte %d set are all zero", n, i)
			}
		}
	}
}
