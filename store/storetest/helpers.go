package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
)

// Base is the instant that the suite's times are offsets from. Its
// nanoseconds catch a store that rounds times to micro- or milliseconds.
var Base = time.Date(2026, 11, 1, 12, 0, 0, 123456789, time.UTC)

// at returns Base plus d.
func at(d time.Duration) time.Time { return Base.Add(d) }

// NewUserID returns a fresh user ID in the form the service uses (UUIDv7).
func NewUserID() string { return uuid.Must(uuid.NewV7()).String() }

// NewUser returns a user with a fresh ID, the given email, a password hash,
// two roles and CreatedAt and UpdatedAt at Base. It is not stored.
func NewUser(email string) *auth.User {
	return &auth.User{
		ID:           NewUserID(),
		Email:        email,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$" + secret.RandomID(16) + "$" + secret.RandomID(32),
		Roles:        []string{"viewer", "admin"},
		CreatedAt:    Base,
		UpdatedAt:    Base,
	}
}

// NewSession returns a session of userID created (and last seen) at created,
// with a fresh ID and secret hash, expiring 30 days later. It is not stored.
func NewSession(userID string, created time.Time) *auth.Session {
	return &auth.Session{
		ID:         secret.RandomID(16),
		SecretHash: secret.New().Hash(),
		UserID:     userID,
		CreatedAt:  created,
		LastSeenAt: created,
		ExpiresAt:  created.Add(30 * 24 * time.Hour),
		CreatedIP:  "192.0.2.1",
		CreatedUA:  "storetest/1.0",
		LastIP:     "192.0.2.1",
		LastUA:     "storetest/1.0",
	}
}

// MustCreateUser stores u with evs and returns it.
func MustCreateUser(tb testing.TB, s auth.UserStore, u *auth.User, evs ...auth.Event) *auth.User {
	tb.Helper()
	if err := s.CreateUser(tb.Context(), u, evs...); err != nil {
		tb.Fatalf("CreateUser(%s, %q): %v", u.ID, u.Email, err)
	}
	return u
}

// MustUpdateUser replaces the stored user with u, appending evs.
func MustUpdateUser(tb testing.TB, s auth.UserStore, u *auth.User, evs ...auth.Event) {
	tb.Helper()
	if err := s.UpdateUser(tb.Context(), u, evs...); err != nil {
		tb.Fatalf("UpdateUser(%s): %v", u.ID, err)
	}
}

// MustUserByID returns the stored user with the given ID.
func MustUserByID(tb testing.TB, s auth.UserStore, id string) *auth.User {
	tb.Helper()
	u, err := s.UserByID(tb.Context(), id)
	if err != nil {
		tb.Fatalf("UserByID(%s): %v", id, err)
	}
	return u
}

// MustListUsers returns ListUsers(f).
func MustListUsers(tb testing.TB, s auth.UserStore, f auth.UserFilter) []*auth.User {
	tb.Helper()
	us, err := s.ListUsers(tb.Context(), f)
	if err != nil {
		tb.Fatalf("ListUsers(%+v): %v", f, err)
	}
	return us
}

// MustCreateSession stores sess with evs and returns it.
func MustCreateSession(tb testing.TB, s auth.SessionStore, sess *auth.Session, evs ...auth.Event) *auth.Session {
	tb.Helper()
	if err := s.CreateSession(tb.Context(), sess, evs...); err != nil {
		tb.Fatalf("CreateSession(%s): %v", sess.ID, err)
	}
	return sess
}

// MustSessionByID returns the stored session with the given ID.
func MustSessionByID(tb testing.TB, s auth.SessionStore, id string) *auth.Session {
	tb.Helper()
	sess, err := s.SessionByID(tb.Context(), id)
	if err != nil {
		tb.Fatalf("SessionByID(%s): %v", id, err)
	}
	return sess
}

// MustListSessions returns ListSessions(userID, now).
func MustListSessions(tb testing.TB, s auth.SessionStore, userID string, now time.Time) []*auth.Session {
	tb.Helper()
	ss, err := s.ListSessions(tb.Context(), userID, now)
	if err != nil {
		tb.Fatalf("ListSessions(%s): %v", userID, err)
	}
	return ss
}

// MustRevokeSessions revokes ids at at with cause and returns the IDs revoked.
func MustRevokeSessions(tb testing.TB, s auth.SessionStore, ids []string, at time.Time, cause string, evs ...auth.Event) []string {
	tb.Helper()
	got, err := s.RevokeSessions(tb.Context(), ids, at, cause, evs...)
	if err != nil {
		tb.Fatalf("RevokeSessions(%v): %v", ids, err)
	}
	return got
}

// MustAppendEvents appends evs.
func MustAppendEvents(tb testing.TB, s auth.EventStore, evs ...auth.Event) {
	tb.Helper()
	if err := s.AppendEvents(tb.Context(), evs...); err != nil {
		tb.Fatalf("AppendEvents: %v", err)
	}
}

// MustEventsAfter returns every event with Seq > seq, reading in pages.
func MustEventsAfter(tb testing.TB, s auth.EventStore, seq int64) []auth.Event {
	tb.Helper()
	var all []auth.Event
	for {
		evs, err := s.EventsAfter(tb.Context(), seq, 1000)
		if err != nil {
			tb.Fatalf("EventsAfter(%d, 1000): %v", seq, err)
		}
		all = append(all, evs...)
		if len(evs) < 1000 {
			return all
		}
		seq = evs[len(evs)-1].Seq
	}
}

// MustLastEventSeq returns LastEventSeq.
func MustLastEventSeq(tb testing.TB, s auth.EventStore) int64 {
	tb.Helper()
	seq, err := s.LastEventSeq(tb.Context())
	if err != nil {
		tb.Fatalf("LastEventSeq: %v", err)
	}
	return seq
}

// wantErr fails t unless err matches target.
func wantErr(tb testing.TB, op string, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Fatalf("%s: err = %v, want %v", op, err, target)
	}
}

// checkUser reports every field in which got differs from want.
func checkUser(tb testing.TB, what string, got, want *auth.User) {
	tb.Helper()
	if got == nil {
		tb.Errorf("%s: nil user, want %s", what, want.ID)
		return
	}
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("Email", got.Email, want.Email)
	d.str("PasswordHash", got.PasswordHash, want.PasswordHash)
	d.strs("Roles", got.Roles, want.Roles)
	d.bool("Disabled", got.Disabled, want.Disabled)
	d.time("TokensValidAfter", got.TokensValidAfter, want.TokensValidAfter)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	d.report(tb, what+": user "+want.ID)
}

// checkSession reports every field in which got differs from want.
func checkSession(tb testing.TB, what string, got, want *auth.Session) {
	tb.Helper()
	if got == nil {
		tb.Errorf("%s: nil session, want %s", what, want.ID)
		return
	}
	var d diff
	d.str("ID", got.ID, want.ID)
	if got.SecretHash != want.SecretHash {
		d = append(d, fmt.Sprintf("SecretHash = %x, want %x", got.SecretHash, want.SecretHash))
	}
	d.str("UserID", got.UserID, want.UserID)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	d.time("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.str("CreatedIP", got.CreatedIP, want.CreatedIP)
	d.str("CreatedUA", got.CreatedUA, want.CreatedUA)
	d.str("LastIP", got.LastIP, want.LastIP)
	d.str("LastUA", got.LastUA, want.LastUA)
	d.time("RevokedAt", got.RevokedAt, want.RevokedAt)
	d.str("RevokeCause", got.RevokeCause, want.RevokeCause)
	d.report(tb, what+": session "+want.ID)
}

// checkSessionUnchanged reads the session back and compares it with want.
func checkSessionUnchanged(tb testing.TB, s auth.SessionStore, what string, want *auth.Session) {
	tb.Helper()
	got, err := s.SessionByID(tb.Context(), want.ID)
	if err != nil {
		tb.Errorf("%s: SessionByID(%s): %v", what, want.ID, err)
		return
	}
	checkSession(tb, what, got, want)
}

// checkGone fails unless the session is found neither by ID nor by hash.
func checkGone(tb testing.TB, s auth.SessionStore, what string, sess *auth.Session) {
	tb.Helper()
	if got, err := s.SessionByID(tb.Context(), sess.ID); !errors.Is(err, auth.ErrNotFound) {
		tb.Errorf("%s: SessionByID(%s) = %v, %v; want ErrNotFound", what, sess.ID, got != nil, err)
	}
	if got, err := s.SessionByHash(tb.Context(), sess.SecretHash); !errors.Is(err, auth.ErrNotFound) {
		tb.Errorf("%s: SessionByHash(%s's hash) = %v, %v; want ErrNotFound", what, sess.ID, got != nil, err)
	}
}

// diffEvent lists the fields in which got differs from want, Seq aside.
func diffEvent(got, want auth.Event) diff {
	var d diff
	d.str("Type", got.Type, want.Type)
	d.time("At", got.At, want.At)
	d.str("UserID", got.UserID, want.UserID)
	d.str("SessionID", got.SessionID, want.SessionID)
	if !maps.Equal(got.Data, want.Data) {
		d = append(d, fmt.Sprintf("Data = %v, want %v", got.Data, want.Data))
	}
	return d
}

// checkEvents compares events read from the log with want, Seq aside, and
// checks that their Seqs increase and are above after.
func checkEvents(tb testing.TB, what string, got []auth.Event, after int64, want []auth.Event) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Errorf("%s: got %d events %s, want %d %s", what, len(got), fmtEvents(got), len(want), fmtEvents(want))
		return
	}
	prev := after
	for i := range got {
		if got[i].Seq <= prev {
			tb.Errorf("%s: event %d has Seq %d, not above the previous %d", what, i, got[i].Seq, prev)
		}
		prev = got[i].Seq
		diffEvent(got[i], want[i]).report(tb, fmt.Sprintf("%s: event %d (Seq %d)", what, i, got[i].Seq))
	}
}

// checkAppended checks that exactly want was appended after seq before, in
// order, and that LastEventSeq is the last of them.
func checkAppended(tb testing.TB, s auth.EventStore, before int64, want ...auth.Event) {
	tb.Helper()
	got, err := s.EventsAfter(tb.Context(), before, len(want)+10)
	if err != nil {
		tb.Fatalf("EventsAfter(%d): %v", before, err)
	}
	checkEvents(tb, "appended events", got, before, want)
	last := MustLastEventSeq(tb, s)
	wantLast := before
	if len(got) > 0 {
		wantLast = got[len(got)-1].Seq
	}
	if last != wantLast {
		tb.Errorf("LastEventSeq = %d, want %d (the Seq of the last event)", last, wantLast)
	}
}

// checkNoEvents checks that nothing was appended after seq before: a call
// that failed, or that takes no events, appends none.
func checkNoEvents(tb testing.TB, s auth.EventStore, before int64) {
	tb.Helper()
	got, err := s.EventsAfter(tb.Context(), before, 10)
	if err != nil {
		tb.Fatalf("EventsAfter(%d): %v", before, err)
	}
	if len(got) > 0 {
		tb.Errorf("events appended: %s, want none", fmtEvents(got))
	}
	if last := MustLastEventSeq(tb, s); last != before {
		tb.Errorf("LastEventSeq = %d, want %d (unchanged)", last, before)
	}
}

func fmtEvents(evs []auth.Event) string {
	parts := make([]string, len(evs))
	for i, ev := range evs {
		parts[i] = fmt.Sprintf("{%d %s user=%q session=%q}", ev.Seq, ev.Type, ev.UserID, ev.SessionID)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// userIDs returns the IDs of us.
func userIDs(us []*auth.User) []string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids
}

// sessionIDs returns the IDs of ss.
func sessionIDs(ss []*auth.Session) []string {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	return ids
}

// checkIDs compares two lists of IDs, order included.
func checkIDs(tb testing.TB, what string, got, want []string) {
	tb.Helper()
	if !slices.Equal(got, want) {
		tb.Errorf("%s: IDs\n\tgot  %q\n\twant %q", what, got, want)
	}
}

// diff collects the differences between a got and a want value.
type diff []string

func (d *diff) str(name, got, want string) {
	if got != want {
		*d = append(*d, fmt.Sprintf("%s = %q, want %q", name, got, want))
	}
}

func (d *diff) bool(name string, got, want bool) {
	if got != want {
		*d = append(*d, fmt.Sprintf("%s = %v, want %v", name, got, want))
	}
}

// strs compares string slices; nil and empty are the same.
func (d *diff) strs(name string, got, want []string) {
	if !slices.Equal(got, want) {
		*d = append(*d, fmt.Sprintf("%s = %q, want %q", name, got, want))
	}
}

// time compares instants; location and monotonic reading do not count.
func (d *diff) time(name string, got, want time.Time) {
	if !got.Equal(want) {
		*d = append(*d, fmt.Sprintf("%s = %s, want %s", name, fmtTime(got), fmtTime(want)))
	}
}

func (d diff) report(tb testing.TB, what string) {
	tb.Helper()
	if len(d) > 0 {
		tb.Errorf("%s:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero time"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
