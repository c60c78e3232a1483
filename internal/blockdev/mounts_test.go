package blockdev

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// blockDevs is an isBlock for the tests: the listed devices are block
// devices, everything else (0:N pseudo filesystems included) is not.
func blockDevs(devs ...string) func(string) bool {
	return func(dev string) bool { return slices.Contains(devs, dev) }
}

// pseudoMounts are a typical system's pseudo filesystems, with the optional
// fields systemd's shared mounts have.
const pseudoMounts = `22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
23 1 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw
24 1 0:6 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=4003652k,nr_inodes=1000913,mode=755,inode64
25 24 0:23 / /dev/pts rw,nosuid,noexec,relatime shared:3 - devpts devpts rw,gid=5,mode=620,ptmxmode=000
26 1 0:24 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=806172k,mode=755,inode64
`

func TestParseMountinfo(t *testing.T) {
	for _, tt := range []struct {
		name    string
		in      string
		isBlock func(string) bool
		want    []Mount
	}{
		{name: "empty", in: "", isBlock: blockDevs("254:0")},
		{name: "only pseudo filesystems", in: pseudoMounts, isBlock: blockDevs("254:0")},
		{
			name:    "root among pseudo filesystems",
			in:      pseudoMounts + "29 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n",
			isBlock: blockDevs("254:1"),
			want:    []Mount{{Device: "254:1", Name: "/dev/vda1 on / (ext4)"}},
		},
		{
			name:    "no optional fields",
			in:      "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n",
			isBlock: blockDevs("254:0"),
			want:    []Mount{{Device: "254:0", Name: "/dev/vda on / (ext4)"}},
		},
		{
			name:    "several optional fields",
			in:      "40 29 8:17 / /srv rw,noatime shared:20 master:1 propagate_from:1 unbindable - xfs /dev/sdb1 rw,attr2,inode64\n",
			isBlock: blockDevs("8:17"),
			want:    []Mount{{Device: "8:17", Name: "/dev/sdb1 on /srv (xfs)"}},
		},
		{
			name:    "no super options",
			in:      "26 1 254:0 / / rw - ext4 /dev/vda\n",
			isBlock: blockDevs("254:0"),
			want:    []Mount{{Device: "254:0", Name: "/dev/vda on / (ext4)"}},
		},
		{
			name:    "escaped spaces and tabs",
			in:      `41 29 8:33 / /media/my\040usb\011stick rw,nosuid - vfat /dev/disk/by-label/MY\040STICK rw,fmask=0022` + "\n",
			isBlock: blockDevs("8:33"),
			want:    []Mount{{Device: "8:33", Name: "/dev/disk/by-label/MY STICK on /media/my usb\tstick (vfat)"}},
		},
		{
			name:    "a root field of -",
			in:      "50 29 8:49 - /weird rw - ext4 /dev/sdd1 rw\n",
			isBlock: blockDevs("8:49"),
			want:    []Mount{{Device: "8:49", Name: "/dev/sdd1 on /weird (ext4)"}},
		},
		{
			name: "a device mounted twice: the first mount names it",
			in: "29 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n" +
				"30 29 254:2 / /home rw,relatime shared:2 - ext4 /dev/vda2 rw\n" +
				"31 29 254:1 /var/lib/docker /var/lib/docker rw,relatime shared:1 - ext4 /dev/vda1 rw\n" +
				"32 30 254:2 /alice /srv/alice rw,relatime shared:2 - ext4 /dev/vda2 rw\n",
			isBlock: blockDevs("254:1", "254:2"),
			want: []Mount{
				{Device: "254:1", Name: "/dev/vda1 on / (ext4)"},
				{Device: "254:2", Name: "/dev/vda2 on /home (ext4)"},
			},
		},
		{
			name: "a pseudo filesystem's mount does not hide a later block device",
			in: "29 1 254:1 / / rw - ext4 /dev/vda1 rw\n" +
				"33 29 0:45 / /mnt/loop rw - fuse.sshfs host:/x rw\n" +
				"34 29 7:0 / /mnt/img ro - squashfs /dev/loop0 ro\n",
			isBlock: blockDevs("254:1", "7:0"),
			want: []Mount{
				{Device: "254:1", Name: "/dev/vda1 on / (ext4)"},
				{Device: "7:0", Name: "/dev/loop0 on /mnt/img (squashfs)"},
			},
		},
		{
			name:    "a device number isBlock rejects (btrfs subvolume's anonymous device)",
			in:      "29 1 0:33 /@ / rw,relatime - btrfs /dev/vda2 rw,subvol=/@\n",
			isBlock: blockDevs("254:2"),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMountinfo(strings.NewReader(tt.in), tt.isBlock)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseMountinfoMalformed(t *testing.T) {
	good := "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
	for _, tt := range []struct {
		name string
		in   string
		line string // "mountinfo line N" in the error
	}{
		{name: "five fields", in: "26 1 254:0 / /\n", line: "line 1"},
		{name: "no separator", in: "26 1 254:0 / / rw,relatime shared:1 ext4 /dev/vda rw\n", line: "line 1"},
		{name: "separator among the first six fields", in: "26 1 254:0 / - rw ext4 /dev/vda rw\n", line: "line 1"},
		{name: "no source", in: "26 1 254:0 / / rw - ext4\n", line: "line 1"},
		{name: "nothing after the separator", in: "26 1 254:0 / / rw -\n", line: "line 1"},
		{name: "device without a colon", in: "26 1 2540 / / rw - ext4 /dev/vda rw\n", line: "line 1"},
		{name: "an empty line after a good one", in: good + "\n" + good, line: "line 2"},
		{name: "a bad third line", in: good + good + "garbage\n", line: "line 3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMountinfo(strings.NewReader(tt.in), blockDevs("254:0"))
			if err == nil {
				t.Fatalf("ParseMountinfo = %q, want an error", got)
			}
			if got != nil {
				t.Errorf("a result with the error: %q", got)
			}
			if !strings.Contains(err.Error(), "mountinfo "+tt.line+": malformed") {
				t.Errorf("error %q does not say %q", err, tt.line)
			}
		})
	}
}

func TestParseMountinfoLongLine(t *testing.T) {
	in := "26 1 254:0 / /" + strings.Repeat("a", 1<<20) + " rw - ext4 /dev/vda rw\n"
	if _, err := ParseMountinfo(strings.NewReader(in), blockDevs("254:0")); !errors.Is(err, bufio.ErrTooLong) {
		t.Errorf("a line over 1 MiB: error %v, want bufio.ErrTooLong", err)
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestParseMountinfoReadError(t *testing.T) {
	boom := errors.New("boom")
	if _, err := ParseMountinfo(failingReader{boom}, blockDevs()); !errors.Is(err, boom) {
		t.Errorf("error %v, want the reader's", err)
	}
}

func TestUnescape(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{``, ``},
		{`/`, `/`},
		{`/mnt/plain`, `/mnt/plain`},
		{`/mnt/my\040disk`, `/mnt/my disk`},
		{`\040\040`, `  `},
		{`a\011b\012c`, "a\tb\nc"},
		{`back\134slash`, `back\slash`},
		{`\377`, "\xff"},
		{`\000`, "\x00"},
		{`trailing\`, `trailing\`},
		{`short\04`, `short\04`},
		{`short\0`, `short\0`},
		{`\400`, `\400`},   // above a byte: not an escape
		{`\777x`, `\777x`}, // likewise
		{`\08a`, `\08a`},   // 8 is not octal
		{`\x41`, `\x41`},
		{`a\\b`, `a\\b`},
		{`\\040`, `\ `}, // the first backslash is not followed by three octal digits; the second is
		{`\0401`, ` 1`},
	} {
		if got := unescape(tt.in); got != tt.want {
			t.Errorf("unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMounted(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "proc/self/mountinfo"), []byte(pseudoMounts+
		"29 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"+
		"30 29 8:0 / /gone rw,relatime shared:1 - ext4 /dev/sda rw\n"))
	if err := os.MkdirAll(filepath.Join(root, "sys/dev/block/254:1"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Mounted(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Mount{{Device: "254:1", Name: "/dev/vda1 on / (ext4)"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := Mounted(t.TempDir()); err == nil {
		t.Error("no error without proc/self/mountinfo")
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte(pseudoMounts))
	f.Add([]byte("26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n"))
	f.Add([]byte("29 1 254:1 / / rw - ext4 /dev/vda1 rw\n31 29 254:1 /var /var rw - ext4 /dev/vda1 rw\n"))
	f.Add([]byte(`41 29 8:33 / /media/my\040usb rw - vfat /dev/disk/by-label/MY\040STICK\ rw` + "\n"))
	f.Add([]byte("40 29 8:17 / /srv rw shared:20 master:1 - xfs /dev/sdb1 rw\n"))
	f.Add([]byte("26 1 254:0 / / rw -\n"))
	f.Add([]byte("1 2 : / / - - - -\n"))
	f.Add([]byte(""))
	// Device numbers that do not start with "0:" are block devices here.
	isBlock := func(dev string) bool { return !strings.HasPrefix(dev, "0:") }
	f.Fuzz(func(t *testing.T, in []byte) {
		ms, err := ParseMountinfo(bytes.NewReader(in), isBlock)
		if err != nil {
			if ms != nil {
				t.Fatalf("a result with the error %v: %q", err, ms)
			}
			return
		}
		seen := map[string]bool{}
		for _, m := range ms {
			if m.Device == "" || !strings.Contains(m.Device, ":") {
				t.Fatalf("device %q is not MAJOR:MINOR", m.Device)
			}
			if !isBlock(m.Device) {
				t.Fatalf("device %q is not a block device", m.Device)
			}
			if seen[m.Device] {
				t.Fatalf("device %q listed twice", m.Device)
			}
			seen[m.Device] = true
			if !bytes.Contains(in, []byte(m.Device)) {
				t.Fatalf("device %q is not in the input", m.Device)
			}
			if !strings.Contains(m.Name, " on ") || !strings.HasSuffix(m.Name, ")") {
				t.Fatalf("name %q is not \"SOURCE on MOUNTPOINT (TYPE)\"", m.Name)
			}
		}
		if lines := bytes.Count(in, []byte("\n")) + 1; len(ms) > lines {
			t.Fatalf("%d mounts from %d lines", len(ms), lines)
		}
	})
}
