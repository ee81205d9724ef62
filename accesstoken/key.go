package accesstoken

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// RSA key sizes: generated keys have rsaGenerateBits; keys below rsaMinBits
// are refused everywhere (PrivateKey, NewKeySet, ParseJWKS).
const (
	rsaGenerateBits = 2048
	rsaMinBits      = 2048
	maxKIDLen       = 256
)

// Key is one signing key. Private is nil for a public-only key (a verifier's
// view). Public holds ed25519.PublicKey for EdDSA, *ecdsa.PublicKey (P-256)
// for ES256 and *rsa.PublicKey for RS256; Private holds the matching
// ed25519.PrivateKey, *ecdsa.PrivateKey or *rsa.PrivateKey.
//
// Key's String, Format, GoString, LogValue and MarshalJSON methods never
// print key material: fmt verbs (%v, %+v, %#v, %s, %x, ...), log/slog and
// encoding/json show only kid, alg and creation time. (A Key stored in an
// unexported struct field is beyond their reach: fmt prints unexported fields
// raw, so do not print structs that embed keys in unexported fields.)
type Key struct {
	// ID is the key ID ("kid"): random and URL-safe for generated keys (16
	// random bytes, base64url). Any key ID must be 1 to 256 printable ASCII
	// characters.
	ID string
	// Alg is the one algorithm this key is used with.
	Alg Alg
	// Private is the private key, nil for a public-only key.
	Private crypto.Signer
	// Public is the public key.
	Public crypto.PublicKey
	// CreatedAt is when the key was generated (informational).
	CreatedAt time.Time
}

// GenerateKey creates a new signing key for alg, with a fresh random key ID.
// random is the source for the key ID and the Ed25519 seed; nil means
// crypto/rand. Since Go 1.26 ECDSA and RSA key generation always use the
// system's secure random source and ignore random. RS256 keys are 2048-bit.
// now becomes CreatedAt.
//
// Errors: ErrUnsupportedAlg for an unknown alg; the reader's error if random
// fails.
func GenerateKey(alg Alg, random io.Reader, now time.Time) (*Key, error) {
	if alg.method() == nil {
		return nil, fmt.Errorf("%w: %.32q", ErrUnsupportedAlg, string(alg))
	}
	if random == nil {
		random = rand.Reader
	}
	var id [16]byte
	if _, err := io.ReadFull(random, id[:]); err != nil {
		return nil, fmt.Errorf("accesstoken: generate key ID: %w", err)
	}
	k := &Key{ID: base64.RawURLEncoding.EncodeToString(id[:]), Alg: alg, CreatedAt: now}
	switch alg {
	case EdDSA:
		pub, priv, err := ed25519.GenerateKey(random)
		if err != nil {
			return nil, fmt.Errorf("accesstoken: generate Ed25519 key: %w", err)
		}
		k.Private, k.Public = priv, pub
	case ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), random)
		if err != nil {
			return nil, fmt.Errorf("accesstoken: generate P-256 key: %w", err)
		}
		k.Private, k.Public = priv, &priv.PublicKey
	case RS256:
		priv, err := rsa.GenerateKey(random, rsaGenerateBits)
		if err != nil {
			return nil, fmt.Errorf("accesstoken: generate RSA key: %w", err)
		}
		k.Private, k.Public = priv, &priv.PublicKey
	}
	return k, nil
}

// MarshalPrivate returns the private key in PKCS #8 DER form, for storage
// (seal it with [Seal] first). Errors: ErrNoPrivateKey for a public-only key;
// ErrKey if the private key is of a type that does not match Alg.
func (k *Key) MarshalPrivate() ([]byte, error) {
	if k == nil || k.Private == nil {
		return nil, ErrNoPrivateKey
	}
	if err := checkPrivate(k.Alg, k.Private); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return der, nil
}

// ParsePrivateKey rebuilds a Key from its PKCS #8 DER form (see
// [Key.MarshalPrivate]). It checks that id is a valid key ID and that the key
// type matches alg: Ed25519 for EdDSA, ECDSA P-256 for ES256, RSA of at least
// 2048 bits for RS256.
//
// Errors: ErrUnsupportedAlg for an unknown alg; ErrKey for an invalid id,
// undecodable DER or a key of the wrong type or size.
func ParsePrivateKey(id string, alg Alg, der []byte, createdAt time.Time) (*Key, error) {
	if alg.method() == nil {
		return nil, fmt.Errorf("%w: %.32q", ErrUnsupportedAlg, string(alg))
	}
	if err := checkKID(id); err != nil {
		return nil, err
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: PKCS #8: %v", ErrKey, err)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T is not a signing key", ErrKey, parsed)
	}
	if err := checkPrivate(alg, signer); err != nil {
		return nil, err
	}
	return &Key{ID: id, Alg: alg, Private: signer, Public: signer.Public(), CreatedAt: createdAt}, nil
}

// PublicJWK returns the public half of k as a JWK with "kid", "use":"sig" and
// "alg" exactly the token algorithm ("EdDSA", never "Ed25519"). It never
// contains private members.
func (k *Key) PublicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.publicKey(), KeyID: k.ID, Algorithm: string(k.Alg), Use: "sig"}
}

// publicKey returns Public, or derives it from Private when unset.
func (k *Key) publicKey() crypto.PublicKey {
	if k.Public == nil && k.Private != nil {
		return k.Private.Public()
	}
	return k.Public
}

// publicOnly returns a copy of k without the private part, after checking
// that the key is usable for verification. Errors: ErrKey.
func (k *Key) publicOnly() (*Key, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: nil key", ErrKey)
	}
	if err := checkKID(k.ID); err != nil {
		return nil, err
	}
	if k.Alg.method() == nil {
		return nil, fmt.Errorf("%w: kid %.40q: unsupported alg %.32q", ErrKey, k.ID, string(k.Alg))
	}
	pub := k.publicKey()
	if err := checkPublic(k.Alg, pub); err != nil {
		return nil, fmt.Errorf("%w (kid %.40q)", err, k.ID)
	}
	return &Key{ID: k.ID, Alg: k.Alg, Public: pub, CreatedAt: k.CreatedAt}, nil
}

// String returns "accesstoken.Key{kid=… alg=…}" (with " private" when the key
// has a private part). It never contains key material.
func (k Key) String() string {
	s := "accesstoken.Key{kid=" + k.ID + " alg=" + string(k.Alg)
	if k.Private != nil {
		s += " private"
	}
	return s + "}"
}

// GoString implements fmt.GoStringer like String, so %#v prints no key
// material.
func (k Key) GoString() string { return k.String() }

// Format implements fmt.Formatter: every verb (%v, %+v, %#v, %s, %x, %q, ...)
// prints String (quoted for %q), never the key material.
func (k Key) Format(f fmt.State, verb rune) {
	s := k.String()
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	_, _ = io.WriteString(f, s)
}

// LogValue implements slog.LogValuer: kid, alg, created_at and whether the
// key has a private part.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kid", k.ID),
		slog.String("alg", string(k.Alg)),
		slog.Time("created_at", k.CreatedAt),
		slog.Bool("private", k.Private != nil),
	)
}

// MarshalJSON implements json.Marshaler so that encoding a Key by accident
// never leaks it: the output is {"kid","alg","created_at"} only. It is not a
// serialisation format; use [Key.MarshalPrivate] or [Key.PublicJWK].
func (k Key) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID        string    `json:"kid"`
		Alg       Alg       `json:"alg"`
		CreatedAt time.Time `json:"created_at"`
	}{k.ID, k.Alg, k.CreatedAt})
}

// checkKID accepts 1 to maxKIDLen printable ASCII characters.
func checkKID(id string) error {
	if id == "" || len(id) > maxKIDLen {
		return fmt.Errorf("%w: key ID must be 1 to %d characters", ErrKey, maxKIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%w: key ID must be printable ASCII", ErrKey)
		}
	}
	return nil
}

// checkPublic checks that pub is a usable public key for alg. Errors: ErrKey.
func checkPublic(alg Alg, pub crypto.PublicKey) error {
	switch alg {
	case EdDSA:
		if p, ok := pub.(ed25519.PublicKey); ok && len(p) == ed25519.PublicKeySize {
			return nil
		}
	case ES256:
		if p, ok := pub.(*ecdsa.PublicKey); ok && p != nil && p.Curve == elliptic.P256() {
			if _, err := p.Bytes(); err == nil { // on the curve, not the identity
				return nil
			}
		}
	case RS256:
		if p, ok := pub.(*rsa.PublicKey); ok && p != nil && p.N != nil {
			if p.N.BitLen() < rsaMinBits {
				return fmt.Errorf("%w: RSA key of %d bits, at least %d required", ErrKey, p.N.BitLen(), rsaMinBits)
			}
			if p.E >= 3 && p.E%2 == 1 {
				return nil
			}
		}
	default:
		return fmt.Errorf("%w: unsupported alg %.32q", ErrKey, string(alg))
	}
	return fmt.Errorf("%w: %T is not a valid %s public key", ErrKey, pub, alg)
}

// checkPrivate checks that priv is a usable private key for alg (type, curve,
// size, and a valid public half). Errors: ErrKey.
func checkPrivate(alg Alg, priv crypto.Signer) error {
	if err := checkSigner(alg, priv); err != nil {
		return err
	}
	return checkPublic(alg, priv.Public())
}

// checkSigner is the cheap part of checkPrivate, run on every Sign: the
// private key's type, curve and size match alg. Errors: ErrKey.
func checkSigner(alg Alg, priv crypto.Signer) error {
	ok := false
	switch p := priv.(type) {
	case ed25519.PrivateKey:
		ok = alg == EdDSA && len(p) == ed25519.PrivateKeySize
	case *ecdsa.PrivateKey:
		ok = alg == ES256 && p != nil && p.Curve == elliptic.P256()
	case *rsa.PrivateKey:
		ok = alg == RS256 && p != nil && p.N != nil && p.N.BitLen() >= rsaMinBits
	}
	if !ok {
		return fmt.Errorf("%w: %T is not a valid %s private key", ErrKey, priv, alg)
	}
	return nil
}
