package memmap

import "testing"

func TestOutputSize(t *testing.T) {
	for _, tt := range []struct{ want, margin, got uint64 }{
		{1, 0, MiB},
		{3 * MiB, 99, 3 * MiB},
		{3*MiB + 1, 0, 4 * MiB},
	} {
		if got, err := OutputSize(tt.want, tt.margin); err != nil || uint64(got) != tt.got {
			t.Errorf("OutputSize(%d, %d) = %d, %v; want %d", tt.want, tt.margin, got, err, tt.got)
		}
	}
	used, err := InUse()
	if err != nil {
		t.Skip("sysinfo:", err)
	}
	got, err := OutputSize(0, 16*MiB)
	if err != nil || uint64(got) < used+16*MiB || uint64(got) >= used+17*MiB+MiB {
		t.Errorf("OutputSize(0, 16M) = %d, %v; memory in use %d", got, err, used)
	}
}
