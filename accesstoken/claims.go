package accesstoken

import (
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of an access token: RFC 9068 plus Tessera's sid and
// roles. Times have one-second precision on the wire.
type Claims struct {
	Issuer    string    // iss: the issuer URL, compared exactly by verifiers
	Subject   string    // sub: the user ID, or the client ID for client_credentials
	Audience  []string  // aud: emitted as a string when it has one element, else an array
	ExpiresAt time.Time // exp
	IssuedAt  time.Time // iat
	NotBefore time.Time // nbf: omitted from the token when zero
	ID        string    // jti: unique per token
	SessionID string    // sid: the session's public handle; empty for client_credentials tokens
	Scope     string    // scope: space-separated
	Roles     []string  // roles
	ClientID  string    // client_id
}

// maxNumericDate is 9999-12-31T23:59:59Z: larger exp/iat/nbf are refused.
const maxNumericDate = 253402300799

// tokenClaims is the wire form of Claims: Sign marshals it; the Verifier
// decodes it with the strict walk of decode and, once the signature has
// verified, hands it to golang-jwt's Validator, which reads it through the
// jwt.Claims getters for the time, iss and aud checks and calls Validate.
type tokenClaims struct {
	iss, sub, jti, sid, scope, clientID string
	aud, roles                          []string
	exp, iat, nbf                       jwt.NumericDate
	hasExp, hasIat, hasNbf              bool
	audArray                            bool // aud was an array on the wire

	// problem is the first semantic problem found while decoding (a claim of
	// the wrong type or out of range). It is reported by Validate, after the
	// signature check, so that a forged token is reported as such.
	problem error
}

var (
	_ jwt.ClaimsValidator = (*tokenClaims)(nil)
	_ json.Marshaler      = (*tokenClaims)(nil)
)

// newTokenClaims checks c for signing and converts it. Errors: ErrBadClaims.
func newTokenClaims(c *Claims) (*tokenClaims, error) {
	bad := func(msg string) error { return &detailError{kind: ErrBadClaims, detail: msg} }
	switch {
	case c.Issuer == "":
		return nil, bad("iss is required")
	case c.Subject == "":
		return nil, bad("sub is required")
	case len(c.Audience) == 0:
		return nil, bad("aud is required")
	case c.ID == "":
		return nil, bad("jti is required (RFC 9068 §2.2)")
	case c.ClientID == "":
		return nil, bad("client_id is required (RFC 9068 §2.2)")
	case c.IssuedAt.IsZero():
		return nil, bad("iat is required")
	case c.ExpiresAt.IsZero():
		return nil, bad("exp is required")
	case !c.ExpiresAt.After(c.IssuedAt):
		return nil, bad("exp must be after iat")
	case !c.NotBefore.IsZero() && !c.ExpiresAt.After(c.NotBefore):
		return nil, bad("exp must be after nbf")
	}
	for _, t := range []time.Time{c.ExpiresAt, c.IssuedAt, c.NotBefore} {
		if !t.IsZero() && (t.Unix() <= 0 || t.Unix() > maxNumericDate) {
			return nil, bad("times must be between 1970 and 9999")
		}
	}
	strs := []string{c.Issuer, c.Subject, c.ID, c.SessionID, c.Scope, c.ClientID}
	for _, a := range c.Audience {
		if a == "" {
			return nil, bad("aud must not contain empty strings")
		}
	}
	strs = append(strs, c.Audience...)
	strs = append(strs, c.Roles...)
	for _, s := range strs {
		if !utf8.ValidString(s) {
			// encoding/json would silently replace invalid bytes.
			return nil, bad("claims must be valid UTF-8")
		}
	}
	tc := &tokenClaims{
		iss: c.Issuer, sub: c.Subject, jti: c.ID, sid: c.SessionID, scope: c.Scope, clientID: c.ClientID,
		aud: c.Audience, roles: c.Roles,
		exp: jwt.NumericDate{Time: c.ExpiresAt}, iat: jwt.NumericDate{Time: c.IssuedAt}, nbf: jwt.NumericDate{Time: c.NotBefore},
		hasExp: true, hasIat: true, hasNbf: !c.NotBefore.IsZero(),
	}
	return tc, nil
}

// claims converts verified wire claims to Claims (times in UTC).
func (c *tokenClaims) claims() *Claims {
	out := &Claims{
		Issuer: c.iss, Subject: c.sub, Audience: c.aud,
		ExpiresAt: c.exp.UTC(), IssuedAt: c.iat.UTC(),
		ID: c.jti, SessionID: c.sid, Scope: c.scope, Roles: c.roles, ClientID: c.clientID,
	}
	if c.hasNbf {
		out.NotBefore = c.nbf.UTC()
	}
	return out
}

// MarshalJSON writes the claims set. aud is a string when it has one
// element, else an array; nbf, sid, scope and roles are omitted when empty.
func (c *tokenClaims) MarshalJSON() ([]byte, error) {
	var aud any = c.aud
	if len(c.aud) == 1 {
		aud = c.aud[0]
	}
	var nbf *int64
	if c.hasNbf {
		n := c.nbf.Unix()
		nbf = &n
	}
	return json.Marshal(struct {
		Iss      string   `json:"iss"`
		Sub      string   `json:"sub"`
		Aud      any      `json:"aud"`
		Exp      int64    `json:"exp"`
		Nbf      *int64   `json:"nbf,omitempty"`
		Iat      int64    `json:"iat"`
		Jti      string   `json:"jti"`
		Sid      string   `json:"sid,omitempty"`
		Scope    string   `json:"scope,omitempty"`
		Roles    []string `json:"roles,omitempty"`
		ClientID string   `json:"client_id"`
	}{c.iss, c.sub, aud, c.exp.Unix(), nbf, c.iat.Unix(), c.jti, c.sid, c.scope, c.roles, c.clientID})
}

// decode reads a claims set strictly: one JSON object, no duplicate or
// case-variant duplicate members, valid UTF-8 (ErrMalformed, returned at
// once). Claims of the wrong type or out of range are recorded in problem for
// Validate. Unknown claims are skipped.
func (c *tokenClaims) decode(data []byte) error {
	*c = tokenClaims{}
	return walkObject(data, ErrMalformed, "payload", c.member)
}

func (c *tokenClaims) member(name string, dec *jsontext.Decoder) error {
	var err error
	var kind error = ErrClaims
	switch name {
	case "iss":
		c.iss, err = readString(dec)
		kind = ErrIssuer
	case "sub":
		c.sub, err = readString(dec)
	case "aud":
		c.aud, c.audArray, err = readStrings(dec, true)
		kind = ErrAudience
	case "exp":
		c.exp.Time, c.hasExp, err = readNumericDate(dec)
	case "iat":
		c.iat.Time, c.hasIat, err = readNumericDate(dec)
	case "nbf":
		c.nbf.Time, c.hasNbf, err = readNumericDate(dec)
	case "jti":
		c.jti, err = readString(dec)
	case "sid":
		c.sid, err = readString(dec)
	case "scope":
		c.scope, err = readString(dec)
	case "client_id":
		c.clientID, err = readString(dec)
	case "roles":
		c.roles, _, err = readStrings(dec, false)
	default:
		err = skipValue(dec)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errJSON):
		return refuse(ErrMalformed, "payload: invalid JSON")
	default:
		if c.problem == nil {
			c.problem = refuse(kind, "claim %q: %v", name, err)
		}
		return nil
	}
}

// Validate implements jwt.ClaimsValidator. golang-jwt calls it after the
// signature has verified and after its own exp/nbf/iat/iss/aud checks; its
// error takes precedence over theirs (see mapError).
func (c *tokenClaims) Validate() error {
	switch {
	case c.problem != nil:
		return c.problem
	case !c.hasExp:
		return refuse(ErrClaims, "exp is required")
	case !c.hasIat:
		return refuse(ErrClaims, "iat is required")
	case c.iss == "":
		return refuse(ErrIssuer, "iss is required")
	case len(c.aud) == 0 || len(c.aud) == 1 && c.aud[0] == "":
		return refuse(ErrAudience, "aud is required")
	case c.sub == "":
		return refuse(ErrClaims, "sub is required")
	}
	return nil
}

// The jwt.Claims getters. Missing or invalid claims read as absent; Validate
// reports them.

func (c *tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return dateOrNil(&c.exp, c.hasExp), nil
}
func (c *tokenClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return dateOrNil(&c.iat, c.hasIat), nil
}
func (c *tokenClaims) GetNotBefore() (*jwt.NumericDate, error) {
	return dateOrNil(&c.nbf, c.hasNbf), nil
}
func (c *tokenClaims) GetIssuer() (string, error)             { return c.iss, nil }
func (c *tokenClaims) GetSubject() (string, error)            { return c.sub, nil }
func (c *tokenClaims) GetAudience() (jwt.ClaimStrings, error) { return c.aud, nil }

func dateOrNil(d *jwt.NumericDate, ok bool) *jwt.NumericDate {
	if !ok {
		return nil
	}
	return d
}
