//go:build !amd64 || purego

package zpage

// adler32 is hash/adler32.Checksum.
func adler32(p []byte) uint32 { return adlerScalar(1, 0, p) }
