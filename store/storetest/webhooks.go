package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/webhook"
)

// webhookTests hold stores to the contract of webhook.Store (webhook/webhook.go),
// which every store implements beside auth.Store. They are named
// Method/Outcome within the Webhooks section.
var webhookTests = []test{
	{"CreateWebhook/OK", testCreateWebhook},
	{"CreateWebhook/ZeroState", testCreateWebhookZeroState},
	{"CreateWebhook/CursorAtLogEnd", testCreateWebhookCursorAtLogEnd},
	{"CreateWebhook/ErrConflictID", testCreateWebhookErrConflictID},
	{"Webhooks/Empty", testWebhooksEmpty},
	{"Webhooks/Order", testWebhooksOrder},
	{"WebhookByID/ErrNotFound", testWebhookByIDErrNotFound},
	{"DeleteWebhook/OK", testDeleteWebhook},
	{"DeleteWebhook/ErrNotFound", testDeleteWebhookErrNotFound},
	{"LeaseWebhook/OK", testLeaseWebhook},
	{"LeaseWebhook/FreeAtLeaseUntil", testLeaseWebhookFreeAtLeaseUntil},
	{"LeaseWebhook/Release", testLeaseWebhookRelease},
	{"LeaseWebhook/ErrNotFound", testLeaseWebhookErrNotFound},
	{"LeaseWebhook/Concurrent", testLeaseWebhookConcurrent},
	{"AdvanceWebhook/OK", testAdvanceWebhook},
	{"AdvanceWebhook/NotOwner", testAdvanceWebhookNotOwner},
	{"AdvanceWebhook/LeaseTakenOver", testAdvanceWebhookLeaseTakenOver},
	{"AdvanceWebhook/Backwards", testAdvanceWebhookBackwards},
	{"AdvanceWebhook/ErrNotFound", testAdvanceWebhookErrNotFound},
	{"RecordDelivery/OK", testRecordDelivery},
	{"RecordDelivery/ErrNotFound", testRecordDeliveryErrNotFound},
	{"Deliveries/NewestFirst", testDeliveriesNewestFirst},
	{"Deliveries/Empty", testDeliveriesEmpty},
	{"DeleteDeliveriesBefore/OK", testDeleteDeliveriesBefore},
}

// webhookStore returns s as a webhook.Store, failing t if it is not one.
func webhookStore(t *testing.T, s Store) webhook.Store {
	t.Helper()
	ws, ok := s.(webhook.Store)
	if !ok {
		t.Fatalf("storetest: %T does not implement webhook.Store", s)
	}
	return ws
}

// newWebhook returns a webhook created at created, with a fresh ID and
// sealed secret, and no delivery state. It is not stored.
func newWebhook(created time.Time) *webhook.Webhook {
	return &webhook.Webhook{
		ID:           "wh_" + secret.RandomID(12),
		URL:          "https://hooks.example.com/tessera?token=" + secret.RandomID(8),
		Events:       []string{auth.EventSessionRevoked, auth.EventTokensInvalidated},
		SealedSecret: []byte("\x01sealed " + secret.RandomID(32)),
		CreatedAt:    created,
	}
}

func webhookCreated(w *webhook.Webhook) auth.Event {
	return auth.Event{Type: webhook.EventCreated, At: w.CreatedAt, Data: map[string]string{"webhook_id": w.ID}}
}

func mustCreateWebhook(t *testing.T, s webhook.Store, w *webhook.Webhook, evs ...auth.Event) *webhook.Webhook {
	t.Helper()
	if err := s.CreateWebhook(t.Context(), w, evs...); err != nil {
		t.Fatalf("CreateWebhook(%s): %v", w.ID, err)
	}
	return w
}

func mustWebhookByID(t *testing.T, s webhook.Store, id string) *webhook.Webhook {
	t.Helper()
	w, err := s.WebhookByID(t.Context(), id)
	if err != nil {
		t.Fatalf("WebhookByID(%s): %v", id, err)
	}
	return w
}

func mustLease(t *testing.T, s webhook.Store, id, owner string, now, until time.Time) bool {
	t.Helper()
	ok, err := s.LeaseWebhook(t.Context(), id, owner, now, until)
	if err != nil {
		t.Fatalf("LeaseWebhook(%s, %s): %v", id, owner, err)
	}
	return ok
}

func mustAdvance(t *testing.T, s webhook.Store, id, owner string, cursor int64, attempts int, next time.Time) bool {
	t.Helper()
	ok, err := s.AdvanceWebhook(t.Context(), id, owner, cursor, attempts, next)
	if err != nil {
		t.Fatalf("AdvanceWebhook(%s, %s, %d): %v", id, owner, cursor, err)
	}
	return ok
}

func mustRecordDelivery(t *testing.T, s webhook.Store, d *webhook.Delivery) {
	t.Helper()
	if err := s.RecordDelivery(t.Context(), d); err != nil {
		t.Fatalf("RecordDelivery(%s, seq %d, attempt %d): %v", d.WebhookID, d.Seq, d.Attempt, err)
	}
}

func mustDeliveries(t *testing.T, s webhook.Store, id string, limit int) []*webhook.Delivery {
	t.Helper()
	ds, err := s.Deliveries(t.Context(), id, limit)
	if err != nil {
		t.Fatalf("Deliveries(%s, %d): %v", id, limit, err)
	}
	return ds
}

// checkWebhook reports every field in which got differs from want.
func checkWebhook(tb testing.TB, what string, got, want *webhook.Webhook) {
	tb.Helper()
	if got == nil {
		tb.Errorf("%s: nil webhook, want %s", what, want.ID)
		return
	}
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("URL", got.URL, want.URL)
	d.strs("Events", got.Events, want.Events)
	d.str("SealedSecret", string(got.SealedSecret), string(want.SealedSecret))
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.str("Cursor", fmt.Sprint(got.Cursor), fmt.Sprint(want.Cursor))
	d.str("Attempts", fmt.Sprint(got.Attempts), fmt.Sprint(want.Attempts))
	d.time("NextAttemptAt", got.NextAttemptAt, want.NextAttemptAt)
	d.str("LeaseOwner", got.LeaseOwner, want.LeaseOwner)
	d.time("LeaseUntil", got.LeaseUntil, want.LeaseUntil)
	d.report(tb, what+": webhook "+want.ID)
}

// checkState compares the stored delivery and lease state of webhook id.
func checkState(t *testing.T, s webhook.Store, what, id string, cursor int64, attempts int, next time.Time, owner string, until time.Time) {
	t.Helper()
	got := mustWebhookByID(t, s, id)
	var d diff
	d.str("Cursor", fmt.Sprint(got.Cursor), fmt.Sprint(cursor))
	d.str("Attempts", fmt.Sprint(got.Attempts), fmt.Sprint(attempts))
	d.time("NextAttemptAt", got.NextAttemptAt, next)
	d.str("LeaseOwner", got.LeaseOwner, owner)
	d.time("LeaseUntil", got.LeaseUntil, until)
	d.report(t, what+": webhook "+id)
}

// checkDelivery reports every field in which got differs from want.
func checkDelivery(tb testing.TB, what string, got, want *webhook.Delivery) {
	tb.Helper()
	var d diff
	d.str("WebhookID", got.WebhookID, want.WebhookID)
	d.str("Seq", fmt.Sprint(got.Seq), fmt.Sprint(want.Seq))
	d.str("EventType", got.EventType, want.EventType)
	d.str("Attempt", fmt.Sprint(got.Attempt), fmt.Sprint(want.Attempt))
	d.time("At", got.At, want.At)
	d.str("Duration", got.Duration.String(), want.Duration.String())
	d.str("StatusCode", fmt.Sprint(got.StatusCode), fmt.Sprint(want.StatusCode))
	d.str("Outcome", string(got.Outcome), string(want.Outcome))
	d.str("Error", got.Error, want.Error)
	d.report(tb, what)
}

// CreateWebhook/OK: every field round-trips, the delivery state as given
// but for Cursor, which is the end of the log; the events are appended.
func testCreateWebhook(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	MustAppendEvents(t, s, auth.Event{Type: auth.EventSessionRevoked, At: at(0)})
	w := newWebhook(at(1))
	w.Cursor, w.Attempts, w.NextAttemptAt = 1<<40, 3, at(time.Minute)
	w.LeaseOwner, w.LeaseUntil = "node-a", at(30*time.Second)
	before := MustLastEventSeq(t, s)
	mustCreateWebhook(t, ws, w, webhookCreated(w))
	checkAppended(t, s, before, webhookCreated(w))
	if end := MustLastEventSeq(t, s); w.Cursor != end {
		t.Errorf("CreateWebhook set w.Cursor to %d, want %d (the end of the log)", w.Cursor, end)
	}
	checkWebhook(t, "WebhookByID", mustWebhookByID(t, ws, w.ID), w)
	all, err := ws.Webhooks(t.Context())
	if err != nil {
		t.Fatalf("Webhooks: %v", err)
	}
	if len(all) != 1 {
		t.Fatalf("Webhooks: %d webhooks, want 1", len(all))
	}
	checkWebhook(t, "Webhooks", all[0], w)

	star := newWebhook(at(2))
	star.Events = []string{webhook.AllEvents}
	mustCreateWebhook(t, ws, star)
	checkWebhook(t, "WebhookByID", mustWebhookByID(t, ws, star.ID), star)
}

// CreateWebhook/ZeroState: a new webhook's zero times and empty lease owner
// come back zero and empty.
func testCreateWebhookZeroState(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(1)))
	checkWebhook(t, "WebhookByID", mustWebhookByID(t, ws, w.ID), w)
}

// CreateWebhook/CursorAtLogEnd: the cursor is the end of the log, the
// webhook's own events included, whatever the caller set.
func testCreateWebhookCursorAtLogEnd(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	first := mustCreateWebhook(t, ws, newWebhook(at(0)))
	if first.Cursor != 0 {
		t.Errorf("cursor of a webhook created on an empty log: %d, want 0", first.Cursor)
	}
	MustAppendEvents(t, s, auth.Event{Type: auth.EventSessionRevoked, At: at(1)}, auth.Event{Type: auth.EventUserCreated, At: at(2)})
	end := MustLastEventSeq(t, s)
	plain := newWebhook(at(3))
	plain.Cursor = 1
	mustCreateWebhook(t, ws, plain)
	if plain.Cursor != end {
		t.Errorf("cursor of a webhook created without events: %d, want %d", plain.Cursor, end)
	}
	withEvents := newWebhook(at(4))
	mustCreateWebhook(t, ws, withEvents, webhookCreated(withEvents), auth.Event{Type: "storetest.other", At: at(4)})
	evs := MustEventsAfter(t, s, end)
	if len(evs) != 2 || withEvents.Cursor != evs[1].Seq {
		t.Errorf("cursor of a webhook created with 2 events: %d, want %d (the second's Seq)", withEvents.Cursor, evs[len(evs)-1].Seq)
	}
	for _, w := range []*webhook.Webhook{first, plain, withEvents} {
		checkWebhook(t, "WebhookByID", mustWebhookByID(t, ws, w.ID), w)
	}
}

// CreateWebhook/ErrConflictID: a taken ID is ErrConflict, stores nothing and
// appends no events.
func testCreateWebhookErrConflictID(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(1)))
	dup := newWebhook(at(2))
	dup.ID = w.ID
	before := MustLastEventSeq(t, s)
	wantErr(t, "CreateWebhook with a taken ID", ws.CreateWebhook(t.Context(), dup, webhookCreated(dup)), auth.ErrConflict)
	checkNoEvents(t, s, before)
	checkWebhook(t, "WebhookByID after the conflict", mustWebhookByID(t, ws, w.ID), w)
}

// Webhooks/Empty: no webhooks, no error.
func testWebhooksEmpty(t *testing.T, s Store) {
	all, err := webhookStore(t, s).Webhooks(t.Context())
	if err != nil {
		t.Fatalf("Webhooks: %v", err)
	}
	if len(all) != 0 {
		t.Errorf("Webhooks of an empty store: %d, want none", len(all))
	}
}

// Webhooks/Order: oldest first, then by ID.
func testWebhooksOrder(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	late := newWebhook(at(time.Hour))
	late.ID = "wh_a"
	b := newWebhook(at(time.Minute))
	b.ID = "wh_c"
	a := newWebhook(at(time.Minute))
	a.ID = "wh_b"
	for _, w := range []*webhook.Webhook{late, b, a} {
		mustCreateWebhook(t, ws, w)
	}
	all, err := ws.Webhooks(t.Context())
	if err != nil {
		t.Fatalf("Webhooks: %v", err)
	}
	var got []string
	for _, w := range all {
		got = append(got, w.ID)
	}
	checkIDs(t, "Webhooks", got, []string{"wh_b", "wh_c", "wh_a"})
}

// WebhookByID/ErrNotFound.
func testWebhookByIDErrNotFound(t *testing.T, s Store) {
	_, err := webhookStore(t, s).WebhookByID(t.Context(), "wh_nope")
	wantErr(t, "WebhookByID of an unknown ID", err, auth.ErrNotFound)
}

// DeleteWebhook/OK: the webhook and its delivery log go, the events are
// appended, and the webhook is unknown to every method afterwards.
func testDeleteWebhook(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(1)))
	other := mustCreateWebhook(t, ws, newWebhook(at(2)))
	mustRecordDelivery(t, ws, &webhook.Delivery{WebhookID: w.ID, Seq: 1, EventType: "x", Attempt: 1, At: at(3), Outcome: webhook.OutcomeDelivered, StatusCode: 204})
	mustRecordDelivery(t, ws, &webhook.Delivery{WebhookID: other.ID, Seq: 1, EventType: "x", Attempt: 1, At: at(3), Outcome: webhook.OutcomeDelivered, StatusCode: 204})
	before := MustLastEventSeq(t, s)
	removed := auth.Event{Type: webhook.EventRemoved, At: at(4), Data: map[string]string{"webhook_id": w.ID}}
	if err := ws.DeleteWebhook(t.Context(), w.ID, removed); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	checkAppended(t, s, before, removed)
	_, err := ws.WebhookByID(t.Context(), w.ID)
	wantErr(t, "WebhookByID after delete", err, auth.ErrNotFound)
	if ds := mustDeliveries(t, ws, w.ID, 10); len(ds) != 0 {
		t.Errorf("Deliveries after delete: %d, want none", len(ds))
	}
	if ds := mustDeliveries(t, ws, other.ID, 10); len(ds) != 1 {
		t.Errorf("Deliveries of another webhook after delete: %d, want 1", len(ds))
	}
	_, err = ws.LeaseWebhook(t.Context(), w.ID, "a", at(5), at(6))
	wantErr(t, "LeaseWebhook after delete", err, auth.ErrNotFound)
	_, err = ws.AdvanceWebhook(t.Context(), w.ID, "a", 1, 0, time.Time{})
	wantErr(t, "AdvanceWebhook after delete", err, auth.ErrNotFound)
	err = ws.RecordDelivery(t.Context(), &webhook.Delivery{WebhookID: w.ID, Seq: 2, EventType: "x", Attempt: 1, At: at(5), Outcome: webhook.OutcomeFailed})
	wantErr(t, "RecordDelivery after delete", err, auth.ErrNotFound)
	before = MustLastEventSeq(t, s)
	wantErr(t, "DeleteWebhook again", ws.DeleteWebhook(t.Context(), w.ID, removed), auth.ErrNotFound)
	checkNoEvents(t, s, before)
	checkWebhook(t, "the other webhook", mustWebhookByID(t, ws, other.ID), other)
}

// DeleteWebhook/ErrNotFound: an unknown ID appends no events.
func testDeleteWebhookErrNotFound(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	before := MustLastEventSeq(t, s)
	ev := auth.Event{Type: webhook.EventRemoved, At: at(1)}
	wantErr(t, "DeleteWebhook of an unknown ID", ws.DeleteWebhook(t.Context(), "wh_nope", ev), auth.ErrNotFound)
	checkNoEvents(t, s, before)
}

// LeaseWebhook/OK: a free lease is taken; another owner cannot take it
// while it runs, its owner can renew it, and once it has run out another
// owner takes it and the first can no longer renew.
func testLeaseWebhook(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(0)))
	if !mustLease(t, ws, w.ID, "a", at(time.Second), at(31*time.Second)) {
		t.Fatal("LeaseWebhook of a free lease: false, want true")
	}
	checkState(t, ws, "after the first lease", w.ID, 0, 0, time.Time{}, "a", at(31*time.Second))
	if mustLease(t, ws, w.ID, "b", at(2*time.Second), at(32*time.Second)) {
		t.Fatal("LeaseWebhook by b while a holds it: true, want false")
	}
	checkState(t, ws, "after b was refused", w.ID, 0, 0, time.Time{}, "a", at(31*time.Second))
	if !mustLease(t, ws, w.ID, "a", at(10*time.Second), at(40*time.Second)) {
		t.Fatal("LeaseWebhook by a renewing its lease: false, want true")
	}
	if mustLease(t, ws, w.ID, "b", at(39*time.Second), at(69*time.Second)) {
		t.Fatal("LeaseWebhook by b before the renewed lease ran out: true, want false")
	}
	if !mustLease(t, ws, w.ID, "b", at(41*time.Second), at(71*time.Second)) {
		t.Fatal("LeaseWebhook by b after a's lease ran out: false, want true")
	}
	checkState(t, ws, "after b took over", w.ID, 0, 0, time.Time{}, "b", at(71*time.Second))
	if mustLease(t, ws, w.ID, "a", at(42*time.Second), at(72*time.Second)) {
		t.Fatal("LeaseWebhook by a after b took over: true, want false")
	}
}

// LeaseWebhook/FreeAtLeaseUntil: a lease runs out at LeaseUntil exactly.
func testLeaseWebhookFreeAtLeaseUntil(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(0)))
	mustLease(t, ws, w.ID, "a", at(0), at(30*time.Second))
	if mustLease(t, ws, w.ID, "b", at(30*time.Second-1), at(time.Minute)) {
		t.Fatal("LeaseWebhook by b 1ns before LeaseUntil: true, want false")
	}
	if !mustLease(t, ws, w.ID, "b", at(30*time.Second), at(time.Minute)) {
		t.Fatal("LeaseWebhook by b at LeaseUntil: false, want true")
	}
}

// LeaseWebhook/Release: leasing until now frees the lease at once.
func testLeaseWebhookRelease(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(0)))
	mustLease(t, ws, w.ID, "a", at(0), at(30*time.Second))
	if !mustLease(t, ws, w.ID, "a", at(time.Second), at(time.Second)) {
		t.Fatal("LeaseWebhook by a releasing its lease: false, want true")
	}
	if !mustLease(t, ws, w.ID, "b", at(time.Second), at(31*time.Second)) {
		t.Fatal("LeaseWebhook by b after a released: false, want true")
	}
	if mustLease(t, ws, w.ID, "a", at(2*time.Second), at(2*time.Second)) {
		t.Fatal("LeaseWebhook by a releasing b's lease: true, want false")
	}
	checkState(t, ws, "after a tried to release b's lease", w.ID, 0, 0, time.Time{}, "b", at(31*time.Second))
}

// LeaseWebhook/ErrNotFound.
func testLeaseWebhookErrNotFound(t *testing.T, s Store) {
	_, err := webhookStore(t, s).LeaseWebhook(t.Context(), "wh_nope", "a", at(0), at(time.Second))
	wantErr(t, "LeaseWebhook of an unknown ID", err, auth.ErrNotFound)
}

// LeaseWebhook/Concurrent: of owners racing for a free lease, exactly one
// wins, and the stored owner is the winner.
func testLeaseWebhookConcurrent(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(0)))
	const n = 8
	won := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			won[i], errs[i] = ws.LeaseWebhook(t.Context(), w.ID, fmt.Sprintf("owner-%d", i), at(time.Second), at(31*time.Second))
		})
	}
	wg.Wait()
	winner := -1
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("LeaseWebhook by owner-%d: %v", i, errs[i])
		}
		if won[i] {
			if winner >= 0 {
				t.Fatalf("LeaseWebhook: owner-%d and owner-%d both won", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("LeaseWebhook: no owner won a free lease")
	}
	checkState(t, ws, "after the race", w.ID, 0, 0, time.Time{}, fmt.Sprintf("owner-%d", winner), at(31*time.Second))
}

// AdvanceWebhook/OK: the lease holder sets the delivery state; a zero next
// attempt stays zero; the lease is untouched.
func testAdvanceWebhook(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(0)))
	mustLease(t, ws, w.ID, "a", at(0), at(30*time.Second))
	if !mustAdvance(t, ws, w.ID, "a", 10, 2, at(5*time.Second)) {
		t.Fatal("AdvanceWebhook by the lease holder (a failed attempt): false, want true")
	}
	checkState(t, ws, "after a failed attempt", w.ID, 10, 2, at(5*time.Second), "a", at(30*time.Second))
	if !mustAdvance(t, ws, w.ID, "a", 12, 0, time.Time{}) {
		t.Fatal("AdvanceWebhook by the lease holder (a delivery): false, want true")
	}
	checkState(t, ws, "after a delivery", w.ID, 12, 0, time.Time{}, "a", at(30*time.Second))
}

// AdvanceWebhook/NotOwner: an owner that does not hold the lease changes
// nothing, nor does anyone on a webhook never leased; the empty owner never
// gets a lease.
func testAdvanceWebhookNotOwner(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(0)))
	if mustAdvance(t, ws, w.ID, "a", 1, 0, time.Time{}) {
		t.Fatal("AdvanceWebhook of a webhook never leased: true, want false")
	}
	if mustAdvance(t, ws, w.ID, "", 1, 0, time.Time{}) {
		t.Fatal(`AdvanceWebhook by owner "" of a webhook never leased: true, want false`)
	}
	if mustLease(t, ws, w.ID, "", at(0), at(30*time.Second)) {
		t.Fatal(`LeaseWebhook by owner "": true, want false`)
	}
	mustLease(t, ws, w.ID, "a", at(0), at(30*time.Second))
	if mustAdvance(t, ws, w.ID, "b", 1, 1, at(time.Second)) {
		t.Fatal("AdvanceWebhook by b while a holds the lease: true, want false")
	}
	checkState(t, ws, "after b was refused", w.ID, 0, 0, time.Time{}, "a", at(30*time.Second))
}

// AdvanceWebhook/LeaseTakenOver: an owner whose lease ran out may still
// advance until another owner takes the lease, and not after.
func testAdvanceWebhookLeaseTakenOver(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(0)))
	mustLease(t, ws, w.ID, "a", at(0), at(30*time.Second))
	if !mustAdvance(t, ws, w.ID, "a", 1, 0, time.Time{}) {
		t.Fatal("AdvanceWebhook by a, lease run out but not taken: false, want true")
	}
	mustLease(t, ws, w.ID, "b", at(time.Minute), at(90*time.Second))
	if mustAdvance(t, ws, w.ID, "a", 2, 0, time.Time{}) {
		t.Fatal("AdvanceWebhook by a after b took the lease: true, want false")
	}
	checkState(t, ws, "after a was refused", w.ID, 1, 0, time.Time{}, "b", at(90*time.Second))
}

// AdvanceWebhook/Backwards: the cursor never moves back.
func testAdvanceWebhookBackwards(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(0)))
	mustLease(t, ws, w.ID, "a", at(0), at(30*time.Second))
	mustAdvance(t, ws, w.ID, "a", 10, 0, time.Time{})
	if mustAdvance(t, ws, w.ID, "a", 9, 0, time.Time{}) {
		t.Fatal("AdvanceWebhook to a lower cursor: true, want false")
	}
	checkState(t, ws, "after moving back was refused", w.ID, 10, 0, time.Time{}, "a", at(30*time.Second))
}

// AdvanceWebhook/ErrNotFound.
func testAdvanceWebhookErrNotFound(t *testing.T, s Store) {
	_, err := webhookStore(t, s).AdvanceWebhook(t.Context(), "wh_nope", "a", 1, 0, time.Time{})
	wantErr(t, "AdvanceWebhook of an unknown ID", err, auth.ErrNotFound)
}

func newDelivery(webhookID string, seq int64, attempt int, outcome webhook.Outcome, t time.Time) *webhook.Delivery {
	d := &webhook.Delivery{
		WebhookID: webhookID, Seq: seq, EventType: auth.EventSessionRevoked, Attempt: attempt, At: t,
		Duration: 1234567 * time.Nanosecond, Outcome: outcome,
	}
	switch outcome {
	case webhook.OutcomeDelivered:
		d.StatusCode = 204
	default:
		d.StatusCode, d.Error = 503, "answered 503 Service Unavailable"
	}
	return d
}

// RecordDelivery/OK: every field round-trips, including a failure with no
// response.
func testRecordDelivery(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(0)))
	failed := newDelivery(w.ID, 7, 1, webhook.OutcomeFailed, at(time.Second).In(time.FixedZone("UTC+02:00", 7200)))
	failed.StatusCode, failed.Error = 0, "dial tcp 127.0.0.1:9: connect: connection refused ✗"
	gaveUp := newDelivery(w.ID, 7, 16, webhook.OutcomeGaveUp, at(time.Hour))
	before := MustLastEventSeq(t, s)
	mustRecordDelivery(t, ws, failed)
	mustRecordDelivery(t, ws, gaveUp)
	checkNoEvents(t, s, before)
	got := mustDeliveries(t, ws, w.ID, 10)
	if len(got) != 2 {
		t.Fatalf("Deliveries: %d, want 2", len(got))
	}
	checkDelivery(t, "Deliveries[0]", got[0], gaveUp)
	checkDelivery(t, "Deliveries[1]", got[1], failed)
}

// RecordDelivery/ErrNotFound: a delivery of an unknown webhook is refused.
func testRecordDeliveryErrNotFound(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	err := ws.RecordDelivery(t.Context(), newDelivery("wh_nope", 1, 1, webhook.OutcomeDelivered, at(0)))
	wantErr(t, "RecordDelivery of an unknown webhook", err, auth.ErrNotFound)
	if ds := mustDeliveries(t, ws, "wh_nope", 10); len(ds) != 0 {
		t.Errorf("Deliveries of an unknown webhook: %d, want none", len(ds))
	}
}

// Deliveries/NewestFirst: the most recently recorded first (even when its
// At is not the latest), at most limit, only the webhook's own.
func testDeliveriesNewestFirst(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(0)))
	other := mustCreateWebhook(t, ws, newWebhook(at(0)))
	var want []*webhook.Delivery
	for i := range 5 {
		d := newDelivery(w.ID, int64(10+i), 1, webhook.OutcomeDelivered, at(time.Duration(i)*time.Second))
		if i == 4 {
			d.At = at(0) // recorded last, though its clock was behind
		}
		mustRecordDelivery(t, ws, d)
		mustRecordDelivery(t, ws, newDelivery(other.ID, int64(10+i), 1, webhook.OutcomeDelivered, at(time.Hour)))
		want = append([]*webhook.Delivery{d}, want...)
	}
	got := mustDeliveries(t, ws, w.ID, 3)
	if len(got) != 3 {
		t.Fatalf("Deliveries(limit 3): %d, want 3", len(got))
	}
	for i := range got {
		checkDelivery(t, fmt.Sprintf("Deliveries[%d]", i), got[i], want[i])
	}
	if got := mustDeliveries(t, ws, w.ID, 100); len(got) != 5 {
		t.Errorf("Deliveries(limit 100): %d, want 5", len(got))
	}
}

// Deliveries/Empty: a webhook with no deliveries has none.
func testDeliveriesEmpty(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	w := mustCreateWebhook(t, ws, newWebhook(at(0)))
	if ds := mustDeliveries(t, ws, w.ID, 10); len(ds) != 0 {
		t.Errorf("Deliveries of a new webhook: %d, want none", len(ds))
	}
}

// DeleteDeliveriesBefore/OK: deliveries whose At is before t go, of every
// webhook; one at t stays.
func testDeleteDeliveriesBefore(t *testing.T, s Store) {
	ws := webhookStore(t, s)
	a := mustCreateWebhook(t, ws, newWebhook(at(0)))
	b := mustCreateWebhook(t, ws, newWebhook(at(0)))
	mustRecordDelivery(t, ws, newDelivery(a.ID, 1, 1, webhook.OutcomeFailed, at(time.Second)))
	mustRecordDelivery(t, ws, newDelivery(b.ID, 1, 1, webhook.OutcomeDelivered, at(time.Hour-1)))
	keep := newDelivery(a.ID, 1, 2, webhook.OutcomeDelivered, at(time.Hour))
	mustRecordDelivery(t, ws, keep)
	n, err := ws.DeleteDeliveriesBefore(t.Context(), at(time.Hour))
	if err != nil {
		t.Fatalf("DeleteDeliveriesBefore: %v", err)
	}
	if n != 2 {
		t.Errorf("DeleteDeliveriesBefore = %d, want 2", n)
	}
	got := mustDeliveries(t, ws, a.ID, 10)
	if len(got) != 1 {
		t.Fatalf("Deliveries of a: %d, want 1", len(got))
	}
	checkDelivery(t, "the delivery kept", got[0], keep)
	if got := mustDeliveries(t, ws, b.ID, 10); len(got) != 0 {
		t.Errorf("Deliveries of b: %d, want none", len(got))
	}
}
