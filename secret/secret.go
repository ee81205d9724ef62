// Package secret holds Tessera's bearer secrets: session IDs, refresh tokens and
// client secrets. A Token is 256 bits from crypto/rand, written as unpadded
// base64url. It never prints itself: String, GoString and LogValue redact it,
// and the text form is reached only through Reveal, which is called where the
// secret is handed to its owner (a Set-Cookie header, a token response).
//
// Stores keep only the SHA-256 of a token (Hash) and look tokens up by it, so a
// copy of the database does not let anyone sign in.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
)

// Size is the number of random bytes in a Token (256 bits).
const Size = 32

// TextLen is the length of a Token's text form.
var TextLen = base64.RawURLEncoding.EncodedLen(Size)

// ErrMalformed is returned by Parse for text that cannot be a Token.
var ErrMalformed = errors.New("secret: malformed token")

var enc = base64.RawURLEncoding.Strict()

// Token is a bearer secret. The zero Token is invalid (IsZero reports it).
type Token struct{ text string }

// New returns a fresh Token read from crypto/rand.
func New() Token { return MustFrom(rand.Reader) }

// From reads a Token from r; tests pass a deterministic reader.
func From(r io.Reader) (Token, error) {
	var b [Size]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Token{}, err
	}
	return Token{text: enc.EncodeToString(b[:])}, nil
}

// MustFrom is From for readers that cannot fail, such as crypto/rand.
func MustFrom(r io.Reader) Token {
	t, err := From(r)
	if err != nil {
		panic("secret: reading randomness: " + err.Error())
	}
	return t
}

// Parse checks that s is the text form of a Token: exactly TextLen characters
// of the base64url alphabet with no padding and canonical trailing bits.
// The characters are checked first because base64 decoding skips '\r' and '\n'.
func Parse(s string) (Token, error) {
	if len(s) != TextLen {
		return Token{}, ErrMalformed
	}
	for i := 0; i < len(s); i++ {
		if !isURLChar(s[i]) {
			return Token{}, ErrMalformed
		}
	}
	var b [Size]byte
	if n, err := enc.Decode(b[:], []byte(s)); err != nil || n != Size {
		return Token{}, ErrMalformed
	}
	return Token{text: s}, nil
}

func isURLChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// IsZero reports whether t is the zero Token.
func (t Token) IsZero() bool { return t.text == "" }

// Reveal returns the secret's text. Call it only to hand the secret to its owner.
func (t Token) Reveal() string { return t.text }

// Hash returns the SHA-256 of the token's text, the only form that is stored.
func (t Token) Hash() Hash { return sha256.Sum256([]byte(t.text)) }

// Equal compares two tokens in constant time.
func (t Token) Equal(o Token) bool {
	return subtle.ConstantTimeCompare([]byte(t.text), []byte(o.text)) == 1
}

// String redacts the secret.
func (t Token) String() string { return "secret.Token(REDACTED)" }

// GoString redacts the secret for %#v.
func (t Token) GoString() string { return t.String() }

// LogValue redacts the secret in log/slog output.
func (t Token) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Hash is the SHA-256 of a Token: what stores keep and index.
type Hash [sha256.Size]byte

// Equal compares two hashes in constant time.
func (h Hash) Equal(o Hash) bool { return subtle.ConstantTimeCompare(h[:], o[:]) == 1 }

// HashBytes hashes arbitrary secret text, such as a client secret as presented.
func HashBytes(s string) Hash { return sha256.Sum256([]byte(s)) }

// RandomID returns n random bytes as unpadded base64url: public identifiers
// (a session's sid, a key's kid) that are unguessable but not secret.
func RandomID(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic("secret: reading randomness: " + err.Error())
	}
	return enc.EncodeToString(b)
}
