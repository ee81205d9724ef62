package accesstoken

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
)

// KEKSize is the size of the key-encryption key of Seal and Open.
const KEKSize = 32

// Sealed key format, version 1:
//
//	0x01 || nonce (12 random bytes) || AES-256-GCM ciphertext and tag
//
// The associated data is sealAAD || kid, so a sealed key opens only under
// the kid it was sealed for: it cannot be moved to another key's row.
const (
	sealVersion  = 1
	sealNonceLen = 12
	sealTagLen   = 16
	sealAAD      = "tessera/accesstoken/sealed-key/v1\x00"
)

// Seal encrypts plaintext (a private key, see [Key.MarshalPrivate]) under
// the 32-byte key-encryption key kek with AES-256-GCM and a random nonce,
// binding it to kid as associated data. random is the nonce source; nil means
// crypto/rand.
//
// Errors: ErrKEK if kek is not 32 bytes; the reader's error if random fails.
func Seal(kek []byte, kid string, plaintext []byte, random io.Reader) ([]byte, error) {
	aead, err := newSealAEAD(kek)
	if err != nil {
		return nil, err
	}
	if random == nil {
		random = rand.Reader
	}
	out := make([]byte, 1+sealNonceLen, 1+sealNonceLen+len(plaintext)+sealTagLen)
	out[0] = sealVersion
	if _, err := io.ReadFull(random, out[1:]); err != nil {
		return nil, fmt.Errorf("accesstoken: seal: nonce: %w", err)
	}
	return aead.Seal(out, out[1:], plaintext, sealAD(kid)), nil
}

// Open decrypts a key sealed by [Seal] under kek for kid.
//
// Errors: ErrKEK if kek is not 32 bytes; ErrSealed if the data is truncated,
// of an unknown version, was sealed under another kek or kid, or was
// modified.
func Open(kek []byte, kid string, sealed []byte) ([]byte, error) {
	aead, err := newSealAEAD(kek)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+sealNonceLen+sealTagLen || sealed[0] != sealVersion {
		return nil, ErrSealed
	}
	plain, err := aead.Open(nil, sealed[1:1+sealNonceLen], sealed[1+sealNonceLen:], sealAD(kid))
	if err != nil {
		return nil, ErrSealed
	}
	return plain, nil
}

func newSealAEAD(kek []byte) (cipher.AEAD, error) {
	if len(kek) != KEKSize {
		return nil, ErrKEK
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("accesstoken: %w", err)
	}
	return cipher.NewGCM(block)
}

func sealAD(kid string) []byte { return append([]byte(sealAAD), kid...) }
