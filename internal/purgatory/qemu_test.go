package purgatory_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kjump/kjump/internal/purgatory"
)

// The harness (testdata/qemu/harness.S) calls the purgatory at
// purgatory_addr; the test puts everything else at these addresses, all in
// the harness's 1 GiB identity map and clear of the harness itself (1 MiB)
// and of its fake swap page (just below 0x280000).
const (
	qemuBootParams = 0x210000
	qemuCmdline    = 0x211000
	qemuSegments   = 0x300000
)

type harness struct {
	bin        string // flat multiboot binary
	purgatory  uint64 // where the harness calls the purgatory
	fakeKernel uint64 // entry64 for the purgatory
	jumpBack   uint64 // the harness's return address, what the purgatory must report
	pml4A      uint64 // the harness's page tables ("A", the first kernel)
	pml4B      uint64 // the fake second kernel's page tables ("B")
	gateFirst  uint64 // kj_gate_first's offset in the blob
	dir        string
}

func buildHarness(t *testing.T) harness {
	t.Helper()
	needTools(t, "as", "ld", "objcopy", "qemu-system-x86_64")
	dir := t.TempDir()
	obj := assemble(t, "testdata/qemu/harness.S", dir)
	elfPath := filepath.Join(dir, "harness.elf")
	bin := filepath.Join(dir, "harness.bin")
	for _, args := range [][]string{
		{"ld", "-nostdlib", "--build-id=none", "-Ttext=0x100000", "-e", "_start", "-o", elfPath, obj},
		{"objcopy", "-O", "binary", elfPath, bin},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	syms := symbols(t, elfPath)
	h := harness{bin: bin, purgatory: syms["purgatory_addr"], fakeKernel: syms["fake_kernel"], jumpBack: syms["kj_return"],
		pml4A: syms["pml4"], pml4B: syms["pml4_b"], dir: dir}
	h.gateFirst = symbols(t, assemble(t, "purgatory.S", dir))["kj_gate_first"]
	if h.purgatory == 0 || h.fakeKernel == 0 || h.jumpBack == 0 || h.pml4A == 0 || h.pml4B == 0 || h.gateFirst == 0 {
		t.Fatalf("harness symbols missing: %+v", h)
	}
	return h
}

// file is a blob for QEMU's generic loader.
type file struct {
	addr uint64
	data []byte
}

// run boots the harness with the files loaded and returns the serial
// output up to the line that contains stop (or everything, if QEMU exits
// first).
func (h harness) run(t *testing.T, name, stop string, files []file) string {
	t.Helper()
	return h.runMem(t, name, stop, "128M", files)
}

func (h harness) runMem(t *testing.T, name, stop, mem string, files []file) string {
	t.Helper()
	args := []string{
		"-machine", "pc,accel=tcg", "-cpu", "qemu64", "-m", mem,
		"-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", h.bin,
		"-device", "isa-debug-exit,iobase=0x501,iosize=0x02",
	}
	for i, f := range files {
		if len(f.data) == 0 {
			continue
		}
		p := filepath.Join(h.dir, fmt.Sprintf("%s-%d.bin", name, i))
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-device", fmt.Sprintf("loader,file=%s,addr=%#x,force-raw=on", p, f.addr))
	}
	// A guard against a hung guest, not a speed requirement.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		out.WriteString(line + "\n")
		// Stop at the expected line, and also at any purgatory message:
		// after one the purgatory halts forever.
		if strings.Contains(line, stop) || strings.Contains(line, "kjump purgatory:") {
			break
		}
	}
	_ = cmd.Process.Kill() // the purgatory's failure paths halt forever
	_ = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("QEMU did not print %q within the guard time; output:\n%s\nstderr:\n%s", stop, out.String(), stderr.String())
	}
	if !strings.Contains(out.String(), stop) {
		t.Fatalf("QEMU stopped without printing %q; output:\n%s\nstderr:\n%s", stop, out.String(), stderr.String())
	}
	return out.String()
}

// scenario is the memory a loader would set up: segments with random
// contents, a boot_params page whose cmd_line_ptr points at a command line
// with the placeholder.
type scenario struct {
	cmdline string
	segs    []purgatory.Segment
	data    [][]byte
	files   []file
}

func newScenario(t *testing.T, lens []int) *scenario {
	rng := rand.New(rand.NewPCG(7, uint64(len(lens))))
	s := &scenario{cmdline: "console=ttyS0 " + purgatory.JumpBackPlaceholder + " quiet"}
	// boot_params and the command line, one segment, verified too (the
	// purgatory verifies before it writes the digits).
	bp := make([]byte, 0x2000)
	binary.LittleEndian.PutUint32(bp[0x228:], qemuCmdline)
	copy(bp[qemuCmdline-qemuBootParams:], s.cmdline)
	s.add(qemuBootParams, bp)
	addr := uint64(qemuSegments)
	for _, n := range lens {
		d := make([]byte, n)
		for i := range d {
			d[i] = byte(rng.Uint32())
		}
		s.add(addr, d)
		addr += uint64(n+0xfff) &^ 0xfff
		addr += 0x1000
	}
	return s
}

func (s *scenario) add(addr uint64, d []byte) {
	s.segs = append(s.segs, purgatory.Segment{Addr: addr, Len: uint64(len(d))})
	s.data = append(s.data, d)
	s.files = append(s.files, file{addr, d})
}

func (s *scenario) build(t *testing.T, h harness, cmdlineHex bool) []byte {
	t.Helper()
	cfg := purgatory.Config{Entry64: h.fakeKernel, BootParams: qemuBootParams, Verify: s.segs}
	if cmdlineHex {
		a, err := purgatory.PlaceholderAddr(s.cmdline, qemuCmdline)
		if err != nil {
			t.Fatal(err)
		}
		cfg.CmdlineHexAddr = a
	}
	blob, err := purgatory.Build(cfg, func(i int) []byte { return s.data[i] })
	if err != nil {
		t.Fatal(err)
	}
	return blob
}

// TestQEMU runs the committed purgatory blob in a virtual machine, entered
// the way relocate_kernel enters a KEXEC_PRESERVE_CONTEXT image, and checks
// what the "kernel" it starts receives, and that a bad segment stops it.
func TestQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU; skipped with -short")
	}
	h := buildHarness(t)
	// Lengths cover the checksum's tail handling (0..7 extra bytes) and
	// multi-page segments; with boot_params that is MaxSegments segments.
	lens := []int{1, 7, 8, 9, 15, 16, 17, 100, 4095, 4096, 4097, 8191, 65536 + 3, 1 << 20, 0}

	t.Run("boots", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, lens)
		if len(s.segs) != purgatory.MaxSegments {
			t.Fatalf("scenario has %d segments, want the maximum %d", len(s.segs), purgatory.MaxSegments)
		}
		blob := s.build(t, h, true)
		out := h.run(t, "boots", "KJTEST done", append(s.files, file{h.purgatory, blob}))
		wantKernel := fmt.Sprintf("KJTEST kernel cs=0010 ds=0018 es=0018 ss=0018 fs=0018 gs=0018 rsi=%016x if=0 gprs=%016x",
			qemuBootParams, 0)
		wantCmdline := "KJTEST cmdline=" + strings.Replace(s.cmdline, purgatory.JumpBackPlaceholder,
			fmt.Sprintf("%s%016x", purgatory.JumpBackParam, h.jumpBack), 1)
		wantJumpBack := fmt.Sprintf("KJTEST jumpback=%016x", h.jumpBack)
		for _, want := range []string{wantKernel, wantCmdline, wantJumpBack} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("missing line %q in output:\n%s", want, out)
			}
		}
		// Through the gate, three round trips: each side runs on its own
		// page tables (B's re-entry point is not in A's) and records the
		// gate's opposite entry as its peer's re-entry point.
		a := fmt.Sprintf("KJTEST gate a cr3=%016x peer=%016x\n", h.pml4A, h.purgatory+h.gateFirst)
		b := fmt.Sprintf("KJTEST gate b cr3=%016x peer=%016x\n", h.pml4B, h.purgatory+purgatory.OffsetGate)
		if want := wantJumpBack + "\n" + strings.Repeat(a+b, 3) + "KJTEST done\n"; !strings.Contains(out, want) {
			t.Errorf("the gate's round trips: want\n%s\nin output:\n%s", want, out)
		}
		if strings.Contains(out, "kjump purgatory:") {
			t.Errorf("purgatory complained:\n%s", out)
		}
		// What the second kernel would read from /proc/cmdline.
		for _, line := range strings.Split(out, "\n") {
			if c, ok := strings.CutPrefix(line, "KJTEST cmdline="); ok {
				if v, err := purgatory.ParseJumpBack(c); err != nil || v != h.jumpBack {
					t.Errorf("ParseJumpBack(%q) = %#x, %v; want %#x", c, v, err, h.jumpBack)
				}
			}
		}
	})

	t.Run("no cmdline patch", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, nil)
		blob := s.build(t, h, false)
		out := h.run(t, "nocmdline", "KJTEST done", append(s.files, file{h.purgatory, blob}))
		if !strings.Contains(out, "KJTEST cmdline="+s.cmdline+"\n") {
			t.Errorf("command line changed although CmdlineHexAddr is 0:\n%s", out)
		}
		if !strings.Contains(out, fmt.Sprintf("KJTEST jumpback=%016x\n", h.jumpBack)) {
			t.Errorf("jump_back field not written:\n%s", out)
		}
	})

	t.Run("mismatch", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, []int{4096, 4096 + 5, 12})
		blob := s.build(t, h, true)
		// Segment 2 (the second random one) differs in its last byte,
		// in the zero-padded tail word.
		bad := bytes.Clone(s.data[2])
		bad[len(bad)-1] ^= 1
		s.files[2].data = bad
		const msg = "kjump purgatory: checksum mismatch in segment 2"
		out := h.run(t, "mismatch", msg, append(s.files, file{h.purgatory, blob}))
		if strings.Contains(out, "KJTEST kernel") {
			t.Errorf("kernel started despite the mismatch:\n%s", out)
		}
		if !strings.Contains(out, msg+"\n") {
			t.Errorf("want exactly %q on its own line:\n%s", msg, out)
		}
	})

	t.Run("mismatch in segment 15", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, lens)
		blob := s.build(t, h, true)
		s.files[15].data = nil // the empty segment ...
		s.segs[15].Len = 0
		// ... with a wrong sum patched in by hand.
		binary.LittleEndian.PutUint64(blob[purgatory.OffsetSegments+15*purgatory.SegmentEntrySize+16:], 1)
		const msg = "kjump purgatory: checksum mismatch in segment 15"
		out := h.run(t, "mismatch15", msg, append(s.files, file{h.purgatory, blob}))
		if strings.Contains(out, "KJTEST kernel") {
			t.Errorf("kernel started despite the mismatch:\n%s", out)
		}
	})

	t.Run("not configured", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, nil)
		blob := s.build(t, h, true)
		binary.LittleEndian.PutUint64(blob[purgatory.OffsetEntry64:], 0)
		h.run(t, "noentry", "kjump purgatory: not configured", append(s.files, file{h.purgatory, blob}))
	})

	t.Run("bad segment count", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t, nil)
		blob := s.build(t, h, true)
		binary.LittleEndian.PutUint32(blob[purgatory.OffsetNumSegments:], purgatory.MaxSegments+1)
		h.run(t, "badcount", "kjump purgatory: bad header", append(s.files, file{h.purgatory, blob}))
	})
}
