package kconfig_test

import (
	"fmt"
	"strings"

	"github.com/kjump/kjump/kconfig"
)

func Example() {
	// What a distribution kernel's /boot/config-RELEASE might say.
	cfg, err := kconfig.Parse(strings.NewReader(`
CONFIG_KEXEC=y
CONFIG_HIBERNATION=y
# CONFIG_KEXEC_JUMP is not set
CONFIG_RANDOMIZE_BASE=y
`))
	if err != nil {
		panic(err)
	}
	// What kjump needs.
	frag, err := kconfig.ParseFragment(strings.NewReader(`
# kexec jump
CONFIG_KEXEC=y
CONFIG_KEXEC_JUMP=y
CONFIG_PROC_KCORE=y
`))
	if err != nil {
		panic(err)
	}
	fmt.Println("KEXEC enabled:", cfg.Enabled("KEXEC"))
	for _, m := range cfg.Check(frag) {
		fmt.Println(m)
	}
	// Output:
	// KEXEC enabled: true
	// CONFIG_KEXEC_JUMP: want y, got n
	// CONFIG_PROC_KCORE: want y, got absent
}
