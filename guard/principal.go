package guard

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
)

// Principal is who a verified access token speaks for.
//
// Principals are shared and read-only: Verify returns the same *Principal for
// every check of the same token (that is how a repeated check costs no
// allocation), so neither the struct nor its slices may be modified.
type Principal struct {
	Subject   string    // sub: the user ID, or the client ID for a client's own token
	SessionID string    // sid: the session's public handle; empty for client_credentials tokens
	ClientID  string    // client_id: the client the token was issued to
	Roles     []string  // roles of the user when the token was minted
	Scopes    []string  // scope, split on spaces
	Audience  []string  // aud
	TokenID   string    // jti
	IssuedAt  time.Time // iat
	ExpiresAt time.Time // exp
}

// newPrincipal builds the Principal of verified claims.
func newPrincipal(c *accesstoken.Claims) *Principal {
	return &Principal{
		Subject:   c.Subject,
		SessionID: c.SessionID,
		ClientID:  c.ClientID,
		Roles:     c.Roles,
		Scopes:    strings.Fields(c.Scope),
		Audience:  c.Audience,
		TokenID:   c.ID,
		IssuedAt:  c.IssuedAt,
		ExpiresAt: c.ExpiresAt,
	}
}

// IsClient reports whether the token is a client's own (client_credentials)
// token rather than a user's.
func (p *Principal) IsClient() bool { return p.SessionID == "" }

// HasRole reports whether the principal holds role.
func (p *Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// HasScope reports whether the token carries scope.
func (p *Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p, as the middleware does.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal that Fast or Strict stored in the
// request's context, and whether there is one.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
