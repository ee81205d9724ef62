package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
)

// The operations of auth.Store, as the "operation" label names them.
const (
	opCreateUser = iota
	opUpdateUser
	opDeleteUser
	opUserByID
	opUserByEmail
	opListUsers
	opCreateSession
	opSessionByHash
	opSessionByID
	opListSessions
	opTouchSession
	opRevokeSessions
	opDeleteSessionsBefore
	opAppendEvents
	opEventsAfter
	opLastEventSeq
	opSeqBefore
	opCreateClient
	opClientByID
	opListClients
	opDeleteClient
	opCreateRefreshToken
	opRefreshTokenByHash
	opRotateRefreshToken
	opAddSigningKey
	opSigningKeys
	opDeleteSigningKeysRetiredBefore
	opPing
	numOps
)

var opNames = [numOps]string{
	"CreateUser", "UpdateUser", "DeleteUser", "UserByID", "UserByEmail", "ListUsers",
	"CreateSession", "SessionByHash", "SessionByID", "ListSessions", "TouchSession", "RevokeSessions", "DeleteSessionsBefore",
	"AppendEvents", "EventsAfter", "LastEventSeq", "SeqBefore",
	"CreateClient", "ClientByID", "ListClients", "DeleteClient",
	"CreateRefreshToken", "RefreshTokenByHash", "RotateRefreshToken",
	"AddSigningKey", "SigningKeys", "DeleteSigningKeysRetiredBefore",
	"Ping",
}

// WrapStore returns st with the latency of each call recorded in
// tessera_store_operation_duration_seconds. Give the result to
// auth.NewService: store latency is measured at the auth service's boundary,
// the same way for every store package. A method that auth.Store gains later
// passes through untimed until it is added here.
func (m *Metrics) WrapStore(st auth.Store) auth.Store {
	t := &timedStore{Store: st}
	for i, name := range opNames {
		t.obs[i] = m.storeLatency.WithLabelValues(name)
	}
	return t
}

type timedStore struct {
	auth.Store
	obs [numOps]prometheus.Observer
}

// since records the time from start; call it as defer t.since(op, started()).
func (t *timedStore) since(op int, start time.Time) { t.obs[op].Observe(time.Since(start).Seconds()) }

// started is the start of a timed store call: the wall clock, for a
// duration (never for an expiry: that is the service's clock).
func started() time.Time { return time.Now() }

func (t *timedStore) CreateUser(ctx context.Context, u *auth.User, evs ...auth.Event) error {
	defer t.since(opCreateUser, started())
	return t.Store.CreateUser(ctx, u, evs...)
}

func (t *timedStore) UpdateUser(ctx context.Context, u *auth.User, evs ...auth.Event) error {
	defer t.since(opUpdateUser, started())
	return t.Store.UpdateUser(ctx, u, evs...)
}

func (t *timedStore) DeleteUser(ctx context.Context, id string, evs ...auth.Event) error {
	defer t.since(opDeleteUser, started())
	return t.Store.DeleteUser(ctx, id, evs...)
}

func (t *timedStore) UserByID(ctx context.Context, id string) (*auth.User, error) {
	defer t.since(opUserByID, started())
	return t.Store.UserByID(ctx, id)
}

func (t *timedStore) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	defer t.since(opUserByEmail, started())
	return t.Store.UserByEmail(ctx, email)
}

func (t *timedStore) ListUsers(ctx context.Context, f auth.UserFilter) ([]*auth.User, error) {
	defer t.since(opListUsers, started())
	return t.Store.ListUsers(ctx, f)
}

func (t *timedStore) CreateSession(ctx context.Context, s *auth.Session, evs ...auth.Event) error {
	defer t.since(opCreateSession, started())
	return t.Store.CreateSession(ctx, s, evs...)
}

func (t *timedStore) SessionByHash(ctx context.Context, h secret.Hash) (*auth.Session, error) {
	defer t.since(opSessionByHash, started())
	return t.Store.SessionByHash(ctx, h)
}

func (t *timedStore) SessionByID(ctx context.Context, id string) (*auth.Session, error) {
	defer t.since(opSessionByID, started())
	return t.Store.SessionByID(ctx, id)
}

func (t *timedStore) ListSessions(ctx context.Context, userID string, now time.Time) ([]*auth.Session, error) {
	defer t.since(opListSessions, started())
	return t.Store.ListSessions(ctx, userID, now)
}

func (t *timedStore) TouchSession(ctx context.Context, id string, at time.Time, ip, userAgent string) error {
	defer t.since(opTouchSession, started())
	return t.Store.TouchSession(ctx, id, at, ip, userAgent)
}

func (t *timedStore) RevokeSessions(ctx context.Context, ids []string, at time.Time, cause string, evs ...auth.Event) ([]string, error) {
	defer t.since(opRevokeSessions, started())
	return t.Store.RevokeSessions(ctx, ids, at, cause, evs...)
}

func (t *timedStore) DeleteSessionsBefore(ctx context.Context, before, idleBefore time.Time) (int64, error) {
	defer t.since(opDeleteSessionsBefore, started())
	return t.Store.DeleteSessionsBefore(ctx, before, idleBefore)
}

func (t *timedStore) AppendEvents(ctx context.Context, evs ...auth.Event) error {
	defer t.since(opAppendEvents, started())
	return t.Store.AppendEvents(ctx, evs...)
}

func (t *timedStore) EventsAfter(ctx context.Context, seq int64, limit int) ([]auth.Event, error) {
	defer t.since(opEventsAfter, started())
	return t.Store.EventsAfter(ctx, seq, limit)
}

func (t *timedStore) LastEventSeq(ctx context.Context) (int64, error) {
	defer t.since(opLastEventSeq, started())
	return t.Store.LastEventSeq(ctx)
}

func (t *timedStore) SeqBefore(ctx context.Context, before time.Time) (int64, error) {
	defer t.since(opSeqBefore, started())
	return t.Store.SeqBefore(ctx, before)
}

func (t *timedStore) CreateClient(ctx context.Context, c *auth.OAuthClient, evs ...auth.Event) error {
	defer t.since(opCreateClient, started())
	return t.Store.CreateClient(ctx, c, evs...)
}

func (t *timedStore) ClientByID(ctx context.Context, id string) (*auth.OAuthClient, error) {
	defer t.since(opClientByID, started())
	return t.Store.ClientByID(ctx, id)
}

func (t *timedStore) ListClients(ctx context.Context) ([]*auth.OAuthClient, error) {
	defer t.since(opListClients, started())
	return t.Store.ListClients(ctx)
}

func (t *timedStore) DeleteClient(ctx context.Context, id string, evs ...auth.Event) error {
	defer t.since(opDeleteClient, started())
	return t.Store.DeleteClient(ctx, id, evs...)
}

func (t *timedStore) CreateRefreshToken(ctx context.Context, rt *auth.RefreshToken, evs ...auth.Event) error {
	defer t.since(opCreateRefreshToken, started())
	return t.Store.CreateRefreshToken(ctx, rt, evs...)
}

func (t *timedStore) RefreshTokenByHash(ctx context.Context, h secret.Hash) (*auth.RefreshToken, error) {
	defer t.since(opRefreshTokenByHash, started())
	return t.Store.RefreshTokenByHash(ctx, h)
}

func (t *timedStore) RotateRefreshToken(ctx context.Context, old secret.Hash, at time.Time, next *auth.RefreshToken, evs ...auth.Event) (bool, error) {
	defer t.since(opRotateRefreshToken, started())
	return t.Store.RotateRefreshToken(ctx, old, at, next, evs...)
}

func (t *timedStore) AddSigningKey(ctx context.Context, k *auth.SigningKey, expectActive string, evs ...auth.Event) error {
	defer t.since(opAddSigningKey, started())
	return t.Store.AddSigningKey(ctx, k, expectActive, evs...)
}

func (t *timedStore) SigningKeys(ctx context.Context) ([]*auth.SigningKey, error) {
	defer t.since(opSigningKeys, started())
	return t.Store.SigningKeys(ctx)
}

func (t *timedStore) DeleteSigningKeysRetiredBefore(ctx context.Context, before time.Time) (int64, error) {
	defer t.since(opDeleteSigningKeysRetiredBefore, started())
	return t.Store.DeleteSigningKeysRetiredBefore(ctx, before)
}

func (t *timedStore) Ping(ctx context.Context) error {
	defer t.since(opPing, started())
	return t.Store.Ping(ctx)
}
