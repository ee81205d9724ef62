package accesstoken

import (
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// Alg is a JWS signature algorithm name (RFC 7518, RFC 8037), exactly as it
// appears in a token's "alg" header and a JWK's "alg" member.
type Alg string

// The algorithms Tessera signs and verifies with. EdDSA (Ed25519) is the
// default. The fully-specified name "Ed25519" (RFC 9864) is not used: common
// verifiers (golang-jwt, go-oidc, jose) only know "EdDSA".
const (
	EdDSA Alg = "EdDSA"
	ES256 Alg = "ES256"
	RS256 Alg = "RS256"
)

// allAlgs is the default allow-list, in order of preference.
var allAlgs = []Alg{EdDSA, ES256, RS256}

// allAlgNames is allAlgs as golang-jwt method names (shared, never modified).
var allAlgNames = []string{string(EdDSA), string(ES256), string(RS256)}

// ParseAlg returns the Alg named s. Only the exact, case-sensitive names
// "EdDSA", "ES256" and "RS256" are accepted ("Ed25519", "eddsa", "none",
// "HS256" are not); any other name returns an error wrapping
// [ErrUnsupportedAlg].
func ParseAlg(s string) (Alg, error) {
	switch a := Alg(s); a {
	case EdDSA, ES256, RS256:
		return a, nil
	}
	return "", fmt.Errorf("%w: %.32q", ErrUnsupportedAlg, s)
}

// String returns the algorithm name.
func (a Alg) String() string { return string(a) }

// method returns golang-jwt's signing method for a, or nil for an unknown
// Alg. The returned values are golang-jwt's package-level singletons; the
// Verifier relies on their identity (see verifySignature).
func (a Alg) method() jwt.SigningMethod {
	switch a {
	case EdDSA:
		return jwt.SigningMethodEdDSA
	case ES256:
		return jwt.SigningMethodES256
	case RS256:
		return jwt.SigningMethodRS256
	}
	return nil
}

// verifySignature checks sig over signingInput with k's public key, using
// golang-jwt's signing method for k.Alg (the Verifier has checked that the
// token's alg is k.Alg). It is the single signature check of the package:
// Verify calls it, and the Wycheproof tests run every vector through it.
func verifySignature(k *Key, signingInput string, sig []byte) error {
	m := k.Alg.method()
	if m == nil {
		return fmt.Errorf("%w: %.32q", ErrUnsupportedAlg, string(k.Alg))
	}
	return m.Verify(signingInput, sig, k.Public)
}
