module github.com/kjump/kjump

go 1.26.8

require (
	github.com/anchore/go-lzo v0.1.1
	github.com/klauspost/compress v1.20.3
	golang.org/x/sys v0.49.0
)

require golang.org/x/crypto v0.58.0

require github.com/pierrec/lz4/v4 v4.1.33 // indirect
