package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts the text form of a [Secret].
const SecretPrefix = "whsec_"

// SecretSize is the number of random bytes in a new Secret.
const SecretSize = 32

// ErrMalformedSecret is returned by ParseSecret.
var ErrMalformedSecret = errors.New("webhook: malformed secret")

// Secret is a webhook's signing key. Its text form, "whsec_" and the
// standard base64 of the key, is what the admin gives the receiver. It never
// prints itself: String, GoString, Format and LogValue redact it, and the
// text is reached only through Reveal.
type Secret struct{ key []byte }

// NewSecret reads a fresh 32-byte Secret from random (nil: crypto/rand).
func NewSecret(random io.Reader) (Secret, error) {
	if random == nil {
		random = rand.Reader
	}
	key := make([]byte, SecretSize)
	if _, err := io.ReadFull(random, key); err != nil {
		return Secret{}, fmt.Errorf("webhook: reading randomness: %w", err)
	}
	return Secret{key: key}, nil
}

// ParseSecret reads the text form of a Secret: "whsec_" (optional, as in
// the Standard Webhooks libraries) and the standard base64 of 24 to 64 bytes.
func ParseSecret(s string) (Secret, error) {
	key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil || len(key) < 24 || len(key) > 64 {
		return Secret{}, ErrMalformedSecret
	}
	return Secret{key: key}, nil
}

// secretFromKey wraps a key opened from the store.
func secretFromKey(key []byte) Secret { return Secret{key: key} }

// IsZero reports whether s is the zero Secret.
func (s Secret) IsZero() bool { return len(s.key) == 0 }

// Reveal returns the text form. Call it only to show the secret to the admin.
func (s Secret) Reveal() string { return SecretPrefix + base64.StdEncoding.EncodeToString(s.key) }

// Equal compares two secrets in constant time.
func (s Secret) Equal(o Secret) bool { return subtle.ConstantTimeCompare(s.key, o.key) == 1 }

// String redacts the secret.
func (s Secret) String() string { return "webhook.Secret(REDACTED)" }

// GoString redacts the secret for %#v.
func (s Secret) GoString() string { return s.String() }

// Format redacts the secret for every fmt verb.
func (s Secret) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue redacts the secret in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Sign returns the webhook-signature header for a message: "v1," and the
// standard base64 of HMAC-SHA256(key, id + "." + unix seconds + "." + body).
func (s Secret) Sign(id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}
