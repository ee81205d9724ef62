package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/store/sqlite"
)

// fastArgon keeps tests quick; the production parameters are tested in package password.
var fastArgon = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// clock is an injected clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// countingStore counts the store calls on the session-check path, to show
// that a cache hit does no store I/O.
type countingStore struct {
	auth.Store
	reads, touches atomic.Int64
}

func (s *countingStore) SessionByHash(ctx context.Context, h secret.Hash) (*auth.Session, error) {
	s.reads.Add(1)
	return s.Store.SessionByHash(ctx, h)
}
func (s *countingStore) SessionByID(ctx context.Context, id string) (*auth.Session, error) {
	s.reads.Add(1)
	return s.Store.SessionByID(ctx, id)
}
func (s *countingStore) UserByID(ctx context.Context, id string) (*auth.User, error) {
	s.reads.Add(1)
	return s.Store.UserByID(ctx, id)
}
func (s *countingStore) TouchSession(ctx context.Context, id string, at time.Time, ip, ua string) error {
	s.touches.Add(1)
	return s.Store.TouchSession(ctx, id, at, ip, ua)
}

// env is one server under test: a real SQLite file, a real HTTP server on
// loopback, and handles on its parts.
type env struct {
	t      testing.TB
	db     *sqlite.DB
	store  *countingStore
	svc    *auth.Service
	hasher *password.Hasher
	api    *httpapi.Server
	srv    *httptest.Server
	clock  *clock
	logs   *bytes.Buffer
}

type option func(*auth.Config, *httpapi.Config)

func newEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tessera.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, store: &countingStore{Store: db}, clock: &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}, logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: e.logs}, nil))
	// The listener comes first so that the issuer URL is the server's own.
	e.srv = httptest.NewUnstartedServer(nil)
	kek := make([]byte, 32)
	rand.Read(kek)
	acfg := auth.Config{Now: e.clock.Now, Logger: log, Tokens: auth.TokenConfig{Issuer: "http://" + e.srv.Listener.Addr().String(), KEK: kek}}
	hcfg := httpapi.Config{Logger: log}
	for _, o := range opts {
		o(&acfg, &hcfg)
	}
	e.hasher = password.NewHasher(fastArgon, 2, 0)
	e.svc = auth.NewService(e.store, e.hasher, acfg)
	if err := e.svc.LoadKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.api = httpapi.New(e.svc, hcfg)
	e.srv.Config.Handler = e.api
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

// issuer is the server's issuer URL.
func (e *env) issuer() string { return e.svc.Config().Tokens.Issuer }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// mustUser creates a user through the service.
func (e *env) mustUser(email, pw string, roles ...string) *auth.User {
	e.t.Helper()
	u, err := e.svc.CreateUser(context.Background(), auth.NewUser{Email: email, Password: pw, Roles: roles})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// request is one HTTP call; zero fields are omitted.
type request struct {
	method, path string
	json         any    // encoded as the JSON body
	raw          string // a raw body, with contentType
	contentType  string
	cookie       string // session cookie value
	bearer       string
	header       map[string]string
}

type response struct {
	*http.Response
	body []byte
}

func (r *response) problem(t testing.TB) httpapi.Problem {
	t.Helper()
	var p httpapi.Problem
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %q: %v", r.body, err)
	}
	return p
}

func (r *response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

func (r *response) sessionCookie() *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == httpapi.CookieName || c.Name == httpapi.InsecureCookieName {
			return c
		}
	}
	return nil
}

func (e *env) do(req request) *response {
	e.t.Helper()
	var body io.Reader
	ct := req.contentType
	switch {
	case req.json != nil:
		b, err := json.Marshal(req.json)
		if err != nil {
			e.t.Fatal(err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	case req.raw != "":
		body = strings.NewReader(req.raw)
	}
	r, err := http.NewRequest(req.method, e.srv.URL+req.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if req.cookie != "" {
		r.AddCookie(&http.Cookie{Name: httpapi.CookieName, Value: req.cookie})
	}
	if req.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+req.bearer)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{Response: resp, body: b}
}

// login signs in and returns the session cookie's value.
func (e *env) login(email, pw string) string {
	e.t.Helper()
	r := e.do(request{method: "POST", path: "/v1/login", json: map[string]string{"email": email, "password": pw}})
	if r.StatusCode != 200 {
		e.t.Fatalf("login %s: %d %s", email, r.StatusCode, r.body)
	}
	c := r.sessionCookie()
	if c == nil {
		e.t.Fatalf("login set no session cookie: %v", r.Header["Set-Cookie"])
	}
	return c.Value
}

// status calls GET /v1/session with a cookie and returns the status.
func (e *env) sessionStatus(cookie string) int {
	e.t.Helper()
	return e.do(request{method: "GET", path: "/v1/session", cookie: cookie}).StatusCode
}

// events returns the whole events log.
func (e *env) events() []auth.Event {
	e.t.Helper()
	evs, err := e.db.EventsAfter(context.Background(), 0, 100000)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func countType(evs []auth.Event, typ string) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}
