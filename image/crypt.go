package image

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Argon2id bounds accepted from an image header, so a crafted header cannot
// make the reader spend unbounded memory or time.
const (
	maxKDFTime   = 64
	maxKDFMemKiB = 4 << 20 // 4 GiB
)

// DefaultKDF are the Argon2id parameters Write uses for a passphrase when
// WriteOptions.KDF is zero: 3 passes over 256 MiB, 4 threads.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 256 << 10, Threads: 4}

// KeySize is the length of a raw key (AES-256).
const KeySize = 32

// Key is the secret of an encrypted image: either a raw 32-byte key (from a
// key file) or a passphrase stretched with Argon2id. The zero Key means "no
// key": Write writes a plain image and Open refuses encrypted ones.
type Key struct {
	raw        []byte
	passphrase []byte
}

// RawKey returns a Key for a 32-byte key, e.g. the contents of a key file.
func RawKey(b []byte) (Key, error) {
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("image: raw key is %d bytes, want %d", len(b), KeySize)
	}
	return Key{raw: append([]byte(nil), b...)}, nil
}

// Passphrase returns a Key derived from a passphrase with Argon2id.
func Passphrase(p []byte) Key {
	return Key{passphrase: append([]byte{}, p...)}
}

// IsZero reports whether k is the zero Key (no encryption).
func (k Key) IsZero() bool { return k.raw == nil && k.passphrase == nil }

// keys are the per-image keys derived from the master key and image UUID.
type keys struct {
	aead  cipher.AEAD
	mac   [32]byte
	check [32]byte
}

func derive(master []byte, uuid [16]byte, label string) [32]byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("kjump/image/v1/" + label))
	m.Write(uuid[:])
	var out [32]byte
	copy(out[:], m.Sum(nil))
	return out
}

// masterKey turns k into the 32-byte master key for header h.
func masterKey(k Key, h *Header) ([]byte, error) {
	switch {
	case k.IsZero():
		return nil, ferr(ErrKey, "header", offFlags, "image is encrypted and no key was given")
	case h.KDF == KDFNone && k.raw == nil:
		return nil, ferr(ErrKey, "header", offKDF, "image was encrypted with a key file, a passphrase was given")
	case h.KDF == KDFArgon2id && k.passphrase == nil:
		return nil, ferr(ErrKey, "header", offKDF, "image was encrypted with a passphrase, a key file was given")
	case h.KDF == KDFArgon2id:
		p := h.KDFParams
		return argon2.IDKey(k.passphrase, h.Salt[:], p.Time, p.MemoryKiB, p.Threads, KeySize), nil
	}
	return k.raw, nil
}

func newKeys(master []byte, uuid [16]byte) (*keys, error) {
	ck := derive(master, uuid, "chunk")
	block, err := aes.NewCipher(ck[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &keys{aead: aead, mac: derive(master, uuid, "commit"), check: derive(master, uuid, "check")}, nil
}

// commitMAC authenticates the commit digest (and so the whole image layout).
func (k *keys) commitMAC(digest [32]byte) [32]byte {
	m := hmac.New(sha256.New, k.mac[:])
	m.Write(digest[:])
	var out [32]byte
	copy(out[:], m.Sum(nil))
	return out
}

// nonce is unique per chunk under a per-image key (the chunk key is derived
// from the random image UUID, the nonce holds the chunk index).
func nonce(index uint64) []byte {
	n := make([]byte, 12)
	binary.LittleEndian.PutUint64(n[4:], index)
	return n
}

// chunkAD is the associated data of one chunk: the header binding plus the
// chunk's index, raw length and encoding.
func chunkAD(binding [32]byte, c *chunkHeader) []byte {
	ad := make([]byte, 0, 48)
	ad = append(ad, binding[:]...)
	ad = binary.LittleEndian.AppendUint64(ad, c.index)
	ad = binary.LittleEndian.AppendUint32(ad, c.rawLen)
	ad = binary.LittleEndian.AppendUint32(ad, c.encoding)
	return ad
}
