package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
)

func loginSucceeded(sess *auth.Session) auth.Event {
	return auth.Event{Type: auth.EventLoginSucceeded, At: sess.CreatedAt, UserID: sess.UserID, SessionID: sess.ID, Data: map[string]string{"ip": sess.CreatedIP}}
}

func sessionRevoked(sess *auth.Session, at time.Time, cause string) auth.Event {
	return auth.Event{Type: auth.EventSessionRevoked, At: at, UserID: sess.UserID, SessionID: sess.ID, Data: map[string]string{"cause": cause}}
}

// CreateSession/OK: every field round-trips, by ID and by hash, and the
// events are appended.
func testCreateSession(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	sess := NewSession(u.ID, at(time.Minute))
	sess.LastSeenAt = at(2*time.Minute + 1)
	sess.ExpiresAt = at(720*time.Hour + 3).In(time.FixedZone("UTC-07:00", -7*3600))
	sess.CreatedIP = "203.0.113.7"
	sess.CreatedUA = "Mozilla/5.0 (X11; Linux x86_64) \"quoted\" ünïcødé ✓"
	sess.LastIP = "2001:db8::1"
	sess.LastUA = "curl/8.0"
	evs := []auth.Event{loginSucceeded(sess)}
	before := MustLastEventSeq(t, s)
	if err := s.CreateSession(t.Context(), sess, evs...); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}

	got := MustSessionByID(t, s, sess.ID)
	checkSession(t, "SessionByID", got, sess)
	if got.Revoked() {
		t.Errorf("new session is revoked (RevokedAt %s)", fmtTime(got.RevokedAt))
	}
	got, err := s.SessionByHash(t.Context(), sess.SecretHash)
	if err != nil {
		t.Fatalf("SessionByHash: %v", err)
	}
	checkSession(t, "SessionByHash", got, sess)
	checkAppended(t, s, before, evs...)
}

// CreateSession/ErrConflictID: a taken ID is refused; no event is appended.
func testCreateSessionErrConflictID(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	a := MustCreateSession(t, s, NewSession(u.ID, at(time.Minute)))
	before := MustLastEventSeq(t, s)

	b := NewSession(u.ID, at(2*time.Minute))
	b.ID = a.ID
	err := s.CreateSession(t.Context(), b, loginSucceeded(b))
	wantErr(t, "CreateSession with a taken ID", err, auth.ErrConflict)

	checkSessionUnchanged(t, s, "the session that holds the ID", a)
	_, err = s.SessionByHash(t.Context(), b.SecretHash)
	wantErr(t, "SessionByHash of the refused session", err, auth.ErrNotFound)
	checkNoEvents(t, s, before)
}

// CreateSession/ErrConflictHash: a taken secret hash is refused; no event
// is appended.
func testCreateSessionErrConflictHash(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	a := MustCreateSession(t, s, NewSession(u.ID, at(time.Minute)))
	before := MustLastEventSeq(t, s)

	b := NewSession(u.ID, at(2*time.Minute))
	b.SecretHash = a.SecretHash
	err := s.CreateSession(t.Context(), b, loginSucceeded(b))
	wantErr(t, "CreateSession with a taken secret hash", err, auth.ErrConflict)

	_, err = s.SessionByID(t.Context(), b.ID)
	wantErr(t, "SessionByID of the refused session", err, auth.ErrNotFound)
	got, err := s.SessionByHash(t.Context(), a.SecretHash)
	if err != nil {
		t.Fatalf("SessionByHash: %v", err)
	}
	checkSession(t, "SessionByHash", got, a)
	checkNoEvents(t, s, before)
}

// SessionByHash/OK: each session is found by the hash of its own secret.
func testSessionByHash(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	var ss []*auth.Session
	for i := range 3 {
		ss = append(ss, MustCreateSession(t, s, NewSession(u.ID, at(time.Duration(i)*time.Minute))))
	}
	for _, sess := range ss {
		got, err := s.SessionByHash(t.Context(), sess.SecretHash)
		if err != nil {
			t.Fatalf("SessionByHash: %v", err)
		}
		checkSession(t, "SessionByHash", got, sess)
	}
}

// SessionByHash/Revoked: a revoked session is still found, with its
// revocation.
func testSessionByHashRevoked(t *testing.T, s Store) {
	sess := createRevoked(t, s)
	got, err := s.SessionByHash(t.Context(), sess.SecretHash)
	if err != nil {
		t.Fatalf("SessionByHash of a revoked session: %v", err)
	}
	checkSession(t, "SessionByHash", got, sess)
}

func testSessionByHashErrNotFound(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	MustCreateSession(t, s, NewSession(u.ID, at(0)))
	_, err := s.SessionByHash(t.Context(), secret.New().Hash())
	wantErr(t, "SessionByHash of an unknown hash", err, auth.ErrNotFound)
	_, err = s.SessionByHash(t.Context(), secret.Hash{})
	wantErr(t, "SessionByHash of the zero hash", err, auth.ErrNotFound)
}

// SessionByID/OK: each session is found by its own ID.
func testSessionByID(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	var ss []*auth.Session
	for i := range 3 {
		ss = append(ss, MustCreateSession(t, s, NewSession(u.ID, at(time.Duration(i)*time.Minute))))
	}
	for _, sess := range ss {
		checkSession(t, "SessionByID", MustSessionByID(t, s, sess.ID), sess)
	}
}

// SessionByID/Revoked: a revoked session is still found, with its
// revocation.
func testSessionByIDRevoked(t *testing.T, s Store) {
	sess := createRevoked(t, s)
	got, err := s.SessionByID(t.Context(), sess.ID)
	if err != nil {
		t.Fatalf("SessionByID of a revoked session: %v", err)
	}
	checkSession(t, "SessionByID", got, sess)
}

func testSessionByIDErrNotFound(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	MustCreateSession(t, s, NewSession(u.ID, at(0)))
	_, err := s.SessionByID(t.Context(), secret.RandomID(16))
	wantErr(t, "SessionByID of an unknown ID", err, auth.ErrNotFound)
}

// createRevoked stores a session and revokes it; it returns the session as
// it should read back.
func createRevoked(tb testing.TB, s Store) *auth.Session {
	tb.Helper()
	u := MustCreateUser(tb, s, NewUser("user@example.com"))
	sess := MustCreateSession(tb, s, NewSession(u.ID, at(time.Minute)))
	MustRevokeSessions(tb, s, []string{sess.ID}, at(time.Hour+1), auth.CauseAdmin)
	sess.RevokedAt, sess.RevokeCause = at(time.Hour+1), auth.CauseAdmin
	return sess
}

// ListSessions/OK: the user's sessions that are not revoked and expire after
// now, newest first, with every field.
func testListSessions(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	other := MustCreateUser(t, s, NewUser("other@example.com"))
	now := at(24 * time.Hour)
	mk := func(created, expires time.Time) *auth.Session {
		sess := NewSession(u.ID, created)
		sess.ExpiresAt = expires
		return MustCreateSession(t, s, sess)
	}
	idle := mk(at(time.Hour), at(48*time.Hour)) // last seen long ago: still listed
	newest := mk(at(3*time.Hour), at(48*time.Hour))
	middle := mk(at(2*time.Hour), at(48*time.Hour))
	justLive := mk(at(5*time.Minute), now.Add(1))
	mk(at(0), at(23*time.Hour))            // expired
	mk(at(30*time.Minute), now)            // expires at now: not after it
	mk(at(10*time.Minute), at(-time.Hour)) // expired before it was created, as a clock step may do
	revoked := mk(at(4*time.Hour), at(48*time.Hour))
	MustRevokeSessions(t, s, []string{revoked.ID}, at(5*time.Hour), auth.CauseLogout)
	othersSess := NewSession(other.ID, at(6*time.Hour))
	othersSess.ExpiresAt = at(48 * time.Hour)
	MustCreateSession(t, s, othersSess)

	want := []*auth.Session{newest, middle, idle, justLive}
	got := MustListSessions(t, s, u.ID, now)
	checkIDs(t, "ListSessions", sessionIDs(got), sessionIDs(want))
	if len(got) == len(want) {
		for i := range got {
			checkSession(t, "ListSessions", got[i], want[i])
		}
	}
	checkIDs(t, "ListSessions of the other user", sessionIDs(MustListSessions(t, s, other.ID, now)), []string{othersSess.ID})
}

// ListSessions/Empty: a user without sessions has none listed, and that is
// not an error.
func testListSessionsEmpty(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	other := MustCreateUser(t, s, NewUser("other@example.com"))
	MustCreateSession(t, s, NewSession(other.ID, at(0)))
	if ss := MustListSessions(t, s, u.ID, at(time.Hour)); len(ss) != 0 {
		t.Errorf("ListSessions: %q, want none", sessionIDs(ss))
	}
}

// TouchSession/OK: LastSeenAt, LastIP and LastUA change, nothing else does,
// and no event is appended.
func testTouchSession(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	sess := MustCreateSession(t, s, NewSession(u.ID, at(time.Minute)))
	other := MustCreateSession(t, s, NewSession(u.ID, at(time.Minute)))
	before := MustLastEventSeq(t, s)

	seen := at(5*time.Minute + 7)
	if err := s.TouchSession(t.Context(), sess.ID, seen, "198.51.100.9", "NewAgent/2.0"); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	want := *sess
	want.LastSeenAt, want.LastIP, want.LastUA = seen, "198.51.100.9", "NewAgent/2.0"
	checkSessionUnchanged(t, s, "touched session", &want)
	checkSessionUnchanged(t, s, "other session", other)
	checkNoEvents(t, s, before)
}

// TouchSession/Revoked: touching a revoked session changes nothing. The
// call may succeed or answer ErrNotFound.
func testTouchSessionRevoked(t *testing.T, s Store) {
	sess := createRevoked(t, s)
	err := s.TouchSession(t.Context(), sess.ID, at(2*time.Hour), "198.51.100.9", "NewAgent/2.0")
	if err != nil && !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("TouchSession of a revoked session: %v, want nil or ErrNotFound", err)
	}
	checkSessionUnchanged(t, s, "revoked session after TouchSession", sess)
}

// TouchSession/UnknownID: touching an unknown session creates nothing. The
// call may succeed or answer ErrNotFound.
func testTouchSessionUnknownID(t *testing.T, s Store) {
	id := secret.RandomID(16)
	err := s.TouchSession(t.Context(), id, at(time.Hour), "198.51.100.9", "NewAgent/2.0")
	if err != nil && !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("TouchSession of an unknown session: %v, want nil or ErrNotFound", err)
	}
	_, err = s.SessionByID(t.Context(), id)
	wantErr(t, "SessionByID after TouchSession of an unknown session", err, auth.ErrNotFound)
}

// RevokeSessions/OK: the listed sessions are revoked at the given time with
// the given cause, unknown IDs are ignored, the IDs revoked are returned and
// the events appended.
func testRevokeSessions(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	s1 := MustCreateSession(t, s, NewSession(u.ID, at(time.Minute)))
	s2 := MustCreateSession(t, s, NewSession(u.ID, at(2*time.Minute)))
	s3 := MustCreateSession(t, s, NewSession(u.ID, at(3*time.Minute)))
	when := at(time.Hour + 1)
	evs := []auth.Event{sessionRevoked(s1, when, auth.CauseSignedOut), sessionRevoked(s2, when, auth.CauseSignedOut)}
	before := MustLastEventSeq(t, s)

	got, err := s.RevokeSessions(t.Context(), []string{s1.ID, secret.RandomID(16), s2.ID}, when, auth.CauseSignedOut, evs...)
	if err != nil {
		t.Fatalf("RevokeSessions: %v", err)
	}
	checkIDs(t, "RevokeSessions returned (in any order)", sorted(got), sorted([]string{s1.ID, s2.ID}))
	for _, sess := range []*auth.Session{s1, s2} {
		want := *sess
		want.RevokedAt, want.RevokeCause = when, auth.CauseSignedOut
		checkSessionUnchanged(t, s, "revoked session", &want)
	}
	checkSessionUnchanged(t, s, "session not listed", s3)
	checkIDs(t, "ListSessions", sessionIDs(MustListSessions(t, s, u.ID, at(2*time.Hour))), []string{s3.ID})
	checkAppended(t, s, before, evs...)
}

// RevokeSessions/AlreadyRevoked: a revoked session keeps its first time and
// cause and is not returned again.
func testRevokeSessionsAlreadyRevoked(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	s1 := MustCreateSession(t, s, NewSession(u.ID, at(time.Minute)))
	s2 := MustCreateSession(t, s, NewSession(u.ID, at(2*time.Minute)))
	t1, t2, t3 := at(time.Hour), at(2*time.Hour), at(3*time.Hour)

	checkIDs(t, "first RevokeSessions", MustRevokeSessions(t, s, []string{s1.ID}, t1, auth.CauseLogout), []string{s1.ID})
	checkIDs(t, "second RevokeSessions", MustRevokeSessions(t, s, []string{s1.ID, s2.ID}, t2, auth.CauseAdmin), []string{s2.ID})
	if got := MustRevokeSessions(t, s, []string{s1.ID, s2.ID}, t3, auth.CauseReuse); len(got) != 0 {
		t.Errorf("third RevokeSessions of revoked sessions returned %q, want none", got)
	}
	w1, w2 := *s1, *s2
	w1.RevokedAt, w1.RevokeCause = t1, auth.CauseLogout
	w2.RevokedAt, w2.RevokeCause = t2, auth.CauseAdmin
	checkSessionUnchanged(t, s, "session revoked first", &w1)
	checkSessionUnchanged(t, s, "session revoked second", &w2)
}

// RevokeSessions/UnknownIDs: unknown IDs are no error and return nothing.
func testRevokeSessionsUnknownIDs(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	sess := MustCreateSession(t, s, NewSession(u.ID, at(time.Minute)))
	if got := MustRevokeSessions(t, s, []string{secret.RandomID(16), secret.RandomID(16)}, at(time.Hour), auth.CauseAdmin); len(got) != 0 {
		t.Errorf("RevokeSessions of unknown IDs returned %q, want none", got)
	}
	checkSessionUnchanged(t, s, "existing session", sess)
}

// RevokeSessions/Empty: no IDs, no error.
func testRevokeSessionsEmpty(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	sess := MustCreateSession(t, s, NewSession(u.ID, at(time.Minute)))
	for _, ids := range [][]string{nil, {}} {
		if got := MustRevokeSessions(t, s, ids, at(time.Hour), auth.CauseAdmin); len(got) != 0 {
			t.Errorf("RevokeSessions(%#v) returned %q, want none", ids, got)
		}
	}
	checkSessionUnchanged(t, s, "existing session", sess)
}

func sorted(ids []string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// sessionCase is a session made for DeleteSessionsBefore and whether it
// must be deleted.
type sessionCase struct {
	name    string
	sess    *auth.Session
	deleted bool
}

// checkDeleteSessionsBefore runs DeleteSessionsBefore(cutoff, idleBefore)
// and checks which of cases remain.
func checkDeleteSessionsBefore(tb testing.TB, s Store, cutoff, idleBefore time.Time, cases []sessionCase) {
	tb.Helper()
	before := MustLastEventSeq(tb, s)
	var want int64
	for _, c := range cases {
		if c.deleted {
			want++
		}
	}
	n, err := s.DeleteSessionsBefore(tb.Context(), cutoff, idleBefore)
	if err != nil {
		tb.Fatalf("DeleteSessionsBefore: %v", err)
	}
	if n != want {
		tb.Errorf("DeleteSessionsBefore returned %d, want %d", n, want)
	}
	for _, c := range cases {
		if c.deleted {
			checkGone(tb, s, c.name+": must be deleted", c.sess)
		} else {
			checkSessionUnchanged(tb, s, c.name+": must be kept", c.sess)
		}
	}
	checkNoEvents(tb, s, before)
}

// DeleteSessionsBefore/OK: sessions revoked or absolutely expired before t,
// or last seen before idleBefore, are deleted; the others are kept.
func testDeleteSessionsBefore(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	cutoff, idleBefore := at(10*time.Hour), at(2*time.Hour)
	mk := func(lastSeen, expires time.Time) *auth.Session {
		sess := NewSession(u.ID, at(0))
		sess.LastSeenAt, sess.ExpiresAt = lastSeen, expires
		return MustCreateSession(t, s, sess)
	}
	revoke := func(sess *auth.Session, when time.Time) {
		MustRevokeSessions(t, s, []string{sess.ID}, when, auth.CauseLogout)
		sess.RevokedAt, sess.RevokeCause = when, auth.CauseLogout
	}
	live := mk(at(3*time.Hour), at(20*time.Hour))
	revokedBefore := mk(at(3*time.Hour), at(20*time.Hour))
	revoke(revokedBefore, at(5*time.Hour))
	revokedAfter := mk(at(3*time.Hour), at(20*time.Hour))
	revoke(revokedAfter, at(11*time.Hour))
	expiredBefore := mk(at(3*time.Hour), at(8*time.Hour))
	expiresAfter := mk(at(3*time.Hour), at(12*time.Hour))
	idle := mk(at(time.Hour), at(20*time.Hour))
	touched := mk(at(time.Hour), at(20*time.Hour))
	if err := s.TouchSession(t.Context(), touched.ID, at(4*time.Hour), touched.LastIP, touched.LastUA); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	touched.LastSeenAt = at(4 * time.Hour)

	checkDeleteSessionsBefore(t, s, cutoff, idleBefore, []sessionCase{
		{"live session", live, false},
		{"session revoked before t", revokedBefore, true},
		{"session revoked after t", revokedAfter, false},
		{"session expired before t", expiredBefore, true},
		{"session expiring after t", expiresAfter, false},
		{"session last seen before idleBefore", idle, true},
		{"idle session touched since", touched, false},
	})
	checkUser(t, "the sessions' user", MustUserByID(t, s, u.ID), u)
}

// DeleteSessionsBefore/Boundaries: "before" is strict, to the nanosecond.
func testDeleteSessionsBeforeBoundaries(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	cutoff, idleBefore := at(10*time.Hour), at(2*time.Hour)
	mk := func(lastSeen, expires, revoked time.Time) *auth.Session {
		sess := NewSession(u.ID, at(0))
		sess.LastSeenAt, sess.ExpiresAt = lastSeen, expires
		MustCreateSession(t, s, sess)
		if !revoked.IsZero() {
			MustRevokeSessions(t, s, []string{sess.ID}, revoked, auth.CauseAdmin)
			sess.RevokedAt, sess.RevokeCause = revoked, auth.CauseAdmin
		}
		return sess
	}
	seen, expires := at(3*time.Hour), at(20*time.Hour)
	checkDeleteSessionsBefore(t, s, cutoff, idleBefore, []sessionCase{
		{"session revoked at t", mk(seen, expires, cutoff), false},
		{"session revoked 1ns before t", mk(seen, expires, cutoff.Add(-1)), true},
		{"session expiring at t", mk(seen, cutoff, time.Time{}), false},
		{"session expiring 1ns before t", mk(seen, cutoff.Add(-1), time.Time{}), true},
		{"session last seen at idleBefore", mk(idleBefore, expires, time.Time{}), false},
		{"session last seen 1ns before idleBefore", mk(idleBefore.Add(-1), expires, time.Time{}), true},
	})
}

// DeleteSessionsBefore/None: nothing to delete, count 0.
func testDeleteSessionsBeforeNone(t *testing.T, s Store) {
	if n, err := s.DeleteSessionsBefore(t.Context(), at(0), at(0)); err != nil || n != 0 {
		t.Errorf("DeleteSessionsBefore of an empty store = %d, %v; want 0, nil", n, err)
	}
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	sess := NewSession(u.ID, at(time.Hour))
	MustCreateSession(t, s, sess)
	checkDeleteSessionsBefore(t, s, at(time.Hour), at(time.Hour), []sessionCase{
		{"live session", sess, false},
	})
}
