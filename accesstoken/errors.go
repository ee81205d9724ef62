package accesstoken

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched, through errors.Is, by every error that
// [Verifier.Verify] returns for a token that must be refused. Callers that only
// need "valid or not" (HTTP 401 invalid_token) test for it alone; the
// specific sentinels (ErrMalformed, ErrSignature, ErrExpired, ...) say why.
var ErrInvalid = errors.New("accesstoken: invalid token")

// invalidKind is the type of the specific refusal sentinels. Each one matches
// itself and ErrInvalid.
type invalidKind struct{ msg string }

func (e *invalidKind) Error() string        { return e.msg }
func (e *invalidKind) Is(target error) bool { return target == ErrInvalid }

// Refusal reasons returned (wrapped) by [Verifier.Verify]. Each also matches
// [ErrInvalid].
var (
	// ErrTooLarge: the token is longer than Verifier.MaxTokenBytes. Checked
	// before any decoding.
	ErrTooLarge error = &invalidKind{"accesstoken: token too large"}
	// ErrMalformed: not a compact JWS of exactly three non-empty segments of
	// canonical base64url, or a header or payload that is not one JSON
	// object, or one with duplicate (also case-variant) member names.
	ErrMalformed error = &invalidKind{"accesstoken: malformed token"}
	// ErrHeader: the header lacks kid or carries a member that Tessera never
	// accepts (jku, x5u, jwk, x5c, x5t, x5t#S256, crit, b64, zip, enc).
	ErrHeader error = &invalidKind{"accesstoken: forbidden or missing header parameter"}
	// ErrAlgorithm: alg is missing, not in the Verifier's allow-list, or not
	// the algorithm of the key named by kid.
	ErrAlgorithm error = &invalidKind{"accesstoken: algorithm not allowed"}
	// ErrType: typ is missing or is not at+jwt / application/at+jwt.
	ErrType error = &invalidKind{"accesstoken: wrong token type"}
	// ErrUnknownKey: no key with this kid in the Verifier's key set (unknown
	// or retired key).
	ErrUnknownKey error = &invalidKind{"accesstoken: unknown signing key"}
	// ErrSignature: the signature does not verify with the key from our set.
	ErrSignature error = &invalidKind{"accesstoken: bad signature"}
	// ErrExpired: exp is in the past, beyond the leeway.
	ErrExpired error = &invalidKind{"accesstoken: token expired"}
	// ErrNotYetValid: nbf or iat is in the future, beyond the leeway.
	ErrNotYetValid error = &invalidKind{"accesstoken: token not yet valid"}
	// ErrIssuer: iss is missing or not exactly the expected issuer.
	ErrIssuer error = &invalidKind{"accesstoken: wrong issuer"}
	// ErrAudience: aud is missing, empty, of the wrong type, or does not
	// contain the expected audience.
	ErrAudience error = &invalidKind{"accesstoken: wrong audience"}
	// ErrClaims: another claim is missing or ill-typed: exp or iat missing,
	// not a number, negative or out of range; sub missing; sid, jti, scope,
	// client_id not strings; roles not an array of strings.
	ErrClaims error = &invalidKind{"accesstoken: invalid claims"}
)

// Errors of configuration and key handling. None of them matches ErrInvalid.
var (
	// ErrVerifierConfig: the Verifier has no key set, no Issuer, no Audience,
	// or an unknown algorithm in Algorithms.
	ErrVerifierConfig = errors.New("accesstoken: verifier misconfigured")
	// ErrUnsupportedAlg: an algorithm name other than EdDSA, ES256, RS256.
	ErrUnsupportedAlg = errors.New("accesstoken: unsupported algorithm")
	// ErrKey: a key that is malformed, of the wrong type for its algorithm,
	// too small, or with an invalid key ID.
	ErrKey = errors.New("accesstoken: invalid key")
	// ErrNoPrivateKey: a signing operation on a public-only key.
	ErrNoPrivateKey = errors.New("accesstoken: key has no private part")
	// ErrBadClaims: Sign was given claims that would not make a valid
	// RFC 9068 access token.
	ErrBadClaims = errors.New("accesstoken: claims cannot be signed")
	// ErrJWKS: ParseJWKS was given a malformed JWK Set or one with a key that
	// must not be trusted (private members, alg/kty mismatch, no kid, RSA
	// under 2048 bits, duplicate kid).
	ErrJWKS = errors.New("accesstoken: invalid JWK set")
	// ErrKEK: the key-encryption key is not 32 bytes.
	ErrKEK = errors.New("accesstoken: key-encryption key must be 32 bytes")
	// ErrSealed: a sealed key cannot be opened: wrong key-encryption key,
	// wrong kid, or corrupted or truncated data.
	ErrSealed = errors.New("accesstoken: sealed key cannot be opened")
)

// detailError is an error of one of the sentinel kinds above, with detail. It
// unwraps to its kind, so errors.Is works for the kind (and for ErrInvalid).
type detailError struct {
	kind   error
	detail string
}

func (e *detailError) Error() string { return e.kind.Error() + ": " + e.detail }
func (e *detailError) Unwrap() error { return e.kind }

// refuse builds a detailError. Attacker-controlled strings must be formatted
// with a bounded verb such as %.40q.
func refuse(kind error, format string, args ...any) error {
	return &detailError{kind: kind, detail: fmt.Sprintf(format, args...)}
}
