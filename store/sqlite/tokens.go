package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
)

// --- clients

func scanClient(row interface{ Scan(...any) error }) (*auth.OAuthClient, error) {
	var c auth.OAuthClient
	var hash []byte
	var scopes string
	var created int64
	if err := row.Scan(&c.ID, &c.Name, &hash, &scopes, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, auth.ErrNotFound
		}
		return nil, err
	}
	copy(c.SecretHash[:], hash)
	if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
		return nil, fmt.Errorf("client %s: scopes: %w", c.ID, err)
	}
	c.CreatedAt = fromNanos(created)
	return &c, nil
}

// CreateClient implements auth.ClientStore.
func (db *DB) CreateClient(ctx context.Context, c *auth.OAuthClient, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clients (id, name, secret_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.SecretHash[:], rolesJSON(c.Scopes), nanos(c.CreatedAt))
		if isConstraint(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		return appendEvents(ctx, tx, evs)
	})
}

// ClientByID implements auth.ClientStore.
func (db *DB) ClientByID(ctx context.Context, id string) (*auth.OAuthClient, error) {
	return scanClient(db.read.QueryRowContext(ctx, `SELECT id, name, secret_hash, scopes, created_at FROM clients WHERE id = ?`, id))
}

// ListClients implements auth.ClientStore.
func (db *DB) ListClients(ctx context.Context) ([]*auth.OAuthClient, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, secret_hash, scopes, created_at FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*auth.OAuthClient
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteClient implements auth.ClientStore.
func (db *DB) DeleteClient(ctx context.Context, id string, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		return appendEvents(ctx, tx, evs)
	})
}

// --- refresh tokens

const refreshCols = `hash, session_id, client_id, family_id, scope, audience, created_at, expires_at, rotated_at, successor_hash`

func scanRefresh(row interface{ Scan(...any) error }) (*auth.RefreshToken, error) {
	var rt auth.RefreshToken
	var hash, succ []byte
	var created, expires int64
	var rotated sql.NullInt64
	if err := row.Scan(&hash, &rt.SessionID, &rt.ClientID, &rt.FamilyID, &rt.Scope, &rt.Audience, &created, &expires, &rotated, &succ); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, auth.ErrNotFound
		}
		return nil, err
	}
	copy(rt.Hash[:], hash)
	copy(rt.SuccessorHash[:], succ)
	rt.CreatedAt, rt.ExpiresAt = fromNanos(created), fromNanos(expires)
	if rotated.Valid {
		rt.RotatedAt = fromNanos(rotated.Int64)
	}
	return &rt, nil
}

func insertRefresh(ctx context.Context, tx *sql.Tx, rt *auth.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (`+refreshCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
		rt.Hash[:], rt.SessionID, rt.ClientID, rt.FamilyID, rt.Scope, rt.Audience, nanos(rt.CreatedAt), nanos(rt.ExpiresAt))
	if isConstraint(err) {
		return auth.ErrConflict
	}
	return err
}

// CreateRefreshToken implements auth.RefreshStore.
func (db *DB) CreateRefreshToken(ctx context.Context, rt *auth.RefreshToken, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := insertRefresh(ctx, tx, rt); err != nil {
			return err
		}
		return appendEvents(ctx, tx, evs)
	})
}

// RefreshTokenByHash implements auth.RefreshStore.
func (db *DB) RefreshTokenByHash(ctx context.Context, h secret.Hash) (*auth.RefreshToken, error) {
	return scanRefresh(db.read.QueryRowContext(ctx, `SELECT `+refreshCols+` FROM refresh_tokens WHERE hash = ?`, h[:]))
}

// RotateRefreshToken implements auth.RefreshStore.
func (db *DB) RotateRefreshToken(ctx context.Context, old secret.Hash, at time.Time, next *auth.RefreshToken, evs ...auth.Event) (bool, error) {
	won := false
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET rotated_at = ?, successor_hash = ? WHERE hash = ? AND rotated_at IS NULL`,
			nanos(at), next.Hash[:], old[:])
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if err := insertRefresh(ctx, tx, next); err != nil {
			return err
		}
		won = true
		return appendEvents(ctx, tx, evs)
	})
	return won && err == nil, err
}

// --- signing keys

// AddSigningKey implements auth.KeyStore.
func (db *DB) AddSigningKey(ctx context.Context, k *auth.SigningKey, expectActive string, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var active string
		err := tx.QueryRowContext(ctx, `SELECT id FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1`).Scan(&active)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if active != expectActive {
			return auth.ErrConflict
		}
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL`, nanos(k.CreatedAt)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO signing_keys (id, alg, sealed_private, created_at, retired_at) VALUES (?, ?, ?, ?, NULL)`,
			k.ID, k.Alg, k.SealedPrivate, nanos(k.CreatedAt))
		if isConstraint(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		return appendEvents(ctx, tx, evs)
	})
}

// SigningKeys implements auth.KeyStore.
func (db *DB) SigningKeys(ctx context.Context) ([]*auth.SigningKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, alg, sealed_private, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*auth.SigningKey
	for rows.Next() {
		var k auth.SigningKey
		var created int64
		var retired sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Alg, &k.SealedPrivate, &created, &retired); err != nil {
			return nil, err
		}
		k.CreatedAt = fromNanos(created)
		if retired.Valid {
			k.RetiredAt = fromNanos(retired.Int64)
		}
		out = append(out, &k)
	}
	return out, rows.Err()
}

// DeleteSigningKeysRetiredBefore implements auth.KeyStore.
func (db *DB) DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?`, nanos(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
