package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
)

func userCreated(u *auth.User) auth.Event {
	return auth.Event{Type: auth.EventUserCreated, At: u.CreatedAt, UserID: u.ID, Data: map[string]string{"email": u.Email}}
}

func userUpdated(u *auth.User, change string) auth.Event {
	return auth.Event{Type: auth.EventUserUpdated, At: u.UpdatedAt, UserID: u.ID, Data: map[string]string{"change": change}}
}

// CreateUser/OK: every field round-trips, by ID and by email, and the events
// are appended in order.
func testCreateUser(t *testing.T, s Store) {
	u := NewUser("alice@example.com")
	u.Roles = []string{"viewer", "admin", "ops"} // not sorted: kept as given
	u.Disabled = true
	u.TokensValidAfter = at(-time.Hour + 1)
	u.CreatedAt, u.UpdatedAt = at(1), at(2)
	evs := []auth.Event{
		userCreated(u),
		{Type: "storetest.second", At: at(3), UserID: u.ID, Data: map[string]string{"n": "2"}},
	}
	before := MustLastEventSeq(t, s)
	if err := s.CreateUser(t.Context(), u, evs...); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}

	got, err := s.UserByID(t.Context(), u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkUser(t, "UserByID", got, u)
	got, err = s.UserByEmail(t.Context(), u.Email)
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	checkUser(t, "UserByEmail", got, u)
	checkAppended(t, s, before, evs...)
}

// CreateUser/ErrConflictEmail: a taken email is refused, nothing is stored
// and no event is appended.
func testCreateUserErrConflictEmail(t *testing.T, s Store) {
	a := MustCreateUser(t, s, NewUser("taken@example.com"))
	before := MustLastEventSeq(t, s)

	b := NewUser("taken@example.com")
	err := s.CreateUser(t.Context(), b, userCreated(b))
	wantErr(t, "CreateUser with a taken email", err, auth.ErrConflict)

	_, err = s.UserByID(t.Context(), b.ID)
	wantErr(t, "UserByID of the refused user", err, auth.ErrNotFound)
	got, err := s.UserByEmail(t.Context(), a.Email)
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	checkUser(t, "UserByEmail after the conflict", got, a)
	checkNoEvents(t, s, before)
}

// CreateUser/ErrConflictID: a taken ID is refused.
func testCreateUserErrConflictID(t *testing.T, s Store) {
	a := MustCreateUser(t, s, NewUser("first@example.com"))
	before := MustLastEventSeq(t, s)

	b := NewUser("second@example.com")
	b.ID = a.ID
	err := s.CreateUser(t.Context(), b, userCreated(b))
	wantErr(t, "CreateUser with a taken ID", err, auth.ErrConflict)

	checkUser(t, "UserByID after the conflict", MustUserByID(t, s, a.ID), a)
	_, err = s.UserByEmail(t.Context(), b.Email)
	wantErr(t, "UserByEmail of the refused user", err, auth.ErrNotFound)
	checkNoEvents(t, s, before)
}

// CreateUser/EmptyRoles: nil and empty Roles come back empty.
func testCreateUserEmptyRoles(t *testing.T, s Store) {
	for i, roles := range [][]string{nil, {}} {
		u := NewUser(fmt.Sprintf("noroles%d@example.com", i))
		u.Roles = roles
		MustCreateUser(t, s, u)
		if got := MustUserByID(t, s, u.ID); len(got.Roles) != 0 {
			t.Errorf("Roles %#v stored: read back %q, want none", roles, got.Roles)
		}
	}
}

// CreateUser/ZeroTokensValidAfter: a zero time stays zero.
func testCreateUserZeroTokensValidAfter(t *testing.T, s Store) {
	u := NewUser("zero@example.com")
	u.TokensValidAfter = time.Time{}
	MustCreateUser(t, s, u)
	got := MustUserByID(t, s, u.ID)
	if !got.TokensValidAfter.IsZero() {
		t.Errorf("TokensValidAfter = %s, want the zero time", fmtTime(got.TokensValidAfter))
	}
	checkUser(t, "UserByID", got, u)
}

// CreateUser/TimeZone: times in another location are the same instants.
func testCreateUserTimeZone(t *testing.T, s Store) {
	loc := time.FixedZone("UTC+05:30", 5*3600+1800)
	u := NewUser("zone@example.com")
	u.CreatedAt = at(1).In(loc)
	u.UpdatedAt = at(2).In(loc)
	u.TokensValidAfter = at(3).In(loc)
	MustCreateUser(t, s, u)
	checkUser(t, "UserByID", MustUserByID(t, s, u.ID), u)
}

// CreateUser/NoAliasing: the store keeps a copy: changing the caller's user
// or a returned user afterwards changes nothing stored.
func testCreateUserNoAliasing(t *testing.T, s Store) {
	u := NewUser("copy@example.com")
	want := *u
	want.Roles = slices.Clone(u.Roles)
	MustCreateUser(t, s, u)
	u.Roles[0] = "changed-by-caller"
	u.Email = "changed@example.com"

	got := MustUserByID(t, s, want.ID)
	checkUser(t, "after changing the caller's user", got, &want)
	got.Roles[0] = "changed-by-reader"
	got.Disabled = true
	checkUser(t, "after changing a returned user", MustUserByID(t, s, want.ID), &want)
}

// UpdateUser/OK: every field is replaced; the old email is free and the new
// one finds the user.
func testUpdateUser(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("old@example.com"))
	nu := *u
	nu.Email = "new@example.com"
	nu.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA"
	nu.Roles = []string{"zeta", "alpha", "mid"} // not sorted: kept as given
	nu.Disabled = true
	nu.TokensValidAfter = at(time.Hour + 1)
	nu.UpdatedAt = at(time.Hour + 2)
	evs := []auth.Event{
		userUpdated(&nu, "everything"),
		{Type: auth.EventTokensInvalidated, At: nu.TokensValidAfter, UserID: u.ID, Data: map[string]string{"cause": "disabled"}},
	}
	before := MustLastEventSeq(t, s)
	MustUpdateUser(t, s, &nu, evs...)

	checkUser(t, "UserByID", MustUserByID(t, s, u.ID), &nu)
	got, err := s.UserByEmail(t.Context(), nu.Email)
	if err != nil {
		t.Fatalf("UserByEmail(new email): %v", err)
	}
	checkUser(t, "UserByEmail(new email)", got, &nu)
	_, err = s.UserByEmail(t.Context(), u.Email)
	wantErr(t, "UserByEmail(old email)", err, auth.ErrNotFound)
	checkAppended(t, s, before, evs...)
}

// UpdateUser/KeepEmail: an update that keeps the email does not conflict
// with the user itself.
func testUpdateUserKeepEmail(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("same@example.com"))
	MustCreateUser(t, s, NewUser("neighbour@example.com"))
	nu := *u
	nu.Roles = []string{"admin"}
	nu.UpdatedAt = at(time.Minute)
	MustUpdateUser(t, s, &nu, userUpdated(&nu, "roles_changed"))
	checkUser(t, "UserByID", MustUserByID(t, s, u.ID), &nu)
}

// UpdateUser/ClearFields: a field set back to its zero value is stored so.
func testUpdateUserClearFields(t *testing.T, s Store) {
	u := NewUser("clear@example.com")
	u.Disabled = true
	u.TokensValidAfter = at(time.Minute)
	MustCreateUser(t, s, u)
	nu := *u
	nu.Disabled = false
	nu.Roles = nil
	nu.UpdatedAt = at(2 * time.Minute)
	MustUpdateUser(t, s, &nu)
	got := MustUserByID(t, s, u.ID)
	if len(got.Roles) != 0 {
		t.Errorf("Roles = %q, want none", got.Roles)
	}
	checkUser(t, "UserByID", got, &nu)
}

// UpdateUser/WithoutEvents: a change may come with no event (the service
// upgrades password hashes so); none is appended.
func testUpdateUserWithoutEvents(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("rehash@example.com"))
	before := MustLastEventSeq(t, s)
	nu := *u
	nu.PasswordHash = "$argon2id$v=19$m=65536,t=4,p=4$cmVoYXNo$cmVoYXNoZWQ"
	MustUpdateUser(t, s, &nu)
	checkUser(t, "UserByID", MustUserByID(t, s, u.ID), &nu)
	checkNoEvents(t, s, before)
}

// UpdateUser/ErrConflictEmail: moving to a taken email is refused and
// changes neither user; no event is appended.
func testUpdateUserErrConflictEmail(t *testing.T, s Store) {
	a := MustCreateUser(t, s, NewUser("a@example.com"))
	b := MustCreateUser(t, s, NewUser("b@example.com"))
	before := MustLastEventSeq(t, s)

	nb := *b
	nb.Email = a.Email
	nb.Roles = []string{"changed"}
	nb.UpdatedAt = at(time.Minute)
	err := s.UpdateUser(t.Context(), &nb, userUpdated(&nb, "email"))
	wantErr(t, "UpdateUser to a taken email", err, auth.ErrConflict)

	checkUser(t, "user that was to change", MustUserByID(t, s, b.ID), b)
	checkUser(t, "owner of the email", MustUserByID(t, s, a.ID), a)
	got, err := s.UserByEmail(t.Context(), a.Email)
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	checkUser(t, "UserByEmail(taken email)", got, a)
	checkNoEvents(t, s, before)
}

// UpdateUser/ErrConflictKeepsSessions: an update that advances
// TokensValidAfter but fails revokes no session: the revocation is part of
// the same transaction.
func testUpdateUserErrConflictKeepsSessions(t *testing.T, s Store) {
	a := MustCreateUser(t, s, NewUser("a@example.com"))
	b := MustCreateUser(t, s, NewUser("b@example.com"))
	sess := MustCreateSession(t, s, NewSession(b.ID, at(time.Minute)))
	before := MustLastEventSeq(t, s)

	nb := *b
	nb.Email = a.Email
	nb.TokensValidAfter = at(2 * time.Minute)
	err := s.UpdateUser(t.Context(), &nb, userUpdated(&nb, "email"),
		auth.Event{Type: auth.EventTokensInvalidated, At: nb.TokensValidAfter, UserID: b.ID})
	wantErr(t, "UpdateUser to a taken email", err, auth.ErrConflict)

	checkSessionUnchanged(t, s, "session of the user that was to change", sess)
	checkUser(t, "user that was to change", MustUserByID(t, s, b.ID), b)
	checkNoEvents(t, s, before)
}

// UpdateUser/ErrNotFound: an unknown ID is refused, nothing is created and
// no event is appended.
func testUpdateUserErrNotFound(t *testing.T, s Store) {
	MustCreateUser(t, s, NewUser("someone@example.com"))
	before := MustLastEventSeq(t, s)
	u := NewUser("ghost@example.com")
	err := s.UpdateUser(t.Context(), u, userUpdated(u, "roles_changed"))
	wantErr(t, "UpdateUser of an unknown user", err, auth.ErrNotFound)

	_, err = s.UserByID(t.Context(), u.ID)
	wantErr(t, "UserByID after the failed update", err, auth.ErrNotFound)
	_, err = s.UserByEmail(t.Context(), u.Email)
	wantErr(t, "UserByEmail after the failed update", err, auth.ErrNotFound)
	checkNoEvents(t, s, before)
}

// UpdateUser/InvalidatesSessions: advancing TokensValidAfter revokes the
// user's sessions created before it with CauseInvalidated, and no other.
func testUpdateUserInvalidatesSessions(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	other := MustCreateUser(t, s, NewUser("other@example.com"))
	tva := at(2 * time.Minute)

	revoked := MustCreateSession(t, s, NewSession(u.ID, at(0)))
	MustRevokeSessions(t, s, []string{revoked.ID}, at(30*time.Second), auth.CauseLogout)
	revoked.RevokedAt, revoked.RevokeCause = at(30*time.Second), auth.CauseLogout
	old := MustCreateSession(t, s, NewSession(u.ID, at(time.Minute)))
	justBefore := MustCreateSession(t, s, NewSession(u.ID, tva.Add(-1)))
	atTVA := MustCreateSession(t, s, NewSession(u.ID, tva))
	newer := MustCreateSession(t, s, NewSession(u.ID, at(3*time.Minute)))
	others := MustCreateSession(t, s, NewSession(other.ID, at(time.Minute)))

	nu := *u
	nu.TokensValidAfter = tva
	nu.UpdatedAt = tva
	evs := []auth.Event{
		userUpdated(&nu, "signed_out_everywhere"),
		{Type: auth.EventTokensInvalidated, At: tva, UserID: u.ID, Data: map[string]string{"cause": "signed_out_everywhere"}},
	}
	before := MustLastEventSeq(t, s)
	MustUpdateUser(t, s, &nu, evs...)

	for _, sess := range []*auth.Session{old, justBefore} {
		got := MustSessionByID(t, s, sess.ID)
		if !got.Revoked() {
			t.Errorf("session created at %s, before TokensValidAfter %s: not revoked", fmtTime(sess.CreatedAt), fmtTime(tva))
			continue
		}
		want := *sess
		want.RevokedAt, want.RevokeCause = got.RevokedAt, auth.CauseInvalidated
		checkSession(t, "session created before TokensValidAfter", got, &want)
	}
	checkSessionUnchanged(t, s, "session revoked before (keeps its own time and cause)", revoked)
	checkSessionUnchanged(t, s, "session created at TokensValidAfter", atTVA)
	checkSessionUnchanged(t, s, "session created after TokensValidAfter", newer)
	checkSessionUnchanged(t, s, "another user's session", others)
	checkIDs(t, "ListSessions after the update", sessionIDs(MustListSessions(t, s, u.ID, at(4*time.Minute))), []string{newer.ID, atTVA.ID})
	checkUser(t, "UserByID", MustUserByID(t, s, u.ID), &nu)
	checkAppended(t, s, before, evs...)
}

// UpdateUser/NotAdvancingKeepsSessions: only a TokensValidAfter later than
// the stored one revokes; the same or an earlier one leaves sessions alone
// (and is stored as given).
func testUpdateUserNotAdvancingKeepsSessions(t *testing.T, s Store) {
	u := NewUser("user@example.com")
	u.TokensValidAfter = at(10 * time.Minute)
	MustCreateUser(t, s, u)
	// Created before TokensValidAfter, yet live: stores revoke only when
	// TokensValidAfter moves, not when a session is created.
	sess := MustCreateSession(t, s, NewSession(u.ID, at(time.Minute)))

	nu := *u
	nu.Roles = []string{"viewer", "admin", "extra"}
	nu.UpdatedAt = at(11 * time.Minute)
	MustUpdateUser(t, s, &nu, userUpdated(&nu, "roles_changed"))
	checkSessionUnchanged(t, s, "after an update with the same TokensValidAfter", sess)
	checkUser(t, "UserByID", MustUserByID(t, s, u.ID), &nu)

	nu.TokensValidAfter = at(5 * time.Minute)
	nu.UpdatedAt = at(12 * time.Minute)
	MustUpdateUser(t, s, &nu, userUpdated(&nu, "clock_step"))
	checkSessionUnchanged(t, s, "after an update with an earlier TokensValidAfter", sess)
	checkUser(t, "UserByID", MustUserByID(t, s, u.ID), &nu)
}

// DeleteUser/OK: the user and all its sessions go; other users' stay; the
// log keeps the user's earlier events.
func testDeleteUser(t *testing.T, s Store) {
	start := MustLastEventSeq(t, s)
	u := NewUser("leaving@example.com")
	created := userCreated(u)
	MustCreateUser(t, s, u, created)
	other := MustCreateUser(t, s, NewUser("staying@example.com"))
	live := MustCreateSession(t, s, NewSession(u.ID, at(time.Minute)))
	revoked := MustCreateSession(t, s, NewSession(u.ID, at(2*time.Minute)))
	MustRevokeSessions(t, s, []string{revoked.ID}, at(3*time.Minute), auth.CauseLogout)
	others := MustCreateSession(t, s, NewSession(other.ID, at(time.Minute)))

	deleted := auth.Event{Type: auth.EventUserDeleted, At: at(time.Hour), UserID: u.ID}
	before := MustLastEventSeq(t, s)
	if err := s.DeleteUser(t.Context(), u.ID, deleted); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}

	_, err := s.UserByID(t.Context(), u.ID)
	wantErr(t, "UserByID of the deleted user", err, auth.ErrNotFound)
	_, err = s.UserByEmail(t.Context(), u.Email)
	wantErr(t, "UserByEmail of the deleted user", err, auth.ErrNotFound)
	checkGone(t, s, "live session of the deleted user", live)
	checkGone(t, s, "revoked session of the deleted user", revoked)
	if ss := MustListSessions(t, s, u.ID, at(0)); len(ss) != 0 {
		t.Errorf("ListSessions of the deleted user: %q, want none", sessionIDs(ss))
	}
	checkUser(t, "other user", MustUserByID(t, s, other.ID), other)
	checkSessionUnchanged(t, s, "other user's session", others)
	checkAppended(t, s, before, deleted)
	checkEvents(t, "the whole log", MustEventsAfter(t, s, start), start, []auth.Event{created, deleted})
}

// DeleteUser/FreesEmail: the email of a deleted user can be used again.
func testDeleteUserFreesEmail(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("reused@example.com"))
	if err := s.DeleteUser(t.Context(), u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	v := MustCreateUser(t, s, NewUser(u.Email))
	got, err := s.UserByEmail(t.Context(), u.Email)
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	checkUser(t, "UserByEmail", got, v)
}

// DeleteUser/ErrNotFound: an unknown ID is refused and appends no event.
func testDeleteUserErrNotFound(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("someone@example.com"))
	before := MustLastEventSeq(t, s)
	id := NewUserID()
	err := s.DeleteUser(t.Context(), id, auth.Event{Type: auth.EventUserDeleted, At: at(time.Hour), UserID: id})
	wantErr(t, "DeleteUser of an unknown user", err, auth.ErrNotFound)
	checkUser(t, "existing user", MustUserByID(t, s, u.ID), u)
	checkNoEvents(t, s, before)
}

// UserByID/OK: each user is found by its own ID.
func testUserByID(t *testing.T, s Store) {
	us := createUsers(t, s, 3, "user%d@example.com")
	for _, u := range us {
		checkUser(t, "UserByID", MustUserByID(t, s, u.ID), u)
	}
}

func testUserByIDErrNotFound(t *testing.T, s Store) {
	MustCreateUser(t, s, NewUser("someone@example.com"))
	_, err := s.UserByID(t.Context(), NewUserID())
	wantErr(t, "UserByID of an unknown ID", err, auth.ErrNotFound)
}

// UserByEmail/OK: each user is found by its own email.
func testUserByEmail(t *testing.T, s Store) {
	us := createUsers(t, s, 3, "user%d@example.com")
	for _, u := range us {
		got, err := s.UserByEmail(t.Context(), u.Email)
		if err != nil {
			t.Fatalf("UserByEmail(%q): %v", u.Email, err)
		}
		checkUser(t, "UserByEmail", got, u)
	}
}

func testUserByEmailErrNotFound(t *testing.T, s Store) {
	MustCreateUser(t, s, NewUser("someone@example.com"))
	for _, email := range []string{"nobody@example.com", "someone@example.co", "omeone@example.com"} {
		_, err := s.UserByEmail(t.Context(), email)
		wantErr(t, fmt.Sprintf("UserByEmail(%q)", email), err, auth.ErrNotFound)
	}
}

// createUsers stores n users with emails from format and index, creating
// them in an order other than their IDs' (the last first, then the rest), and
// returns them sorted by ID.
func createUsers(tb testing.TB, s auth.UserStore, n int, format string) []*auth.User {
	tb.Helper()
	us := make([]*auth.User, n)
	for i := range us {
		us[i] = NewUser(fmt.Sprintf(format, i))
	}
	slices.SortFunc(us, func(a, b *auth.User) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	for i := range us {
		MustCreateUser(tb, s, us[(i+n-1)%n])
	}
	return us
}

func testListUsersEmpty(t *testing.T, s Store) {
	if us := MustListUsers(t, s, auth.UserFilter{}); len(us) != 0 {
		t.Errorf("ListUsers of an empty store: %q, want none", userIDs(us))
	}
}

// ListUsers/OrderByID: users come ordered by ID, whatever the order of
// creation, with every field.
func testListUsersOrderByID(t *testing.T, s Store) {
	want := createUsers(t, s, 5, "user%d@example.com")
	got := MustListUsers(t, s, auth.UserFilter{})
	checkIDs(t, "ListUsers", userIDs(got), userIDs(want))
	if len(got) == len(want) {
		for i := range got {
			checkUser(t, "ListUsers", got[i], want[i])
		}
	}
}

// ListUsers/Paging: After and Limit walk the users page by page.
func testListUsersPaging(t *testing.T, s Store) {
	want := createUsers(t, s, 7, "user%d@example.com")
	var all []string
	after := ""
	for page := 0; ; page++ {
		if page > len(want) {
			t.Fatalf("paging does not end: %d pages", page)
		}
		got := MustListUsers(t, s, auth.UserFilter{After: after, Limit: 3})
		if len(got) > 3 {
			t.Fatalf("page %d: %d users, want at most Limit 3", page, len(got))
		}
		if len(got) == 0 {
			break
		}
		all = append(all, userIDs(got)...)
		after = got[len(got)-1].ID
	}
	checkIDs(t, "pages of 3", all, userIDs(want))
	checkIDs(t, "ListUsers(After: ID of the second user, Limit: 2)",
		userIDs(MustListUsers(t, s, auth.UserFilter{After: want[1].ID, Limit: 2})), userIDs(want[2:4]))
	checkIDs(t, "ListUsers(After: ID of the last user)",
		userIDs(MustListUsers(t, s, auth.UserFilter{After: want[6].ID})), nil)
}

// ListUsers/AfterDeletedID: paging goes on after a user deleted in between.
func testListUsersAfterDeletedID(t *testing.T, s Store) {
	want := createUsers(t, s, 5, "user%d@example.com")
	if err := s.DeleteUser(t.Context(), want[2].ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	checkIDs(t, "ListUsers(After: ID of a deleted user)",
		userIDs(MustListUsers(t, s, auth.UserFilter{After: want[2].ID})), userIDs(want[3:]))
}

// ListUsers/DefaultLimit: Limit 0 means 100.
func testListUsersDefaultLimit(t *testing.T, s Store) {
	want := createUsers(t, s, 101, "user%03d@example.com")
	checkIDs(t, "ListUsers(Limit: 0)", userIDs(MustListUsers(t, s, auth.UserFilter{})), userIDs(want[:100]))
}

// ListUsers/Search: only users whose email contains Search, by ID.
func testListUsersSearch(t *testing.T, s Store) {
	us := createUsers(t, s, 4, "user%d@example.com")
	emails := []string{"alice@example.com", "bob@example.org", "carol@example.com", "alice.b@other.net"}
	for i, u := range us {
		nu := *u
		nu.Email = emails[i]
		MustUpdateUser(t, s, &nu)
		us[i] = &nu
	}
	for _, tc := range []struct {
		search string
		want   []*auth.User
	}{
		{"example.com", []*auth.User{us[0], us[2]}},
		{"alice", []*auth.User{us[0], us[3]}},
		{"bob@example.org", []*auth.User{us[1]}},
		{"@", us},
		{"e.c", []*auth.User{us[0], us[2]}},
		{"mallory", nil},
	} {
		got := MustListUsers(t, s, auth.UserFilter{Search: tc.search})
		checkIDs(t, fmt.Sprintf("ListUsers(Search: %q)", tc.search), userIDs(got), userIDs(tc.want))
		if len(got) == len(tc.want) {
			for i := range got {
				checkUser(t, "ListUsers", got[i], tc.want[i])
			}
		}
	}
}

// ListUsers/SearchPaging: Limit and After apply to the matching users.
func testListUsersSearchPaging(t *testing.T, s Store) {
	us := createUsers(t, s, 6, "user%d@example.com")
	var match []*auth.User
	for i, u := range us {
		if i%2 == 1 {
			nu := *u
			nu.Email = fmt.Sprintf("user%d@example.org", i)
			MustUpdateUser(t, s, &nu)
			continue
		}
		match = append(match, u) // user0, user2, user4 @example.com, by ID
	}
	f := auth.UserFilter{Search: "example.com", Limit: 2}
	checkIDs(t, "first page", userIDs(MustListUsers(t, s, f)), userIDs(match[:2]))
	f.After = match[1].ID
	checkIDs(t, "second page", userIDs(MustListUsers(t, s, f)), userIDs(match[2:]))
	f.After = us[1].ID // a user that does not match
	checkIDs(t, "after a non-matching user", userIDs(MustListUsers(t, s, f)), userIDs(match[1:]))
}

// ListUsers/SearchLiteral: Search is a plain substring: LIKE wildcards and
// escapes in it match only themselves.
func testListUsersSearchLiteral(t *testing.T, s Store) {
	us := createUsers(t, s, 5, "user%d@example.com")
	emails := []string{"a_b@example.com", "axb@example.com", "a%b@example.com", `a\b@example.com`, "ab@example.com"}
	for i, u := range us {
		nu := *u
		nu.Email = emails[i]
		MustUpdateUser(t, s, &nu)
	}
	for _, tc := range []struct {
		search string
		want   []*auth.User
	}{
		{"_", us[0:1]},
		{"a_b", us[0:1]},
		{"%", us[2:3]},
		{"a%b", us[2:3]},
		{`\`, us[3:4]},
		{`a\b`, us[3:4]},
		{"[", nil},
		{"*", nil},
	} {
		checkIDs(t, fmt.Sprintf("ListUsers(Search: %q)", tc.search),
			userIDs(MustListUsers(t, s, auth.UserFilter{Search: tc.search})), userIDs(tc.want))
	}
}
