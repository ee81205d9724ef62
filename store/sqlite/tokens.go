package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/store/internal/rowcodec"
)

// --- clients

// CreateClient implements auth.ClientStore.
func (db *DB) CreateClient(ctx context.Context, c *auth.OAuthClient, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clients (`+rowcodec.ClientColumns+`) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.SecretHash[:], rowcodec.JSONList(c.Scopes), rowcodec.Nanos(c.CreatedAt))
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
	return rowcodec.ScanClient(lookup{db.read.QueryRowContext(ctx, `SELECT `+rowcodec.ClientColumns+` FROM clients WHERE id = ?`, id)})
}

// ListClients implements auth.ClientStore.
func (db *DB) ListClients(ctx context.Context) ([]*auth.OAuthClient, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+rowcodec.ClientColumns+` FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanClient)
}

// DeleteClient implements auth.ClientStore.
func (db *DB) DeleteClient(ctx context.Context, id string, evs ...auth.Event) error {
	return db.deleteByID(ctx, `DELETE FROM clients WHERE id = ?`, id, evs)
}

// --- refresh tokens

func insertRefresh(ctx context.Context, tx *sql.Tx, rt *auth.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (`+rowcodec.RefreshTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
		rt.Hash[:], rt.SessionID, rt.ClientID, rt.FamilyID, rt.Scope, rt.Audience, rowcodec.Nanos(rt.CreatedAt), rowcodec.Nanos(rt.ExpiresAt))
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
	return rowcodec.ScanRefreshToken(lookup{db.read.QueryRowContext(ctx, `SELECT `+rowcodec.RefreshTokenColumns+` FROM refresh_tokens WHERE hash = ?`, h[:])})
}

// RotateRefreshToken implements auth.RefreshStore.
func (db *DB) RotateRefreshToken(ctx context.Context, old secret.Hash, at time.Time, next *auth.RefreshToken, evs ...auth.Event) (bool, error) {
	won := false
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET rotated_at = ?, successor_hash = ? WHERE hash = ? AND rotated_at IS NULL`,
			rowcodec.Nanos(at), next.Hash[:], old[:])
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
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL`, rowcodec.Nanos(k.CreatedAt)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO signing_keys (`+rowcodec.SigningKeyColumns+`) VALUES (?, ?, ?, ?, NULL)`,
			k.ID, k.Alg, k.SealedPrivate, rowcodec.Nanos(k.CreatedAt))
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
	rows, err := db.read.QueryContext(ctx, `SELECT `+rowcodec.SigningKeyColumns+` FROM signing_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanSigningKey)
}

// DeleteSigningKeysRetiredBefore implements auth.KeyStore.
func (db *DB) DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?`, rowcodec.Nanos(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
