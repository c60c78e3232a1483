package main

import (
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	var got [][2]uint64
	f := throttle(time.Hour, func(done, total uint64) { got = append(got, [2]uint64{done, total}) })
	for i := uint64(1); i <= 10; i++ {
		f(i, 10)
	}
	// The first step, then nothing within the hour, but always the last.
	if len(got) != 2 || got[0] != [2]uint64{1, 10} || got[1] != [2]uint64{10, 10} {
		t.Errorf("calls %v, want [1 10] and [10 10]", got)
	}
	got = nil
	every := throttle(0, func(done, total uint64) { got = append(got, [2]uint64{done, total}) })
	for i := uint64(1); i <= 3; i++ {
		every(i, 3)
	}
	if len(got) != 3 {
		t.Errorf("interval 0: %d calls, want 3", len(got))
	}
}
