package lab

import (
	"slices"
	"testing"
)

// TestPatternPages: the pattern process's page lines are read whole; a line a
// kernel message broke in two (as the serial console did to a core run,
// which then wanted page 4 where page 44 was) is no page.
func TestPatternPages(t *testing.T) {
	console := "pattern: window 0x2a000000 pages 8192\r\n" +
		"pattern: phys 0x2f776000 index 44 window 0x2a000000\r\n" +
		"pattern: phys 0x2f776000 index 4[    1.655008] clocksource: Switched to clocksource tsc\r\n" +
		"4 window 0x2f000000\r\n" +
		"pattern: phys 0x2f777000 index 45\n" +
		"pattern: ready: 32 MiB\n"
	want := []patternPage{{0x2f776000, 44}, {0x2f777000, 45}}
	if got := patternPages(console); !slices.Equal(got, want) {
		t.Errorf("patternPages = %#v, want %#v", got, want)
	}
}
