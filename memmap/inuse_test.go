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
	// The memory in use changes from one moment to the next: check only the
	// shape of the answer.
	got, err := OutputSize(0, 16*MiB)
	if err != nil {
		t.Skip("sysinfo:", err)
	}
	if got < int64(17*MiB) || got%int64(MiB) != 0 {
		t.Errorf("OutputSize(0, 16M) = %d: want more than the margin, in whole MiB", got)
	}
}
