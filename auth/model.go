package auth

import (
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/secret"
)

// User is an account that can sign in.
type User struct {
	ID           string // UUIDv7: time-ordered
	Email        string // case-folded; unique
	PasswordHash string // argon2id PHC string
	Roles        []string
	Disabled     bool
	// TokensValidAfter kills every session and token issued before it. It is
	// set on password change, disable, "sign out everywhere" and role removal.
	TokensValidAfter time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// RoleAdmin is the role that opens the admin API and the admin pages to a
// user.
const RoleAdmin = "admin"

// HasRole reports whether u holds role.
func (u *User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }

// Session is the server's record of a sign-in. The secret that the client
// holds is never stored: only its SHA-256 (SecretHash). ID is a public handle,
// safe to show in device lists and to put in JWTs as "sid".
type Session struct {
	ID          string
	SecretHash  secret.Hash
	UserID      string
	CreatedAt   time.Time
	LastSeenAt  time.Time // persisted at most once per touch interval
	ExpiresAt   time.Time // absolute expiry
	CreatedIP   string
	CreatedUA   string
	LastIP      string
	LastUA      string
	RevokedAt   time.Time // zero while active
	RevokeCause string
}

// Revoked reports whether the session has been ended.
func (s *Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// Event is one entry of the append-only, sequenced events log: the audit log,
// the source of the revocation stream and the webhook outbox. Stores append
// events in the same transaction as the change they describe.
type Event struct {
	Seq       int64 // assigned by the store, strictly increasing
	Type      string
	At        time.Time
	UserID    string
	SessionID string
	Data      map[string]string
}

// WireEvent is an event's wire form: the events stream (GET /v1/events),
// webhook payloads and the admin API all carry exactly this.
type WireEvent struct {
	Seq       int64             `json:"seq"`
	Type      string            `json:"type"`
	At        time.Time         `json:"at"`
	UserID    string            `json:"user_id,omitempty"`
	SessionID string            `json:"sid,omitempty"`
	Data      map[string]string `json:"data,omitempty"`
}

// Wire returns ev's wire form, its time in UTC.
func (ev Event) Wire() WireEvent {
	return WireEvent{Seq: ev.Seq, Type: ev.Type, At: ev.At.UTC(), UserID: ev.UserID, SessionID: ev.SessionID, Data: ev.Data}
}

// Event types.
const (
	EventLoginSucceeded    = "login.succeeded"
	EventLoginFailed       = "login.failed"
	EventSessionRevoked    = "session.revoked"
	EventUserCreated       = "user.created"
	EventUserUpdated       = "user.updated"
	EventUserDeleted       = "user.deleted"
	EventTokensInvalidated = "user.tokens_invalidated"
)

// Revocation causes recorded on sessions and in session.revoked events.
const (
	CauseLogout       = "logout"
	CauseSignedOut    = "signed_out_by_user" // from another device of the same user
	CauseAdmin        = "admin"
	CauseReplaced     = "replaced_at_login"
	CauseInvalidated  = "tokens_invalidated"
	CauseReuse        = "refresh_token_reuse"
	CauseTokenRevoked = "token_revoked" // RFC 7009 revocation by its client
)

// NormalizeEmail case-folds and checks an email address. It accepts only a bare
// address (no display name), at most 254 bytes.
func NormalizeEmail(s string) (string, error) {
	if len(s) == 0 || len(s) > 254 {
		return "", Errorf(CodeInvalidRequest, "email must be an address of 1 to 254 characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || !strings.Contains(s, "@") {
		return "", Errorf(CodeInvalidRequest, "email is not a valid address")
	}
	return strings.ToLower(s), nil
}

// NormalizeRoles sorts, deduplicates and checks role names: 1 to 64 characters
// of [a-z0-9_.:-].
func NormalizeRoles(roles []string) ([]string, error) {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		if len(r) == 0 || len(r) > 64 || strings.Trim(r, "abcdefghijklmnopqrstuvwxyz0123456789_.:-") != "" {
			return nil, Errorf(CodeInvalidRequest, "role %q: use 1 to 64 characters of a-z 0-9 _ . : -", r)
		}
		out = append(out, r)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
