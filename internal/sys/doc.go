// Package sys holds kjump's raw system calls: kexec_load(2) and the reboot(2)
// commands that execute or unload a kexec image. Callers wrap its errno results in
// errors a user understands (package kexec).
package sys
