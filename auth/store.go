package auth

import (
	"context"
	"time"

	"github.com/tessera-auth/tessera/secret"
)

// The interfaces below are what the auth service needs from a database. Each
// store package (store/sqlite, store/postgres) implements all of them, and
// store/storetest is the conformance suite that holds every store to the
// contract written here.
//
// Methods return ErrNotFound when a looked-up row does not exist and
// ErrConflict on a uniqueness violation. Every method that changes state takes
// the events describing the change and appends them in the same transaction,
// so an event is durable exactly when its change is.

// UserStore keeps accounts.
type UserStore interface {
	// CreateUser inserts u (ID and Email set by the caller); ErrConflict if the
	// email is taken.
	CreateUser(ctx context.Context, u *User, evs ...Event) error
	// UpdateUser replaces the stored user with u (matched by ID). When
	// u.TokensValidAfter is later than the stored value, every session of the
	// user created before it is marked revoked (cause CauseInvalidated) in the
	// same transaction. ErrNotFound if no such user; ErrConflict if the new
	// email is taken.
	UpdateUser(ctx context.Context, u *User, evs ...Event) error
	// DeleteUser removes the user and its sessions.
	DeleteUser(ctx context.Context, id string, evs ...Event) error
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail looks up a case-folded email.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// ListUsers returns users ordered by ID, after f.After, at most f.Limit,
	// whose email contains f.Search when it is set.
	ListUsers(ctx context.Context, f UserFilter) ([]*User, error)
}

// UserFilter pages and searches ListUsers.
type UserFilter struct {
	Search string // substring of the email
	After  string // user ID to continue after
	Limit  int    // 0: 100
}

// SessionStore keeps sessions.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session, evs ...Event) error
	// SessionByHash finds a session by the SHA-256 of its secret, revoked or not.
	SessionByHash(ctx context.Context, h secret.Hash) (*Session, error)
	// SessionByID finds a session by its public ID, revoked or not.
	SessionByID(ctx context.Context, id string) (*Session, error)
	// ListSessions returns the user's sessions that are not revoked and whose
	// absolute expiry is after now, newest first.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]*Session, error)
	// TouchSession records use of a session: last seen time, IP and user agent.
	// It changes nothing for a revoked session.
	TouchSession(ctx context.Context, id string, at time.Time, ip, userAgent string) error
	// RevokeSessions marks the listed sessions revoked at at with cause, skipping
	// those already revoked, and returns the IDs it revoked.
	RevokeSessions(ctx context.Context, ids []string, at time.Time, cause string, evs ...Event) ([]string, error)
	// DeleteSessionsBefore deletes sessions that ended (revoked, or absolutely
	// expired) before t, or were last seen before idleBefore; it returns the count.
	DeleteSessionsBefore(ctx context.Context, t, idleBefore time.Time) (int64, error)
}

// EventStore is the events log.
type EventStore interface {
	AppendEvents(ctx context.Context, evs ...Event) error
	// EventsAfter returns up to limit events with Seq > seq, in order.
	EventsAfter(ctx context.Context, seq int64, limit int) ([]Event, error)
	// LastEventSeq returns the highest Seq, or 0 for an empty log.
	LastEventSeq(ctx context.Context) (int64, error)
	// SeqBefore returns the highest Seq of the events whose At is before t, or
	// 0 if there is none: a cursor from which EventsAfter replays a time window.
	SeqBefore(ctx context.Context, t time.Time) (int64, error)
}

// Store is everything the auth service uses.
type Store interface {
	UserStore
	SessionStore
	EventStore
	ClientStore
	RefreshStore
	KeyStore
	// Ping checks that the store answers (for /readyz).
	Ping(ctx context.Context) error
}
