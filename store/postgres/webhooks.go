package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/webhook"
)

var _ webhook.Store = (*DB)(nil)

const webhookCols = `id, url, events, sealed_secret, created_at, cursor, attempts, next_attempt_at, lease_owner, lease_until`

func scanWebhook(row scanner) (*webhook.Webhook, error) {
	var w webhook.Webhook
	var events string
	var created, next, until int64
	if err := row.Scan(&w.ID, &w.URL, &events, &w.SealedSecret, &created, &w.Cursor, &w.Attempts, &next, &w.LeaseOwner, &until); err != nil {
		return nil, notFound(err)
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, fmt.Errorf("webhook %s: events: %w", w.ID, err)
	}
	w.CreatedAt, w.NextAttemptAt, w.LeaseUntil = fromNanos(created), fromNanos(next), fromNanos(until)
	return &w, nil
}

// CreateWebhook implements webhook.Store. The cursor is read after the
// events are appended, under the events lock when there are events: every
// event that becomes visible later has a higher Seq (see the package
// documentation), so the webhook misses none of them.
func (db *DB) CreateWebhook(ctx context.Context, w *webhook.Webhook, evs ...auth.Event) error {
	var cursor int64
	err := db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO webhooks (`+webhookCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			w.ID, w.URL, jsonList(w.Events), w.SealedSecret, nanos(w.CreatedAt), w.Cursor, w.Attempts,
			nanos(w.NextAttemptAt), w.LeaseOwner, nanos(w.LeaseUntil))
		if isConflict(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		if err := db.appendEvents(ctx, tx, evs); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `UPDATE webhooks SET cursor = (SELECT COALESCE(MAX(seq), 0) FROM events)
			WHERE id = $1 RETURNING cursor`, w.ID).Scan(&cursor)
	})
	if err == nil {
		w.Cursor = cursor
	}
	return err
}

// Webhooks implements webhook.Store.
func (db *DB) Webhooks(ctx context.Context) ([]*webhook.Webhook, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+webhookCols+` FROM webhooks ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*webhook.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// WebhookByID implements webhook.Store.
func (db *DB) WebhookByID(ctx context.Context, id string) (*webhook.Webhook, error) {
	if !storable(id) {
		return nil, auth.ErrNotFound
	}
	return scanWebhook(db.pool.QueryRow(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = $1`, id))
}

// DeleteWebhook implements webhook.Store. The delivery log goes with the
// webhook (ON DELETE CASCADE).
func (db *DB) DeleteWebhook(ctx context.Context, id string, evs ...auth.Event) error {
	if !storable(id) {
		return auth.ErrNotFound
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhooks WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return auth.ErrNotFound
		}
		return db.appendEvents(ctx, tx, evs)
	})
}

// LeaseWebhook implements webhook.Store with one conditional UPDATE: of
// owners racing for a free lease, the later ones wait for the first's row
// lock, then find the lease taken and change nothing.
func (db *DB) LeaseWebhook(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	if !storable(id) {
		return false, auth.ErrNotFound
	}
	if owner == "" || !storable(owner) {
		return false, db.webhookExists(ctx, id)
	}
	tag, err := db.pool.Exec(ctx, `UPDATE webhooks SET lease_owner = $1, lease_until = $2
		WHERE id = $3 AND (lease_owner = $1 OR lease_until <= $4)`, owner, nanos(until), id, nanos(now))
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	return false, db.webhookExists(ctx, id)
}

// AdvanceWebhook implements webhook.Store.
func (db *DB) AdvanceWebhook(ctx context.Context, id, owner string, cursor int64, attempts int, nextAttempt time.Time) (bool, error) {
	if !storable(id) {
		return false, auth.ErrNotFound
	}
	if owner == "" || !storable(owner) {
		return false, db.webhookExists(ctx, id)
	}
	tag, err := db.pool.Exec(ctx, `UPDATE webhooks SET cursor = $1, attempts = $2, next_attempt_at = $3
		WHERE id = $4 AND lease_owner = $5 AND cursor <= $1`, cursor, attempts, nanos(nextAttempt), id, owner)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	return false, db.webhookExists(ctx, id)
}

// webhookExists returns auth.ErrNotFound unless the webhook exists.
func (db *DB) webhookExists(ctx context.Context, id string) error {
	var one int
	return notFound(db.pool.QueryRow(ctx, `SELECT 1 FROM webhooks WHERE id = $1`, id).Scan(&one))
}

const deliveryCols = `webhook_id, seq, event_type, attempt, at, duration, status_code, outcome, error`

// RecordDelivery implements webhook.Store. A webhook that is gone fails the
// foreign key: ErrNotFound.
func (db *DB) RecordDelivery(ctx context.Context, d *webhook.Delivery) error {
	if !storable(d.WebhookID) {
		return auth.ErrNotFound
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO webhook_deliveries (`+deliveryCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		d.WebhookID, d.Seq, d.EventType, d.Attempt, nanos(d.At), int64(d.Duration), d.StatusCode, string(d.Outcome), clean(d.Error))
	if pgCode(err) == "23503" { // foreign_key_violation
		return auth.ErrNotFound
	}
	return err
}

// Deliveries implements webhook.Store. A negative limit means no limit.
func (db *DB) Deliveries(ctx context.Context, webhookID string, limit int) ([]*webhook.Delivery, error) {
	if !storable(webhookID) {
		return nil, nil
	}
	var lim *int
	if limit >= 0 {
		lim = &limit
	}
	rows, err := db.pool.Query(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2`, webhookID, lim)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*webhook.Delivery
	for rows.Next() {
		var d webhook.Delivery
		var at, dur int64
		var outcome string
		if err := rows.Scan(&d.WebhookID, &d.Seq, &d.EventType, &d.Attempt, &at, &dur, &d.StatusCode, &outcome, &d.Error); err != nil {
			return nil, err
		}
		d.At, d.Duration, d.Outcome = fromNanos(at), time.Duration(dur), webhook.Outcome(outcome)
		out = append(out, &d)
	}
	return out, rows.Err()
}

// DeleteDeliveriesBefore implements webhook.Store.
func (db *DB) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE at < $1`, nanos(t))
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
