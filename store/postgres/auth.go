package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
)

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

// nullNanos is nanos for a nullable column: NULL for the zero time.
func nullNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

func fromNullNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return fromNanos(*n)
}

// hash copies a stored secret hash, checking its length.
func hash(what string, b []byte) (secret.Hash, error) {
	var h secret.Hash
	if len(b) != len(h) {
		return h, fmt.Errorf("%s: hash has %d bytes, want %d", what, len(b), len(h))
	}
	copy(h[:], b)
	return h, nil
}

// appendEvents inserts evs inside tx, in order, and notifies the channel
// with the last Seq. It first takes eventsLockKey, which PostgreSQL holds
// until tx ends: this is what makes Seqs visible in increasing order (see
// the package documentation). Nothing after it in a transaction may wait for
// another transaction's locks (callers append last, or only touch rows of
// their own making afterwards). Everything goes in one round trip.
func (db *DB) appendEvents(ctx context.Context, tx pgx.Tx, evs []auth.Event) error {
	if len(evs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	if !db.noEventsLock {
		b.Queue(`SELECT pg_advisory_xact_lock($1)`, eventsLockKey)
	}
	for _, ev := range evs {
		data := "{}"
		if len(ev.Data) > 0 {
			j, err := json.Marshal(ev.Data) // escapes NUL and invalid UTF-8
			if err != nil {
				return err
			}
			data = string(j)
		}
		b.Queue(`INSERT INTO events (type, at, user_id, session_id, data) VALUES ($1, $2, $3, $4, $5)`,
			clean(ev.Type), nanos(ev.At), clean(ev.UserID), clean(ev.SessionID), data)
	}
	// lastval() is the Seq of this connection's last insert: ours.
	b.Queue(`SELECT pg_notify($1, lastval()::text)`, db.channel)
	br := tx.SendBatch(ctx, b)
	for range b.Len() {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("appending events: %w", err)
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("appending events: %w", err)
	}
	if db.eventsHook != nil {
		db.eventsHook()
	}
	return nil
}

// --- users

const userCols = `id, email, password_hash, roles, disabled, tokens_valid_after, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner) (*auth.User, error) {
	var u auth.User
	var roles string
	var tva, created, updated int64
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &roles, &u.Disabled, &tva, &created, &updated); err != nil {
		return nil, notFound(err)
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return nil, fmt.Errorf("user %s: roles: %w", u.ID, err)
	}
	u.TokensValidAfter, u.CreatedAt, u.UpdatedAt = fromNanos(tva), fromNanos(created), fromNanos(updated)
	return &u, nil
}

func jsonList(list []string) string {
	if list == nil {
		list = []string{}
	}
	b, _ := json.Marshal(list)
	return string(b)
}

// CreateUser implements auth.UserStore.
func (db *DB) CreateUser(ctx context.Context, u *auth.User, evs ...auth.Event) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			u.ID, u.Email, u.PasswordHash, jsonList(u.Roles), u.Disabled, nanos(u.TokensValidAfter), nanos(u.CreatedAt), nanos(u.UpdatedAt))
		if isConflict(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, evs)
	})
}

// UpdateUser implements auth.UserStore. The user's row stays locked from
// reading its old TokensValidAfter to commit, so that concurrent updates of
// one user invalidate sessions as if made one after the other.
func (db *DB) UpdateUser(ctx context.Context, u *auth.User, evs ...auth.Event) error {
	if !storable(u.ID) {
		return auth.ErrNotFound
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		var oldTVA int64
		err := tx.QueryRow(ctx, `SELECT tokens_valid_after FROM users WHERE id = $1 FOR UPDATE`, u.ID).Scan(&oldTVA)
		if err != nil {
			return notFound(err)
		}
		_, err = tx.Exec(ctx, `UPDATE users SET email = $1, password_hash = $2, roles = $3, disabled = $4,
			tokens_valid_after = $5, created_at = $6, updated_at = $7 WHERE id = $8`,
			u.Email, u.PasswordHash, jsonList(u.Roles), u.Disabled, nanos(u.TokensValidAfter), nanos(u.CreatedAt), nanos(u.UpdatedAt), u.ID)
		if isConflict(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		if tva := nanos(u.TokensValidAfter); tva > oldTVA {
			if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1, revoke_cause = $2
				WHERE user_id = $3 AND created_at < $1 AND revoked_at IS NULL`, tva, auth.CauseInvalidated, u.ID); err != nil {
				return err
			}
		}
		return db.appendEvents(ctx, tx, evs)
	})
}

// DeleteUser implements auth.UserStore.
func (db *DB) DeleteUser(ctx context.Context, id string, evs ...auth.Event) error {
	if !storable(id) {
		return auth.ErrNotFound
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return auth.ErrNotFound
		}
		return db.appendEvents(ctx, tx, evs)
	})
}

// UserByID implements auth.UserStore.
func (db *DB) UserByID(ctx context.Context, id string) (*auth.User, error) {
	if !storable(id) {
		return nil, auth.ErrNotFound
	}
	return scanUser(db.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
}

// UserByEmail implements auth.UserStore.
func (db *DB) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	if !storable(email) {
		return nil, auth.ErrNotFound
	}
	return scanUser(db.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE email = $1`, email))
}

// ListUsers implements auth.UserStore.
func (db *DB) ListUsers(ctx context.Context, f auth.UserFilter) ([]*auth.User, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if !storable(f.Search) || !storable(f.After) {
		return nil, nil // no stored email contains it, and no ID sorts after it
	}
	// strpos, not LIKE: Search is a plain substring, wildcards included.
	rows, err := db.pool.Query(ctx, `SELECT `+userCols+` FROM users
		WHERE id > $1 AND ($2 = '' OR strpos(email, $2) > 0) ORDER BY id LIMIT $3`,
		f.After, strings.ToLower(f.Search), f.Limit)
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

func scanSession(row scanner) (*auth.Session, error) {
	var s auth.Session
	var h []byte
	var created, seen, expires int64
	var revoked *int64
	if err := row.Scan(&s.ID, &h, &s.UserID, &created, &seen, &expires, &s.CreatedIP, &s.CreatedUA, &s.LastIP, &s.LastUA, &revoked, &s.RevokeCause); err != nil {
		return nil, notFound(err)
	}
	var err error
	if s.SecretHash, err = hash("session "+s.ID, h); err != nil {
		return nil, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromNanos(created), fromNanos(seen), fromNanos(expires)
	s.RevokedAt = fromNullNanos(revoked)
	return &s, nil
}

// CreateSession implements auth.SessionStore.
func (db *DB) CreateSession(ctx context.Context, s *auth.Session, evs ...auth.Event) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			s.ID, s.SecretHash[:], s.UserID, nanos(s.CreatedAt), nanos(s.LastSeenAt), nanos(s.ExpiresAt),
			clean(s.CreatedIP), clean(s.CreatedUA), clean(s.LastIP), clean(s.LastUA), nullNanos(s.RevokedAt), s.RevokeCause)
		if isConflict(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, evs)
	})
}

// SessionByHash implements auth.SessionStore.
func (db *DB) SessionByHash(ctx context.Context, h secret.Hash) (*auth.Session, error) {
	return scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE secret_hash = $1`, h[:]))
}

// SessionByID implements auth.SessionStore.
func (db *DB) SessionByID(ctx context.Context, id string) (*auth.Session, error) {
	if !storable(id) {
		return nil, auth.ErrNotFound
	}
	return scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id))
}

// ListSessions implements auth.SessionStore.
func (db *DB) ListSessions(ctx context.Context, userID string, now time.Time) ([]*auth.Session, error) {
	if !storable(userID) {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id`, userID, nanos(now))
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

// TouchSession implements auth.SessionStore. LastSeenAt never goes back.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time, ip, ua string) error {
	if !storable(id) {
		return nil
	}
	_, err := db.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $1), last_ip = $2, last_ua = $3
		WHERE id = $4 AND revoked_at IS NULL`, nanos(at), clean(ip), clean(ua), id)
	return err
}

// RevokeSessions implements auth.SessionStore. The IDs it returns are in
// the order of ids.
func (db *DB) RevokeSessions(ctx context.Context, ids []string, at time.Time, cause string, evs ...auth.Event) ([]string, error) {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		if storable(id) {
			keys = append(keys, id)
		}
	}
	var revoked []string
	err := db.tx(ctx, func(tx pgx.Tx) error {
		revoked = nil
		if len(keys) > 0 {
			rows, err := tx.Query(ctx, `UPDATE sessions SET revoked_at = $1, revoke_cause = $2
				WHERE id = ANY($3) AND revoked_at IS NULL RETURNING id`, nanos(at), cause, keys)
			if err != nil {
				return err
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			done := make(map[string]bool, len(got))
			for _, id := range got {
				done[id] = true
			}
			for _, id := range keys {
				if done[id] {
					revoked = append(revoked, id)
					delete(done, id)
				}
			}
		}
		return db.appendEvents(ctx, tx, evs)
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}

// DeleteSessionsBefore implements auth.SessionStore.
func (db *DB) DeleteSessionsBefore(ctx context.Context, t, idleBefore time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE revoked_at < $1 OR expires_at < $1 OR last_seen_at < $2`,
		nanos(t), nanos(idleBefore))
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// --- events

// AppendEvents implements auth.EventStore.
func (db *DB) AppendEvents(ctx context.Context, evs ...auth.Event) error {
	if len(evs) == 0 {
		return nil
	}
	return db.tx(ctx, func(tx pgx.Tx) error { return db.appendEvents(ctx, tx, evs) })
}

// EventsAfter implements auth.EventStore. A negative limit means no limit.
func (db *DB) EventsAfter(ctx context.Context, seq int64, limit int) ([]auth.Event, error) {
	var lim *int
	if limit >= 0 {
		lim = &limit
	}
	rows, err := db.pool.Query(ctx, `SELECT seq, type, at, user_id, session_id, data FROM events
		WHERE seq > $1 ORDER BY seq LIMIT $2`, seq, lim)
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
	err := db.pool.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&seq)
	return seq, err
}

// SeqBefore implements auth.EventStore.
func (db *DB) SeqBefore(ctx context.Context, t time.Time) (int64, error) {
	var seq int64
	err := db.pool.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events WHERE at < $1`, nanos(t)).Scan(&seq)
	return seq, err
}
