// Package admin is what an operator can do to a Tessera server — users,
// their sessions, clients, signing keys, the events log and webhooks — as one
// Go interface, Admin, with two transports:
//
//   - Local works on the services directly (the store, as the CLI does with
//     --data or --store);
//   - Remote calls a server's admin API, /admin/v1, with a bearer token (an
//     admin's session or access token, or a client token with the "admin"
//     scope), as the CLI does with --url and --token.
//
// The HTTP handlers of /admin/v1 (package server/admin) call Local, so the two
// transports share one implementation of every rule, and a test runs one
// table of operations against both.
//
// # Errors
//
// Both transports return *auth.Error values with the same codes for the same
// failures (auth.ErrorCode tells them apart): CodeInvalidRequest and
// CodeWeakPassword for bad input, CodeNotFound for an unknown user, session,
// client or webhook (and for webhooks on a server that has none),
// CodeConflict for a taken email. Remote adds CodeUnauthenticated and
// CodeForbidden when its token is refused.
//
// # Naming users
//
// A user is named by its ID or by its email (anything containing "@" is
// taken for an email), so that the CLI can keep taking --email.
package admin

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/webhook"
)

// Admin is every operation of the CLI's user, client, keys, sessions and
// webhook commands and of the admin API.
type Admin interface {
	// CreateUser adds an account; the password must pass the password
	// policy (CodeWeakPassword).
	CreateUser(ctx context.Context, nu NewUser) (*User, error)
	// User returns the user named by ref (an ID or an email).
	User(ctx context.Context, ref string) (*User, error)
	// Users returns a page of users ordered by ID; Next continues it.
	Users(ctx context.Context, q UserQuery) (*UserPage, error)
	// UpdateUser changes the fields that u sets, all checked before any is
	// applied: a new password or a removed role ends the user's sessions,
	// as does disabling.
	UpdateUser(ctx context.Context, ref string, u UserUpdate) (*User, error)
	// DeleteUser removes the user and its sessions.
	DeleteUser(ctx context.Context, ref string) error

	// Sessions lists the user's live sessions, newest first.
	Sessions(ctx context.Context, ref string) ([]Session, error)
	// RevokeSession ends one session of the user.
	RevokeSession(ctx context.Context, ref, sid string) error
	// SignOutEverywhere ends every session and token of the user.
	SignOutEverywhere(ctx context.Context, ref string) error

	// Clients lists the registered OAuth clients.
	Clients(ctx context.Context) ([]Client, error)
	// CreateClient registers a confidential client; its secret is
	// returned only here.
	CreateClient(ctx context.Context, name string, scopes []string) (*NewClient, error)
	// RemoveClient deletes a client.
	RemoveClient(ctx context.Context, id string) error

	// Keys lists the signing keys, newest first.
	Keys(ctx context.Context) ([]Key, error)
	// RotateKey makes a new signing key active; CodeConflict if another
	// rotation won a race.
	RotateKey(ctx context.Context) (*Key, error)

	// Events returns a page of the events log, oldest first; Next continues it.
	Events(ctx context.Context, q EventQuery) (*EventPage, error)

	// Webhooks lists the webhooks with their delivery state.
	Webhooks(ctx context.Context) ([]Webhook, error)
	// AddWebhook registers an endpoint for the given event types ("*" for
	// all); its signing secret is returned only here.
	AddWebhook(ctx context.Context, url string, events []string) (*NewWebhook, error)
	// RemoveWebhook deletes a webhook and its delivery log.
	RemoveWebhook(ctx context.Context, id string) error
	// Deliveries returns the webhook's latest delivery attempts, newest
	// first (limit 0: 50; at most 1000).
	Deliveries(ctx context.Context, id string, limit int) ([]Delivery, error)
}

// Limits of the paged listings.
const (
	DefaultLimit  = 100
	MaxUserLimit  = 500
	MaxEventLimit = 1000
)

// User is an account as the admin API shows it (never its password hash).
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Roles     []string  `json:"roles"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// TokensValidAfter: every session and token issued before it is dead.
	TokensValidAfter time.Time `json:"tokens_valid_after,omitzero"`
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Email    string   `json:"email"`
	Password string   `json:"password"`
	Roles    []string `json:"roles,omitempty"`
}

// String redacts the password.
func (nu NewUser) String() string {
	return fmt.Sprintf("admin.NewUser{Email: %q, Roles: %q, Password: REDACTED}", nu.Email, nu.Roles)
}

// GoString redacts the password.
func (nu NewUser) GoString() string { return nu.String() }

// LogValue redacts the password in log/slog output.
func (nu NewUser) LogValue() slog.Value {
	return slog.GroupValue(slog.String("email", nu.Email), slog.Any("roles", nu.Roles))
}

// UserUpdate names the changes of UpdateUser; nil fields stay as they are.
type UserUpdate struct {
	Roles    *[]string `json:"roles,omitempty"`
	Disabled *bool     `json:"disabled,omitempty"`
	Password *string   `json:"password,omitempty"`
}

// String redacts the password.
func (u UserUpdate) String() string {
	s := "admin.UserUpdate{"
	if u.Roles != nil {
		s += fmt.Sprintf("Roles: %q ", *u.Roles)
	}
	if u.Disabled != nil {
		s += fmt.Sprintf("Disabled: %v ", *u.Disabled)
	}
	if u.Password != nil {
		s += "Password: REDACTED"
	}
	return s + "}"
}

// GoString redacts the password.
func (u UserUpdate) GoString() string { return u.String() }

// LogValue redacts the password in log/slog output.
func (u UserUpdate) LogValue() slog.Value { return slog.StringValue(u.String()) }

// UserQuery pages and searches Users.
type UserQuery struct {
	Search string // a substring of the email
	After  string // the Next of the previous page
	Limit  int    // 0: DefaultLimit; at most MaxUserLimit
}

// UserPage is one page of users. Next is empty on the last page.
type UserPage struct {
	Users []User `json:"users"`
	Next  string `json:"next"`
}

// Session is a user's session (a device) as the admin API shows it.
type Session struct {
	ID               string    `json:"sid"`
	CreatedAt        time.Time `json:"created_at"`
	LastSeenAt       time.Time `json:"last_seen_at"`
	IdleExpiresAt    time.Time `json:"idle_expires_at"`
	ExpiresAt        time.Time `json:"expires_at"`
	IP               string    `json:"ip"`
	UserAgent        string    `json:"user_agent"`
	CreatedIP        string    `json:"created_ip"`
	CreatedUserAgent string    `json:"created_user_agent"`
}

// Client is a registered OAuth client (never its secret's hash).
type Client struct {
	ID        string    `json:"client_id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
}

// NewClient is a client just registered, with its secret. The secret is not
// part of the JSON form of NewClient: the admin API adds it as
// "client_secret" when it answers, and nowhere else.
type NewClient struct {
	Client
	Secret secret.Token `json:"-"`
}

// Key is a signing key (no private material).
type Key struct {
	ID        string    `json:"kid"`
	Alg       string    `json:"alg"`
	CreatedAt time.Time `json:"created_at"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
	Active    bool      `json:"active"`
	Published bool      `json:"published"` // listed in the JWKS
}

// EventQuery filters and pages Events. Every set field must match.
type EventQuery struct {
	Types  []string  // any of these types; none: every type
	UserID string    // events of this user
	After  int64     // events after this Seq (the Next of the previous page)
	Since  time.Time // events at or after this time
	Before time.Time // events before this time
	Limit  int       // 0: DefaultLimit; at most MaxEventLimit
}

// EventPage is one page of events. Next is empty when the log has been read
// to its end (or past Before); a page may hold fewer than Limit events, even
// none, and still have a Next, when a scan of the log stopped at its budget.
type EventPage struct {
	Events []Event `json:"events"`
	Next   string  `json:"next"`
}

// Event is an entry of the events log, in its wire form.
type Event = auth.WireEvent

// Webhook is a registered endpoint and its delivery state (never its secret).
type Webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
	// Cursor is the Seq of the last event handled; Attempts the failed
	// attempts at the next one, due at NextAttemptAt.
	Cursor        int64     `json:"cursor"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
}

// NewWebhook is a webhook just added, with its signing secret ("whsec_…"),
// which the admin API adds to its answer as "secret".
type NewWebhook struct {
	Webhook
	Secret webhook.Secret `json:"-"`
}

// Delivery is one attempt at sending an event to a webhook.
type Delivery struct {
	WebhookID  string    `json:"webhook_id"`
	Seq        int64     `json:"seq"`
	EventType  string    `json:"event_type"`
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	DurationMS int64     `json:"duration_ms"`
	StatusCode int       `json:"status_code,omitempty"`
	Outcome    string    `json:"outcome"` // delivered, failed, gave_up
	Error      string    `json:"error,omitempty"`
}

// Webhooks is what Local needs of the webhook package: *webhook.Service.
type Webhooks interface {
	Add(ctx context.Context, rawURL string, events []string) (*webhook.Webhook, webhook.Secret, error)
	List(ctx context.Context) ([]*webhook.Webhook, error)
	Remove(ctx context.Context, id string) error
	Deliveries(ctx context.Context, id string, limit int) ([]*webhook.Delivery, error)
}

var _ Webhooks = (*webhook.Service)(nil)
