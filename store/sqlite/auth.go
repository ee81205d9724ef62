package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/store/internal/rowcodec"
)

var _ auth.Store = (*DB)(nil)

// appendEvents inserts evs inside tx.
func appendEvents(ctx context.Context, tx *sql.Tx, evs []auth.Event) error {
	for _, ev := range evs {
		data, err := rowcodec.EventData(ev.Data)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (type, at, user_id, session_id, data) VALUES (?, ?, ?, ?, ?)`,
			ev.Type, rowcodec.Nanos(ev.At), ev.UserID, ev.SessionID, data); err != nil {
			return fmt.Errorf("appending event %s: %w", ev.Type, err)
		}
	}
	return nil
}

// --- users

// CreateUser implements auth.UserStore.
func (db *DB) CreateUser(ctx context.Context, u *auth.User, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+rowcodec.UserColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.PasswordHash, rowcodec.JSONList(u.Roles), u.Disabled, rowcodec.Nanos(u.TokensValidAfter), rowcodec.Nanos(u.CreatedAt), rowcodec.Nanos(u.UpdatedAt))
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
		if err != nil {
			return notFound(err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET email = ?, password_hash = ?, roles = ?, disabled = ?,
			tokens_valid_after = ?, created_at = ?, updated_at = ? WHERE id = ?`,
			u.Email, u.PasswordHash, rowcodec.JSONList(u.Roles), u.Disabled, rowcodec.Nanos(u.TokensValidAfter), rowcodec.Nanos(u.CreatedAt), rowcodec.Nanos(u.UpdatedAt), u.ID)
		if isConstraint(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		if tva := rowcodec.Nanos(u.TokensValidAfter); tva > oldTVA {
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
	return db.deleteByID(ctx, `DELETE FROM users WHERE id = ?`, id, evs)
}

// UserByID implements auth.UserStore.
func (db *DB) UserByID(ctx context.Context, id string) (*auth.User, error) {
	return rowcodec.ScanUser(lookup{db.read.QueryRowContext(ctx, `SELECT `+rowcodec.UserColumns+` FROM users WHERE id = ?`, id)})
}

// UserByEmail implements auth.UserStore.
func (db *DB) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	return rowcodec.ScanUser(lookup{db.read.QueryRowContext(ctx, `SELECT `+rowcodec.UserColumns+` FROM users WHERE email = ?`, email)})
}

// ListUsers implements auth.UserStore.
func (db *DB) ListUsers(ctx context.Context, f auth.UserFilter) ([]*auth.User, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT ` + rowcodec.UserColumns + ` FROM users WHERE id > ?`
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
	return rowcodec.Collect(rows, rowcodec.ScanUser)
}

// --- sessions

// CreateSession implements auth.SessionStore.
func (db *DB) CreateSession(ctx context.Context, s *auth.Session, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+rowcodec.SessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.SecretHash[:], s.UserID, rowcodec.Nanos(s.CreatedAt), rowcodec.Nanos(s.LastSeenAt), rowcodec.Nanos(s.ExpiresAt),
			s.CreatedIP, s.CreatedUA, s.LastIP, s.LastUA, rowcodec.NullNanos(s.RevokedAt), s.RevokeCause)
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
	return rowcodec.ScanSession(lookup{db.read.QueryRowContext(ctx, `SELECT `+rowcodec.SessionColumns+` FROM sessions WHERE secret_hash = ?`, h[:])})
}

// SessionByID implements auth.SessionStore.
func (db *DB) SessionByID(ctx context.Context, id string) (*auth.Session, error) {
	return rowcodec.ScanSession(lookup{db.read.QueryRowContext(ctx, `SELECT `+rowcodec.SessionColumns+` FROM sessions WHERE id = ?`, id)})
}

// ListSessions implements auth.SessionStore.
func (db *DB) ListSessions(ctx context.Context, userID string, now time.Time) ([]*auth.Session, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+rowcodec.SessionColumns+` FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id`, userID, rowcodec.Nanos(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanSession)
}

// TouchSession implements auth.SessionStore.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time, ip, ua string) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = max(last_seen_at, ?), last_ip = ?, last_ua = ?
			WHERE id = ? AND revoked_at IS NULL`, rowcodec.Nanos(at), ip, ua, id)
		return err
	})
}

// RevokeSessions implements auth.SessionStore.
func (db *DB) RevokeSessions(ctx context.Context, ids []string, at time.Time, cause string, evs ...auth.Event) ([]string, error) {
	var revoked []string
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		revoked = revoked[:0]
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_cause = ? WHERE id = ? AND revoked_at IS NULL`, rowcodec.Nanos(at), cause, id)
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
		rowcodec.Nanos(t), rowcodec.Nanos(t), rowcodec.Nanos(idleBefore))
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
	rows, err := db.read.QueryContext(ctx, `SELECT `+rowcodec.EventColumns+` FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, seq, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanEvent)
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
	err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events WHERE at < ?`, rowcodec.Nanos(t)).Scan(&seq)
	return seq, err
}
