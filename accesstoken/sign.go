package accesstoken

import (
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// TokenType is the "typ" header of every access token Sign mints (RFC 9068
// §2.1). Verifiers also accept "application/at+jwt", case-insensitively.
const TokenType = "at+jwt"

// Sign mints an access token: a compact JWS signed with key, with header
// {"alg","kid","typ":"at+jwt"} and the claims c. aud is emitted as a string
// when it has one element, else as an array; times are whole seconds; nbf,
// sid, scope and roles are omitted when empty.
//
// c must have Issuer, Subject, Audience (no empty elements), ID, ClientID,
// IssuedAt and ExpiresAt (after IssuedAt and NotBefore), times between 1970
// and 9999, and valid UTF-8 strings.
//
// Errors: ErrNoPrivateKey for a nil or public-only key; ErrKey for a key
// whose private part does not match its Alg or whose ID is invalid;
// ErrUnsupportedAlg for an unknown Alg; ErrBadClaims for claims that break
// the rules above.
func Sign(key *Key, c Claims) (string, error) {
	if key == nil || key.Private == nil {
		return "", ErrNoPrivateKey
	}
	m := key.Alg.method()
	if m == nil {
		return "", fmt.Errorf("%w: %.32q", ErrUnsupportedAlg, string(key.Alg))
	}
	if err := checkKID(key.ID); err != nil {
		return "", err
	}
	if err := checkSigner(key.Alg, key.Private); err != nil {
		return "", err
	}
	tc, err := newTokenClaims(&c)
	if err != nil {
		return "", err
	}
	t := &jwt.Token{
		Method: m,
		Header: map[string]any{"alg": string(key.Alg), "kid": key.ID, "typ": TokenType},
		Claims: tc,
	}
	s, err := t.SignedString(key.Private)
	if err != nil {
		return "", fmt.Errorf("accesstoken: sign: %w", err)
	}
	return s, nil
}
