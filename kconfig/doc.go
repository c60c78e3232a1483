// Package kconfig reads kernel configuration files (.config, /proc/config.gz,
// /boot/config-RELEASE) and config fragments, and checks a configuration
// against a fragment.
//
// A .config is a text file written by the kernel's Kconfig tools, one symbol
// per line. An enabled or valued symbol is an assignment
//
//	CONFIG_KEXEC_JUMP=y
//	CONFIG_HZ=250
//	CONFIG_PHYSICAL_START=0x1000000
//	CONFIG_CMDLINE="console=ttyS0"
//
// where the value is "y" (built in), "m" (module), a decimal or hex number, or
// a double-quoted string. A bool or tristate symbol that is off is written as
// the comment
//
//	# CONFIG_KEXEC_JUMP is not set
//
// and a symbol that does not appear at all is also off (its dependencies were
// not met, so Kconfig did not ask). This package stores symbols without their
// CONFIG_ prefix and values exactly as written, with "n" for "is not set".
// Other comments and blank lines carry no information and are skipped. Any
// other line is a syntax error reported with its line number: Kconfig itself
// only warns ("unexpected data") and goes on, but a typo in a fragment that
// silently drops an option would make a check pass that should fail.
//
// A fragment (as used by scripts/kconfig/merge_config.sh, e.g. a committed
// kjump.config) has the same syntax and lists the options a kernel must have.
// [Config.Check] compares a whole configuration against one and returns every
// option whose value differs; an absent symbol counts as "n".
//
// The running kernel's configuration is in /proc/config.gz when the kernel was
// built with CONFIG_IKCONFIG_PROC=y (CONFIG_IKCONFIG=m needs "modprobe
// configs" first); distributions install it as /boot/config-RELEASE instead.
// [LoadRunning] tries both.
package kconfig
