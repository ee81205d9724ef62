package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/store/sqlite"
	"github.com/tessera-auth/tessera/web"
)

// fastArgon keeps tests quick; the production parameters are tested in package password.
var fastArgon = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const pw = "correct-horse-battery"

// clock is an injected clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is one server under test: a real SQLite file, the API server with the
// pages mounted, served over loopback.
type env struct {
	t     testing.TB
	db    *sqlite.DB
	svc   *auth.Service
	srv   *httptest.Server
	clock *clock // nil with realTime
	logs  *bytes.Buffer
}

type option func(*auth.Config, *httpapi.Config, *web.Config)

// realTime runs the service on the wall clock (browsers keep cookies by it).
func realTime(a *auth.Config, _ *httpapi.Config, _ *web.Config) { a.Now = nil }

func newEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tessera.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, clock: &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}, logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: e.logs}, nil))
	e.srv = httptest.NewUnstartedServer(nil)
	kek := make([]byte, 32)
	rand.Read(kek)
	acfg := auth.Config{Now: e.clock.Now, Logger: log, Tokens: auth.TokenConfig{Issuer: "http://" + e.srv.Listener.Addr().String(), KEK: kek}}
	hcfg := httpapi.Config{Logger: log}
	wcfg := web.Config{Logger: log}
	for _, o := range opts {
		o(&acfg, &hcfg, &wcfg)
	}
	if acfg.Now == nil {
		e.clock = nil
	}
	e.svc = auth.NewService(db, password.NewHasher(fastArgon, 2, 0), acfg)
	if err := e.svc.LoadKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(e.svc, hcfg)
	web.New(e.svc, wcfg).Mount(api)
	e.srv.Config.Handler = api
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tick moves the fake clock on, so that consecutive changes get distinct
// times, as they do on a real one.
func (e *env) tick() {
	if e.clock != nil {
		e.clock.Add(time.Second)
	}
}

func mustUser(tb testing.TB, svc *auth.Service, email, pw string, roles ...string) *auth.User {
	tb.Helper()
	u, err := svc.CreateUser(context.Background(), auth.NewUser{Email: email, Password: pw, Roles: roles})
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// request is one HTTP call made without a browser; zero fields are omitted.
type request struct {
	method, path string
	form         url.Values
	cookie       string // session cookie value
	header       map[string]string
}

type response struct {
	*http.Response
	body string
}

// do sends req and does not follow redirects.
func (e *env) do(req request) *response {
	e.t.Helper()
	var body io.Reader
	if req.form != nil {
		body = strings.NewReader(req.form.Encode())
	}
	if req.method == "" {
		req.method = "GET"
	}
	r, err := http.NewRequest(req.method, e.srv.URL+req.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if req.form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if req.cookie != "" {
		r.AddCookie(&http.Cookie{Name: httpapi.CookieName, Value: req.cookie})
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{Response: resp, body: string(b)}
}

func (r *response) sessionCookie() *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == httpapi.CookieName || c.Name == httpapi.InsecureCookieName {
			return c
		}
	}
	return nil
}

// login signs in through the form and returns the session cookie's value.
func (e *env) login(email, pw string) string {
	e.t.Helper()
	r := e.do(request{method: "POST", path: "/login", form: url.Values{"email": {email}, "password": {pw}}})
	c := r.sessionCookie()
	if r.StatusCode != http.StatusSeeOther || c == nil || c.Value == "" {
		e.t.Fatalf("login %s: %d, cookie %v\n%s", email, r.StatusCode, c, r.body)
	}
	e.tick()
	return c.Value
}

// sessions is how many live sessions the user has.
func (e *env) sessions(userID string) int {
	e.t.Helper()
	list, err := e.svc.Sessions(context.Background(), userID)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(list)
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

// wantPageHeaders checks what every page sends.
func wantPageHeaders(t *testing.T, r *response) {
	t.Helper()
	h := r.Header
	if got := h.Get("Content-Security-Policy"); got != web.ContentSecurityPolicy {
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
