// Package rowcodec is what the SQLite and PostgreSQL stores share of their
// rows: the layout of each domain value in its table's columns, the
// functions that read a row of those columns back into the domain value, and
// the column encodings both schemas use. Times are Unix nanoseconds (0, or
// NULL in a nullable column, for the zero time), lists and event data are
// JSON text, and secret hashes are bytes.
//
// The SQL itself stays in each store, in its own dialect. A store selects
// the columns of a value's Columns constant, in that order, and hands the
// row to its Scan function. The Scan functions take a [Scanner], which
// *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all are, and return the
// Scanner's own error as it is: turning a driver's "no rows" into
// auth.ErrNotFound is the store's business.
package rowcodec

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/webhook"
)

// Scanner is a row of a result.
type Scanner interface{ Scan(dest ...any) error }

// Rows is a result of any number of rows, such as *sql.Rows or pgx.Rows.
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Collect scans every remaining row of rs with scan. It returns nil for no
// rows, and stops at the first error. The caller closes rs.
func Collect[T any](rs Rows, scan func(Scanner) (T, error)) ([]T, error) {
	var out []T
	for rs.Next() {
		v, err := scan(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rs.Err()
}

// --- encodings

// Nanos encodes t as Unix nanoseconds, the zero time as 0.
func Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromNanos decodes Nanos, in UTC.
func FromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// NullNanos is Nanos for a nullable column: NULL (nil) for the zero time.
func NullNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// FromNullNanos decodes NullNanos.
func FromNullNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return FromNanos(*n)
}

// JSONList encodes a list of strings (roles, scopes, event types) as a JSON
// array, nil as [].
func JSONList(list []string) string {
	if list == nil {
		list = []string{}
	}
	b, _ := json.Marshal(list)
	return string(b)
}

// EventData encodes an event's data as a JSON object, none as {}. JSON
// escapes NUL and replaces invalid UTF-8, so the text is storable anywhere.
func EventData(data map[string]string) (string, error) {
	if len(data) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// hash decodes a stored secret hash, checking its length.
func hash(what string, b []byte) (secret.Hash, error) {
	var h secret.Hash
	if len(b) != len(h) {
		return h, fmt.Errorf("%s: hash has %d bytes, want %d", what, len(b), len(h))
	}
	copy(h[:], b)
	return h, nil
}

// --- users

// UserColumns are the columns of users that ScanUser reads, in its order.
const UserColumns = `id, email, password_hash, roles, disabled, tokens_valid_after, created_at, updated_at`

// ScanUser reads a row of UserColumns.
func ScanUser(r Scanner) (*auth.User, error) {
	var u auth.User
	var roles string
	var tva, created, updated int64
	if err := r.Scan(&u.ID, &u.Email, &u.PasswordHash, &roles, &u.Disabled, &tva, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return nil, fmt.Errorf("user %s: roles: %w", u.ID, err)
	}
	u.TokensValidAfter, u.CreatedAt, u.UpdatedAt = FromNanos(tva), FromNanos(created), FromNanos(updated)
	return &u, nil
}

// --- sessions

// SessionColumns are the columns of sessions that ScanSession reads, in its
// order.
const SessionColumns = `id, secret_hash, user_id, created_at, last_seen_at, expires_at, created_ip, created_ua, last_ip, last_ua, revoked_at, revoke_cause`

// ScanSession reads a row of SessionColumns.
func ScanSession(r Scanner) (*auth.Session, error) {
	var s auth.Session
	var h []byte
	var created, seen, expires int64
	var revoked *int64
	if err := r.Scan(&s.ID, &h, &s.UserID, &created, &seen, &expires, &s.CreatedIP, &s.CreatedUA, &s.LastIP, &s.LastUA, &revoked, &s.RevokeCause); err != nil {
		return nil, err
	}
	var err error
	if s.SecretHash, err = hash("session "+s.ID, h); err != nil {
		return nil, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = FromNanos(created), FromNanos(seen), FromNanos(expires)
	s.RevokedAt = FromNullNanos(revoked)
	return &s, nil
}

// --- events

// EventColumns are the columns of events that ScanEvent reads, in its order.
const EventColumns = `seq, type, at, user_id, session_id, data`

// ScanEvent reads a row of EventColumns.
func ScanEvent(r Scanner) (auth.Event, error) {
	var ev auth.Event
	var at int64
	var data string
	if err := r.Scan(&ev.Seq, &ev.Type, &at, &ev.UserID, &ev.SessionID, &data); err != nil {
		return auth.Event{}, err
	}
	ev.At = FromNanos(at)
	if data != "{}" {
		if err := json.Unmarshal([]byte(data), &ev.Data); err != nil {
			return auth.Event{}, fmt.Errorf("event %d: data: %w", ev.Seq, err)
		}
	}
	return ev, nil
}

// --- clients

// ClientColumns are the columns of clients that ScanClient reads, in its
// order.
const ClientColumns = `id, name, secret_hash, scopes, created_at`

// ScanClient reads a row of ClientColumns.
func ScanClient(r Scanner) (*auth.OAuthClient, error) {
	var c auth.OAuthClient
	var h []byte
	var scopes string
	var created int64
	if err := r.Scan(&c.ID, &c.Name, &h, &scopes, &created); err != nil {
		return nil, err
	}
	var err error
	if c.SecretHash, err = hash("client "+c.ID, h); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
		return nil, fmt.Errorf("client %s: scopes: %w", c.ID, err)
	}
	c.CreatedAt = FromNanos(created)
	return &c, nil
}

// --- refresh tokens

// RefreshTokenColumns are the columns of refresh_tokens that
// ScanRefreshToken reads, in its order.
const RefreshTokenColumns = `hash, session_id, client_id, family_id, scope, audience, created_at, expires_at, rotated_at, successor_hash`

// ScanRefreshToken reads a row of RefreshTokenColumns. A NULL successor
// hash is the zero hash.
func ScanRefreshToken(r Scanner) (*auth.RefreshToken, error) {
	var rt auth.RefreshToken
	var h, succ []byte
	var created, expires int64
	var rotated *int64
	if err := r.Scan(&h, &rt.SessionID, &rt.ClientID, &rt.FamilyID, &rt.Scope, &rt.Audience, &created, &expires, &rotated, &succ); err != nil {
		return nil, err
	}
	var err error
	if rt.Hash, err = hash("refresh token", h); err != nil {
		return nil, err
	}
	if succ != nil {
		if rt.SuccessorHash, err = hash("refresh token successor", succ); err != nil {
			return nil, err
		}
	}
	rt.CreatedAt, rt.ExpiresAt = FromNanos(created), FromNanos(expires)
	rt.RotatedAt = FromNullNanos(rotated)
	return &rt, nil
}

// --- signing keys

// SigningKeyColumns are the columns of signing_keys that ScanSigningKey
// reads, in its order.
const SigningKeyColumns = `id, alg, sealed_private, created_at, retired_at`

// ScanSigningKey reads a row of SigningKeyColumns.
func ScanSigningKey(r Scanner) (*auth.SigningKey, error) {
	var k auth.SigningKey
	var created int64
	var retired *int64
	if err := r.Scan(&k.ID, &k.Alg, &k.SealedPrivate, &created, &retired); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RetiredAt = FromNanos(created), FromNullNanos(retired)
	return &k, nil
}

// --- webhooks

// WebhookColumns are the columns of webhooks that ScanWebhook reads, in its
// order.
const WebhookColumns = `id, url, events, sealed_secret, created_at, cursor, attempts, next_attempt_at, lease_owner, lease_until`

// ScanWebhook reads a row of WebhookColumns.
func ScanWebhook(r Scanner) (*webhook.Webhook, error) {
	var w webhook.Webhook
	var events string
	var created, next, until int64
	if err := r.Scan(&w.ID, &w.URL, &events, &w.SealedSecret, &created, &w.Cursor, &w.Attempts, &next, &w.LeaseOwner, &until); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, fmt.Errorf("webhook %s: events: %w", w.ID, err)
	}
	w.CreatedAt, w.NextAttemptAt, w.LeaseUntil = FromNanos(created), FromNanos(next), FromNanos(until)
	return &w, nil
}

// DeliveryColumns are the columns of webhook_deliveries that ScanDelivery
// reads, in its order.
const DeliveryColumns = `webhook_id, seq, event_type, attempt, at, duration, status_code, outcome, error`

// ScanDelivery reads a row of DeliveryColumns.
func ScanDelivery(r Scanner) (*webhook.Delivery, error) {
	var d webhook.Delivery
	var at, dur int64
	var outcome string
	if err := r.Scan(&d.WebhookID, &d.Seq, &d.EventType, &d.Attempt, &at, &dur, &d.StatusCode, &outcome, &d.Error); err != nil {
		return nil, err
	}
	d.At, d.Duration, d.Outcome = FromNanos(at), time.Duration(dur), webhook.Outcome(outcome)
	return &d, nil
}
