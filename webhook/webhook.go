// Package webhook delivers Tessera's events to HTTP endpoints that an admin
// registers, as Standard Webhooks (https://www.standardwebhooks.com): a JSON
// body signed with HMAC-SHA256 in the webhook-signature header.
//
// # Delivery contract
//
// The durable events log is the outbox. Each webhook keeps a cursor, the Seq
// of the last event it has handled, which starts at the end of the log when
// the webhook is created. A [Deliverer] sends the events after the cursor one
// at a time, strictly in Seq order (so in order per session and per user),
// and moves the cursor past an event only once the receiver has answered it
// with a 2xx status. Events of types the webhook did not subscribe to move
// the cursor without a request.
//
// A request that times out, answers anything but 2xx (redirects are not
// followed) or cannot connect is retried after 1 s, 2 s, 4 s … (doubling, at
// most an hour, with ±10% jitter) until it has been tried MaxAttempts times
// (16 by default, about four hours), after which the event is recorded as
// given up and the next one is sent. Later events of the webhook wait behind
// a failing one: order is never broken. Every attempt is recorded in the
// delivery log ([Service.Deliveries]).
//
// Delivery is at least once. Because the cursor lives in the database, a
// restart loses nothing; a crash between the receiver's 2xx and the cursor's
// advance sends that event again, with the same webhook-id header, which
// receivers use to ignore duplicates.
//
// Several nodes may run a Deliverer on one database. A node works on a
// webhook only while it holds the webhook's lease (an atomic compare-and-set
// in the store, renewed while it works) and its cursor advances only while
// it still does, so that one event is not sent by two nodes at once.
//
// # Secrets
//
// Each webhook has its own signing secret, shown once when it is added as
// "whsec_" followed by the standard base64 of 32 random bytes ([Secret]).
// The store keeps it sealed with AES-256-GCM under the server's
// key-encryption secret.
package webhook

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/tessera-auth/tessera/auth"
)

// Event types appended to the events log when webhooks are added and removed.
const (
	EventCreated = "webhook.created"
	EventRemoved = "webhook.removed"
)

// AllEvents subscribes a webhook to every event type, current and future.
const AllEvents = "*"

// EventTypes returns the event types a webhook may subscribe to, sorted.
func EventTypes() []string {
	ts := []string{
		auth.EventLoginSucceeded, auth.EventLoginFailed, auth.EventSessionRevoked,
		auth.EventUserCreated, auth.EventUserUpdated, auth.EventUserDeleted, auth.EventTokensInvalidated,
		auth.EventRefreshReuse, auth.EventKeyRotated, auth.EventClientCreated, auth.EventClientRemoved,
		auth.EventTokenIssued,
		EventCreated, EventRemoved,
	}
	slices.Sort(ts)
	return ts
}

// Webhook is a registered endpoint and the state of its deliveries.
type Webhook struct {
	ID     string // "wh_" and 16 random characters
	URL    string // http or https
	Events []string
	// SealedSecret is the signing key sealed under the key-encryption secret,
	// with "webhook:"+ID as associated data. The plaintext is never stored.
	SealedSecret []byte
	CreatedAt    time.Time

	// Delivery state, changed by the deliverer through the store.
	Cursor        int64     // Seq of the last event handled
	Attempts      int       // failed attempts at the event after Cursor
	NextAttemptAt time.Time // when that event is due; zero: now
	LeaseOwner    string    // the deliverer working on it; "" if none ever did
	LeaseUntil    time.Time // the lease is free from this instant
}

// Wants reports whether the webhook subscribed to events of type t.
func (w *Webhook) Wants(t string) bool {
	return slices.Contains(w.Events, AllEvents) || slices.Contains(w.Events, t)
}

// Outcome is the result of a delivery attempt.
type Outcome string

// Outcomes of a delivery attempt.
const (
	OutcomeDelivered Outcome = "delivered" // the receiver answered 2xx
	OutcomeFailed    Outcome = "failed"    // to be retried
	OutcomeGaveUp    Outcome = "gave_up"   // failed the last allowed time; the event is skipped
)

// Delivery is one attempt at sending an event to a webhook.
type Delivery struct {
	WebhookID  string
	Seq        int64 // the event's
	EventType  string
	Attempt    int       // 1 for the first
	At         time.Time // when the attempt began
	Duration   time.Duration
	StatusCode int // 0 when no response came
	Outcome    Outcome
	Error      string // why it failed, safe to show; "" when delivered
}

// MessageID returns the webhook-id header of the event with the given Seq:
// the same for every attempt, which is what receivers deduplicate on.
func MessageID(seq int64) string { return "evt_" + strconv.FormatInt(seq, 10) }

// Store is what webhooks need from a database. Methods return
// auth.ErrNotFound for an unknown webhook and auth.ErrConflict for a taken
// ID; the events passed to a method are appended in the same transaction as
// its change, as in auth.Store.
type Store interface {
	// CreateWebhook inserts w and appends evs, and sets w.Cursor, stored and
	// in w, to the end of the log (the highest Seq, evs included), so that
	// the webhook gets the events appended after its creation. The other
	// delivery fields are stored as given. ErrConflict if the ID is taken.
	CreateWebhook(ctx context.Context, w *Webhook, evs ...auth.Event) error
	// Webhooks returns every webhook, oldest first (by CreatedAt, then ID).
	Webhooks(ctx context.Context) ([]*Webhook, error)
	// WebhookByID returns the webhook; ErrNotFound if there is none.
	WebhookByID(ctx context.Context, id string) (*Webhook, error)
	// DeleteWebhook removes the webhook and its delivery log; ErrNotFound
	// (and no events appended) if there is none.
	DeleteWebhook(ctx context.Context, id string, evs ...auth.Event) error

	// LeaseWebhook gives the webhook's lease to owner until until, if the
	// lease is free (LeaseUntil at or before now) or already owner's, and
	// reports whether it did; it is an atomic compare-and-set, so of owners
	// racing for a free lease exactly one wins. Renewing is leasing again;
	// releasing is leasing with until equal to now. The empty owner never
	// gets the lease. ErrNotFound if there is no such webhook.
	LeaseWebhook(ctx context.Context, id, owner string, now, until time.Time) (bool, error)
	// AdvanceWebhook sets the delivery state (Cursor, Attempts, NextAttemptAt)
	// if owner holds the lease (was the last to take it, even if it has since
	// run out) and cursor is not below the stored one, and reports whether it
	// did. ErrNotFound if there is no such webhook.
	AdvanceWebhook(ctx context.Context, id, owner string, cursor int64, attempts int, nextAttempt time.Time) (bool, error)

	// RecordDelivery adds d to its webhook's delivery log; ErrNotFound if
	// the webhook does not exist (any more).
	RecordDelivery(ctx context.Context, d *Delivery) error
	// Deliveries returns up to limit deliveries of the webhook, the most
	// recently recorded first. An unknown webhook has none.
	Deliveries(ctx context.Context, webhookID string, limit int) ([]*Delivery, error)
	// DeleteDeliveriesBefore deletes the deliveries of every webhook whose
	// At is before t and returns how many it deleted.
	DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error)

	// EventsAfter and LastEventSeq read the events log (see auth.EventStore).
	EventsAfter(ctx context.Context, seq int64, limit int) ([]auth.Event, error)
	LastEventSeq(ctx context.Context) (int64, error)
}
