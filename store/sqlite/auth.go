package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
)

var _ auth.Store = (*DB)(nil)

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// appendEvents inserts evs inside tx.
func appendEvents(ctx context.Context, tx *sql.Tx, evs []auth.Event) error {
	for _, ev := range evs {
		data := []byte("{}")
		if len(ev.Data) > 0 {
			var err error
			if data, err = json.Marshal(ev.Data); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (type, at, user_id, session_id, data) VALUES (?, ?, ?, ?, ?)`,
			ev.Type, nanos(ev.At), ev.UserID, ev.SessionID, string(data)); err != nil {
			return fmt.Errorf("appending event %s: %w", ev.Type, err)
		}
	}
	return nil
}

// --- users

const userCols = `id, email, password_hash, roles, disabled, tokens_valid_after, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (*auth.User, error) {
	var u auth.User
	var roles string
	var tva, created, updated int64
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &roles, &u.Disabled, &tva, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, auth.ErrNotFound
		}
		return nil, err
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return nil, fmt.Errorf("user %s: roles: %w", u.ID, err)
	}
	u.TokensValidAfter, u.CreatedAt, u.UpdatedAt = fromNanos(tva), fromNanos(created), fromNanos(updated)
	return &u, nil
}

func rolesJSON(roles []string) string {
	if roles == nil {
		roles = []string{}
	}
	b, _ := json.Marshal(roles)
	return string(b)
}

// CreateUser implements auth.UserStore.
func (db *DB) CreateUser(ctx context.Context, u *auth.User, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.PasswordHash, rolesJSON(u.Roles), u.Disabled, nanos(u.TokensValidAfter), nanos(u.CreatedAt), nanos(u.UpdatedAt))
		if isConstraint(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		return appendEvents(ctx, tx, evs)
	})
}

// UpdateUser implements auth.UserStore.
func (db *DB) UpdateUser(ctx context.Context, u *auth.User, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var oldTVA int64
		err := tx.QueryRowContext(ctx, `SELECT tokens_valid_after FROM users WHERE id = ?`, u.ID).Scan(&oldTVA)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET email = ?, password_hash = ?, roles = ?, disabled = ?,
			tokens_valid_after = ?, created_at = ?, updated_at = ? WHERE id = ?`,
			u.Email, u.PasswordHash, rolesJSON(u.Roles), u.Disabled, nanos(u.TokensValidAfter), nanos(u.CreatedAt), nanos(u.UpdatedAt), u.ID)
		if isConstraint(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		if tva := nanos(u.TokensValidAfter); tva > oldTVA {
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_cause = ?
				WHERE user_id = ? AND created_at < ? AND revoked_at IS NULL`, tva, auth.CauseInvalidated, u.ID, tva); err != nil {
				return err
			}
		}
		return appendEvents(ctx, tx, evs)
	})
}

// DeleteUser implements auth.UserStore.
func (db *DB) DeleteUser(ctx context.Context, id string, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		return appendEvents(ctx, tx, evs)
	})
}

// UserByID implements auth.UserStore.
func (db *DB) UserByID(ctx context.Context, id string) (*auth.User, error) {
	return scanUser(db.read.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
}

// UserByEmail implements auth.UserStore.
func (db *DB) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	return scanUser(db.read.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE email = ?`, email))
}

// ListUsers implements auth.UserStore.
func (db *DB) ListUsers(ctx context.Context, f auth.UserFilter) ([]*auth.User, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT ` + userCols + ` FROM users WHERE id > ?`
	args := []any{f.After}
	if f.Search != "" {
		q += ` AND instr(email, ?) > 0`
		args = append(args, strings.ToLower(f.Search))
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, f.Limit)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// --- sessions

const sessionCols = `id, secret_hash, user_id, created_at, last_seen_at, expires_at, created_ip, created_ua, last_ip, last_ua, revoked_at, revoke_cause`

func scanSession(row interface{ Scan(...any) error }) (*auth.Session, error) {
	var s auth.Session
	var hash []byte
	var created, seen, expires int64
	var revoked sql.NullInt64
	if err := row.Scan(&s.ID, &hash, &s.UserID, &created, &seen, &expires, &s.CreatedIP, &s.CreatedUA, &s.LastIP, &s.LastUA, &revoked, &s.RevokeCause); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, auth.ErrNotFound
		}
		return nil, err
	}
	if len(hash) != len(s.SecretHash) {
		return nil, fmt.Errorf("session %s: secret hash has %d bytes", s.ID, len(hash))
	}
	copy(s.SecretHash[:], hash)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromNanos(created), fromNanos(seen), fromNanos(expires)
	if revoked.Valid {
		s.RevokedAt = fromNanos(revoked.Int64)
	}
	return &s, nil
}

// CreateSession implements auth.SessionStore.
func (db *DB) CreateSession(ctx context.Context, s *auth.Session, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.SecretHash[:], s.UserID, nanos(s.CreatedAt), nanos(s.LastSeenAt), nanos(s.ExpiresAt),
			s.CreatedIP, s.CreatedUA, s.LastIP, s.LastUA, nullNanos(s.RevokedAt), s.RevokeCause)
		if isConstraint(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		return appendEvents(ctx, tx, evs)
	})
}

// SessionByHash implements auth.SessionStore.
func (db *DB) SessionByHash(ctx context.Context, h secret.Hash) (*auth.Session, error) {
	return scanSession(db.read.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE secret_hash = ?`, h[:]))
}

// SessionByID implements auth.SessionStore.
func (db *DB) SessionByID(ctx context.Context, id string) (*auth.Session, error) {
	return scanSession(db.read.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id))
}

// ListSessions implements auth.SessionStore.
func (db *DB) ListSessions(ctx context.Context, userID string, now time.Time) ([]*auth.Session, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id`, userID, nanos(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*auth.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// TouchSession implements auth.SessionStore.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time, ip, ua string) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = max(last_seen_at, ?), last_ip = ?, last_ua = ?
			WHERE id = ? AND revoked_at IS NULL`, nanos(at), ip, ua, id)
		return err
	})
}

// RevokeSessions implements auth.SessionStore.
func (db *DB) RevokeSessions(ctx context.Context, ids []string, at time.Time, cause string, evs ...auth.Event) ([]string, error) {
	var revoked []string
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		revoked = revoked[:0]
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_cause = ? WHERE id = ? AND revoked_at IS NULL`, nanos(at), cause, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				revoked = append(revoked, id)
			}
		}
		return appendEvents(ctx, tx, evs)
	})
	return revoked, err
}

// DeleteSessionsBefore implements auth.SessionStore.
func (db *DB) DeleteSessionsBefore(ctx context.Context, t, idleBefore time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM sessions WHERE revoked_at < ? OR expires_at < ? OR last_seen_at < ?`,
		nanos(t), nanos(t), nanos(idleBefore))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// --- events

// AppendEvents implements auth.EventStore.
func (db *DB) AppendEvents(ctx context.Context, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error { return appendEvents(ctx, tx, evs) })
}

// EventsAfter implements auth.EventStore.
func (db *DB) EventsAfter(ctx context.Context, seq int64, limit int) ([]auth.Event, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT seq, type, at, user_id, session_id, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, seq, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.Event
	for rows.Next() {
		var ev auth.Event
		var at int64
		var data string
		if err := rows.Scan(&ev.Seq, &ev.Type, &at, &ev.UserID, &ev.SessionID, &data); err != nil {
			return nil, err
		}
		ev.At = fromNanos(at)
		if data != "{}" {
			if err := json.Unmarshal([]byte(data), &ev.Data); err != nil {
				return nil, fmt.Errorf("event %d: data: %w", ev.Seq, err)
			}
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// LastEventSeq implements auth.EventStore.
func (db *DB) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&seq)
	return seq, err
}

// SeqBefore implements auth.EventStore.
func (db *DB) SeqBefore(ctx context.Context, t time.Time) (int64, error) {
	var seq int64
	err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events WHERE at < ?`, nanos(t)).Scan(&seq)
	return seq, err
}
