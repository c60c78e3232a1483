// Package lab proves kjump on real kernels: it builds the lab kernel (package
// lab/kernel), an initramfs whose /init is the running kjump binary itself (package
// initramfs), boots them in QEMU (package lab/qemu, TCG: no KVM needed) and runs
// scenarios against the guest's serial console.
//
// A scenario gives the guest its job through kjump.* kernel parameters (package
// initmode), then matches the console lines kjump prints. Each scenario's console is
// logged with host timestamps under LogDir; a failure names its log.
//
// `kjump lab test` prints one line per scenario, "PASS name (N.Ns)" or
// "FAIL name: reason (log: PATH)", then "N passed, M failed".
package lab
