package image

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// ErrKeyFile means a key or passphrase file cannot be used.
var ErrKeyFile = errors.New("unusable key file")

// KeyFromFiles reads the key of an encrypted image the way every kjump command
// does (hibernate, resume, image verify): from keyFile, exactly KeySize raw
// bytes, or from passphraseFile, whose text up to its trailing line ends
// ("\n" or "\r\n", any number) is the passphrase; an empty passphrase is
// refused. Both empty give the zero Key (no encryption); both set is an error.
func KeyFromFiles(keyFile, passphraseFile string) (Key, error) {
	switch {
	case keyFile != "" && passphraseFile != "":
		return Key{}, fmt.Errorf("%w: give either a key file or a passphrase file, not both", ErrKeyFile)
	case keyFile != "":
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return Key{}, fmt.Errorf("%w: %w", ErrKeyFile, err)
		}
		if len(b) != KeySize {
			return Key{}, fmt.Errorf("%w: %s has %d bytes; a key is %d random bytes (head -c %d /dev/urandom > %s)", ErrKeyFile, keyFile, len(b), KeySize, KeySize, keyFile)
		}
		return RawKey(b)
	case passphraseFile != "":
		b, err := os.ReadFile(passphraseFile)
		if err != nil {
			return Key{}, fmt.Errorf("%w: %w", ErrKeyFile, err)
		}
		p := bytes.TrimRight(b, "\r\n")
		if len(p) == 0 {
			return Key{}, fmt.Errorf("%w: passphrase file %s is empty", ErrKeyFile, passphraseFile)
		}
		return Passphrase(p), nil
	}
	return Key{}, nil
}

// Secret returns the key's material, to hand it to another kernel (kjump
// hibernate passes it to the second kernel through the mailbox): the raw key,
// or the passphrase; both nil for the zero Key.
func (k Key) Secret() (raw, passphrase []byte) {
	return bytes.Clone(k.raw), bytes.Clone(k.passphrase)
}
