package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
)

// NewClient returns an OAuth client with the given ID, a fresh secret hash
// and two scopes, created at Base. It is not stored.
func NewClient(id string) *auth.OAuthClient {
	return &auth.OAuthClient{
		ID:         id,
		Name:       "Client " + id,
		SecretHash: secret.New().Hash(),
		Scopes:     []string{auth.ScopeIntrospect, auth.ScopeEvents},
		CreatedAt:  Base,
	}
}

// NewRefreshToken returns the first token of a fresh family of sessionID,
// created at created and expiring 30 days later. It is not stored.
func NewRefreshToken(sessionID string, created time.Time) *auth.RefreshToken {
	return &auth.RefreshToken{
		Hash:      secret.New().Hash(),
		SessionID: sessionID,
		ClientID:  auth.FirstPartyClientID,
		FamilyID:  secret.RandomID(16),
		Scope:     "openid profile",
		Audience:  "https://api.example.com",
		CreatedAt: created,
		ExpiresAt: created.Add(30 * 24 * time.Hour),
	}
}

// successor returns the token that rotating rt at at creates.
func successor(rt *auth.RefreshToken, at time.Time) *auth.RefreshToken {
	next := *rt
	next.Hash = secret.New().Hash()
	next.CreatedAt = at
	next.RotatedAt, next.SuccessorHash = time.Time{}, secret.Hash{}
	return &next
}

// NewSigningKey returns a key with a fresh ID created at created. It is not
// stored.
func NewSigningKey(created time.Time) *auth.SigningKey {
	sealed := []byte("\x00sealed\xff" + secret.RandomID(48))
	return &auth.SigningKey{ID: secret.RandomID(8), Alg: "EdDSA", SealedPrivate: sealed, CreatedAt: created}
}

// MustCreateClient stores c with evs and returns it.
func MustCreateClient(tb testing.TB, s auth.ClientStore, c *auth.OAuthClient, evs ...auth.Event) *auth.OAuthClient {
	tb.Helper()
	if err := s.CreateClient(tb.Context(), c, evs...); err != nil {
		tb.Fatalf("CreateClient(%s): %v", c.ID, err)
	}
	return c
}

// MustCreateRefreshToken stores rt with evs and returns it.
func MustCreateRefreshToken(tb testing.TB, s auth.RefreshStore, rt *auth.RefreshToken, evs ...auth.Event) *auth.RefreshToken {
	tb.Helper()
	if err := s.CreateRefreshToken(tb.Context(), rt, evs...); err != nil {
		tb.Fatalf("CreateRefreshToken: %v", err)
	}
	return rt
}

// MustAddSigningKey adds k as the active key in place of expectActive.
func MustAddSigningKey(tb testing.TB, s auth.KeyStore, k *auth.SigningKey, expectActive string, evs ...auth.Event) *auth.SigningKey {
	tb.Helper()
	if err := s.AddSigningKey(tb.Context(), k, expectActive, evs...); err != nil {
		tb.Fatalf("AddSigningKey(%s, expectActive %q): %v", k.ID, expectActive, err)
	}
	return k
}

// MustSigningKeys returns SigningKeys.
func MustSigningKeys(tb testing.TB, s auth.KeyStore) []*auth.SigningKey {
	tb.Helper()
	ks, err := s.SigningKeys(tb.Context())
	if err != nil {
		tb.Fatalf("SigningKeys: %v", err)
	}
	return ks
}

func checkClient(tb testing.TB, what string, got, want *auth.OAuthClient) {
	tb.Helper()
	if got == nil {
		tb.Errorf("%s: nil client, want %s", what, want.ID)
		return
	}
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("Name", got.Name, want.Name)
	if got.SecretHash != want.SecretHash {
		d = append(d, fmt.Sprintf("SecretHash = %x, want %x", got.SecretHash, want.SecretHash))
	}
	d.strs("Scopes", got.Scopes, want.Scopes)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.report(tb, what+": client "+want.ID)
}

func checkRefreshToken(tb testing.TB, what string, got, want *auth.RefreshToken) {
	tb.Helper()
	if got == nil {
		tb.Errorf("%s: nil refresh token, want %x", what, want.Hash[:4])
		return
	}
	var d diff
	if got.Hash != want.Hash {
		d = append(d, fmt.Sprintf("Hash = %x, want %x", got.Hash, want.Hash))
	}
	d.str("SessionID", got.SessionID, want.SessionID)
	d.str("ClientID", got.ClientID, want.ClientID)
	d.str("FamilyID", got.FamilyID, want.FamilyID)
	d.str("Scope", got.Scope, want.Scope)
	d.str("Audience", got.Audience, want.Audience)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.time("RotatedAt", got.RotatedAt, want.RotatedAt)
	if got.SuccessorHash != want.SuccessorHash {
		d = append(d, fmt.Sprintf("SuccessorHash = %x, want %x", got.SuccessorHash, want.SuccessorHash))
	}
	d.report(tb, fmt.Sprintf("%s: refresh token %x", what, want.Hash[:4]))
}

// checkRefreshStored reads the token back by its hash and compares it.
func checkRefreshStored(tb testing.TB, s auth.RefreshStore, what string, want *auth.RefreshToken) {
	tb.Helper()
	got, err := s.RefreshTokenByHash(tb.Context(), want.Hash)
	if err != nil {
		tb.Errorf("%s: RefreshTokenByHash: %v", what, err)
		return
	}
	checkRefreshToken(tb, what, got, want)
}

func checkSigningKey(tb testing.TB, what string, got, want *auth.SigningKey) {
	tb.Helper()
	if got == nil {
		tb.Errorf("%s: nil key, want %s", what, want.ID)
		return
	}
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("Alg", got.Alg, want.Alg)
	if !bytes.Equal(got.SealedPrivate, want.SealedPrivate) {
		d = append(d, fmt.Sprintf("SealedPrivate = %x, want %x", got.SealedPrivate, want.SealedPrivate))
	}
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("RetiredAt", got.RetiredAt, want.RetiredAt)
	d.report(tb, what+": key "+want.ID)
}

// checkSigningKeys compares SigningKeys with want, in order.
func checkSigningKeys(tb testing.TB, s auth.KeyStore, what string, want ...*auth.SigningKey) {
	tb.Helper()
	got := MustSigningKeys(tb, s)
	ids := func(ks []*auth.SigningKey) []string {
		out := make([]string, len(ks))
		for i, k := range ks {
			out[i] = k.ID
		}
		return out
	}
	checkIDs(tb, what+": SigningKeys", ids(got), ids(want))
	if len(got) == len(want) {
		for i := range got {
			checkSigningKey(tb, what, got[i], want[i])
		}
	}
}

// --- clients

func clientCreated(c *auth.OAuthClient) auth.Event {
	return auth.Event{Type: auth.EventClientCreated, At: c.CreatedAt, Data: map[string]string{"client_id": c.ID}}
}

// CreateClient/OK: every field round-trips; the events are appended.
func testCreateClient(t *testing.T, s Store) {
	c := NewClient("billing")
	c.Scopes = []string{auth.ScopeIntrospect, auth.ScopeAdmin, "read:invoices"} // not sorted: kept as given
	c.CreatedAt = at(1)
	before := MustLastEventSeq(t, s)
	evs := []auth.Event{clientCreated(c)}
	if err := s.CreateClient(t.Context(), c, evs...); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	got, err := s.ClientByID(t.Context(), c.ID)
	if err != nil {
		t.Fatalf("ClientByID: %v", err)
	}
	checkClient(t, "ClientByID", got, c)
	checkAppended(t, s, before, evs...)
}

// CreateClient/ErrConflictID: a taken ID is refused; no event is appended.
func testCreateClientErrConflictID(t *testing.T, s Store) {
	a := MustCreateClient(t, s, NewClient("billing"))
	before := MustLastEventSeq(t, s)
	b := NewClient("billing")
	b.Name = "Another billing"
	err := s.CreateClient(t.Context(), b, clientCreated(b))
	wantErr(t, "CreateClient with a taken ID", err, auth.ErrConflict)
	got, err := s.ClientByID(t.Context(), a.ID)
	if err != nil {
		t.Fatalf("ClientByID: %v", err)
	}
	checkClient(t, "the client that holds the ID", got, a)
	checkNoEvents(t, s, before)
}

// CreateClient/EmptyScopes: nil and empty Scopes come back empty.
func testCreateClientEmptyScopes(t *testing.T, s Store) {
	for i, scopes := range [][]string{nil, {}} {
		c := NewClient(fmt.Sprintf("noscopes%d", i))
		c.Scopes = scopes
		MustCreateClient(t, s, c)
		got, err := s.ClientByID(t.Context(), c.ID)
		if err != nil {
			t.Fatalf("ClientByID: %v", err)
		}
		if len(got.Scopes) != 0 {
			t.Errorf("Scopes %#v stored: read back %q, want none", scopes, got.Scopes)
		}
	}
}

func testClientByIDErrNotFound(t *testing.T, s Store) {
	MustCreateClient(t, s, NewClient("billing"))
	_, err := s.ClientByID(t.Context(), "unknown")
	wantErr(t, "ClientByID of an unknown ID", err, auth.ErrNotFound)
}

func testListClientsEmpty(t *testing.T, s Store) {
	cs, err := s.ListClients(t.Context())
	if err != nil {
		t.Fatalf("ListClients: %v", err)
	}
	if len(cs) != 0 {
		t.Errorf("ListClients of an empty store: %d clients, want none", len(cs))
	}
}

// ListClients/OK: every client, with every field (in an order the contract
// leaves to the store).
func testListClients(t *testing.T, s Store) {
	want := []*auth.OAuthClient{NewClient("a-client"), NewClient("b-client"), NewClient("c-client")}
	for i, c := range want {
		c.CreatedAt = at(time.Duration(len(want)-i) * time.Minute)
		MustCreateClient(t, s, c)
	}
	got, err := s.ListClients(t.Context())
	if err != nil {
		t.Fatalf("ListClients: %v", err)
	}
	byID := func(a, b *auth.OAuthClient) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(got, byID)
	if len(got) != len(want) {
		t.Fatalf("ListClients: %d clients, want %d", len(got), len(want))
	}
	for i := range got {
		checkClient(t, "ListClients", got[i], want[i])
	}
}

// DeleteClient/OK: the client goes, others stay; the events are appended.
func testDeleteClient(t *testing.T, s Store) {
	c := MustCreateClient(t, s, NewClient("leaving"))
	other := MustCreateClient(t, s, NewClient("staying"))
	before := MustLastEventSeq(t, s)
	ev := auth.Event{Type: auth.EventClientRemoved, At: at(time.Hour), Data: map[string]string{"client_id": c.ID}}
	if err := s.DeleteClient(t.Context(), c.ID, ev); err != nil {
		t.Fatalf("DeleteClient: %v", err)
	}
	_, err := s.ClientByID(t.Context(), c.ID)
	wantErr(t, "ClientByID of the deleted client", err, auth.ErrNotFound)
	got, err := s.ClientByID(t.Context(), other.ID)
	if err != nil {
		t.Fatalf("ClientByID of the other client: %v", err)
	}
	checkClient(t, "other client", got, other)
	checkAppended(t, s, before, ev)
}

// DeleteClient/ErrNotFound: an unknown ID is refused; no event is appended.
func testDeleteClientErrNotFound(t *testing.T, s Store) {
	MustCreateClient(t, s, NewClient("billing"))
	before := MustLastEventSeq(t, s)
	err := s.DeleteClient(t.Context(), "unknown", auth.Event{Type: auth.EventClientRemoved, At: at(time.Hour)})
	wantErr(t, "DeleteClient of an unknown client", err, auth.ErrNotFound)
	checkNoEvents(t, s, before)
}

// --- refresh tokens

// sessionFor stores a user and a session for refresh tokens to belong to.
func sessionFor(tb testing.TB, s Store) *auth.Session {
	tb.Helper()
	u := MustCreateUser(tb, s, NewUser("user@example.com"))
	return MustCreateSession(tb, s, NewSession(u.ID, at(0)))
}

func tokenIssued(rt *auth.RefreshToken) auth.Event {
	return auth.Event{Type: auth.EventTokenIssued, At: rt.CreatedAt, SessionID: rt.SessionID, Data: map[string]string{"family": rt.FamilyID}}
}

// CreateRefreshToken/OK: every field round-trips, unrotated; the events are
// appended.
func testCreateRefreshToken(t *testing.T, s Store) {
	sess := sessionFor(t, s)
	rt := NewRefreshToken(sess.ID, at(time.Minute+1))
	rt.ClientID = "billing"
	rt.Scope = ""
	before := MustLastEventSeq(t, s)
	evs := []auth.Event{tokenIssued(rt)}
	if err := s.CreateRefreshToken(t.Context(), rt, evs...); err != nil {
		t.Fatalf("CreateRefreshToken: %v", err)
	}
	checkRefreshStored(t, s, "RefreshTokenByHash", rt)
	checkAppended(t, s, before, evs...)
}

// CreateRefreshToken/ErrConflictHash: a taken hash is refused; no event is
// appended.
func testCreateRefreshTokenErrConflictHash(t *testing.T, s Store) {
	sess := sessionFor(t, s)
	a := MustCreateRefreshToken(t, s, NewRefreshToken(sess.ID, at(time.Minute)))
	before := MustLastEventSeq(t, s)
	b := NewRefreshToken(sess.ID, at(2*time.Minute))
	b.Hash = a.Hash
	err := s.CreateRefreshToken(t.Context(), b, tokenIssued(b))
	wantErr(t, "CreateRefreshToken with a taken hash", err, auth.ErrConflict)
	checkRefreshStored(t, s, "the token that holds the hash", a)
	checkNoEvents(t, s, before)
}

func testRefreshTokenByHashErrNotFound(t *testing.T, s Store) {
	sess := sessionFor(t, s)
	MustCreateRefreshToken(t, s, NewRefreshToken(sess.ID, at(time.Minute)))
	_, err := s.RefreshTokenByHash(t.Context(), secret.New().Hash())
	wantErr(t, "RefreshTokenByHash of an unknown hash", err, auth.ErrNotFound)
}

// RotateRefreshToken/OK: the old token is marked rotated at at with its
// successor, the successor is stored, the events are appended; the
// successor rotates in turn.
func testRotateRefreshToken(t *testing.T, s Store) {
	sess := sessionFor(t, s)
	old := MustCreateRefreshToken(t, s, NewRefreshToken(sess.ID, at(time.Minute)))
	when := at(time.Hour + 1)
	next := successor(old, when)
	before := MustLastEventSeq(t, s)
	evs := []auth.Event{tokenIssued(next)}
	ok, err := s.RotateRefreshToken(t.Context(), old.Hash, when, next, evs...)
	if err != nil || !ok {
		t.Fatalf("RotateRefreshToken = %v, %v; want true, nil", ok, err)
	}
	wantOld := *old
	wantOld.RotatedAt, wantOld.SuccessorHash = when, next.Hash
	checkRefreshStored(t, s, "rotated token", &wantOld)
	checkRefreshStored(t, s, "successor", next)
	checkAppended(t, s, before, evs...)

	when2 := at(2 * time.Hour)
	third := successor(next, when2)
	if ok, err := s.RotateRefreshToken(t.Context(), next.Hash, when2, third); err != nil || !ok {
		t.Fatalf("RotateRefreshToken of the successor = %v, %v; want true, nil", ok, err)
	}
	wantNext := *next
	wantNext.RotatedAt, wantNext.SuccessorHash = when2, third.Hash
	checkRefreshStored(t, s, "rotated successor", &wantNext)
	checkRefreshStored(t, s, "third token", third)
}

// RotateRefreshToken/AlreadyRotated: a rotated token does not rotate again:
// false, nothing changed, no event appended.
func testRotateRefreshTokenAlreadyRotated(t *testing.T, s Store) {
	sess := sessionFor(t, s)
	old := MustCreateRefreshToken(t, s, NewRefreshToken(sess.ID, at(time.Minute)))
	when := at(time.Hour)
	next := successor(old, when)
	if ok, err := s.RotateRefreshToken(t.Context(), old.Hash, when, next); err != nil || !ok {
		t.Fatalf("first RotateRefreshToken = %v, %v; want true, nil", ok, err)
	}
	before := MustLastEventSeq(t, s)
	replay := successor(old, at(2*time.Hour))
	ok, err := s.RotateRefreshToken(t.Context(), old.Hash, at(2*time.Hour), replay, tokenIssued(replay))
	if err != nil || ok {
		t.Fatalf("second RotateRefreshToken = %v, %v; want false, nil", ok, err)
	}
	wantOld := *old
	wantOld.RotatedAt, wantOld.SuccessorHash = when, next.Hash
	checkRefreshStored(t, s, "token rotated once", &wantOld)
	checkRefreshStored(t, s, "its successor", next)
	_, err = s.RefreshTokenByHash(t.Context(), replay.Hash)
	wantErr(t, "RefreshTokenByHash of the refused successor", err, auth.ErrNotFound)
	checkNoEvents(t, s, before)
}

// RotateRefreshToken/UnknownToken: rotating a token that does not exist
// stores nothing and appends nothing; it answers false or ErrNotFound.
func testRotateRefreshTokenUnknownToken(t *testing.T, s Store) {
	sess := sessionFor(t, s)
	ghost := NewRefreshToken(sess.ID, at(time.Minute))
	next := successor(ghost, at(time.Hour))
	before := MustLastEventSeq(t, s)
	ok, err := s.RotateRefreshToken(t.Context(), ghost.Hash, at(time.Hour), next, tokenIssued(next))
	if ok || (err != nil && !errors.Is(err, auth.ErrNotFound)) {
		t.Errorf("RotateRefreshToken of an unknown token = %v, %v; want false and nil or ErrNotFound", ok, err)
	}
	_, err = s.RefreshTokenByHash(t.Context(), next.Hash)
	wantErr(t, "RefreshTokenByHash of the refused successor", err, auth.ErrNotFound)
	checkNoEvents(t, s, before)
}

// RotateRefreshToken/Concurrent: of 16 concurrent rotations of one token
// exactly one succeeds, and only its successor and event are stored.
func testRotateRefreshTokenConcurrent(t *testing.T, s Store) {
	const n = 16
	sess := sessionFor(t, s)
	old := MustCreateRefreshToken(t, s, NewRefreshToken(sess.ID, at(time.Minute)))
	before := MustLastEventSeq(t, s)
	nexts := make([]*auth.RefreshToken, n)
	won := make([]bool, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		nexts[i] = successor(old, at(time.Hour+time.Duration(i)))
		wg.Go(func() {
			<-start
			ok, err := s.RotateRefreshToken(t.Context(), old.Hash, nexts[i].CreatedAt, nexts[i], tokenIssued(nexts[i]))
			if err != nil {
				t.Errorf("rotation %d: %v", i, err)
			}
			won[i] = ok
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, ok := range won {
		if !ok {
			continue
		}
		if winner >= 0 {
			t.Errorf("rotations %d and %d both succeeded", winner, i)
		}
		winner = i
	}
	if winner < 0 {
		t.Fatal("no rotation succeeded")
	}
	wantOld := *old
	wantOld.RotatedAt, wantOld.SuccessorHash = nexts[winner].CreatedAt, nexts[winner].Hash
	checkRefreshStored(t, s, "rotated token", &wantOld)
	for i, next := range nexts {
		if i == winner {
			checkRefreshStored(t, s, "winning successor", next)
			continue
		}
		if _, err := s.RefreshTokenByHash(t.Context(), next.Hash); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("losing rotation %d: RefreshTokenByHash of its successor: %v, want ErrNotFound", i, err)
		}
	}
	checkAppended(t, s, before, tokenIssued(nexts[winner]))
}

// --- signing keys

func keyRotated(k *auth.SigningKey) auth.Event {
	return auth.Event{Type: auth.EventKeyRotated, At: k.CreatedAt, Data: map[string]string{"kid": k.ID}}
}

func testSigningKeysEmpty(t *testing.T, s Store) {
	if ks := MustSigningKeys(t, s); len(ks) != 0 {
		t.Errorf("SigningKeys of an empty store: %d keys, want none", len(ks))
	}
}

// AddSigningKey/First: the first key, expecting no active key, is active;
// every field round-trips; the events are appended.
func testAddSigningKeyFirst(t *testing.T, s Store) {
	k := NewSigningKey(at(1))
	before := MustLastEventSeq(t, s)
	evs := []auth.Event{keyRotated(k)}
	if err := s.AddSigningKey(t.Context(), k, "", evs...); err != nil {
		t.Fatalf("AddSigningKey: %v", err)
	}
	checkSigningKeys(t, s, "after the first key", k)
	checkAppended(t, s, before, evs...)
}

// AddSigningKey/Rotate: each new key retires the active one at its own
// CreatedAt; SigningKeys lists newest first.
func testAddSigningKeyRotate(t *testing.T, s Store) {
	k1 := MustAddSigningKey(t, s, NewSigningKey(at(1)), "")
	k2 := NewSigningKey(at(time.Hour + 2))
	k2.Alg = "ES256"
	before := MustLastEventSeq(t, s)
	MustAddSigningKey(t, s, k2, k1.ID, keyRotated(k2))
	k1.RetiredAt = k2.CreatedAt
	checkSigningKeys(t, s, "after one rotation", k2, k1)
	checkAppended(t, s, before, keyRotated(k2))

	k3 := MustAddSigningKey(t, s, NewSigningKey(at(2*time.Hour+3)), k2.ID)
	k2.RetiredAt = k3.CreatedAt
	checkSigningKeys(t, s, "after two rotations", k3, k2, k1)
}

// AddSigningKey/ErrConflictExpectActive: a stale or wrong expectActive is
// refused; nothing changes and no event is appended.
func testAddSigningKeyErrConflictExpectActive(t *testing.T, s Store) {
	k1 := MustAddSigningKey(t, s, NewSigningKey(at(1)), "")
	k2 := MustAddSigningKey(t, s, NewSigningKey(at(time.Hour)), k1.ID)
	k1.RetiredAt = k2.CreatedAt
	before := MustLastEventSeq(t, s)
	for _, expect := range []string{"", k1.ID, "unknown", k2.ID + "x"} {
		k := NewSigningKey(at(2 * time.Hour))
		err := s.AddSigningKey(t.Context(), k, expect, keyRotated(k))
		wantErr(t, fmt.Sprintf("AddSigningKey expecting %q while %q is active", expect, k2.ID), err, auth.ErrConflict)
	}
	checkSigningKeys(t, s, "after refused rotations", k2, k1)
	checkNoEvents(t, s, before)
}

// AddSigningKey/ErrConflictID: a taken key ID is refused, and the active key
// is not retired.
func testAddSigningKeyErrConflictID(t *testing.T, s Store) {
	k1 := MustAddSigningKey(t, s, NewSigningKey(at(1)), "")
	before := MustLastEventSeq(t, s)
	k := NewSigningKey(at(time.Hour))
	k.ID = k1.ID
	err := s.AddSigningKey(t.Context(), k, k1.ID, keyRotated(k))
	wantErr(t, "AddSigningKey with a taken ID", err, auth.ErrConflict)
	checkSigningKeys(t, s, "after the refused key", k1)
	checkNoEvents(t, s, before)
}

// AddSigningKey/Concurrent: of 8 nodes rotating at once from the same active
// key, exactly one succeeds; the others get ErrConflict.
func testAddSigningKeyConcurrent(t *testing.T, s Store) {
	const n = 8
	k1 := MustAddSigningKey(t, s, NewSigningKey(at(1)), "")
	keys := make([]*auth.SigningKey, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		keys[i] = NewSigningKey(at(time.Hour + time.Duration(i)))
		wg.Go(func() {
			<-start
			errs[i] = s.AddSigningKey(t.Context(), keys[i], k1.ID)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("rotations %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, auth.ErrConflict):
			t.Errorf("rotation %d: %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no rotation succeeded")
	}
	k1.RetiredAt = keys[winner].CreatedAt
	checkSigningKeys(t, s, "after concurrent rotations", keys[winner], k1)
}

// DeleteSigningKeysRetiredBefore/OK: keys retired before t go, those retired
// at or after t stay, the active key always stays; it returns the count and
// appends no event.
func testDeleteSigningKeysRetiredBefore(t *testing.T, s Store) {
	k1 := MustAddSigningKey(t, s, NewSigningKey(at(0)), "")
	k2 := MustAddSigningKey(t, s, NewSigningKey(at(time.Hour)), k1.ID)
	k3 := MustAddSigningKey(t, s, NewSigningKey(at(2*time.Hour)), k2.ID)
	k4 := MustAddSigningKey(t, s, NewSigningKey(at(3*time.Hour)), k3.ID)
	k1.RetiredAt, k2.RetiredAt, k3.RetiredAt = k2.CreatedAt, k3.CreatedAt, k4.CreatedAt
	before := MustLastEventSeq(t, s)

	del := func(cutoff time.Time, want int64) {
		t.Helper()
		n, err := s.DeleteSigningKeysRetiredBefore(t.Context(), cutoff)
		if err != nil {
			t.Fatalf("DeleteSigningKeysRetiredBefore(%s): %v", fmtTime(cutoff), err)
		}
		if n != want {
			t.Errorf("DeleteSigningKeysRetiredBefore(%s) = %d, want %d", fmtTime(cutoff), n, want)
		}
	}
	del(k2.RetiredAt, 1) // k1; k2 retired at t stays
	checkSigningKeys(t, s, "after deleting before k2's retirement", k4, k3, k2)
	del(k3.RetiredAt.Add(1), 2) // k2 and k3
	checkSigningKeys(t, s, "after deleting before k3's retirement + 1ns", k4)
	del(at(100*365*24*time.Hour), 0) // the active key is not retired
	checkSigningKeys(t, s, "after deleting before a far future", k4)
	checkNoEvents(t, s, before)
}
