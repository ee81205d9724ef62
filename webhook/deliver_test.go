package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/webhook"
)

// TestDeliverSigned: a delivered event carries the Standard Webhooks headers,
// a signature that verifies with the secret shown at Add, and the documented
// body; the delivery log shows it.
func TestDeliverSigned(t *testing.T) {
	db, _ := newDB(t)
	clk := newClock()
	svc := newService(t, db, clk)
	rc := newReceiver(t, func(*http.Request, request, int) int { return http.StatusNoContent })
	w, sec := mustAdd(t, svc, rc.URL()+"/hook", auth.EventSessionRevoked)
	d := startDeliverer(t, db, webhook.Config{Now: clk.Now})
	ev := appendEvents(t, db, "sid-1", auth.EventSessionRevoked)[0]

	waitFor(t, "the delivery", func() bool { return webhookState(t, db, w.ID).Cursor == ev.Seq })
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	req := reqs[0]
	verifySpec(t, sec.Reveal(), req)
	for name, want := range map[string]string{
		"webhook-id":        "evt_" + strconv.FormatInt(ev.Seq, 10),
		"webhook-timestamp": strconv.FormatInt(clk.Now().Unix(), 10),
		"Content-Type":      "application/json",
		"User-Agent":        "Tessera-Webhooks/1",
	} {
		if got := req.Header.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, req.Body)
	}
	want := map[string]any{
		"type":      "session.revoked",
		"timestamp": "2026-11-01T12:00:00.123456789Z",
		"data": map[string]any{
			"seq": float64(ev.Seq), "type": "session.revoked", "at": "2026-11-01T12:00:00.123456789Z",
			"user_id": "user-1", "sid": "sid-1", "data": map[string]any{"cause": "logout", "n": "0"},
		},
	}
	if got, _ := json.Marshal(body); string(got) != mustJSON(want) {
		t.Errorf("body:\n\tgot  %s\n\twant %s", got, mustJSON(want))
	}

	ds := deliveries(t, svc, w.ID)
	if len(ds) != 1 || ds[0].Outcome != webhook.OutcomeDelivered || ds[0].StatusCode != 204 || ds[0].Seq != ev.Seq ||
		ds[0].Attempt != 1 || ds[0].EventType != ev.Type || ds[0].Error != "" || !ds[0].At.Equal(clk.Now()) {
		t.Errorf("delivery log: %+v", ds)
	}
	if s := d.Stats(); s != (webhook.Stats{Delivered: 1}) {
		t.Errorf("Stats = %+v", s)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestDeliverRetries5xx: a receiver answering 500 twice then 200 is tried
// three times, after 1 s and then 2 s of (injected) time, not before; the
// delivery log shows the three attempts; it is not called again for the event.
func TestDeliverRetries5xx(t *testing.T) {
	db, _ := newDB(t)
	clk := newClock()
	svc := newService(t, db, clk)
	rc := newReceiver(t, func(_ *http.Request, req request, n int) int {
		if req.Payload.Data.Data["first"] == "yes" && n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	w, sec := mustAdd(t, svc, rc.URL(), auth.EventSessionRevoked)
	d := startDeliverer(t, db, webhook.Config{Now: clk.Now})
	ev := auth.Event{Type: auth.EventSessionRevoked, At: clk.Now(), SessionID: sid(), Data: map[string]string{"first": "yes"}}
	if err := db.AppendEvents(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	ev.Seq, _ = db.LastEventSeq(t.Context())

	var attemptAt []time.Time
	for attempt, wantWait := range []time.Duration{time.Second, 2 * time.Second} {
		attempt++
		waitFor(t, fmt.Sprintf("failed attempt %d", attempt), func() bool { return webhookState(t, db, w.ID).Attempts == attempt })
		ds := deliveries(t, svc, w.ID)
		if len(ds) != attempt || ds[0].Outcome != webhook.OutcomeFailed || ds[0].StatusCode != 500 ||
			ds[0].Attempt != attempt || !strings.Contains(ds[0].Error, "500") {
			t.Fatalf("delivery log after attempt %d: %+v", attempt, ds)
		}
		attemptAt = append(attemptAt, ds[0].At)
		st := webhookState(t, db, w.ID)
		if wait := st.NextAttemptAt.Sub(ds[0].At); wait < wantWait*9/10 || wait > wantWait*11/10 {
			t.Errorf("after attempt %d the retry waits %s, want %s ±10%%", attempt, wait, wantWait)
		}
		// Not retried before it is due.
		waitReads(t, clk, 20)
		if n := rc.count(); n != attempt {
			t.Fatalf("receiver called %d times before the retry was due, want %d", n, attempt)
		}
		clk.Set(st.NextAttemptAt)
	}
	waitFor(t, "the delivery", func() bool { return webhookState(t, db, w.ID).Cursor == ev.Seq })

	ds := deliveries(t, svc, w.ID)
	var got []string
	for _, del := range ds {
		got = append(got, fmt.Sprintf("%d %s %d", del.Attempt, del.Outcome, del.StatusCode))
	}
	if want := []string{"3 delivered 200", "2 failed 500", "1 failed 500"}; !slices.Equal(got, want) {
		t.Errorf("delivery log %q, want %q", got, want)
	}
	if !ds[2].At.Equal(attemptAt[0]) || !ds[1].At.Equal(attemptAt[1]) || !ds[0].At.After(ds[1].At) {
		t.Errorf("attempt times %v %v %v", ds[2].At, ds[1].At, ds[0].At)
	}
	reqs := rc.requests()
	for _, req := range reqs {
		verifySpec(t, sec.Reveal(), req)
		if req.ID != reqs[0].ID {
			t.Errorf("webhook-id changed between attempts: %s, %s", reqs[0].ID, req.ID)
		}
	}
	if reqs[0].Timestamp == reqs[2].Timestamp {
		t.Error("retries are signed with the first attempt's timestamp")
	}
	st := webhookState(t, db, w.ID)
	if st.Attempts != 0 || !st.NextAttemptAt.IsZero() {
		t.Errorf("state after delivery: attempts %d, next %v", st.Attempts, st.NextAttemptAt)
	}

	// A later event goes out; the delivered one is never sent again.
	next := appendEvents(t, db, sid(), auth.EventSessionRevoked)[0]
	waitFor(t, "the next delivery", func() bool { return webhookState(t, db, w.ID).Cursor == next.Seq })
	clk.Add(24 * time.Hour)
	waitReads(t, clk, 20)
	if n := rc.times("/", webhook.MessageID(ev.Seq)); n != 3 {
		t.Errorf("event %d was sent %d times, want 3", ev.Seq, n)
	}
	if s := d.Stats(); s != (webhook.Stats{Delivered: 2, Failed: 2}) {
		t.Errorf("Stats = %+v", s)
	}
}

// TestDeliverRetriesTimeout: a receiver that does not answer within Timeout
// is retried.
func TestDeliverRetriesTimeout(t *testing.T) {
	db, _ := newDB(t)
	clk := newClock()
	svc := newService(t, db, clk)
	rc := newReceiver(t, func(r *http.Request, _ request, n int) int {
		if n == 1 {
			<-r.Context().Done() // hangs until the deliverer gives up on it
		}
		return http.StatusOK
	})
	w, _ := mustAdd(t, svc, rc.URL(), auth.EventSessionRevoked)
	startDeliverer(t, db, webhook.Config{Now: clk.Now, Timeout: 200 * time.Millisecond})
	ev := appendEvents(t, db, sid(), auth.EventSessionRevoked)[0]

	waitFor(t, "the timed-out attempt", func() bool { return webhookState(t, db, w.ID).Attempts == 1 })
	ds := deliveries(t, svc, w.ID)
	if len(ds) != 1 || ds[0].Outcome != webhook.OutcomeFailed || ds[0].StatusCode != 0 ||
		ds[0].Error != "no answer within 200ms" || ds[0].Duration < 200*time.Millisecond {
		t.Fatalf("delivery log: %+v", ds[0])
	}
	clk.Add(2 * time.Second)
	waitFor(t, "the retry", func() bool { return webhookState(t, db, w.ID).Cursor == ev.Seq })
	if ds := deliveries(t, svc, w.ID); len(ds) != 2 || ds[0].Outcome != webhook.OutcomeDelivered {
		t.Errorf("delivery log: %+v", ds)
	}
}

// TestDeliverRetriesVanished: a receiver that is gone (connection refused)
// is retried, and gets the event once it is back.
func TestDeliverRetriesVanished(t *testing.T) {
	db, _ := newDB(t)
	clk := newClock()
	svc := newService(t, db, clk)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the receiver vanishes

	w, _ := mustAdd(t, svc, "http://"+addr+"/hook", auth.EventSessionRevoked)
	startDeliverer(t, db, webhook.Config{Now: clk.Now})
	ev := appendEvents(t, db, sid(), auth.EventSessionRevoked)[0]
	waitFor(t, "two refused attempts", func() bool {
		if webhookState(t, db, w.ID).Attempts >= 2 {
			return true
		}
		clk.Add(time.Second)
		return false
	})
	ds := deliveries(t, svc, w.ID)
	if ds[0].Outcome != webhook.OutcomeFailed || ds[0].StatusCode != 0 || !strings.Contains(ds[0].Error, "refused") ||
		strings.Contains(ds[0].Error, "/hook") {
		t.Errorf("delivery log: %+v", ds[0])
	}

	// The receiver comes back on the same address.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	got := make(chan string, 10)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("webhook-id")
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	waitFor(t, "the delivery", func() bool {
		if webhookState(t, db, w.ID).Cursor == ev.Seq {
			return true
		}
		clk.Add(time.Second)
		return false
	})
	if id := <-got; id != webhook.MessageID(ev.Seq) {
		t.Errorf("webhook-id %s, want %s", id, webhook.MessageID(ev.Seq))
	}
}

// TestDeliverGivesUp: after MaxAttempts failures the event is recorded as
// given up and the next event is delivered.
func TestDeliverGivesUp(t *testing.T) {
	db, _ := newDB(t)
	clk := newClock()
	svc := newService(t, db, clk)
	evs := appendEvents(t, db, sid()) // nothing yet
	_ = evs
	var bad string
	var mu sync.Mutex
	rc := newReceiver(t, func(_ *http.Request, req request, _ int) int {
		mu.Lock()
		defer mu.Unlock()
		if req.ID == bad {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	w, _ := mustAdd(t, svc, rc.URL(), auth.EventSessionRevoked)
	first := appendEvents(t, db, sid(), auth.EventSessionRevoked)[0]
	mu.Lock()
	bad = webhook.MessageID(first.Seq)
	mu.Unlock()
	second := appendEvents(t, db, sid(), auth.EventSessionRevoked)[0]
	d := startDeliverer(t, db, webhook.Config{Now: clk.Now, MaxAttempts: 3})
	waitFor(t, "the second event's delivery", func() bool {
		if webhookState(t, db, w.ID).Cursor == second.Seq {
			return true
		}
		clk.Add(time.Second)
		return false
	})
	var got []string
	for _, del := range deliveries(t, svc, w.ID) {
		got = append(got, fmt.Sprintf("%d/%d %s", del.Seq-first.Seq, del.Attempt, del.Outcome))
	}
	if want := []string{"1/1 delivered", "0/3 gave_up", "0/2 failed", "0/1 failed"}; !slices.Equal(got, want) {
		t.Errorf("delivery log %q, want %q", got, want)
	}
	if s := d.Stats(); s != (webhook.Stats{Delivered: 1, Failed: 3, GaveUp: 1}) {
		t.Errorf("Stats = %+v", s)
	}
}

// TestDeliverInOrder: the events of a session arrive in Seq order, the later
// ones waiting while the first is retried.
func TestDeliverInOrder(t *testing.T) {
	db, _ := newDB(t)
	clk := newClock()
	svc := newService(t, db, clk)
	var mu sync.Mutex
	var delivered []string
	rc := newReceiver(t, func(_ *http.Request, req request, n int) int {
		if req.Payload.Data.Data["n"] == "0" && n <= 2 {
			return http.StatusBadGateway
		}
		mu.Lock()
		delivered = append(delivered, req.ID)
		mu.Unlock()
		return http.StatusOK
	})
	w, _ := mustAdd(t, svc, rc.URL(), auth.EventSessionRevoked, auth.EventLoginSucceeded)
	s := sid()
	evs := appendEvents(t, db, s, auth.EventLoginSucceeded, auth.EventSessionRevoked, auth.EventLoginSucceeded, auth.EventSessionRevoked)
	startDeliverer(t, db, webhook.Config{Now: clk.Now})
	evs = append(evs, appendEvents(t, db, s, auth.EventLoginSucceeded, auth.EventSessionRevoked)...)

	last := evs[len(evs)-1].Seq
	waitFor(t, "every delivery", func() bool {
		if webhookState(t, db, w.ID).Cursor == last {
			return true
		}
		clk.Add(time.Second)
		return false
	})
	var want []string
	for _, ev := range evs {
		want = append(want, webhook.MessageID(ev.Seq))
	}
	var got []string
	for _, req := range rc.requests() {
		if len(got) == 0 || got[len(got)-1] != req.ID {
			got = append(got, req.ID) // retries of the same event collapse
		}
	}
	if !slices.Equal(got, want) || !slices.Equal(delivered, want) {
		t.Errorf("requests in the order %q, delivered %q; want %q", got, delivered, want)
	}
	if n := rc.times("/", want[0]); n != 3 {
		t.Errorf("the first event was sent %d times, want 3", n)
	}
}

// TestDeliverFilters: a webhook gets only the types it subscribed to (all
// with "*"), and nothing from before it was added.
func TestDeliverFilters(t *testing.T) {
	db, _ := newDB(t)
	svc := newService(t, db, nil)
	rc := newReceiver(t, nil)
	appendEvents(t, db, sid(), auth.EventSessionRevoked) // before the webhooks exist
	some, _ := mustAdd(t, svc, rc.URL()+"/some", auth.EventSessionRevoked, auth.EventTokensInvalidated)
	all, _ := mustAdd(t, svc, rc.URL()+"/all", "*")
	startDeliverer(t, db, webhook.Config{})
	evs := appendEvents(t, db, sid(), auth.EventLoginSucceeded, auth.EventSessionRevoked, auth.EventUserCreated,
		auth.EventLoginFailed, auth.EventTokensInvalidated, auth.EventKeyRotated)
	last := evs[len(evs)-1].Seq
	waitFor(t, "both cursors at the end", func() bool {
		return webhookState(t, db, some.ID).Cursor == last && webhookState(t, db, all.ID).Cursor == last
	})
	got := map[string][]string{}
	for _, req := range rc.requests() {
		got[req.Path] = append(got[req.Path], req.Payload.Type)
	}
	if want := []string{auth.EventSessionRevoked, auth.EventTokensInvalidated}; !slices.Equal(got["/some"], want) {
		t.Errorf("/some got %q, want %q", got["/some"], want)
	}
	var wantAll []string
	for _, ev := range evs {
		wantAll = append(wantAll, ev.Type)
	}
	if !slices.Equal(got["/all"], wantAll) {
		t.Errorf("/all got %q, want %q", got["/all"], wantAll)
	}
	if ds := deliveries(t, svc, some.ID); len(ds) != 2 {
		t.Errorf("/some has %d deliveries logged, want 2", len(ds))
	}
}

// TestDeliverRestart: the server stops while an event is failing or in
// flight; after the database is closed and reopened, a new deliverer sends
// it; nothing is lost and nothing answered 2xx is sent again.
func TestDeliverRestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		// phase1 answers the second event while the first server runs.
		phase1 func(r *http.Request) int
		// wait returns when the second event's attempt is underway or done.
		wait func(t *testing.T, db webhook.Store, svc *webhook.Service, rc *receiver, w *webhook.Webhook, ev auth.Event)
		// attempts is how many attempts at the second event the log keeps.
		attempts []string
	}{
		{
			name:   "Failing",
			phase1: func(*http.Request) int { return http.StatusServiceUnavailable },
			wait: func(t *testing.T, db webhook.Store, svc *webhook.Service, _ *receiver, w *webhook.Webhook, _ auth.Event) {
				waitFor(t, "the failed attempt", func() bool { return webhookState(t, db, w.ID).Attempts == 1 })
			},
			attempts: []string{"2 delivered", "1 failed"},
		},
		{
			name: "InFlight",
			phase1: func(r *http.Request) int {
				<-r.Context().Done() // still waiting when the server stops
				return http.StatusOK
			},
			wait: func(t *testing.T, _ webhook.Store, _ *webhook.Service, rc *receiver, _ *webhook.Webhook, ev auth.Event) {
				waitFor(t, "the request in flight", func() bool { return rc.times("/", webhook.MessageID(ev.Seq)) == 1 })
			},
			// The interrupted attempt does not count.
			attempts: []string{"1 delivered"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, path := newDB(t)
			clk := newClock()
			svc := newService(t, db, clk)
			var second string
			var mu sync.Mutex
			phase := 1
			rc := newReceiver(t, func(r *http.Request, req request, _ int) int {
				mu.Lock()
				p, s := phase, second
				mu.Unlock()
				if p == 1 && req.ID == s {
					return tc.phase1(r)
				}
				return http.StatusOK
			})
			w, _ := mustAdd(t, svc, rc.URL(), auth.EventSessionRevoked)
			evs := appendEvents(t, db, sid(), auth.EventSessionRevoked, auth.EventSessionRevoked, auth.EventSessionRevoked)
			mu.Lock()
			second = webhook.MessageID(evs[1].Seq)
			mu.Unlock()

			d1 := startDeliverer(t, db, webhook.Config{Now: clk.Now, Owner: "node-before"})
			tc.wait(t, db, svc, rc, w, evs[1])
			d1.stop()
			if err := db.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			st := webhookState(t, openDB(t, path), w.ID) // a look from another handle
			if st.Cursor != evs[0].Seq {
				t.Fatalf("cursor after the stop: %d, want %d (the first event's)", st.Cursor, evs[0].Seq)
			}
			mu.Lock()
			phase = 2
			mu.Unlock()

			db2 := openDB(t, path)
			svc2 := newService(t, db2, clk)
			clk.Add(2 * time.Second) // past the first retry's backoff
			startDeliverer(t, db2, webhook.Config{Now: clk.Now, Owner: "node-after"})
			waitFor(t, "every event delivered", func() bool { return webhookState(t, db2, w.ID).Cursor == evs[2].Seq })

			for i, want := range []int{1, 2, 1} {
				if n := rc.times("/", webhook.MessageID(evs[i].Seq)); n != want {
					t.Errorf("event %d was sent %d times, want %d", i, n, want)
				}
			}
			var got []string
			for _, del := range deliveries(t, svc2, w.ID) {
				if del.Seq == evs[1].Seq {
					got = append(got, fmt.Sprintf("%d %s", del.Attempt, del.Outcome))
				}
			}
			if !slices.Equal(got, tc.attempts) {
				t.Errorf("attempts at the second event: %q, want %q", got, tc.attempts)
			}
		})
	}
}

// TestDeliverExpiredLease: a webhook leased by a node that died (and never
// released it) is taken over once the lease runs out, not before.
func TestDeliverExpiredLease(t *testing.T) {
	db, _ := newDB(t)
	clk := newClock()
	svc := newService(t, db, clk)
	rc := newReceiver(t, nil)
	w, _ := mustAdd(t, svc, rc.URL(), auth.EventSessionRevoked)
	if ok, err := db.LeaseWebhook(t.Context(), w.ID, "dead-node", clk.Now(), clk.Now().Add(30*time.Second)); !ok || err != nil {
		t.Fatalf("LeaseWebhook: %v, %v", ok, err)
	}
	ev := appendEvents(t, db, sid(), auth.EventSessionRevoked)[0]
	startDeliverer(t, db, webhook.Config{Now: clk.Now})
	waitReads(t, clk, 20)
	clk.Add(29 * time.Second)
	waitReads(t, clk, 20)
	if n := rc.count(); n != 0 {
		t.Fatalf("receiver called %d times while another node held the lease", n)
	}
	clk.Add(time.Second)
	waitFor(t, "the delivery", func() bool { return webhookState(t, db, w.ID).Cursor == ev.Seq })
}

// TestDeliverTwoNodes: two deliverers on one database file (two handles,
// two owners), joined and left by others, deliver each event to each
// webhook exactly once.
func TestDeliverTwoNodes(t *testing.T) {
	db1, path := newDB(t)
	db2 := openDB(t, path)
	db3 := openDB(t, path)
	svc := newService(t, db1, nil)
	rc := newReceiver(t, nil)
	var hooks []*webhook.Webhook
	for i := range 6 {
		w, _ := mustAdd(t, svc, fmt.Sprintf("%s/%d", rc.URL(), i), "*")
		hooks = append(hooks, w)
	}
	var all []auth.Event
	emit := func(n int) {
		for range n {
			all = append(all, appendEvents(t, db1, sid(), auth.EventSessionRevoked)...)
		}
	}
	waitAll := func(st webhook.Store) {
		last := all[len(all)-1].Seq
		waitFor(t, "every webhook at the end of the log", func() bool {
			for _, w := range hooks {
				if webhookState(t, st, w.ID).Cursor != last {
					return false
				}
			}
			return true
		})
	}
	cfg := func(owner string) webhook.Config {
		return webhook.Config{Owner: owner, Poll: time.Millisecond}
	}

	n1 := startDeliverer(t, db1, cfg("node-1"))
	n2 := startDeliverer(t, db2, cfg("node-2"))
	emit(15)
	waitAll(db1)
	n1.stop() // node-2 goes on alone
	emit(10)
	waitAll(db2)
	n3 := startDeliverer(t, db3, cfg("node-3"))
	n2.stop() // node-3 takes over
	emit(10)
	waitAll(db3)

	for _, w := range hooks {
		path := "/" + strings.TrimPrefix(w.URL, rc.URL()+"/")
		for _, ev := range all {
			if n := rc.times(path, webhook.MessageID(ev.Seq)); n != 1 {
				t.Errorf("webhook %s got event %d %d times, want once", path, ev.Seq, n)
			}
		}
	}
	rc.mu.Lock()
	for key, n := range rc.seen { // the later webhooks' webhook.created events included
		if n != 1 {
			t.Errorf("%s: sent %d times, want once", key, n)
		}
	}
	rc.mu.Unlock()
	s1, s2, s3 := n1.Stats(), n2.Stats(), n3.Stats()
	if s1.Failed+s2.Failed+s3.Failed != 0 || int(s1.Delivered+s2.Delivered+s3.Delivered) != rc.count() {
		t.Errorf("Stats: %+v %+v %+v", s1, s2, s3)
	}
	t.Logf("delivered by node-1: %d, node-2: %d, node-3: %d", s1.Delivered, s2.Delivered, s3.Delivered)
}

// TestDeliverWokenByFeed: with a long Poll, a deliverer following the auth
// service's feed sends an event as soon as the service's follower reads it.
func TestDeliverWokenByFeed(t *testing.T) {
	db, _ := newDB(t)
	clk := newClock()
	svc := newService(t, db, clk)
	rc := newReceiver(t, nil)
	w, _ := mustAdd(t, svc, rc.URL(), auth.EventSessionRevoked)

	authSvc := auth.NewService(db, nil, auth.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mark, _ := db.LastEventSeq(t.Context())
	follow := make(chan error, 1)
	go func() { follow <- authSvc.Follow(ctx, mark, 5*time.Millisecond) }()
	defer func() { cancel(); <-follow }()
	waitFor(t, "the follower to start", func() bool { return authSvc.Followed() == mark })

	dclk := newClock()
	startDeliverer(t, db, webhook.Config{Now: dclk.Now, Poll: time.Hour, Feed: authSvc})
	waitFor(t, "the deliverer to subscribe", func() bool { return authSvc.Subscribers() == 1 })
	waitFor(t, "the first pass", func() bool { return dclk.Reads() >= 2 })
	ev := appendEvents(t, db, sid(), auth.EventSessionRevoked)[0]
	waitFor(t, "the delivery", func() bool { return webhookState(t, db, w.ID).Cursor == ev.Seq })
}

// TestDeliverRemoved: removing a webhook stops its deliveries.
func TestDeliverRemoved(t *testing.T) {
	db, _ := newDB(t)
	clk := newClock()
	svc := newService(t, db, clk)
	rc := newReceiver(t, func(*http.Request, request, int) int { return http.StatusInternalServerError })
	w, _ := mustAdd(t, svc, rc.URL(), auth.EventSessionRevoked)
	startDeliverer(t, db, webhook.Config{Now: clk.Now})
	appendEvents(t, db, sid(), auth.EventSessionRevoked)
	waitFor(t, "a failed attempt", func() bool { return rc.count() == 1 })
	if err := svc.Remove(t.Context(), w.ID); err != nil {
		t.Fatal(err)
	}
	n := rc.count()
	clk.Add(time.Hour)
	waitReads(t, clk, 20)
	if rc.count() != n {
		t.Errorf("a removed webhook was called again")
	}
}
