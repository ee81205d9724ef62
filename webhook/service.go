package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
)

// Config tunes the service and the deliverer. Zero values are the defaults.
type Config struct {
	// Owner names this deliverer in leases; it must differ between the nodes
	// sharing a database. Default: the host name and a random suffix.
	Owner string
	// Poll is how often the deliverer looks for due events when nothing
	// wakes it; default 500ms.
	Poll time.Duration
	// Timeout bounds one request, from connecting to reading the answer;
	// default 10s.
	Timeout time.Duration
	// Lease is how long a deliverer holds a webhook without renewing;
	// default 30s. It must be more than twice Timeout.
	Lease time.Duration
	// MaxAttempts is how many times an event is tried before it is given up;
	// default 16.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait before a retry, which doubles
	// from MinBackoff with each failed attempt; defaults 1s and 1h.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Retention is how long the delivery log keeps an attempt; default 720h
	// (30 days).
	Retention time.Duration
	// Feed, when set, wakes the deliverer as soon as events are appended
	// (an *auth.Service whose Follow runs), instead of at the next Poll.
	Feed Feed
	// Transport sends the requests; default a clone of http.DefaultTransport.
	Transport http.RoundTripper

	Now    func() time.Time // default time.Now
	Random io.Reader        // secrets and their sealing; default crypto/rand
	Logger *slog.Logger     // default slog.Default()
}

// Feed is a live feed of events; *auth.Service implements it.
type Feed interface {
	Subscribe(buffer int) *auth.Subscription
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Poll, 500*time.Millisecond)
	def(&c.Timeout, 10*time.Second)
	def(&c.Lease, 30*time.Second)
	def(&c.MinBackoff, time.Second)
	def(&c.MaxBackoff, time.Hour)
	def(&c.Retention, 30*24*time.Hour)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 16
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Service registers, lists and removes webhooks and reads their delivery
// logs: what the CLI and the admin API call.
type Service struct {
	store Store
	kek   []byte
	cfg   Config
}

// NewService returns a Service over st; kek is the 32-byte key-encryption
// secret that seals the signing secrets.
func NewService(st Store, kek []byte, cfg Config) (*Service, error) {
	if len(kek) != accesstoken.KEKSize {
		return nil, fmt.Errorf("webhook: the key-encryption secret must be %d bytes", accesstoken.KEKSize)
	}
	cfg.setDefaults()
	return &Service{store: st, kek: kek, cfg: cfg}, nil
}

// Add registers an endpoint for the given event types (AllEvents for every
// type) and returns it with its signing secret, which is shown only now.
// The webhook receives the events appended after its own webhook.created.
//
// Errors: *auth.Error with auth.CodeInvalidRequest for a URL that is not an
// absolute http or https URL with a host, or for an empty or unknown event
// type; nothing is stored then.
func (s *Service) Add(ctx context.Context, rawURL string, events []string) (*Webhook, Secret, error) {
	u, err := checkURL(rawURL)
	if err != nil {
		return nil, Secret{}, err
	}
	evs, err := checkEvents(events)
	if err != nil {
		return nil, Secret{}, err
	}
	sec, err := NewSecret(s.cfg.Random)
	if err != nil {
		return nil, Secret{}, err
	}
	id := "wh_" + secret.RandomID(12)
	sealed, err := accesstoken.Seal(s.kek, sealID(id), sec.key, s.cfg.Random)
	if err != nil {
		return nil, Secret{}, fmt.Errorf("webhook: sealing the secret: %w", err)
	}
	now := s.cfg.Now()
	w := &Webhook{ID: id, URL: u, Events: evs, SealedSecret: sealed, CreatedAt: now}
	ev := auth.Event{Type: EventCreated, At: now, Data: map[string]string{
		"webhook_id": id, "url": redactURL(u), "events": strings.Join(evs, " "),
	}}
	if err := s.store.CreateWebhook(ctx, w, ev); err != nil {
		return nil, Secret{}, fmt.Errorf("webhook: creating: %w", err)
	}
	return w, sec, nil
}

// List returns every webhook, oldest first, with its delivery state.
func (s *Service) List(ctx context.Context) ([]*Webhook, error) {
	return s.store.Webhooks(ctx)
}

// Get returns one webhook. Errors: *auth.Error with auth.CodeNotFound.
func (s *Service) Get(ctx context.Context, id string) (*Webhook, error) {
	w, err := s.store.WebhookByID(ctx, id)
	return w, notFound(err)
}

// Remove deletes a webhook and its delivery log; no request for it is
// started afterwards. Errors: *auth.Error with auth.CodeNotFound.
func (s *Service) Remove(ctx context.Context, id string) error {
	ev := auth.Event{Type: EventRemoved, At: s.cfg.Now(), Data: map[string]string{"webhook_id": id}}
	return notFound(s.store.DeleteWebhook(ctx, id, ev))
}

// Deliveries returns the webhook's latest delivery attempts, newest first:
// at most limit of them (0: 50; at most 1000). Errors: *auth.Error with
// auth.CodeNotFound.
func (s *Service) Deliveries(ctx context.Context, id string, limit int) ([]*Delivery, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	if _, err := s.store.WebhookByID(ctx, id); err != nil {
		return nil, notFound(err)
	}
	return s.store.Deliveries(ctx, id, limit)
}

func notFound(err error) error {
	if errors.Is(err, auth.ErrNotFound) {
		return &auth.Error{Code: auth.CodeNotFound, Message: "no such webhook", Err: err}
	}
	return err
}

// sealID is the associated data that binds a sealed secret to its webhook.
func sealID(id string) string { return "webhook:" + id }

// openSecret unseals w's signing secret.
func openSecret(kek []byte, w *Webhook) (Secret, error) {
	key, err := accesstoken.Open(kek, sealID(w.ID), w.SealedSecret)
	if err != nil {
		return Secret{}, fmt.Errorf("webhook %s: opening the signing secret: %w", w.ID, err)
	}
	return secretFromKey(key), nil
}

// checkURL accepts an absolute http or https URL with a host and no
// credentials or fragment, and returns it as it will be requested.
func checkURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 2048 {
		return "", auth.Errorf(auth.CodeInvalidRequest, "the webhook URL must have 1 to 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", auth.Errorf(auth.CodeInvalidRequest, "the webhook URL is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", auth.Errorf(auth.CodeInvalidRequest, "the webhook URL must start with https:// or http://")
	case u.Opaque != "" || u.Hostname() == "":
		return "", auth.Errorf(auth.CodeInvalidRequest, "the webhook URL must name a host")
	case u.User != nil:
		return "", auth.Errorf(auth.CodeInvalidRequest, "the webhook URL must not hold credentials: receivers authenticate requests by their signature")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", auth.Errorf(auth.CodeInvalidRequest, "the webhook URL must not have a #fragment")
	}
	return u.String(), nil
}

// redactURL drops the query, which may hold a receiver's token, from the
// URL recorded in the events log.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	u.RawQuery, u.ForceQuery = "", false
	return u.String()
}

// checkEvents sorts and deduplicates the event types, which must be known
// (EventTypes) or AllEvents; a list with AllEvents becomes AllEvents alone.
func checkEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return nil, auth.Errorf(auth.CodeInvalidRequest, "choose at least one event type, or %q for all", AllEvents)
	}
	known := EventTypes()
	out := make([]string, 0, len(events))
	for _, e := range events {
		e = strings.TrimSpace(e)
		if _, ok := slices.BinarySearch(known, e); !ok && e != AllEvents {
			return nil, auth.Errorf(auth.CodeInvalidRequest, "unknown event type %q; known types: %s, or %q for all", e, strings.Join(known, ", "), AllEvents)
		}
		out = append(out, e)
	}
	if slices.Contains(out, AllEvents) {
		return []string{AllEvents}, nil
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
