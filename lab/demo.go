package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// Demo is the showcase a newcomer runs first: a readable transcript of each feature
// running on a real kernel, with the guest's console indented under the narration.
func (l *Lab) Demo(ctx context.Context, w io.Writer) error {
	say := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	console := &prefixWriter{w: w, prefix: "    │ "}

	say("")
	say("== 1. Boot: the lab kernel with kjump as init ==")
	say("QEMU (TCG, 2 CPUs, 1 GiB) boots Linux %s built with CONFIG_KEXEC_JUMP.", l.Kernel.Release)
	say("The initramfs holds one program, kjump, as /init. Its job comes from the kernel")
	say("command line: kjump.run=doctor runs 'kjump doctor', kjump.then=poweroff ends the boot.")
	say("")
	start := time.Now()
	vm, err := l.Boot(ctx, Guest{Name: "demo-boot", Append: "quiet kjump.run=doctor", Echo: console})
	if err != nil {
		return err
	}
	defer vm.Kill()
	if err := expectOK(vm, "doctor", 90*time.Second); err != nil {
		return err
	}
	if err := powerOff(vm); err != nil {
		return err
	}
	console.Flush()
	say("")
	say("The guest checked itself, found everything kexec jump needs, and powered off")
	say("(%.1fs from QEMU start to power-off; console log: %s).", time.Since(start).Seconds(), vm.LogPath())
	say("On this host, 'kjump doctor' says what a real machine lacks.")
	return nil
}

// prefixWriter indents every line written through it.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimRight(p.buf[:i], "\r")
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, line)
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

// Flush writes a pending partial line.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf)
		p.buf = nil
	}
}
