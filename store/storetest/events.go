package storetest

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
)

// AppendEvents/OK: the events are appended in order with every field;
// events need no stored user or session (a failed login of an unknown
// email, the events of a deleted user).
func testAppendEvents(t *testing.T, s Store) {
	u := MustCreateUser(t, s, NewUser("user@example.com"))
	before := MustLastEventSeq(t, s)
	evs := []auth.Event{
		{Type: auth.EventLoginFailed, At: at(1), Data: map[string]string{"email": "nobody@example.com", "ip": "192.0.2.9"}},
		{Type: auth.EventSessionRevoked, At: at(2).In(time.FixedZone("UTC+09:00", 9*3600)), UserID: u.ID, SessionID: secret.RandomID(16), Data: map[string]string{"cause": auth.CauseLogout}},
		{Type: auth.EventUserDeleted, At: at(time.Hour + 3), UserID: NewUserID()},
	}
	MustAppendEvents(t, s, evs...)
	checkAppended(t, s, before, evs...)

	before = MustLastEventSeq(t, s)
	more := auth.Event{Type: "key.rotated", At: at(2 * time.Hour), Data: map[string]string{"kid": "k2"}}
	MustAppendEvents(t, s, more)
	checkAppended(t, s, before, more)
}

// AppendEvents/Data: Data round-trips whatever strings it holds; a nil or
// empty map comes back empty.
func testAppendEventsData(t *testing.T, s Store) {
	evs := []auth.Event{
		{Type: "storetest.nil", At: at(1)},
		{Type: "storetest.empty", At: at(2), Data: map[string]string{}},
		{Type: "storetest.strings", At: at(3), Data: map[string]string{
			"quotes":    `"double" 'single' \back\`,
			"newline":   "a\nb\r\nc\td",
			"unicode":   "ünïcødé ✓ 日本語 🔑",
			"empty":     "",
			"json":      `{"a":[1,2],"b":null}`,
			"key.with ": "dots and spaces",
			"sql":       "'; DROP TABLE events; --",
		}},
	}
	before := MustLastEventSeq(t, s)
	MustAppendEvents(t, s, evs...)
	checkAppended(t, s, before, evs...)
}

// AppendEvents/None: appending no events is no error and appends nothing.
func testAppendEventsNone(t *testing.T, s Store) {
	before := MustLastEventSeq(t, s)
	if err := s.AppendEvents(t.Context()); err != nil {
		t.Fatalf("AppendEvents(): %v", err)
	}
	checkNoEvents(t, s, before)
}

// EventsAfter/Empty: an empty log has no events after any Seq.
func testEventsAfterEmpty(t *testing.T, s Store) {
	for _, seq := range []int64{0, 1, 1000} {
		evs, err := s.EventsAfter(t.Context(), seq, 10)
		if err != nil {
			t.Fatalf("EventsAfter(%d, 10) of an empty log: %v", seq, err)
		}
		if len(evs) != 0 {
			t.Errorf("EventsAfter(%d, 10) of an empty log: %s, want none", seq, fmtEvents(evs))
		}
	}
}

// EventsAfter/Paging: Seq and limit page through the log in order.
func testEventsAfterPaging(t *testing.T, s Store) {
	var want []auth.Event
	for i := range 5 {
		ev := auth.Event{Type: "storetest.page", At: at(time.Duration(i)), Data: map[string]string{"i": strconv.Itoa(i)}}
		MustAppendEvents(t, s, ev)
		want = append(want, ev)
	}
	all := MustEventsAfter(t, s, 0)
	checkEvents(t, "EventsAfter(0)", all, 0, want)
	if len(all) != len(want) {
		return
	}

	read := func(seq int64, limit int) []auth.Event {
		t.Helper()
		evs, err := s.EventsAfter(t.Context(), seq, limit)
		if err != nil {
			t.Fatalf("EventsAfter(%d, %d): %v", seq, limit, err)
		}
		return evs
	}
	var paged []auth.Event
	seq := int64(0)
	for page := 0; ; page++ {
		if page > len(all) {
			t.Fatalf("paging does not end: %d pages", page)
		}
		evs := read(seq, 2)
		if len(evs) > 2 {
			t.Fatalf("EventsAfter(%d, 2) returned %d events, want at most 2", seq, len(evs))
		}
		if len(evs) == 0 {
			break
		}
		paged = append(paged, evs...)
		seq = evs[len(evs)-1].Seq
	}
	checkSameEvents(t, "pages of 2", paged, all)
	checkSameEvents(t, "EventsAfter(Seq of the first, 10)", read(all[0].Seq, 10), all[1:])
	checkSameEvents(t, "EventsAfter(Seq of the third, 1)", read(all[2].Seq, 1), all[3:4])
	checkSameEvents(t, "EventsAfter(Seq of the last, 10)", read(all[4].Seq, 10), nil)
}

// checkSameEvents compares events read twice from the log, Seq included.
func checkSameEvents(tb testing.TB, what string, got, want []auth.Event) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Errorf("%s: %s, want %s", what, fmtEvents(got), fmtEvents(want))
		return
	}
	for i := range got {
		d := diffEvent(got[i], want[i])
		if got[i].Seq != want[i].Seq {
			d = append(d, fmt.Sprintf("Seq = %d, want %d", got[i].Seq, want[i].Seq))
		}
		d.report(tb, fmt.Sprintf("%s: event %d", what, i))
	}
}

// LastEventSeq/Empty: 0 for an empty log.
func testLastEventSeqEmpty(t *testing.T, s Store) {
	if seq := MustLastEventSeq(t, s); seq != 0 {
		t.Errorf("LastEventSeq of an empty log = %d, want 0", seq)
	}
}

// LastEventSeq/OK: the Seq of the last event, whichever method appended it.
func testLastEventSeq(t *testing.T, s Store) {
	check := func(what string) {
		t.Helper()
		all := MustEventsAfter(t, s, 0)
		if len(all) == 0 {
			t.Fatalf("%s: no events in the log", what)
		}
		if got, want := MustLastEventSeq(t, s), all[len(all)-1].Seq; got != want {
			t.Errorf("%s: LastEventSeq = %d, want %d", what, got, want)
		}
	}
	MustAppendEvents(t, s, auth.Event{Type: "storetest.a", At: at(1)}, auth.Event{Type: "storetest.b", At: at(2)})
	check("after AppendEvents")
	u := NewUser("user@example.com")
	MustCreateUser(t, s, u, userCreated(u))
	check("after CreateUser")
	sess := NewSession(u.ID, at(time.Minute))
	MustCreateSession(t, s, sess, loginSucceeded(sess))
	check("after CreateSession")
}

// Concurrency/Writers: 16 goroutines create users and sessions and append
// events at once. No call fails (the store serialises its own writes), every
// event is there once, Seqs strictly increase, and each writer's events are
// in the order it wrote them.
func testConcurrentWriters(t *testing.T, s Store) {
	const workers, rounds = 16, 5
	users := make([]*auth.User, workers)
	sessions := make([][]string, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			ctx := t.Context()
			u := NewUser(fmt.Sprintf("worker%02d@example.com", w))
			n := 0
			ev := func(typ, sid string) auth.Event {
				e := auth.Event{Type: typ, At: at(time.Duration(n)), UserID: u.ID, SessionID: sid,
					Data: map[string]string{"worker": strconv.Itoa(w), "n": strconv.Itoa(n)}}
				n++
				return e
			}
			if err := s.CreateUser(ctx, u, ev(auth.EventUserCreated, "")); err != nil {
				t.Errorf("writer %d: CreateUser: %v", w, err)
				return
			}
			users[w] = u
			for r := range rounds {
				sess := NewSession(u.ID, at(time.Duration(r)*time.Minute))
				if err := s.CreateSession(ctx, sess, ev(auth.EventLoginSucceeded, sess.ID)); err != nil {
					t.Errorf("writer %d: CreateSession: %v", w, err)
					return
				}
				sessions[w] = append(sessions[w], sess.ID)
				if err := s.AppendEvents(ctx, ev("storetest.a", sess.ID), ev("storetest.b", sess.ID)); err != nil {
					t.Errorf("writer %d: AppendEvents: %v", w, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}

	evs := MustEventsAfter(t, s, 0)
	if want := workers * (1 + 3*rounds); len(evs) != want {
		t.Errorf("%d events in the log, want %d", len(evs), want)
	}
	next := make(map[string]int) // worker → the n its next event must carry
	var prev int64
	for i, ev := range evs {
		if ev.Seq <= prev {
			t.Errorf("event %d has Seq %d, not above the previous %d", i, ev.Seq, prev)
		}
		prev = ev.Seq
		w, n := ev.Data["worker"], ev.Data["n"]
		if n != strconv.Itoa(next[w]) {
			t.Errorf("event %d (Seq %d): writer %s's event %s, want its event %d", i, ev.Seq, w, n, next[w])
		}
		next[w]++
	}
	if len(evs) > 0 {
		if last := MustLastEventSeq(t, s); last != prev {
			t.Errorf("LastEventSeq = %d, want %d", last, prev)
		}
	}
	for w, u := range users {
		checkIDs(t, fmt.Sprintf("writer %d's sessions (ListSessions, sorted)", w),
			sorted(sessionIDs(MustListSessions(t, s, u.ID, at(0)))), sorted(sessions[w]))
	}
	if got := MustListUsers(t, s, auth.UserFilter{}); len(got) != workers {
		t.Errorf("ListUsers: %d users, want %d", len(got), workers)
	}
}

// Concurrency/TailSeesEveryEvent: a reader that tails the log with
// EventsAfter while writers append sees every event. It fails when a store
// hands out Seqs in an order other than the one its events become visible
// in (such as a sequence read before a transaction commits): the reader
// moves past a Seq whose event appears later, and misses it for good.
func testConcurrentTail(t *testing.T, s Store) {
	const writers, appends = 8, 25
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			for n := range appends {
				ev := auth.Event{Type: "storetest.tail", At: at(time.Duration(n)),
					Data: map[string]string{"worker": strconv.Itoa(w), "n": strconv.Itoa(n)}}
				if err := s.AppendEvents(t.Context(), ev); err != nil {
					t.Errorf("writer %d: AppendEvents: %v", w, err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := make(map[string]bool)
	var last int64
	read := func() (int, error) {
		evs, err := s.EventsAfter(t.Context(), last, 50)
		for _, ev := range evs {
			if ev.Seq <= last {
				t.Errorf("EventsAfter(%d) returned Seq %d", last, ev.Seq)
			}
			key := ev.Data["worker"] + "/" + ev.Data["n"]
			if seen[key] {
				t.Errorf("event %s seen twice", key)
			}
			seen[key] = true
			last = ev.Seq
		}
		return len(evs), err
	}
	close(start)
	var readErr error
tail:
	for {
		select {
		case <-done:
			break tail
		default:
		}
		if _, err := read(); err != nil && readErr == nil {
			readErr = err
		}
	}
	if readErr != nil {
		t.Fatalf("EventsAfter while writers append: %v", readErr)
	}
	if t.Failed() {
		return
	}
	for {
		n, err := read()
		if err != nil {
			t.Fatalf("EventsAfter: %v", err)
		}
		if n == 0 {
			break
		}
	}
	total := writers * appends
	if stored := len(MustEventsAfter(t, s, 0)); stored != total {
		t.Fatalf("%d events in the log, want %d", stored, total)
	}
	if len(seen) != total {
		t.Errorf("a reader tailing the log saw %d of %d events: Seqs became visible out of order", len(seen), total)
	}
}

// SeqBefore/Empty: 0 for an empty log.
func testSeqBeforeEmpty(t *testing.T, s Store) {
	seq, err := s.SeqBefore(t.Context(), at(time.Hour))
	if err != nil || seq != 0 {
		t.Errorf("SeqBefore of an empty log = %d, %v; want 0, nil", seq, err)
	}
}

// seqBefore returns SeqBefore(t).
func seqBefore(tb testing.TB, s auth.EventStore, t time.Time) int64 {
	tb.Helper()
	seq, err := s.SeqBefore(tb.Context(), t)
	if err != nil {
		tb.Fatalf("SeqBefore(%s): %v", fmtTime(t), err)
	}
	return seq
}

// appendAt appends one event per time and returns them as read back.
func appendAt(tb testing.TB, s auth.EventStore, times ...time.Time) []auth.Event {
	tb.Helper()
	before := MustLastEventSeq(tb, s)
	for i, at := range times {
		MustAppendEvents(tb, s, auth.Event{Type: "storetest.at", At: at, Data: map[string]string{"i": strconv.Itoa(i)}})
	}
	evs := MustEventsAfter(tb, s, before)
	if len(evs) != len(times) {
		tb.Fatalf("appended %d events, read back %s", len(times), fmtEvents(evs))
	}
	return evs
}

// SeqBefore/OK: the highest Seq of the events whose At is strictly before t,
// to the nanosecond; 0 when none is.
func testSeqBefore(t *testing.T, s Store) {
	evs := appendAt(t, s, at(time.Hour), at(2*time.Hour), at(3*time.Hour))
	for _, tc := range []struct {
		t    time.Time
		want int64
		what string
	}{
		{at(0), 0, "before every event"},
		{at(time.Hour), 0, "At of the first event"},
		{at(time.Hour).Add(1), evs[0].Seq, "1ns after the first event"},
		{at(2 * time.Hour), evs[0].Seq, "At of the second event"},
		{at(2 * time.Hour).Add(1), evs[1].Seq, "1ns after the second event"},
		{at(100 * time.Hour), evs[2].Seq, "after every event"},
	} {
		if got := seqBefore(t, s, tc.t); got != tc.want {
			t.Errorf("SeqBefore(%s, %s) = %d, want %d", fmtTime(tc.t), tc.what, got, tc.want)
		}
	}
}

// SeqBefore/AtOutOfOrder: At need not grow with Seq (a clock step, writers
// on several nodes): SeqBefore is the highest Seq among the events before t,
// not the Seq at which At first reaches t.
func testSeqBeforeAtOutOfOrder(t *testing.T, s Store) {
	evs := appendAt(t, s, at(3*time.Hour), at(time.Hour), at(2*time.Hour))
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{at(30 * time.Minute), 0},
		{at(90 * time.Minute), evs[1].Seq},
		{at(150 * time.Minute), evs[2].Seq},
		{at(4 * time.Hour), evs[2].Seq},
	} {
		if got := seqBefore(t, s, tc.t); got != tc.want {
			t.Errorf("SeqBefore(%s) = %d, want %d (events' At by Seq: 3h, 1h, 2h after Base)", fmtTime(tc.t), got, tc.want)
		}
	}
}
