package admin

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/webhook"
)

// Local is Admin over the services themselves. Its signing-key operations
// use the service's key ring, so call svc.LoadKeys first (the server does);
// a CLI that runs beside a server changes the store, and the server follows
// the events log to pick the change up.
type Local struct {
	svc      *auth.Service
	webhooks Webhooks
}

var _ Admin = (*Local)(nil)

// NewLocal returns Admin over svc and, unless nil, the webhook service (a
// *webhook.Service; without one the webhook operations answer CodeNotFound).
func NewLocal(svc *auth.Service, webhooks Webhooks) *Local {
	if w, ok := webhooks.(*webhook.Service); ok && w == nil {
		webhooks = nil // a nil *webhook.Service means none, too
	}
	return &Local{svc: svc, webhooks: webhooks}
}

// Bounds on input that goes to the store.
const (
	maxRef    = 254 // an email's limit; IDs are shorter
	maxTypes  = 32
	maxType   = 64
	maxSearch = 254
)

// How much of the events log one Events call reads at most, and in what batches.
const (
	eventScanBudget = 20_000
	eventBatch      = 500
	// clockSlack is how far out of time order the log may be (events are
	// in Seq order; their At comes from the clocks of the nodes that wrote
	// them). Events scans stop this long past Before.
	clockSlack = 5 * time.Minute
)

func invalid(format string, args ...any) error {
	return auth.Errorf(auth.CodeInvalidRequest, format, args...)
}

// user resolves a user named by ID or email.
func (l *Local) user(ctx context.Context, ref string) (*auth.User, error) {
	switch {
	case ref == "" || len(ref) > maxRef:
		return nil, auth.Errorf(auth.CodeNotFound, "no such user")
	case strings.Contains(ref, "@"):
		u, err := l.svc.UserByEmail(ctx, ref)
		if auth.ErrorCode(err) == auth.CodeInvalidRequest {
			return nil, auth.Errorf(auth.CodeNotFound, "no such user")
		}
		return u, err
	}
	return l.svc.User(ctx, ref)
}

func toUser(u *auth.User) *User {
	roles := slices.Clone(u.Roles)
	if roles == nil {
		roles = []string{}
	}
	return &User{ID: u.ID, Email: u.Email, Roles: roles, Disabled: u.Disabled,
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(), TokensValidAfter: u.TokensValidAfter.UTC()}
}

// CreateUser implements Admin.
func (l *Local) CreateUser(ctx context.Context, nu NewUser) (*User, error) {
	u, err := l.svc.CreateUser(ctx, auth.NewUser{Email: nu.Email, Password: nu.Password, Roles: nu.Roles})
	if err != nil {
		return nil, err
	}
	return toUser(u), nil
}

// User implements Admin.
func (l *Local) User(ctx context.Context, ref string) (*User, error) {
	u, err := l.user(ctx, ref)
	if err != nil {
		return nil, err
	}
	return toUser(u), nil
}

// Users implements Admin.
func (l *Local) Users(ctx context.Context, q UserQuery) (*UserPage, error) {
	switch {
	case q.Limit < 0 || q.Limit > MaxUserLimit:
		return nil, invalid("limit must be 1 to %d", MaxUserLimit)
	case len(q.Search) > maxSearch:
		return nil, invalid("search must have at most %d characters", maxSearch)
	case len(q.After) > maxRef:
		return nil, invalid("after is not a cursor of this listing")
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	// One more than asked tells whether there is a next page.
	list, err := l.svc.Users(ctx, auth.UserFilter{Search: strings.ToLower(q.Search), After: q.After, Limit: q.Limit + 1})
	if err != nil {
		return nil, err
	}
	page := &UserPage{Users: make([]User, 0, min(len(list), q.Limit))}
	for i, u := range list {
		if i == q.Limit {
			page.Next = list[i-1].ID
			break
		}
		page.Users = append(page.Users, *toUser(u))
	}
	return page, nil
}

// UpdateUser implements Admin.
func (l *Local) UpdateUser(ctx context.Context, ref string, up UserUpdate) (*User, error) {
	if up.Roles == nil && up.Disabled == nil && up.Password == nil {
		return nil, invalid("nothing to change: set roles, disabled or password")
	}
	// Check every change before making any.
	if up.Roles != nil {
		if _, err := auth.NormalizeRoles(*up.Roles); err != nil {
			return nil, err
		}
	}
	if up.Password != nil {
		if err := password.CheckPolicy(*up.Password); err != nil {
			return nil, &auth.Error{Code: auth.CodeWeakPassword, Message: err.Error()}
		}
	}
	u, err := l.user(ctx, ref)
	if err != nil {
		return nil, err
	}
	if up.Password != nil {
		if u, err = l.svc.SetPassword(ctx, u.ID, *up.Password); err != nil {
			return nil, err
		}
	}
	if up.Roles != nil {
		if u, err = l.svc.SetRoles(ctx, u.ID, *up.Roles); err != nil {
			return nil, err
		}
	}
	if up.Disabled != nil && *up.Disabled != u.Disabled {
		if u, err = l.svc.SetDisabled(ctx, u.ID, *up.Disabled); err != nil {
			return nil, err
		}
	}
	return toUser(u), nil
}

// DeleteUser implements Admin.
func (l *Local) DeleteUser(ctx context.Context, ref string) error {
	u, err := l.user(ctx, ref)
	if err != nil {
		return err
	}
	return l.svc.DeleteUser(ctx, u.ID)
}

// Sessions implements Admin.
func (l *Local) Sessions(ctx context.Context, ref string) ([]Session, error) {
	u, err := l.user(ctx, ref)
	if err != nil {
		return nil, err
	}
	list, err := l.svc.Sessions(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Session, 0, len(list))
	for _, s := range list {
		out = append(out, Session{
			ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(),
			IdleExpiresAt: l.svc.IdleExpiry(s).UTC(), ExpiresAt: s.ExpiresAt.UTC(),
			IP: s.LastIP, UserAgent: s.LastUA, CreatedIP: s.CreatedIP, CreatedUserAgent: s.CreatedUA,
		})
	}
	return out, nil
}

// RevokeSession implements Admin.
func (l *Local) RevokeSession(ctx context.Context, ref, sid string) error {
	u, err := l.user(ctx, ref)
	if err != nil {
		return err
	}
	if sid == "" || len(sid) > maxRef {
		return auth.Errorf(auth.CodeNotFound, "no such session")
	}
	return l.svc.RevokeSession(ctx, u.ID, sid, auth.CauseAdmin)
}

// SignOutEverywhere implements Admin.
func (l *Local) SignOutEverywhere(ctx context.Context, ref string) error {
	u, err := l.user(ctx, ref)
	if err != nil {
		return err
	}
	_, err = l.svc.SignOutEverywhere(ctx, u.ID)
	return err
}

func toClient(c *auth.OAuthClient) Client {
	scopes := slices.Clone(c.Scopes)
	if scopes == nil {
		scopes = []string{}
	}
	return Client{ID: c.ID, Name: c.Name, Scopes: scopes, CreatedAt: c.CreatedAt.UTC()}
}

// Clients implements Admin.
func (l *Local) Clients(ctx context.Context) ([]Client, error) {
	list, err := l.svc.Clients(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Client, 0, len(list))
	for _, c := range list {
		out = append(out, toClient(c))
	}
	return out, nil
}

// CreateClient implements Admin.
func (l *Local) CreateClient(ctx context.Context, name string, scopes []string) (*NewClient, error) {
	nc, err := l.svc.CreateClient(ctx, name, scopes)
	if err != nil {
		return nil, err
	}
	return &NewClient{Client: toClient(nc.Client), Secret: nc.Secret}, nil
}

// RemoveClient implements Admin.
func (l *Local) RemoveClient(ctx context.Context, id string) error {
	if id == "" || len(id) > maxRef {
		return auth.Errorf(auth.CodeNotFound, "no such client")
	}
	return l.svc.RemoveClient(ctx, id)
}

func toKey(k auth.KeyInfo) Key {
	return Key{ID: k.ID, Alg: k.Alg, CreatedAt: k.CreatedAt.UTC(), RetiredAt: k.RetiredAt.UTC(), Active: k.RetiredAt.IsZero(), Published: k.Published}
}

// Keys implements Admin.
func (l *Local) Keys(ctx context.Context) ([]Key, error) {
	list := l.svc.Keys()
	out := make([]Key, 0, len(list))
	for _, k := range list {
		out = append(out, toKey(k))
	}
	return out, nil
}

// RotateKey implements Admin.
func (l *Local) RotateKey(ctx context.Context) (*Key, error) {
	k, err := l.svc.RotateKey(ctx)
	if err != nil {
		return nil, err
	}
	key := toKey(*k)
	return &key, nil
}

// Events implements Admin. It reads the log forward from the cursor (and
// from Since, which the store turns into a Seq), keeping the events that
// match, until the page is full, the log ends, the events are past Before,
// or eventScanBudget events were read; then Next says where to go on.
func (l *Local) Events(ctx context.Context, q EventQuery) (*EventPage, error) {
	switch {
	case q.Limit < 0 || q.Limit > MaxEventLimit:
		return nil, invalid("limit must be 1 to %d", MaxEventLimit)
	case q.After < 0:
		return nil, invalid("after must be an event sequence number")
	case len(q.Types) > maxTypes:
		return nil, invalid("at most %d types", maxTypes)
	case len(q.UserID) > maxRef:
		return nil, invalid("user must be a user ID")
	case !q.Since.IsZero() && !q.Before.IsZero() && !q.Since.Before(q.Before):
		return nil, invalid("since must be before before")
	}
	for _, t := range q.Types {
		if t == "" || len(t) > maxType {
			return nil, invalid("type must have 1 to %d characters", maxType)
		}
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	st := l.svc.Store()
	cursor := q.After
	if !q.Since.IsZero() {
		s, err := st.SeqBefore(ctx, q.Since)
		if err != nil {
			return nil, err
		}
		cursor = max(cursor, s)
	}
	page := &EventPage{Events: []Event{}}
	for scanned := 0; ; {
		evs, err := st.EventsAfter(ctx, cursor, eventBatch)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			cursor = ev.Seq
			scanned++
			if !q.Before.IsZero() && !ev.At.Before(q.Before.Add(clockSlack)) {
				return page, nil
			}
			if q.matches(ev) {
				page.Events = append(page.Events, ev.Wire())
				if len(page.Events) == q.Limit {
					page.Next = strconv.FormatInt(cursor, 10)
					return page, nil
				}
			}
		}
		if len(evs) < eventBatch {
			return page, nil
		}
		if scanned >= eventScanBudget {
			page.Next = strconv.FormatInt(cursor, 10)
			return page, nil
		}
	}
}

func (q *EventQuery) matches(ev auth.Event) bool {
	return (len(q.Types) == 0 || slices.Contains(q.Types, ev.Type)) &&
		(q.UserID == "" || ev.UserID == q.UserID) &&
		(q.Since.IsZero() || !ev.At.Before(q.Since)) &&
		(q.Before.IsZero() || ev.At.Before(q.Before))
}

var errNoWebhooks = auth.Errorf(auth.CodeNotFound, "webhooks are not enabled on this server")

func toWebhook(w *webhook.Webhook) Webhook {
	return Webhook{ID: w.ID, URL: w.URL, Events: slices.Clone(w.Events), CreatedAt: w.CreatedAt.UTC(),
		Cursor: w.Cursor, Attempts: w.Attempts, NextAttemptAt: w.NextAttemptAt.UTC()}
}

// Webhooks implements Admin.
func (l *Local) Webhooks(ctx context.Context) ([]Webhook, error) {
	if l.webhooks == nil {
		return nil, errNoWebhooks
	}
	list, err := l.webhooks.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Webhook, 0, len(list))
	for _, w := range list {
		out = append(out, toWebhook(w))
	}
	return out, nil
}

// AddWebhook implements Admin.
func (l *Local) AddWebhook(ctx context.Context, url string, events []string) (*NewWebhook, error) {
	if l.webhooks == nil {
		return nil, errNoWebhooks
	}
	w, sec, err := l.webhooks.Add(ctx, url, events)
	if err != nil {
		return nil, err
	}
	return &NewWebhook{Webhook: toWebhook(w), Secret: sec}, nil
}

// RemoveWebhook implements Admin.
func (l *Local) RemoveWebhook(ctx context.Context, id string) error {
	if l.webhooks == nil {
		return errNoWebhooks
	}
	if id == "" || len(id) > maxRef {
		return auth.Errorf(auth.CodeNotFound, "no such webhook")
	}
	return l.webhooks.Remove(ctx, id)
}

// Deliveries implements Admin.
func (l *Local) Deliveries(ctx context.Context, id string, limit int) ([]Delivery, error) {
	if l.webhooks == nil {
		return nil, errNoWebhooks
	}
	if limit < 0 || limit > 1000 {
		return nil, invalid("limit must be 1 to 1000")
	}
	if id == "" || len(id) > maxRef {
		return nil, auth.Errorf(auth.CodeNotFound, "no such webhook")
	}
	list, err := l.webhooks.Deliveries(ctx, id, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, 0, len(list))
	for _, d := range list {
		out = append(out, Delivery{WebhookID: d.WebhookID, Seq: d.Seq, EventType: d.EventType, Attempt: d.Attempt,
			At: d.At.UTC(), DurationMS: d.Duration.Milliseconds(), StatusCode: d.StatusCode, Outcome: string(d.Outcome), Error: d.Error})
	}
	return out, nil
}
