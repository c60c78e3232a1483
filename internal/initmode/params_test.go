package initmode

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSplitCmdline(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"console=ttyS0 panic=-1\n", []string{"console=ttyS0", "panic=-1"}},
		{`kjump.run="doctor --json" quiet`, []string{"kjump.run=doctor --json", "quiet"}},
		{`  a   b  `, []string{"a", "b"}},
		{`x="" y`, []string{"x=", "y"}},
		{`"unterminated quote`, []string{"unterminated quote"}},
	}
	for _, tt := range tests {
		if got := SplitCmdline(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitCmdline(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Params
		wantErr string
	}{
		{
			name: "defaults",
			in:   "console=ttyS0 root=/dev/vda",
			want: Params{Then: PowerOff, OnError: PowerOff, Other: map[string]string{}},
		},
		{
			name: "commands in order, quoted",
			in:   `console=ttyS0 kjump.run=doctor kjump.run="/lab/counter.sh 5" kjump.then=shell`,
			want: Params{Run: []string{"doctor", "/lab/counter.sh 5"}, Then: Shell, OnError: Shell, Other: map[string]string{}},
		},
		{
			name: "onerror differs",
			in:   `kjump.run=doctor kjump.then=hold kjump.onerror=poweroff`,
			want: Params{Run: []string{"doctor"}, Then: Hold, OnError: PowerOff, Other: map[string]string{}},
		},
		{
			name: "other keys kept, last wins",
			in:   `kjump.mailbox=0x1000 kjump.mailbox=0x2000 kjump.out=/dev/vda`,
			want: Params{Then: PowerOff, OnError: PowerOff, Other: map[string]string{"mailbox": "0x2000", "out": "/dev/vda"}},
		},
		{
			name: "a shell, then back; the note page",
			in:   `kjump.then=shell-back kjump.note=0x60000`,
			want: Params{Then: ShellBack, OnError: ShellBack, Other: map[string]string{"note": "0x60000"}},
		},
		{name: "bad action", in: "kjump.then=explode", wantErr: `kjump.then="explode"`},
		{name: "empty run", in: "kjump.run=", wantErr: "kjump.run is empty"},
		{name: "no value", in: "kjump.then", wantErr: "has no value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCmdline(tt.in)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrBadParam) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrBadParam containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"doctor --json", []string{"doctor", "--json"}, false},
		{`/bin/sh -c 'echo a b'`, []string{"/bin/sh", "-c", "echo a b"}, false},
		{`say "" x`, []string{"say", "", "x"}, false},
		{`open 'quote`, nil, true},
		{"   ", nil, false},
	}
	for _, tt := range tests {
		got, err := SplitArgs(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("SplitArgs(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseCmdline(f *testing.F) {
	f.Add(`console=ttyS0 kjump.run="doctor --json" kjump.then=shell`)
	f.Add(`kjump.run=/bin/sh kjump.onerror=hold kjump.x=1`)
	f.Add(`kjump.then`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseCmdline(s)
		if err != nil {
			if !errors.Is(err, ErrBadParam) {
				t.Fatalf("error %v is not ErrBadParam", err)
			}
			if p.Run != nil || p.Other != nil {
				t.Fatalf("half-built result on error: %+v", p)
			}
			return
		}
		valid := map[Action]bool{PowerOff: true, Reboot: true, Shell: true, Hold: true}
		if !valid[p.Then] || !valid[p.OnError] {
			t.Fatalf("invalid action in %+v", p)
		}
		for _, r := range p.Run {
			if strings.TrimSpace(r) == "" {
				t.Fatalf("empty command accepted from %q", s)
			}
		}
	})
}

func FuzzSplitArgs(f *testing.F) {
	f.Add(`/bin/sh -c 'echo "a b"'`)
	f.Fuzz(func(t *testing.T, s string) {
		args, err := SplitArgs(s)
		if err != nil && args != nil {
			t.Fatal("args returned with an error")
		}
	})
}
