// Package jump is kjump's workflow for a kexec jump, on top of package kexec: it
// loads a second kernel with preserved context (choosing and confining its
// region, generating its initramfs from kjump itself, giving it a job through
// kjump.* parameters), and returns from the second kernel to the first.
//
// First kernel:  Load, then Exec (returns when the second kernel jumps back; the
// next Exec re-enters the same second kernel where it left off).
// Second kernel: Back — reads kexec_jump_back_entry= from /proc/cmdline, loads the
// jump-back helper once, and jumps; it returns when the first kernel re-enters.
//
// The note page (NotePage, LeaveNote, ReadBackNote): before each jump back, the
// second kernel leaves in a page of the first kernel's reserved first MiB
// where its VMCOREINFO note and the first kernel's kexec page list are, so
// that the first kernel can read it while it waits (package core).
package jump
