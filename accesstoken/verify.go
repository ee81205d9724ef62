package accesstoken

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/golang-jwt/jwt/v5"
)

// Verifier defaults and limits.
const (
	// DefaultLeeway is the clock-skew allowance of a Verifier whose Leeway is
	// zero.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway is the largest leeway a Verifier uses; larger values are
	// clamped to it.
	MaxLeeway = 60 * time.Second
	// DefaultMaxTokenBytes is the token length limit of a Verifier whose
	// MaxTokenBytes is zero.
	DefaultMaxTokenBytes = 8192
)

// Verifier checks access tokens. Only Keys, Issuer and Audience must be set;
// the zero values of the other fields mean: all three algorithms, a leeway of
// 30 s, time.Now, and tokens of at most 8192 bytes. A Verifier is safe for
// concurrent use as long as its fields are not changed; to rotate keys, make
// Keys an [*AtomicKeySet] and Store new sets into it.
type Verifier struct {
	// Keys supplies the trusted public keys. A *KeySet (static) or an
	// *AtomicKeySet (swappable under rotation). Keys are never taken from the
	// token.
	Keys KeySource
	// Issuer is the expected "iss", compared exactly (no normalisation of a
	// trailing slash or case).
	Issuer string
	// Audience must be one of the token's "aud" values.
	Audience string
	// Algorithms is the allow-list of signature algorithms; empty means
	// EdDSA, ES256 and RS256. A token's alg must also equal its key's alg.
	Algorithms []Alg
	// Leeway is the allowed clock skew for exp, nbf and iat. Zero means
	// DefaultLeeway, a negative value means none, and values above MaxLeeway
	// are clamped to MaxLeeway.
	Leeway time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxTokenBytes is the longest token accepted, checked before any
	// decoding; zero or negative means DefaultMaxTokenBytes.
	MaxTokenBytes int
}

// forbiddenHeaders are header parameters Tessera never accepts: keys or key
// URLs supplied by the token itself, critical extensions, unencoded
// payloads, compression and JWE.
var forbiddenHeaders = [...]string{"jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "crit", "b64", "zip", "enc"}

// b64 is the only base64 variant tokens may use: URL alphabet, no padding,
// zero trailing bits. Its input is first checked against b64Chars (Strict
// alone still skips '\r' and '\n').
var b64 = base64.RawURLEncoding.Strict()

// b64Chars marks the bytes allowed in a compact JWS segment.
var b64Chars = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['_'] = true, true
	return t
}()

// Verify checks token and returns its claims. In order, it refuses:
//
//   - a token longer than MaxTokenBytes (ErrTooLarge), before any decoding;
//   - a token that is not three non-empty segments of canonical base64url
//     (ErrMalformed): no padding, '+', '/', whitespace or non-zero trailing
//     bits, no JWE or JSON serialization;
//   - a header that is not one JSON object of valid UTF-8 or has duplicate,
//     also case-variant, member names (ErrMalformed); one with jku, x5u,
//     jwk, x5c, x5t, x5t#S256, crit, b64, zip or enc (ErrHeader); an alg
//     outside the allow-list, e.g. none or HS256 (ErrAlgorithm); a typ other
//     than at+jwt or application/at+jwt (ErrType); no kid (ErrHeader); a kid
//     not in the key set (ErrUnknownKey); an alg other than the key's
//     (ErrAlgorithm);
//   - a payload that is not one JSON object of valid UTF-8, or has
//     duplicate member names at any depth (ErrMalformed);
//   - a bad signature (ErrSignature);
//   - claims: exp or iat missing, not a number, negative or beyond year 9999,
//     sub missing, ill-typed sid/jti/scope/client_id/roles (ErrClaims); iss
//     missing or not exactly Issuer (ErrIssuer); aud missing, empty or
//     without Audience (ErrAudience); exp in the past (ErrExpired); nbf or
//     iat in the future (ErrNotYetValid), all with the leeway.
//
// Every such error matches ErrInvalid and its specific sentinel through
// errors.Is. A Verifier without Keys, Issuer or Audience, or with an unknown
// algorithm in Algorithms, returns ErrVerifierConfig (not ErrInvalid).
func (v *Verifier) Verify(token string) (*Claims, error) {
	if v == nil || v.Keys == nil || v.Issuer == "" || v.Audience == "" {
		return nil, fmt.Errorf("%w: Keys, Issuer and Audience are required", ErrVerifierConfig)
	}
	algNames, err := v.allowList()
	if err != nil {
		return nil, err
	}
	limit := v.MaxTokenBytes
	if limit <= 0 {
		limit = DefaultMaxTokenBytes
	}
	if len(token) > limit {
		return nil, refuse(ErrTooLarge, "%d bytes, limit %d", len(token), limit)
	}
	d1, d2, err := checkCompact(token)
	if err != nil {
		return nil, err
	}
	h, err := parseHeader(token[:d1])
	if err != nil {
		return nil, err
	}
	alg := Alg(h.alg)
	if !contains(algNames, h.alg) || alg.method() == nil {
		return nil, refuse(ErrAlgorithm, "alg %.20q is not allowed", h.alg)
	}
	if !strings.EqualFold(h.typ, TokenType) && !strings.EqualFold(h.typ, "application/"+TokenType) {
		return nil, refuse(ErrType, "typ %.40q is not %s", h.typ, TokenType)
	}
	if !h.hasKid {
		return nil, refuse(ErrHeader, "kid is required")
	}
	key := v.Keys.KeySet().lookup(h.kid)
	if key == nil {
		return nil, refuse(ErrUnknownKey, "kid %.40q", h.kid)
	}
	if key.Alg != alg {
		return nil, refuse(ErrAlgorithm, "alg %s is not the alg of key %.40q", alg, h.kid)
	}
	payload, err := b64.DecodeString(token[d1+1 : d2])
	if err != nil {
		return nil, refuse(ErrMalformed, "payload: not canonical base64url")
	}
	sig, err := b64.DecodeString(token[d2+1:])
	if err != nil {
		return nil, refuse(ErrMalformed, "signature: not canonical base64url")
	}
	var tc tokenClaims
	if err := tc.decode(payload); err != nil {
		return nil, err
	}
	if err := verifySignature(key, token[:d2], sig); err != nil {
		return nil, refuse(ErrSignature, "signature does not verify")
	}
	// Claim problems are reported only now, so that a forged token is
	// reported as forged: golang-jwt's Validator checks exp, nbf, iat, iss
	// and aud and calls tc.Validate, whose error mapError puts first.
	if err := v.validator().Validate(&tc); err != nil {
		return nil, mapError(err)
	}
	return tc.claims(), nil
}

// allowList returns the allowed algorithm names.
func (v *Verifier) allowList() ([]string, error) {
	if len(v.Algorithms) == 0 {
		return allAlgNames, nil
	}
	names := make([]string, len(v.Algorithms))
	for i, a := range v.Algorithms {
		if a.method() == nil {
			return nil, fmt.Errorf("%w: unsupported algorithm %.32q", ErrVerifierConfig, string(a))
		}
		names[i] = string(a)
	}
	return names, nil
}

// validator returns golang-jwt's claims validator configured from v.
func (v *Verifier) validator() *jwt.Validator {
	leeway := v.Leeway
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0:
		leeway = 0
	case leeway > MaxLeeway:
		leeway = MaxLeeway
	}
	now := v.Now
	if now == nil {
		now = time.Now
	}
	return jwt.NewValidator(
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(v.Issuer),
		jwt.WithAudience(v.Audience),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
	)
}

// checkCompact checks that token is exactly three non-empty segments of
// base64url characters and returns the indexes of the two dots.
func checkCompact(token string) (int, int, error) {
	d1, d2 := -1, -1
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c == '.' {
			switch {
			case d1 < 0:
				d1 = i
			case d2 < 0:
				d2 = i
			default:
				return 0, 0, refuse(ErrMalformed, "more than three segments")
			}
			continue
		}
		if !b64Chars[c] {
			return 0, 0, refuse(ErrMalformed, "byte %#02x at offset %d is not base64url", c, i)
		}
	}
	switch {
	case d2 < 0:
		return 0, 0, refuse(ErrMalformed, "fewer than three segments")
	case d1 == 0 || d2 == d1+1 || d2 == len(token)-1:
		return 0, 0, refuse(ErrMalformed, "empty segment")
	}
	return d1, d2, nil
}

// jwsHeader holds the header parameters Verify looks at.
type jwsHeader struct {
	alg, kid, typ string
	hasKid        bool
	forbidden     string // the first forbidden parameter present
}

// parseHeader decodes and walks the header segment. Errors: ErrMalformed,
// ErrHeader (forbidden parameter, or kid not a string), ErrAlgorithm (alg
// not a string), ErrType (typ not a string).
func parseHeader(seg string) (*jwsHeader, error) {
	raw, err := b64.DecodeString(seg)
	if err != nil {
		return nil, refuse(ErrMalformed, "header: not canonical base64url")
	}
	h := &jwsHeader{}
	var typeErr error
	err = walkObject(raw, ErrMalformed, "header", func(name string, dec *jsontext.Decoder) error {
		var err error
		var kind error
		switch name {
		case "alg":
			h.alg, err = readString(dec)
			kind = ErrAlgorithm
		case "kid":
			h.kid, err = readString(dec)
			h.hasKid = err == nil
			kind = ErrHeader
		case "typ":
			h.typ, err = readString(dec)
			kind = ErrType
		default:
			for _, f := range forbiddenHeaders {
				if name == f && h.forbidden == "" {
					h.forbidden = f
				}
			}
			err = skipValue(dec)
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errJSON):
			return refuse(ErrMalformed, "header: invalid JSON")
		default:
			if typeErr == nil {
				typeErr = refuse(kind, "header parameter %q is not a string", name)
			}
			return nil
		}
	})
	switch {
	case err != nil:
		return nil, err
	case h.forbidden != "":
		return nil, refuse(ErrHeader, "header parameter %q is not accepted", h.forbidden)
	case typeErr != nil:
		return nil, typeErr
	}
	return h, nil
}

// mapError turns an error of golang-jwt's Validator into one of ours. Our
// own errors (from Validate) take precedence; golang-jwt's are mapped in the
// order time, issuer, audience.
func mapError(err error) error {
	var de *detailError
	if errors.As(err, &de) && errors.Is(de, ErrInvalid) {
		return de
	}
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return refuse(ErrExpired, "exp is in the past")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return refuse(ErrNotYetValid, "nbf is in the future")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return refuse(ErrNotYetValid, "iat is in the future")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return refuse(ErrIssuer, "iss is not the expected issuer")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return refuse(ErrAudience, "aud does not contain the expected audience")
	}
	return refuse(ErrClaims, "claims rejected")
}
