// Package storetest is the conformance suite for Tessera's stores: the
// contract written in the doc comments of auth.Store and the interfaces it
// embeds (auth/store.go, auth/tokenmodel.go), as tests. Every store package
// runs the same suite, so that the auth service behaves alike on each of them
// and no store keeps its own copy of these tests.
//
// A store runs it from a test in its own package:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store {
//			path := filepath.Join(t.TempDir(), "tessera.db")
//			db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return db
//		})
//	}
//
// Run calls open once per subtest, so every subtest starts from a fresh, empty
// store, and closes that store when the subtest ends (open need not register a
// Close of its own). A store that needs an outside server, such as PostgreSQL,
// calls t.Skip in open when none is configured. A store that keeps its data
// across Close passes Options.Reopen to RunWith as well, and the suite then
// checks that what it wrote is there after a reopen.
//
// Subtests are named Method/Outcome (CreateUser/OK, CreateUser/ErrConflictEmail,
// UpdateUser/InvalidatesSessions, …), so that a failure names the broken
// sentence of the contract. The suite holds stores to these rules, beyond what
// each method's comment says:
//
//   - Times round-trip as the same instant with nanosecond precision (the
//     suite compares them with time.Time.Equal); a zero time stays zero.
//   - Errors match auth.ErrNotFound and auth.ErrConflict with errors.Is.
//   - An empty slice (Roles, Scopes) or Data map may come back nil or empty.
//   - The events passed to a method are appended in order and exactly when the
//     change is made: a call that fails appends none.
//   - Seq increases in the order events become visible, so that a reader
//     tailing the log with EventsAfter never skips an event. Seq need not be
//     contiguous.
//   - Concurrent writers need no help from the caller: the store serialises
//     its own writes (a busy SQLite database is waited for, not reported).
//
// The exported helpers (NewUser, NewSession, MustCreateUser, …) are for other
// packages' tests that use a real store.
package storetest

import (
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
)

// Store is what a store under test implements.
type Store interface {
	auth.Store
	Close() error
}

// Options configures RunWith.
type Options struct {
	// Open returns a new, empty store. It is called once per subtest; the
	// suite closes the store when the subtest ends.
	Open func(t *testing.T) Store
	// Reopen, when set, opens again the database that old used; the suite has
	// closed old before it calls Reopen, and closes the new store itself.
	// Without Reopen the durability subtest (Reopen/OK) is skipped.
	Reopen func(t *testing.T, old Store) Store
}

// Run runs the conformance suite against fresh stores made by open; each
// subtest gets its own store. It is RunWith(t, Options{Open: open}).
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Helper()
	RunWith(t, Options{Open: open})
}

type test struct {
	name string
	fn   func(t *testing.T, s Store)
}

// suite lists the subtests by method, in the order of auth.Store.
var suite = []struct {
	method string
	tests  []test
}{
	{"Ping", []test{
		{"OK", testPing},
	}},
	{"CreateUser", []test{
		{"OK", testCreateUser},
		{"ErrConflictEmail", testCreateUserErrConflictEmail},
		{"ErrConflictID", testCreateUserErrConflictID},
		{"EmptyRoles", testCreateUserEmptyRoles},
		{"ZeroTokensValidAfter", testCreateUserZeroTokensValidAfter},
		{"TimeZone", testCreateUserTimeZone},
		{"NoAliasing", testCreateUserNoAliasing},
	}},
	{"UpdateUser", []test{
		{"OK", testUpdateUser},
		{"KeepEmail", testUpdateUserKeepEmail},
		{"ClearFields", testUpdateUserClearFields},
		{"WithoutEvents", testUpdateUserWithoutEvents},
		{"ErrConflictEmail", testUpdateUserErrConflictEmail},
		{"ErrConflictKeepsSessions", testUpdateUserErrConflictKeepsSessions},
		{"ErrNotFound", testUpdateUserErrNotFound},
		{"InvalidatesSessions", testUpdateUserInvalidatesSessions},
		{"NotAdvancingKeepsSessions", testUpdateUserNotAdvancingKeepsSessions},
	}},
	{"DeleteUser", []test{
		{"OK", testDeleteUser},
		{"FreesEmail", testDeleteUserFreesEmail},
		{"ErrNotFound", testDeleteUserErrNotFound},
	}},
	{"UserByID", []test{
		{"OK", testUserByID},
		{"ErrNotFound", testUserByIDErrNotFound},
	}},
	{"UserByEmail", []test{
		{"OK", testUserByEmail},
		{"ErrNotFound", testUserByEmailErrNotFound},
	}},
	{"ListUsers", []test{
		{"Empty", testListUsersEmpty},
		{"OrderByID", testListUsersOrderByID},
		{"Paging", testListUsersPaging},
		{"AfterDeletedID", testListUsersAfterDeletedID},
		{"DefaultLimit", testListUsersDefaultLimit},
		{"Search", testListUsersSearch},
		{"SearchPaging", testListUsersSearchPaging},
		{"SearchLiteral", testListUsersSearchLiteral},
	}},
	{"CreateSession", []test{
		{"OK", testCreateSession},
		{"ErrConflictID", testCreateSessionErrConflictID},
		{"ErrConflictHash", testCreateSessionErrConflictHash},
	}},
	{"SessionByHash", []test{
		{"OK", testSessionByHash},
		{"Revoked", testSessionByHashRevoked},
		{"ErrNotFound", testSessionByHashErrNotFound},
	}},
	{"SessionByID", []test{
		{"OK", testSessionByID},
		{"Revoked", testSessionByIDRevoked},
		{"ErrNotFound", testSessionByIDErrNotFound},
	}},
	{"ListSessions", []test{
		{"OK", testListSessions},
		{"Empty", testListSessionsEmpty},
	}},
	{"TouchSession", []test{
		{"OK", testTouchSession},
		{"Revoked", testTouchSessionRevoked},
		{"UnknownID", testTouchSessionUnknownID},
	}},
	{"RevokeSessions", []test{
		{"OK", testRevokeSessions},
		{"AlreadyRevoked", testRevokeSessionsAlreadyRevoked},
		{"UnknownIDs", testRevokeSessionsUnknownIDs},
		{"Empty", testRevokeSessionsEmpty},
	}},
	{"DeleteSessionsBefore", []test{
		{"OK", testDeleteSessionsBefore},
		{"Boundaries", testDeleteSessionsBeforeBoundaries},
		{"None", testDeleteSessionsBeforeNone},
	}},
	{"AppendEvents", []test{
		{"OK", testAppendEvents},
		{"Data", testAppendEventsData},
		{"None", testAppendEventsNone},
	}},
	{"EventsAfter", []test{
		{"Empty", testEventsAfterEmpty},
		{"Paging", testEventsAfterPaging},
	}},
	{"LastEventSeq", []test{
		{"Empty", testLastEventSeqEmpty},
		{"OK", testLastEventSeq},
	}},
	{"SeqBefore", []test{
		{"Empty", testSeqBeforeEmpty},
		{"OK", testSeqBefore},
		{"AtOutOfOrder", testSeqBeforeAtOutOfOrder},
	}},
	{"CreateClient", []test{
		{"OK", testCreateClient},
		{"ErrConflictID", testCreateClientErrConflictID},
		{"EmptyScopes", testCreateClientEmptyScopes},
	}},
	{"ClientByID", []test{
		{"ErrNotFound", testClientByIDErrNotFound},
	}},
	{"ListClients", []test{
		{"Empty", testListClientsEmpty},
		{"OK", testListClients},
	}},
	{"DeleteClient", []test{
		{"OK", testDeleteClient},
		{"ErrNotFound", testDeleteClientErrNotFound},
	}},
	{"CreateRefreshToken", []test{
		{"OK", testCreateRefreshToken},
		{"ErrConflictHash", testCreateRefreshTokenErrConflictHash},
	}},
	{"RefreshTokenByHash", []test{
		{"ErrNotFound", testRefreshTokenByHashErrNotFound},
	}},
	{"RotateRefreshToken", []test{
		{"OK", testRotateRefreshToken},
		{"AlreadyRotated", testRotateRefreshTokenAlreadyRotated},
		{"UnknownToken", testRotateRefreshTokenUnknownToken},
		{"Concurrent", testRotateRefreshTokenConcurrent},
	}},
	{"SigningKeys", []test{
		{"Empty", testSigningKeysEmpty},
	}},
	{"AddSigningKey", []test{
		{"First", testAddSigningKeyFirst},
		{"Rotate", testAddSigningKeyRotate},
		{"ErrConflictExpectActive", testAddSigningKeyErrConflictExpectActive},
		{"ErrConflictID", testAddSigningKeyErrConflictID},
		{"Concurrent", testAddSigningKeyConcurrent},
	}},
	{"DeleteSigningKeysRetiredBefore", []test{
		{"OK", testDeleteSigningKeysRetiredBefore},
	}},
	{"Concurrency", []test{
		{"Writers", testConcurrentWriters},
		{"TailSeesEveryEvent", testConcurrentTail},
	}},
	{"Webhooks", webhookTests}, // webhook.Store: webhooks.go
}

// RunWith runs the conformance suite as o says.
func RunWith(t *testing.T, o Options) {
	t.Helper()
	if o.Open == nil {
		t.Fatal("storetest: Options.Open is nil")
	}
	for _, m := range suite {
		t.Run(m.method, func(t *testing.T) {
			for _, tt := range m.tests {
				t.Run(tt.name, func(t *testing.T) {
					s, _ := open(t, o.Open)
					tt.fn(t, s)
				})
			}
		})
	}
	t.Run("Reopen", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			if o.Reopen == nil {
				t.Skip("storetest: Options.Reopen is not set")
			}
			testReopen(t, o)
		})
	})
}

// open opens a store with f and closes it when t ends. The returned func
// closes it earlier; the cleanup then does nothing.
func open(t *testing.T, f func(t *testing.T) Store) (Store, func() error) {
	t.Helper()
	s := f(t)
	if s == nil {
		t.Fatal("storetest: Open returned a nil Store")
	}
	closed := false
	closeStore := func() error {
		if closed {
			return nil
		}
		closed = true
		return s.Close()
	}
	t.Cleanup(func() {
		if err := closeStore(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, closeStore
}

func testPing(t *testing.T, s Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// Reopen/OK: what was written is there after Close and a reopen, and the
// log goes on above the Seqs it had.
func testReopen(t *testing.T, o Options) {
	s, closeStore := open(t, o.Open)
	u := NewUser("durable@example.com")
	u.TokensValidAfter = at(1)
	MustCreateUser(t, s, u, userCreated(u))
	live := NewSession(u.ID, at(time.Minute))
	MustCreateSession(t, s, live, loginSucceeded(live))
	revoked := NewSession(u.ID, at(2*time.Minute))
	MustCreateSession(t, s, revoked, loginSucceeded(revoked))
	MustRevokeSessions(t, s, []string{revoked.ID}, at(time.Hour), auth.CauseLogout,
		sessionRevoked(revoked, at(time.Hour), auth.CauseLogout))
	revoked.RevokedAt, revoked.RevokeCause = at(time.Hour), auth.CauseLogout
	MustAppendEvents(t, s, auth.Event{Type: auth.EventLoginFailed, At: at(2 * time.Hour), Data: map[string]string{"ip": "192.0.2.9"}})
	events := MustEventsAfter(t, s, 0)
	last := MustLastEventSeq(t, s)
	if err := closeStore(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	r := o.Reopen(t, s)
	if r == nil {
		t.Fatal("storetest: Reopen returned a nil Store")
	}
	r, _ = open(t, func(*testing.T) Store { return r })
	checkUser(t, "UserByID after reopen", MustUserByID(t, r, u.ID), u)
	got, err := r.UserByEmail(t.Context(), u.Email)
	if err != nil {
		t.Fatalf("UserByEmail after reopen: %v", err)
	}
	checkUser(t, "UserByEmail after reopen", got, u)
	for _, sess := range []*auth.Session{live, revoked} {
		checkSessionUnchanged(t, r, "SessionByID after reopen", sess)
		byHash, err := r.SessionByHash(t.Context(), sess.SecretHash)
		if err != nil {
			t.Fatalf("SessionByHash after reopen: %v", err)
		}
		checkSession(t, "SessionByHash after reopen", byHash, sess)
	}
	checkSameEvents(t, "events after reopen", MustEventsAfter(t, r, 0), events)
	if got := MustLastEventSeq(t, r); got != last {
		t.Errorf("LastEventSeq after reopen = %d, want %d", got, last)
	}

	more := auth.Event{Type: "storetest.after_reopen", At: at(3 * time.Hour)}
	MustAppendEvents(t, r, more)
	checkAppended(t, r, last, more)
}
