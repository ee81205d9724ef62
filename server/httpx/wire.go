package httpx

import (
	"time"

	"github.com/tessera-auth/tessera/auth"
)

// The JSON shapes that several features answer with.

// UserJSON is a user as the API shows it to themselves.
type UserJSON struct {
	ID       string   `json:"id"`
	Email    string   `json:"email"`
	Roles    []string `json:"roles"`
	Disabled bool     `json:"disabled,omitempty"`
}

// ToUserJSON is u's wire form.
func ToUserJSON(u *auth.User) UserJSON {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return UserJSON{ID: u.ID, Email: u.Email, Roles: roles, Disabled: u.Disabled}
}

// SessionJSON is a session (a device) as the API shows it to its user.
type SessionJSON struct {
	ID            string    `json:"sid"`
	CreatedAt     time.Time `json:"created_at"`
	LastSeenAt    time.Time `json:"last_seen_at"`
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	IP            string    `json:"ip"`
	UserAgent     string    `json:"user_agent"`
	CreatedIP     string    `json:"created_ip"`
	Current       bool      `json:"current"`
}

// ToSessionJSON is sess's wire form; current is the caller's own session ID.
func (k *Kit) ToSessionJSON(sess *auth.Session, current string) SessionJSON {
	return SessionJSON{
		ID: sess.ID, CreatedAt: sess.CreatedAt, LastSeenAt: sess.LastSeenAt,
		IdleExpiresAt: k.Svc.IdleExpiry(sess), ExpiresAt: sess.ExpiresAt,
		IP: sess.LastIP, UserAgent: sess.LastUA, CreatedIP: sess.CreatedIP, Current: sess.ID == current,
	}
}

// TokenResponse is RFC 6749 §5.1's successful token response.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// ToTokenResponse is ts's wire form.
func ToTokenResponse(ts *auth.TokenSet) *TokenResponse {
	tr := &TokenResponse{AccessToken: ts.AccessToken, TokenType: "Bearer", ExpiresIn: int(ts.ExpiresIn.Seconds()), Scope: ts.Scope}
	if !ts.RefreshToken.IsZero() {
		tr.RefreshToken = ts.RefreshToken.Reveal()
	}
	return tr
}
