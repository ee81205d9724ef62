package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

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
	if strings.Count(token, ".") == 2 && hint != "refresh_token" || hint == "access_token" {
		if in := s.introspectAccess(ctx, caller, token, privileged); in.Active {
			return in, nil
		}
	}
	if tok, err := secret.Parse(token); err == nil {
		return s.introspectRefresh(ctx, caller, tok, privileged), nil
	}
	return inactive, nil
}

func (s *Service) introspectAccess(ctx context.Context, caller *OAuthClient, token string, privileged bool) *Introspection {
	c, err := s.verifier.Verify(token)
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
// the endpoint answers 200 either way.
func (s *Service) RevokeToken(ctx context.Context, caller *OAuthClient, token, hint string) error {
	sid := ""
	if tok, err := secret.Parse(token); err == nil {
		if rt, err := s.store.RefreshTokenByHash(ctx, tok.Hash()); err == nil && rt.ClientID == caller.ID {
			sid = rt.SessionID
		}
	} else if c, err := s.verifier.Verify(token); err == nil && c.ClientID == caller.ID && c.SessionID != "" {
		sid = c.SessionID
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
