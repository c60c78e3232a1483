// Package kernel builds the lab's Linux kernel: Debian's linux-source-6.12 tarball,
// configured as `make tinyconfig` plus the committed fragment kjump.config (SMP,
// KASLR, STRICT_DEVMEM on, as on real machines), and caches the result.
//
// The cache lives under CacheDir()/kernel/KEY, where KEY is a hash of the source
// tarball's content, the fragment and this package's build recipe. A build is reused
// until one of them changes. Each build is verified: every option the fragment sets
// must have that value in the resulting .config, because `make olddefconfig` silently
// drops options whose dependencies are missing. A verified build directory holds
// bzImage, config, vmlinux and build.log; a half-built one never looks complete,
// because the bzImage is renamed into place last.
package kernel
