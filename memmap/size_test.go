package memmap

import (
	"reflect"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{in: "4096", want: 4096},
		{in: "0", want: 0},
		{in: "256M", want: 256 << 20},
		{in: "256m", want: 256 << 20},
		{in: "1G", want: 1 << 30},
		{in: "64K", want: 64 << 10},
		{in: "2T", want: 2 << 40},
		{in: "1P", want: 1 << 50},
		{in: "15E", want: 15 << 60},
		{in: "0x1000", want: 0x1000},
		{in: "0X1000000", want: 0x1000000},
		{in: "0x10M", want: 16 << 20},
		{in: "010", want: 8}, // octal, like the kernel's memparse
		{in: "0k", want: 0},
		{in: "18446744073709551615", want: ^uint64(0)},
		{in: "", wantErr: true},
		{in: "M", wantErr: true},
		{in: "0x", wantErr: true},
		{in: "0xg", wantErr: true},
		{in: "08", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "+1", wantErr: true},
		{in: "256MB", wantErr: true},
		{in: "256 M", wantErr: true},
		{in: "1.5G", wantErr: true},
		{in: "16E", wantErr: true},
		{in: "18446744073709551616", wantErr: true},
		{in: "0x10000000000000000", wantErr: true},
	} {
		got, err := ParseSize(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseSize(%q) = %#x, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %#x, %v; want %#x", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[uint64]string{
		0:                "0 B",
		100:              "100 B",
		1023:             "1023 B",
		4096:             "4 KiB",
		256 << 20:        "256 MiB",
		1 << 30:          "1 GiB",
		3 << 29:          "1.5 GiB",
		0x3fee0000:       "1022.8 MiB",
		^uint64(0):       "16.0 EiB",
		24 << 40:         "24 TiB",
		(1 << 30) + 4096: "1.0 GiB",
	} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%#x) = %q, want %q", n, got, want)
		}
	}
}

func TestCmdlineReservations(t *testing.T) {
	for _, tt := range []struct {
		cmdline string
		want    []Range
	}{
		{"console=ttyS0 quiet", nil},
		{"memmap=256M$16M", []Range{{16 << 20, 256 << 20}}},
		{"root=/dev/vda memmap=15M$1M crashkernel=256M@16M", []Range{{1 << 20, 15 << 20}}},
		{"memmap=exactmap memmap=256K@128K memmap=254M@16M", nil},
		{"memmap=64M$0x100000000,1G@2G,32M$3G", []Range{{4 << 30, 64 << 20}, {3 << 30, 32 << 20}}},
		{"memmap=64M$ memmap=$16M memmap=0$16M memmap=64M$16Mjunk", nil},
		{`"memmap=4M$0x2000000"`, nil}, // a quoted whole word is not an option
		{"memmap=8M$2G -- memmap=8M$3G", []Range{{2 << 30, 8 << 20}}},
	} {
		if got := CmdlineReservations(tt.cmdline); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CmdlineReservations(%q) = %v, want %v", tt.cmdline, got, tt.want)
		}
	}
}
