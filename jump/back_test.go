package jump

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kjump/kjump/kexec"
)

// TestLoadRetrying: an out-of-memory kexec_load is retried once after freeing
// memory; other errors are not.
func TestLoadRetrying(t *testing.T) {
	other := errors.New("other")
	tests := []struct {
		name      string
		errs      []error // what each load returns
		want      error
		wantFrees int
		wantLoads int
	}{
		{"loads", []error{nil}, nil, 0, 1},
		{"out of memory, then loads", []error{kexec.ErrNoMemory, nil}, nil, 1, 2},
		{"out of memory twice", []error{kexec.ErrNoMemory, kexec.ErrNoMemory}, kexec.ErrNoMemory, 1, 2},
		{"another error", []error{other}, other, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loads, frees := 0, 0
			err := loadRetrying(func() error {
				loads++
				if e := tt.errs[loads-1]; e != nil {
					return fmt.Errorf("kexec_load: %w", e)
				}
				return nil
			}, func() { frees++ })
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if loads != tt.wantLoads || frees != tt.wantFrees {
				t.Errorf("%d loads, %d frees; want %d, %d", loads, frees, tt.wantLoads, tt.wantFrees)
			}
		})
	}
}
