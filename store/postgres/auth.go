package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/store/internal/rowcodec"
)

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
		data, err := rowcodec.EventData(ev.Data) // storable: NUL escaped, invalid UTF-8 replaced
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO events (type, at, user_id, session_id, data) VALUES ($1, $2, $3, $4, $5)`,
			clean(ev.Type), rowcodec.Nanos(ev.At), clean(ev.UserID), clean(ev.SessionID), data)
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

// CreateUser implements auth.UserStore.
func (db *DB) CreateUser(ctx context.Context, u *auth.User, evs ...auth.Event) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (`+rowcodec.UserColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			u.ID, u.Email, u.PasswordHash, rowcodec.JSONList(u.Roles), u.Disabled, rowcodec.Nanos(u.TokensValidAfter), rowcodec.Nanos(u.CreatedAt), rowcodec.Nanos(u.UpdatedAt))
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
			u.Email, u.PasswordHash, rowcodec.JSONList(u.Roles), u.Disabled, rowcodec.Nanos(u.TokensValidAfter), rowcodec.Nanos(u.CreatedAt), rowcodec.Nanos(u.UpdatedAt), u.ID)
		if isConflict(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		if tva := rowcodec.Nanos(u.TokensValidAfter); tva > oldTVA {
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
	return db.deleteByID(ctx, `DELETE FROM users WHERE id = $1`, id, evs)
}

// UserByID implements auth.UserStore.
func (db *DB) UserByID(ctx context.Context, id string) (*auth.User, error) {
	if !storable(id) {
		return nil, auth.ErrNotFound
	}
	return rowcodec.ScanUser(lookup{db.pool.QueryRow(ctx, `SELECT `+rowcodec.UserColumns+` FROM users WHERE id = $1`, id)})
}

// UserByEmail implements auth.UserStore.
func (db *DB) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	if !storable(email) {
		return nil, auth.ErrNotFound
	}
	return rowcodec.ScanUser(lookup{db.pool.QueryRow(ctx, `SELECT `+rowcodec.UserColumns+` FROM users WHERE email = $1`, email)})
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
	rows, err := db.pool.Query(ctx, `SELECT `+rowcodec.UserColumns+` FROM users
		WHERE id > $1 AND ($2 = '' OR strpos(email, $2) > 0) ORDER BY id LIMIT $3`,
		f.After, strings.ToLower(f.Search), f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanUser)
}

// --- sessions

// CreateSession implements auth.SessionStore.
func (db *DB) CreateSession(ctx context.Context, s *auth.Session, evs ...auth.Event) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (`+rowcodec.SessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			s.ID, s.SecretHash[:], s.UserID, rowcodec.Nanos(s.CreatedAt), rowcodec.Nanos(s.LastSeenAt), rowcodec.Nanos(s.ExpiresAt),
			clean(s.CreatedIP), clean(s.CreatedUA), clean(s.LastIP), clean(s.LastUA), rowcodec.NullNanos(s.RevokedAt), s.RevokeCause)
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
	return rowcodec.ScanSession(lookup{db.pool.QueryRow(ctx, `SELECT `+rowcodec.SessionColumns+` FROM sessions WHERE secret_hash = $1`, h[:])})
}

// SessionByID implements auth.SessionStore.
func (db *DB) SessionByID(ctx context.Context, id string) (*auth.Session, error) {
	if !storable(id) {
		return nil, auth.ErrNotFound
	}
	return rowcodec.ScanSession(lookup{db.pool.QueryRow(ctx, `SELECT `+rowcodec.SessionColumns+` FROM sessions WHERE id = $1`, id)})
}

// ListSessions implements auth.SessionStore.
func (db *DB) ListSessions(ctx context.Context, userID string, now time.Time) ([]*auth.Session, error) {
	if !storable(userID) {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+rowcodec.SessionColumns+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id`, userID, rowcodec.Nanos(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanSession)
}

// TouchSession implements auth.SessionStore. LastSeenAt never goes back.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time, ip, ua string) error {
	if !storable(id) {
		return nil
	}
	_, err := db.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $1), last_ip = $2, last_ua = $3
		WHERE id = $4 AND revoked_at IS NULL`, rowcodec.Nanos(at), clean(ip), clean(ua), id)
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
				WHERE id = ANY($3) AND revoked_at IS NULL RETURNING id`, rowcodec.Nanos(at), cause, keys)
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
		rowcodec.Nanos(t), rowcodec.Nanos(idleBefore))
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
	rows, err := db.pool.Query(ctx, `SELECT `+rowcodec.EventColumns+` FROM events
		WHERE seq > $1 ORDER BY seq LIMIT $2`, seq, lim)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanEvent)
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
	err := db.pool.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events WHERE at < $1`, rowcodec.Nanos(t)).Scan(&seq)
	return seq, err
}
