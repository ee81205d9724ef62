// Package servertest runs the whole Tessera server for the tests of the
// server's feature packages: a real SQLite file, the auth service on a fake
// clock years away from today (clock.Epoch), every feature mounted, served
// on loopback; with helpers to call it as a plain HTTP client (Do), sign in,
// read the events log, and drive pages in a real headless Chromium
// (NewBrowser).
package servertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/syncbuf"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/internal/clock"
	"github.com/tessera-auth/tessera/metrics"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/store/sqlite"
	"github.com/tessera-auth/tessera/webhook"
)

// Password is the password of the users the tests create.
const Password = "correct-horse-battery"

// FastArgon keeps tests quick; the production parameters are tested in
// package password.
var FastArgon = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// CountingStore counts the store calls on the session-check path, to show
// that a cache hit does no store I/O.
type CountingStore struct {
	auth.Store
	Reads, Touches atomic.Int64
}

func (s *CountingStore) SessionByHash(ctx context.Context, h secret.Hash) (*auth.Session, error) {
	s.Reads.Add(1)
	return s.Store.SessionByHash(ctx, h)
}
func (s *CountingStore) SessionByID(ctx context.Context, id string) (*auth.Session, error) {
	s.Reads.Add(1)
	return s.Store.SessionByID(ctx, id)
}
func (s *CountingStore) UserByID(ctx context.Context, id string) (*auth.User, error) {
	s.Reads.Add(1)
	return s.Store.UserByID(ctx, id)
}
func (s *CountingStore) TouchSession(ctx context.Context, id string, at time.Time, ip, ua string) error {
	s.Touches.Add(1)
	return s.Store.TouchSession(ctx, id, at, ip, ua)
}

// Env is one server under test: a real SQLite file, a real HTTP server on
// loopback, and handles on its parts.
type Env struct {
	T       testing.TB
	DB      *sqlite.DB
	Store   *CountingStore
	Svc     *auth.Service
	Hasher  *password.Hasher
	API     *server.Server
	Srv     *httptest.Server
	Clock   *clock.Fake // nil with Running
	Logs    *Logs
	Metrics *metrics.Metrics // with Full
}

// Option changes the settings of a server before it starts.
type Option func(*auth.Config, *server.Config)

// New starts a server; opts change its settings.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tessera.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	epoch := clock.Epoch(t)
	e := &Env{T: t, DB: db, Store: &CountingStore{Store: db}, Clock: clock.NewFake(epoch), Logs: &Logs{}}
	log := slog.New(slog.NewTextHandler(e.Logs, nil))
	// The listener comes first so that the issuer URL is the server's own.
	e.Srv = httptest.NewUnstartedServer(nil)
	kek := make([]byte, 32)
	rand.Read(kek)
	acfg := auth.Config{Now: e.Clock.Now, Logger: log, Tokens: auth.TokenConfig{Issuer: "http://" + e.Srv.Listener.Addr().String(), KEK: kek}}
	scfg := server.Config{Logger: log}
	for _, o := range opts {
		o(&acfg, &scfg)
	}
	if acfg.Now == nil { // Running
		acfg.Now, e.Clock = clock.NewShifted(epoch).Now, nil
	}
	e.Hasher = password.NewHasher(FastArgon, 2, 0)
	e.Svc = auth.NewService(e.Store, e.Hasher, acfg)
	if err := e.Svc.LoadKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	if late, ok := scfg.Webhooks.(*lateWebhooks); ok {
		late.store.Store = db
		scfg.Webhooks = late.Service
	}
	if scfg.Metrics != nil {
		e.Metrics = scfg.Metrics
		e.Metrics.ObserveService(e.Svc)
		e.Metrics.ObserveHasher(e.Hasher)
	}
	e.API = server.New(e.Svc, scfg)
	e.Srv.Config.Handler = e.API
	e.Srv.Start()
	t.Cleanup(e.Srv.Close)
	return e
}

// lateWebhooks lets Full make the webhook service before the database
// exists; New gives it the database.
type lateWebhooks struct {
	*webhook.Service
	store *lateStore
}

type lateStore struct{ webhook.Store }

// Full wires every optional part as the real server does: metrics (the
// recorder, gauges, /metrics) and webhooks.
func Full(t testing.TB) Option {
	return func(a *auth.Config, s *server.Config) {
		m := metrics.New()
		a.Recorder = m
		s.Metrics = m
		ls := &lateStore{}
		w, err := webhook.NewService(ls, a.Tokens.KEK, webhook.Config{Now: a.Now})
		if err != nil {
			t.Fatal(err)
		}
		s.Webhooks = &lateWebhooks{Service: w, store: ls}
	}
}

// Running runs the server on a clock that runs like real time but shows the
// same far-off date as the fake one (clock.Shifted): for browser tests,
// where time passes for the browser as it does for people. Env.Clock is then
// nil, and Tick does nothing.
func Running(a *auth.Config, _ *server.Config) { a.Now = nil }

// Issuer is the server's issuer URL.
func (e *Env) Issuer() string { return e.Svc.Config().Tokens.Issuer }

// Tick moves the clock on by a second, so that consecutive changes get
// distinct times, as they do on a real one.
func (e *Env) Tick() {
	if e.Clock != nil {
		e.Clock.Add(time.Second)
	}
}

// Logs is what the server logs, kept for the test to read while the server
// still writes.
type Logs = syncbuf.Buffer

// MustUser creates a user through the service.
func (e *Env) MustUser(email, pw string, roles ...string) *auth.User {
	e.T.Helper()
	u, err := e.Svc.CreateUser(context.Background(), auth.NewUser{Email: email, Password: pw, Roles: roles})
	if err != nil {
		e.T.Fatal(err)
	}
	return u
}

// Request is one HTTP call made without a browser; zero fields are omitted.
type Request struct {
	Method, Path string
	JSON         any        // encoded as the JSON body
	Form         url.Values // or a form body
	Raw          string     // or a raw body, with ContentType
	ContentType  string
	Cookie       string // session cookie value
	Bearer       string
	Header       map[string]string
}

// Response is an answer, its body read.
type Response struct {
	*http.Response
	Body []byte
}

// Text is the body as a string.
func (r *Response) Text() string { return string(r.Body) }

// Problem decodes a problem document, failing unless it is one.
func (r *Response) Problem(t testing.TB) httpx.Problem {
	t.Helper()
	var p httpx.Problem
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, r.Body)
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("problem body %q: %v", r.Body, err)
	}
	return p
}

// Decode decodes the JSON body into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
}

// SessionCookie is the session cookie the answer sets, or nil.
func (r *Response) SessionCookie() *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == httpx.CookieName || c.Name == httpx.InsecureCookieName {
			return c
		}
	}
	return nil
}

// noRedirects is a client that shows redirects rather than follow them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Do sends req; it does not follow redirects.
func (e *Env) Do(req Request) *Response {
	e.T.Helper()
	var body io.Reader
	ct := req.ContentType
	switch {
	case req.JSON != nil:
		b, err := json.Marshal(req.JSON)
		if err != nil {
			e.T.Fatal(err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	case req.Form != nil:
		body, ct = strings.NewReader(req.Form.Encode()), "application/x-www-form-urlencoded"
	case req.Raw != "":
		body = strings.NewReader(req.Raw)
	}
	if req.Method == "" {
		req.Method = "GET"
	}
	r, err := http.NewRequest(req.Method, e.Srv.URL+req.Path, body)
	if err != nil {
		e.T.Fatal(err)
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if req.Cookie != "" {
		r.AddCookie(&http.Cookie{Name: httpx.CookieName, Value: req.Cookie})
	}
	if req.Bearer != "" {
		r.Header.Set("Authorization", "Bearer "+req.Bearer)
	}
	for k, v := range req.Header {
		r.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(r)
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return &Response{Response: resp, Body: b}
}

// Login signs in with POST /v1/login and returns the session cookie's value.
func (e *Env) Login(email, pw string) string {
	e.T.Helper()
	r := e.Do(Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": email, "password": pw}})
	if r.StatusCode != 200 {
		e.T.Fatalf("login %s: %d %s", email, r.StatusCode, r.Body)
	}
	c := r.SessionCookie()
	if c == nil {
		e.T.Fatalf("login set no session cookie: %v", r.Header["Set-Cookie"])
	}
	return c.Value
}

// LoginPage signs in through the /login form and returns the session
// cookie's value.
func (e *Env) LoginPage(email, pw string) string {
	e.T.Helper()
	r := e.Do(Request{Method: "POST", Path: "/login", Form: url.Values{"email": {email}, "password": {pw}}})
	c := r.SessionCookie()
	if r.StatusCode != http.StatusSeeOther || c == nil || c.Value == "" {
		e.T.Fatalf("login %s: %d, cookie %v\n%s", email, r.StatusCode, c, r.Body)
	}
	e.Tick()
	return c.Value
}

// SessionStatus calls GET /v1/session with a cookie and returns the status.
func (e *Env) SessionStatus(cookie string) int {
	e.T.Helper()
	return e.Do(Request{Method: "GET", Path: "/v1/session", Cookie: cookie}).StatusCode
}

// Sessions is how many live sessions the user has.
func (e *Env) Sessions(userID string) int {
	e.T.Helper()
	list, err := e.Svc.Sessions(context.Background(), userID)
	if err != nil {
		e.T.Fatal(err)
	}
	return len(list)
}

// Events returns the whole events log.
func (e *Env) Events() []auth.Event {
	e.T.Helper()
	evs, err := e.DB.EventsAfter(context.Background(), 0, 100000)
	if err != nil {
		e.T.Fatal(err)
	}
	return evs
}

// CountType counts the events of type typ.
func CountType(evs []auth.Event, typ string) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// WantPageHeaders checks what every page sends.
func WantPageHeaders(t testing.TB, r *Response) {
	t.Helper()
	h := r.Header
	if got := h.Get("Content-Security-Policy"); got != httpx.ContentSecurityPolicy {
		t.Errorf("Content-Security-Policy %q", got)
	}
	if got := h.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options %q", got)
	}
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Error("no frame-ancestors 'none'")
	}
}

// WantStatus checks r's status and, for a problem, its code and request ID.
func WantStatus(t testing.TB, what string, r *Response, status int, code auth.Code) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("%s: status %d, want %d; body %s", what, r.StatusCode, status, r.Body)
		return
	}
	if code != "" {
		if p := r.Problem(t); p.Code != string(code) || p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-Id") {
			t.Errorf("%s: problem %+v, want code %s and the request ID", what, p, code)
		}
	}
}

// NewFull is New with Full: metrics and webhooks wired.
func NewFull(t testing.TB, opts ...Option) (*Env, *metrics.Metrics) {
	t.Helper()
	e := New(t, append([]Option{Full(t)}, opts...)...)
	return e, e.Metrics
}
