package qemu_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/kjump/kjump/lab/qemu"
)

// Boot a kernel, wait for its shell prompt, run a command, and check that the
// guest powers off. Hibernation scenarios then start a second VM on the same disk.
// (Not run: it needs a kernel and an initramfs.)
func Example() {
	ctx := context.Background()
	vm, err := qemu.Start(ctx, qemu.Config{
		Kernel: "bzImage",
		Initrd: "initramfs.cpio",
		Append: "console=ttyS0 panic=-1",
		Disks:  []qemu.Disk{{Path: "disk.img"}},
		Log:    "boot.log",
		Echo:   os.Stdout,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer vm.Kill()

	idx, line, err := vm.Expect(60*time.Second, `Kernel panic`, `~ # $`)
	if err != nil {
		log.Fatal(err) // a *TimeoutError or *ExitedError naming boot.log
	}
	if idx == 0 {
		log.Fatalf("guest panicked: %s", line)
	}
	if err := vm.Send("poweroff -f\n"); err != nil {
		log.Fatal(err)
	}
	if err := vm.Wait(30 * time.Second); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("powered off after %.1fs\n", vm.Elapsed().Seconds())
}

// A shell script can stand in for QEMU, to test code that drives a VM without
// booting one: here the "guest" prints a line and exits with status 3.
func ExampleExitedError() {
	dir, err := os.MkdirTemp("", "qemu-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	fake := filepath.Join(dir, "fake-qemu")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'Kernel panic - not syncing'\nexit 3\n"), 0o755); err != nil {
		log.Fatal(err)
	}

	vm, err := qemu.Start(context.Background(), qemu.Config{Binary: fake, Log: filepath.Join(dir, "console.log")})
	if err != nil {
		log.Fatal(err)
	}
	defer vm.Kill()
	_, _, err = vm.Expect(30*time.Second, `login:`)
	var ee *qemu.ExitedError
	if errors.As(err, &ee) {
		fmt.Println("exit code:", ee.Status.ExitCode())
		fmt.Println("last line:", ee.Tail[len(ee.Tail)-1])
	}
	// Output:
	// exit code: 3
	// last line: Kernel panic - not syncing
}
