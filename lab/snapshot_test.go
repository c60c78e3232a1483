package lab

import (
	"strings"
	"testing"
)

// crashOut is crash 8.0.6's output of "ps", "bt -c 0", "help -n" and "log"
// on a lab snapshot, shortened.
const crashOut = `WARNING: ORC unwinder: module orc_entry structures have changed
WARNING: cannot determine how modules are linked
WARNING: no kernel module access

      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM
        0       0   0  ffffffff82008b00  RU   0.0        0        0  [swapper/0]
>       0       0   1  ffff95d80020c380  RU   0.0        0        0  [swapper/1]
        1       0   0  ffff95d8001f8000  ??   0.6  1263848     5940  init
       40      38   0  ffff95d8002d0000  ??   0.2     2260     1660  counter.sh
>      46      38   0  ffff95d8002d4380  RU   1.9  1330428    20004  kjump
PID: 46       TASK: ffff95d8002d4380  CPU: 0    COMMAND: "kjump"
 #0 [ffff95d800f7fdb0] machine_kexec at ffffffff818328a8
 #1 [ffff95d800f7fe00] kernel_kexec at ffffffff8189fda6
 #2 [ffff95d800f7fe10] __do_sys_reboot at ffffffff8185941c
 #3 [ffff95d800f7ff40] do_syscall_64 at ffffffff81acd529
  num_prstatus_notes: 1
            notes[0]: 55fe7afb5270 (NT_PRSTATUS)
                      pid: 46  ppid: 0  pgrp: 0  sid:0
[    0.000000] Linux version 6.12.118 (kjump@lab) #1 SMP kjump-lab
[   20.270000] Freezing user space processes
`

func TestCheckCrashTrixie(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		between bool
		wantErr string
	}{
		{"good", crashOut, false, ""},
		{"warning", strings.Replace(crashOut, "WARNING: no kernel module access\n", "WARNING: no kernel module access\nWARNING: cpu 0: invalid NT_PRSTATUS note (n_type != NT_PRSTATUS)\n", 1), false, "a warning about the CPUs' notes"},
		{"no counter", strings.Replace(crashOut, "counter.sh", "sh", 1), false, "no counter.sh"},
		{"counter in the log only", strings.Replace(crashOut, "counter.sh\n", "sh\n", 1) + "[ 21.0] counter.sh\n", false, "no counter.sh"},
		{"not unwound", strings.Replace(crashOut, "__do_sys_reboot", "?", 1), false, "does not unwind"},
		{"note of another task", strings.Replace(crashOut, "pid: 46", "pid: 44", 1), false, "NT_PRSTATUS notes"},
		{"no note", strings.Replace(crashOut, "pid: 46  ppid", "", 1), false, "NT_PRSTATUS notes"},
		{"the line of the second snapshot missing", crashOut, true, "log is not"},
		{"another kernel's log", strings.Replace(crashOut, "6.12.118", "6.1.0", 1), false, "log is not"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkCrashTrixie(tc.out, "6.12.118", tc.between)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}
