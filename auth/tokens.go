package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/secret"
)

// TokenConfig tunes the token and hybrid modes. Zero values are the defaults.
type TokenConfig struct {
	Issuer   string // the issuer URL, identical everywhere it appears; required for tokens
	Audience string // default "aud" of access tokens; default Issuer
	// AccessTTL is the lifetime of access tokens; default 5m.
	AccessTTL time.Duration
	// RefreshIdle ends a refresh token unused this long; default 24h.
	RefreshIdle time.Duration
	// RefreshAbsolute ends a family of refresh tokens this long after sign-in;
	// default 720h. The session's own timeouts apply too.
	RefreshAbsolute time.Duration
	// RefreshGrace is how long a rotated refresh token may be presented again
	// and get the same successor (two tabs, a lost response); default 5s;
	// negative: no grace at all.
	RefreshGrace time.Duration
	Alg          accesstoken.Alg // signing algorithm; default EdDSA
	KeyRotation  time.Duration   // rotate the signing key this often; default 720h; negative: never
	// KEK is the 32-byte key-encryption secret that seals private keys at rest
	// and derives refresh-token successors.
	KEK []byte
}

func (c *TokenConfig) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.AccessTTL, 5*time.Minute)
	def(&c.RefreshIdle, 24*time.Hour)
	def(&c.RefreshAbsolute, 30*24*time.Hour)
	def(&c.RefreshGrace, 5*time.Second)
	def(&c.KeyRotation, 30*24*time.Hour)
	if c.Alg == "" {
		c.Alg = accesstoken.EdDSA
	}
	if c.Audience == "" {
		c.Audience = c.Issuer
	}
}

// TokenSet is what a token response carries.
type TokenSet struct {
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken secret.Token // zero for client_credentials and session-minted tokens
	Scope        string
	Claims       *accesstoken.Claims
}

// Verifier returns the access-token verifier over this server's own keys.
func (s *Service) Verifier() *accesstoken.Verifier { return s.verifier }

func (s *Service) newVerifier() *accesstoken.Verifier {
	return &accesstoken.Verifier{
		Keys:       s.keys.trusted,
		Issuer:     s.cfg.Tokens.Issuer,
		Audience:   s.cfg.Tokens.Audience,
		Algorithms: []accesstoken.Alg{accesstoken.EdDSA, accesstoken.ES256, accesstoken.RS256}, // each kid still allows only its own alg
		Now:        s.cfg.Now,
	}
}

// mint signs an access token.
func (s *Service) mint(sub, sid, clientID, scope string, aud string, roles []string) (*TokenSet, error) {
	key, err := s.activeKey()
	if err != nil {
		return nil, err
	}
	now := s.now()
	if aud == "" {
		aud = s.cfg.Tokens.Audience
	}
	c := accesstoken.Claims{
		Issuer: s.cfg.Tokens.Issuer, Subject: sub, Audience: []string{aud},
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(s.cfg.Tokens.AccessTTL),
		ID: secret.RandomID(16), SessionID: sid, Scope: scope, Roles: roles, ClientID: clientID,
	}
	tok, err := accesstoken.Sign(key, c)
	if err != nil {
		return nil, fmt.Errorf("signing access token: %w", err)
	}
	return &TokenSet{AccessToken: tok, ExpiresIn: s.cfg.Tokens.AccessTTL, Scope: scope, Claims: &c}, nil
}

// TokenRequest names the client, scope and audience of user tokens.
type TokenRequest struct {
	ClientID string // "" or FirstPartyClientID for the built-in client
	Scope    string
	Audience string
}

// checkTokenRequest resolves the client and the scope a user token may carry:
// the requested scopes, limited to a registered client's scopes, never the
// scopes reserved for clients themselves.
func (s *Service) checkTokenRequest(ctx context.Context, tr TokenRequest) (clientID, scope string, err error) {
	clientID = tr.ClientID
	if clientID == "" {
		clientID = FirstPartyClientID
	}
	var allowed []string
	if clientID != FirstPartyClientID {
		c, err := s.store.ClientByID(ctx, clientID)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return "", "", Errorf(CodeInvalidRequest, "unknown client_id")
			}
			return "", "", err
		}
		allowed = c.Scopes
	}
	scopes, err := parseScope(tr.Scope)
	if err != nil {
		return "", "", err
	}
	for _, sc := range scopes {
		if sc == ScopeAdmin || sc == ScopeEvents || sc == ScopeIntrospect || (allowed != nil && !slices.Contains(allowed, sc)) {
			return "", "", Errorf(CodeInvalidRequest, "scope %q is not available to this client", sc)
		}
	}
	if err := checkAudience(tr.Audience); err != nil {
		return "", "", err
	}
	return clientID, strings.Join(scopes, " "), nil
}

func checkAudience(aud string) error {
	if len(aud) > 512 || strings.ContainsAny(aud, " \t\r\n") {
		return Errorf(CodeInvalidRequest, "audience must be one URI or name of at most 512 characters")
	}
	return nil
}

// parseScope splits a space-separated scope (RFC 6749 §3.3) and checks each
// token's characters.
func parseScope(scope string) ([]string, error) {
	if len(scope) > 1024 {
		return nil, Errorf(CodeInvalidRequest, "scope is too long")
	}
	var out []string
	for _, sc := range strings.Split(scope, " ") {
		if sc == "" {
			continue
		}
		for i := 0; i < len(sc); i++ {
			if c := sc[i]; c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
				return nil, Errorf(CodeInvalidRequest, "scope has an invalid character")
			}
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// IssueTokens starts a refresh-token family on a new session (token and
// hybrid login) and mints its first access token.
func (s *Service) IssueTokens(ctx context.Context, l *Login, tr TokenRequest) (*TokenSet, error) {
	clientID, scope, err := s.checkTokenRequest(ctx, tr)
	if err != nil {
		return nil, err
	}
	now := s.now()
	rtok := secret.New()
	rt := &RefreshToken{
		Hash: rtok.Hash(), SessionID: l.Session.ID, ClientID: clientID, FamilyID: secret.RandomID(16),
		Scope: scope, Audience: tr.Audience, CreatedAt: now,
		ExpiresAt: minTime(l.Session.ExpiresAt, now.Add(s.cfg.Tokens.RefreshAbsolute)),
	}
	if err := s.store.CreateRefreshToken(ctx, rt); err != nil {
		return nil, fmt.Errorf("storing refresh token: %w", err)
	}
	ts, err := s.mint(l.User.ID, l.Session.ID, clientID, scope, tr.Audience, l.User.Roles)
	if err != nil {
		return nil, err
	}
	ts.RefreshToken = rtok
	return ts, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// SessionToken mints a short-lived access token from a live session (the
// hybrid mode's POST /v1/session/token). No refresh token: the session is
// the thing that lasts.
func (s *Service) SessionToken(ctx context.Context, p *Principal, tr TokenRequest) (*TokenSet, error) {
	clientID, scope, err := s.checkTokenRequest(ctx, tr)
	if err != nil {
		return nil, err
	}
	return s.mint(p.User.ID, p.Session.ID, clientID, scope, tr.Audience, p.User.Roles)
}

// AuthenticateAccess is the session check for a bearer access token: the
// token must verify, name a session, and that session must be live. Tokens of
// client_credentials name no session and are refused here.
func (s *Service) AuthenticateAccess(ctx context.Context, token string, c Client) (*Principal, *accesstoken.Claims, error) {
	claims, err := s.verifier.Verify(token)
	if err != nil {
		return nil, nil, &Error{Code: CodeUnauthenticated, Message: "invalid access token", Err: err}
	}
	if claims.SessionID == "" {
		return nil, nil, Errorf(CodeUnauthenticated, "this token belongs to a client, not a session")
	}
	p, err := s.AuthenticateID(ctx, claims.SessionID, c)
	if err != nil {
		return nil, nil, err
	}
	if p.User.ID != claims.Subject {
		return nil, nil, errUnauthenticated
	}
	return p, claims, nil
}

// ValidateTokenRequest checks a token request before anything is created.
func (s *Service) ValidateTokenRequest(ctx context.Context, tr TokenRequest) error {
	_, _, err := s.checkTokenRequest(ctx, tr)
	return err
}
