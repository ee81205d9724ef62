package webhook_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/webhook"
)

func TestAdd(t *testing.T) {
	db, _ := newDB(t)
	clk := newClock()
	svc := newService(t, db, clk)
	old := appendEvents(t, db, sid(), auth.EventSessionRevoked, auth.EventUserCreated)

	w, sec, err := svc.Add(t.Context(), " https://hooks.example.com/tessera?token=abc ",
		[]string{auth.EventTokensInvalidated, auth.EventSessionRevoked, auth.EventSessionRevoked})
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	if !strings.HasPrefix(w.ID, "wh_") || w.URL != "https://hooks.example.com/tessera?token=abc" ||
		!slices.Equal(w.Events, []string{auth.EventSessionRevoked, auth.EventTokensInvalidated}) ||
		!w.CreatedAt.Equal(clk.Now()) {
		t.Errorf("Add = %+v", w)
	}

	// The secret is stored sealed under the KEK for this webhook's ID only.
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sec.Reveal(), "whsec_"))
	stored := webhookState(t, db, w.ID)
	if bytes.Contains(stored.SealedSecret, key) {
		t.Error("the stored secret holds the key in the clear")
	}
	if plain, err := accesstoken.Open(testKEK, "webhook:"+w.ID, stored.SealedSecret); err != nil || !bytes.Equal(plain, key) {
		t.Errorf(`Open(kek, "webhook:"+ID, sealed) = %x, %v; want the key`, plain, err)
	}
	if _, err := accesstoken.Open(testKEK, "webhook:wh_other", stored.SealedSecret); err == nil {
		t.Error("the sealed secret opens under another webhook's ID")
	}

	// webhook.created is in the log, without the URL's query.
	evs, err := db.EventsAfter(t.Context(), old[1].Seq, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events after Add: %v, %v", evs, err)
	}
	ev := evs[0]
	if w.Cursor != ev.Seq || w.Attempts != 0 || !w.NextAttemptAt.IsZero() || w.LeaseOwner != "" {
		t.Errorf("new webhook's delivery state: cursor %d (want its webhook.created, %d), attempts %d, next %v, lease %q",
			w.Cursor, ev.Seq, w.Attempts, w.NextAttemptAt, w.LeaseOwner)
	}
	if ev.Type != webhook.EventCreated || ev.Data["webhook_id"] != w.ID || ev.Data["url"] != "https://hooks.example.com/tessera" ||
		ev.Data["events"] != "session.revoked user.tokens_invalidated" {
		t.Errorf("webhook.created event = %+v", ev)
	}

	list, err := svc.List(t.Context())
	if err != nil || len(list) != 1 || list[0].ID != w.ID {
		t.Fatalf("List = %v, %v", list, err)
	}
	got, err := svc.Get(t.Context(), w.ID)
	if err != nil || got.URL != w.URL {
		t.Errorf("Get = %+v, %v", got, err)
	}
}

func TestAddAllEvents(t *testing.T) {
	db, _ := newDB(t)
	svc := newService(t, db, nil)
	w, _ := mustAdd(t, svc, "http://127.0.0.1:9/", auth.EventSessionRevoked, "*")
	if !slices.Equal(w.Events, []string{"*"}) {
		t.Errorf("Events = %q, want [*]", w.Events)
	}
	for _, typ := range append(webhook.EventTypes(), "future.event") {
		if !w.Wants(typ) {
			t.Errorf("a * webhook does not want %s", typ)
		}
	}
}

func TestAddInvalid(t *testing.T) {
	db, _ := newDB(t)
	svc := newService(t, db, nil)
	before, _ := db.LastEventSeq(t.Context())
	ok := []string{auth.EventSessionRevoked}
	for _, tc := range []struct {
		name   string
		url    string
		events []string
	}{
		{"FTP", "ftp://hooks.example.com/x", ok},
		{"NoScheme", "hooks.example.com/x", ok},
		{"HostPort", "localhost:8080", ok},
		{"NoHost", "https:///x", ok},
		{"OnlyScheme", "http://", ok},
		{"PortOnly", "http://:8080/x", ok},
		{"Empty", "", ok},
		{"Spaces", "   ", ok},
		{"Relative", "/hooks", ok},
		{"Credentials", "https://user:pw@hooks.example.com/x", ok},
		{"Fragment", "https://hooks.example.com/x#y", ok},
		{"JavaScript", "javascript:alert(1)", ok},
		{"TooLong", "https://hooks.example.com/" + strings.Repeat("a", 2048), ok},
		{"Unparseable", "https://hooks.example.com/%zz", ok},
		{"NoEvents", "https://hooks.example.com/x", nil},
		{"EmptyEvents", "https://hooks.example.com/x", []string{}},
		{"UnknownEvent", "https://hooks.example.com/x", []string{"session.revokd"}},
		{"EmptyEvent", "https://hooks.example.com/x", []string{""}},
		{"UnknownWithAll", "https://hooks.example.com/x", []string{"*", "bogus"}},
		{"Glob", "https://hooks.example.com/x", []string{"session.*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, sec, err := svc.Add(t.Context(), tc.url, tc.events)
			var ae *auth.Error
			if !errors.As(err, &ae) || ae.Code != auth.CodeInvalidRequest || ae.Message == "" {
				t.Fatalf("Add(%q, %q) = %v, %v; want *auth.Error invalid_request", tc.url, tc.events, w, err)
			}
			if w != nil || !sec.IsZero() {
				t.Errorf("Add returned a webhook or a secret with its error")
			}
			if strings.Contains(ae.Message, "pw@") {
				t.Errorf("the message repeats the credentials: %s", ae.Message)
			}
		})
	}
	if list, _ := svc.List(t.Context()); len(list) != 0 {
		t.Errorf("webhooks stored after invalid Adds: %d", len(list))
	}
	if after, _ := db.LastEventSeq(t.Context()); after != before {
		t.Errorf("events appended by invalid Adds: Seq %d → %d", before, after)
	}
}

func TestRemove(t *testing.T) {
	db, _ := newDB(t)
	svc := newService(t, db, nil)
	w, _ := mustAdd(t, svc, "https://hooks.example.com/x", auth.EventSessionRevoked)
	keep, _ := mustAdd(t, svc, "https://hooks.example.com/y", auth.EventSessionRevoked)
	before, _ := db.LastEventSeq(t.Context())
	if err := svc.Remove(t.Context(), w.ID); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	evs, _ := db.EventsAfter(t.Context(), before, 10)
	if len(evs) != 1 || evs[0].Type != webhook.EventRemoved || evs[0].Data["webhook_id"] != w.ID {
		t.Errorf("events after Remove: %+v", evs)
	}
	list, _ := svc.List(t.Context())
	if len(list) != 1 || list[0].ID != keep.ID {
		t.Errorf("List after Remove: %v", list)
	}
	for name, err := range map[string]error{
		"Remove again":      svc.Remove(t.Context(), w.ID),
		"Deliveries":        func() error { _, err := svc.Deliveries(t.Context(), w.ID, 10); return err }(),
		"Get":               func() error { _, err := svc.Get(t.Context(), w.ID); return err }(),
		"Remove unknown ID": svc.Remove(t.Context(), "wh_nope"),
	} {
		if auth.ErrorCode(err) != auth.CodeNotFound || auth.ErrorMessage(err) != "no such webhook" {
			t.Errorf("%s: %v, want not_found", name, err)
		}
	}
}

func TestNewServiceKEK(t *testing.T) {
	db, _ := newDB(t)
	for _, kek := range [][]byte{nil, make([]byte, 16), make([]byte, 33)} {
		if _, err := webhook.NewService(db, kek, webhook.Config{}); err == nil {
			t.Errorf("NewService with a %d-byte KEK: no error", len(kek))
		}
		if _, err := webhook.NewDeliverer(db, kek, webhook.Config{}); err == nil {
			t.Errorf("NewDeliverer with a %d-byte KEK: no error", len(kek))
		}
	}
	if _, err := webhook.NewDeliverer(db, testKEK, webhook.Config{Timeout: 20 * time.Second}); err == nil {
		t.Error("NewDeliverer with a Timeout of more than half the Lease: no error")
	}
}

// TestPayloadMatchesStream: a webhook's data is the event in exactly the
// wire form of GET /v1/events.
func TestPayloadMatchesStream(t *testing.T) {
	for _, ev := range []auth.Event{
		{Seq: 1, Type: auth.EventKeyRotated, At: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), Data: map[string]string{"kid": "k2"}},
		{Seq: 42, Type: auth.EventSessionRevoked, At: time.Date(2026, 11, 1, 13, 0, 0, 123456789, time.FixedZone("CET", 3600)),
			UserID: "u1", SessionID: "s1", Data: map[string]string{"cause": "logout", "quote": `"<&>"`}},
		{Seq: 7, Type: auth.EventUserDeleted, At: time.Date(2026, 11, 1, 12, 0, 0, 5, time.UTC), UserID: "u2", Data: map[string]string{}},
	} {
		p := webhook.NewPayload(ev)
		got, _ := json.Marshal(p.Data)
		want, _ := json.Marshal(ev.Wire())
		if !bytes.Equal(got, want) {
			t.Errorf("event %d:\n\twebhook data %s\n\tstream       %s", ev.Seq, got, want)
		}
		if p.Type != ev.Type || !p.Timestamp.Equal(ev.At) || p.Timestamp.Location() != time.UTC {
			t.Errorf("event %d: payload type %q timestamp %v", ev.Seq, p.Type, p.Timestamp)
		}
	}
}
