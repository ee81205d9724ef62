package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/store/internal/rowcodec"
)

// --- clients

// CreateClient implements auth.ClientStore.
func (db *DB) CreateClient(ctx context.Context, c *auth.OAuthClient, evs ...auth.Event) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO clients (`+rowcodec.ClientColumns+`) VALUES ($1, $2, $3, $4, $5)`,
			c.ID, clean(c.Name), c.SecretHash[:], rowcodec.JSONList(c.Scopes), rowcodec.Nanos(c.CreatedAt))
		if isConflict(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, evs)
	})
}

// ClientByID implements auth.ClientStore.
func (db *DB) ClientByID(ctx context.Context, id string) (*auth.OAuthClient, error) {
	if !storable(id) {
		return nil, auth.ErrNotFound
	}
	return rowcodec.ScanClient(lookup{db.pool.QueryRow(ctx, `SELECT `+rowcodec.ClientColumns+` FROM clients WHERE id = $1`, id)})
}

// ListClients implements auth.ClientStore.
func (db *DB) ListClients(ctx context.Context) ([]*auth.OAuthClient, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+rowcodec.ClientColumns+` FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanClient)
}

// DeleteClient implements auth.ClientStore.
func (db *DB) DeleteClient(ctx context.Context, id string, evs ...auth.Event) error {
	return db.deleteByID(ctx, `DELETE FROM clients WHERE id = $1`, id, evs)
}

// --- refresh tokens

func insertRefresh(ctx context.Context, tx pgx.Tx, rt *auth.RefreshToken) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (`+rowcodec.RefreshTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)`,
		rt.Hash[:], rt.SessionID, rt.ClientID, rt.FamilyID, rt.Scope, rt.Audience, rowcodec.Nanos(rt.CreatedAt), rowcodec.Nanos(rt.ExpiresAt))
	if isConflict(err) {
		return auth.ErrConflict
	}
	return err
}

// CreateRefreshToken implements auth.RefreshStore.
func (db *DB) CreateRefreshToken(ctx context.Context, rt *auth.RefreshToken, evs ...auth.Event) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		if err := insertRefresh(ctx, tx, rt); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, evs)
	})
}

// RefreshTokenByHash implements auth.RefreshStore.
func (db *DB) RefreshTokenByHash(ctx context.Context, h secret.Hash) (*auth.RefreshToken, error) {
	return rowcodec.ScanRefreshToken(lookup{db.pool.QueryRow(ctx, `SELECT `+rowcodec.RefreshTokenColumns+` FROM refresh_tokens WHERE hash = $1`, h[:])})
}

// RotateRefreshToken implements auth.RefreshStore as a compare-and-swap: the
// UPDATE matches only a token not rotated yet. A concurrent rotation of the
// same token waits for the first one's row lock, then finds rotated_at set
// and changes nothing.
func (db *DB) RotateRefreshToken(ctx context.Context, old secret.Hash, at time.Time, next *auth.RefreshToken, evs ...auth.Event) (bool, error) {
	won := false
	err := db.tx(ctx, func(tx pgx.Tx) error {
		won = false
		tag, err := tx.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = $1, successor_hash = $2 WHERE hash = $3 AND rotated_at IS NULL`,
			rowcodec.Nanos(at), next.Hash[:], old[:])
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		if err := insertRefresh(ctx, tx, next); err != nil {
			return err
		}
		won = true
		return db.appendEvents(ctx, tx, evs)
	})
	return won && err == nil, err
}

// --- signing keys

// AddSigningKey implements auth.KeyStore. The expectActive check and the
// insert run under the transaction-level advisory lock keysLockKey, so that
// of nodes rotating at once exactly one succeeds, even when there is no
// active key yet (no row that SELECT … FOR UPDATE could lock).
func (db *DB) AddSigningKey(ctx context.Context, k *auth.SigningKey, expectActive string, evs ...auth.Event) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keysLockKey); err != nil {
			return err
		}
		var active string
		err := tx.QueryRow(ctx, `SELECT id FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1`).Scan(&active)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if active != expectActive {
			return auth.ErrConflict
		}
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, rowcodec.Nanos(k.CreatedAt)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO signing_keys (`+rowcodec.SigningKeyColumns+`) VALUES ($1, $2, $3, $4, NULL)`,
			k.ID, k.Alg, k.SealedPrivate, rowcodec.Nanos(k.CreatedAt))
		if isConflict(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, evs)
	})
}

// SigningKeys implements auth.KeyStore.
func (db *DB) SigningKeys(ctx context.Context) ([]*auth.SigningKey, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+rowcodec.SigningKeyColumns+` FROM signing_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanSigningKey)
}

// DeleteSigningKeysRetiredBefore implements auth.KeyStore.
func (db *DB) DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1`, rowcodec.Nanos(t))
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
