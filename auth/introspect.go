package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/secret"
)

// Introspection is an RFC 7662 answer. Inactive answers carry nothing else.
type Introspection struct {
	Active    bool
	TokenType string // "access_token" or "refresh_token"
	Subject   string
	Username  string // the user's email, for user tokens
	ClientID  string
	Scope     string
	SessionID string
	Audience  []string
	Roles     []string
	IssuedAt  time.Time
	ExpiresAt time.Time
	JTI       string
}

var inactive = &Introspection{}

// Introspect tells caller whether token is active (RFC 7662). A token is shown
// as active only to the client it was issued to, a client named in its
// audience, or a client holding the introspect scope; to anyone else it is
// inactive. Access tokens are active only while their session is live.
func (s *Service) Introspect(ctx context.Context, caller *OAuthClient, token, hint string) (*Introspection, error) {
	if caller.Public() {
		return nil, &Error{Code: CodeUnauthorizedClient, Message: "introspection needs a confidential client"}
	}
	privileged := slices.Contains(caller.Scopes, ScopeIntrospect)
	// The hint only orders the search (RFC 7662 §2.1): a JWT is never a
	// refresh token and a refresh token never a JWT, so the form decides.
	if strings.Count(token, ".") == 2 {
		if in := s.introspectAccess(ctx, caller, token, privileged); in.Active {
			return in, nil
		}
	}
	if tok, err := secret.Parse(token); err == nil {
		return s.introspectRefresh(ctx, caller, tok, privileged), nil
	}
	return inactive, nil
}

// verifyAnyAudience verifies an access token like the session check does,
// except that its aud need not include the default audience: introspection
// and revocation also serve tokens minted for other audiences (who may see
// them is decided by the caller). The candidate audiences are read from the
// unverified payload; each is then checked by a full verification.
func (s *Service) verifyAnyAudience(token string) (*accesstoken.Claims, error) {
	c, err := s.verifier.Verify(token)
	if !errors.Is(err, accesstoken.ErrAudience) {
		return c, err
	}
	var rc jwt.RegisteredClaims
	if _, _, perr := jwt.NewParser().ParseUnverified(token, &rc); perr != nil {
		return nil, err
	}
	for i, aud := range rc.Audience {
		if i == 8 {
			break
		}
		if aud == "" || aud == s.verifier.Audience {
			continue
		}
		v := *s.verifier
		v.Audience = aud
		if c, verr := v.Verify(token); verr == nil {
			return c, nil
		}
	}
	return nil, err
}

func (s *Service) introspectAccess(ctx context.Context, caller *OAuthClient, token string, privileged bool) *Introspection {
	c, err := s.verifyAnyAudience(token)
	if err != nil {
		return inactive
	}
	if !privileged && c.ClientID != caller.ID && !slices.Contains(c.Audience, caller.ID) {
		return inactive
	}
	in := &Introspection{Active: true, TokenType: "access_token", Subject: c.Subject, ClientID: c.ClientID, Scope: c.Scope,
		SessionID: c.SessionID, Audience: c.Audience, Roles: c.Roles, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, JTI: c.ID}
	if c.SessionID == "" {
		// A client's own token: active while the client exists.
		if _, err := s.store.ClientByID(ctx, c.ClientID); err != nil {
			return inactive
		}
		return in
	}
	p, err := s.checkID(ctx, c.SessionID)
	if err != nil || p.User.ID != c.Subject {
		return inactive
	}
	in.Username = p.User.Email
	return in
}

func (s *Service) introspectRefresh(ctx context.Context, caller *OAuthClient, tok secret.Token, privileged bool) *Introspection {
	rt, err := s.store.RefreshTokenByHash(ctx, tok.Hash())
	if err != nil || (!privileged && rt.ClientID != caller.ID) || s.refreshExpired(rt, s.now()) {
		return inactive
	}
	p, err := s.checkID(ctx, rt.SessionID)
	if err != nil {
		return inactive
	}
	exp := minTime(rt.ExpiresAt, rt.CreatedAt.Add(s.cfg.Tokens.RefreshIdle))
	return &Introspection{Active: true, TokenType: "refresh_token", Subject: p.User.ID, Username: p.User.Email, ClientID: rt.ClientID,
		Scope: rt.Scope, SessionID: rt.SessionID, IssuedAt: rt.CreatedAt, ExpiresAt: exp}
}

// RevokeToken implements RFC 7009 for caller: a refresh or access token issued
// to caller ends its session (and with it every token of that sign-in).
// Tokens that are unknown, invalid or issued to another client are ignored:
// the endpoint answers 200 either way. Only a confidential client's token
// presented by the public client (no client authentication) is refused with
// invalid_client: RFC 7009 §2.1 has the confidential client authenticate.
func (s *Service) RevokeToken(ctx context.Context, caller *OAuthClient, token, hint string) error {
	sid, owner := "", ""
	if tok, err := secret.Parse(token); err == nil {
		if rt, err := s.store.RefreshTokenByHash(ctx, tok.Hash()); err == nil {
			owner = rt.ClientID
			if rt.ClientID == caller.ID {
				sid = rt.SessionID
			}
		}
	} else if c, err := s.verifyAnyAudience(token); err == nil {
		owner = c.ClientID
		if c.ClientID == caller.ID && c.SessionID != "" {
			sid = c.SessionID
		}
	}
	if caller.Public() && owner != "" && owner != FirstPartyClientID {
		// A confidential client's token: that client must authenticate
		// (RFC 7009 §2.1), not be taken for the public client.
		return errInvalidClient
	}
	if sid == "" {
		return nil
	}
	sess, err := s.store.SessionByID(ctx, sid)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	if sess.Revoked() {
		return nil
	}
	return s.revoke(ctx, []string{sid}, sess.UserID, CauseTokenRevoked)
}
