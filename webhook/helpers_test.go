package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/clock"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/store/sqlite"
	"github.com/tessera-auth/tessera/webhook"
)

// testKEK is the key-encryption secret of the tests.
var testKEK = bytes.Repeat([]byte{0x5a}, 32)

// newClock is the tests' clock, years from today. It counts its readings,
// which tells a test that the deliverer has looked at the time again (made
// another pass) without sleeping.
func newClock() *clock.Fake { return clock.NewFake(clock.Ahead) }

// waitReads waits until clk has been read n more times: the deliverer has
// made passes since.
func waitReads(t *testing.T, clk *clock.Fake, n int64) {
	t.Helper()
	from := clk.Reads()
	waitFor(t, "the deliverer to make more passes", func() bool { return clk.Reads() >= from+n })
}

// waitFor polls cond until it holds, failing t after 15 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// openDB opens (creating) the SQLite database at path and closes it when t
// ends; closing it earlier is harmless.
func openDB(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newDB(t *testing.T) (*sqlite.DB, string) {
	path := filepath.Join(t.TempDir(), "tessera.db")
	return openDB(t, path), path
}

func newService(t *testing.T, st webhook.Store, clk *clock.Fake) *webhook.Service {
	t.Helper()
	cfg := webhook.Config{}
	if clk != nil {
		cfg.Now = clk.Now
	}
	svc, err := webhook.NewService(st, testKEK, cfg)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return svc
}

// mustAdd registers a webhook and returns it with its secret.
func mustAdd(t *testing.T, svc *webhook.Service, url string, events ...string) (*webhook.Webhook, webhook.Secret) {
	t.Helper()
	w, sec, err := svc.Add(t.Context(), url, events)
	if err != nil {
		t.Fatalf("Add(%s, %v): %v", url, events, err)
	}
	return w, sec
}

// appendEvents appends events of the given types for one session and returns
// them with their Seqs.
func appendEvents(t *testing.T, db *sqlite.DB, sid string, types ...string) []auth.Event {
	t.Helper()
	before, err := db.LastEventSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]auth.Event, len(types))
	for i, typ := range types {
		evs[i] = auth.Event{Type: typ, At: time.Date(2026, 11, 1, 12, 0, i, 123456789, time.UTC), UserID: "user-1", SessionID: sid,
			Data: map[string]string{"cause": auth.CauseLogout, "n": strconv.Itoa(i)}}
	}
	if err := db.AppendEvents(t.Context(), evs...); err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	got, err := db.EventsAfter(t.Context(), before, len(types))
	if err != nil || len(got) != len(types) {
		t.Fatalf("EventsAfter: %d events, %v", len(got), err)
	}
	return got
}

// deliverer runs a Deliverer until stop is called or t ends.
type deliverer struct {
	*webhook.Deliverer
	cancel context.CancelFunc
	done   chan error
}

func startDeliverer(t *testing.T, st webhook.Store, cfg webhook.Config) *deliverer {
	t.Helper()
	if cfg.Poll == 0 {
		cfg.Poll = 5 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, err := webhook.NewDeliverer(st, testKEK, cfg)
	if err != nil {
		t.Fatalf("NewDeliverer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &deliverer{Deliverer: d, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// stop cancels Run and waits for it to return.
func (d *deliverer) stop() {
	d.cancel()
	<-d.done
	d.done <- nil // a second stop returns at once
}

// request is one request a receiver got.
type request struct {
	Path      string
	ID        string
	Timestamp string
	Signature string
	Header    http.Header
	Body      []byte
	Payload   webhook.Payload
}

// receiver is a real HTTP server on 127.0.0.1 that records what it gets and
// answers as respond says (200 when respond is nil).
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []request
	seen    map[string]int // requests per path and webhook-id
	respond func(r *http.Request, req request, n int) int
}

func newReceiver(t *testing.T, respond func(r *http.Request, req request, n int) int) *receiver {
	rc := &receiver{seen: make(map[string]int), respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := request{
		Path: r.URL.Path, ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
		Signature: r.Header.Get("webhook-signature"), Header: r.Header.Clone(), Body: body,
	}
	json.Unmarshal(body, &req.Payload)
	rc.mu.Lock()
	key := req.Path + " " + req.ID
	rc.seen[key]++
	n := rc.seen[key]
	rc.reqs = append(rc.reqs, req)
	respond := rc.respond
	rc.mu.Unlock()
	status := http.StatusOK
	if respond != nil {
		status = respond(r, req, n)
	}
	w.WriteHeader(status)
	io.WriteString(w, "thanks")
}

func (rc *receiver) setRespond(f func(r *http.Request, req request, n int) int) {
	rc.mu.Lock()
	rc.respond = f
	rc.mu.Unlock()
}

func (rc *receiver) URL() string { return rc.srv.URL }

// requests returns a copy of what the receiver got so far.
func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

// times returns how many requests carried webhook-id id on path.
func (rc *receiver) times(path, id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.seen[path+" "+id]
}

// verifySpec checks a request's signature as the Standard Webhooks spec says, from
// the secret's text form alone, independently of the package's Sign.
func verifySpec(t *testing.T, whsec string, req request) {
	t.Helper()
	if !strings.HasPrefix(whsec, "whsec_") {
		t.Fatalf("secret %q lacks the whsec_ prefix", whsec)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(whsec, "whsec_"))
	if err != nil {
		t.Fatalf("secret is not standard base64: %v", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(req.ID + "." + req.Timestamp + "." + string(req.Body)))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, sig := range strings.Fields(req.Signature) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return
		}
	}
	t.Errorf("request %s: webhook-signature %q does not verify (want %q)", req.ID, req.Signature, want)
}

// deliveries returns the webhook's delivery log, newest first.
func deliveries(t *testing.T, svc *webhook.Service, id string) []*webhook.Delivery {
	t.Helper()
	ds, err := svc.Deliveries(t.Context(), id, 1000)
	if err != nil {
		t.Fatalf("Deliveries(%s): %v", id, err)
	}
	return ds
}

// webhookState reads the webhook back.
func webhookState(t *testing.T, st webhook.Store, id string) *webhook.Webhook {
	t.Helper()
	w, err := st.WebhookByID(t.Context(), id)
	if err != nil {
		t.Fatalf("WebhookByID(%s): %v", id, err)
	}
	return w
}

func sid() string { return secret.RandomID(16) }
