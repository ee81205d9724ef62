package guard_test

// Integration tests against a real Tessera server: the SQLite store, the
// auth service with its events follower, and the HTTP API, on loopback,
// behind a reverse proxy the tests control (to cut the event stream). Built
// as httpapi/harness_test.go builds its server.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/syncbuf"

	"github.com/tessera-auth/tessera/internal/clock"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/guard"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/events"
	"github.com/tessera-auth/tessera/store/sqlite"
)

func init() {
	// The server marks the end of its replay with the next heartbeat; a short
	// interval keeps guard.New quick. (Set before any server starts.)
	events.HeartbeatInterval = 200 * time.Millisecond
}

const testPassword = "correct horse battery staple"

// tessera is a real server under test.
type tessera struct {
	t            *testing.T
	svc          *auth.Service
	backend      *httptest.Server // the API itself
	front        *httptest.Server // the proxy, at the issuer URL
	proxy        *proxy
	issuer       string
	clientID     string
	clientSecret string
	// clock is the server's and every guard's: real time shifted years
	// away from today, so that a wall-clock read in an expiry path on
	// either side fails here.
	clock *clock.Shifted
}

// proxy forwards everything to the API and can cut /v1/events.
type proxy struct {
	mu           sync.Mutex
	rp           *httputil.ReverseProxy
	blocked      bool
	streams      map[int]context.CancelFunc
	next         int
	lastEventIDs []string // of the /v1/events requests that went through
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/events" {
		p.mu.Lock()
		if p.blocked {
			p.mu.Unlock()
			http.Error(w, "events cut by the test", http.StatusServiceUnavailable)
			return
		}
		p.lastEventIDs = append(p.lastEventIDs, r.Header.Get("Last-Event-ID"))
		ctx, cancel := context.WithCancel(r.Context())
		id := p.next
		p.next++
		p.streams[id] = cancel
		p.mu.Unlock()
		defer func() { p.mu.Lock(); delete(p.streams, id); p.mu.Unlock(); cancel() }()
		r = r.WithContext(ctx)
	}
	p.rp.ServeHTTP(w, r)
}

// cut refuses new event streams (503) and ends the open ones.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = true
	for _, cancel := range p.streams {
		cancel()
	}
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.blocked = false
	p.mu.Unlock()
}

func (p *proxy) eventIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lastEventIDs)
}

func newTessera(t *testing.T) *tessera {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tessera.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ts := &tessera{t: t, proxy: &proxy{streams: map[int]context.CancelFunc{}}, clock: clock.NewShifted(clock.Epoch(t))}
	// The front comes first so that the issuer URL is the one guard talks to.
	ts.front = httptest.NewUnstartedServer(ts.proxy)
	ts.issuer = "http://" + ts.front.Listener.Addr().String()
	kek := make([]byte, 32)
	rand.Read(kek)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fastArgon := password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	ts.svc = auth.NewService(db, password.NewHasher(fastArgon, 2, 0), auth.Config{
		Logger: log, Tokens: auth.TokenConfig{Issuer: ts.issuer, KEK: kek}, Now: ts.clock.Now,
	})
	if err := ts.svc.LoadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	from, err := db.LastEventSeq(ctx) // before serving: Follow starts after it
	if err != nil {
		t.Fatal(err)
	}
	ts.backend = httptest.NewServer(server.New(ts.svc, server.Config{Logger: log}))
	t.Cleanup(ts.backend.Close)
	u, _ := url.Parse(ts.backend.URL)
	ts.proxy.rp = httputil.NewSingleHostReverseProxy(u)
	ts.proxy.rp.FlushInterval = -1
	ts.proxy.rp.ErrorLog = nil
	ts.front.Start()
	t.Cleanup(ts.front.Close)
	t.Cleanup(ts.proxy.cut) // runs first: no stream holds the servers open

	// The follower publishes appended events to the stream's subscribers.
	fctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); ts.svc.Follow(fctx, from, 20*time.Millisecond) }()
	t.Cleanup(func() { stop(); <-done })

	nc, err := ts.svc.CreateClient(ctx, "api", []string{auth.ScopeEvents, auth.ScopeIntrospect})
	if err != nil {
		t.Fatal(err)
	}
	ts.clientID, ts.clientSecret = nc.Client.ID, nc.Secret.Reveal()
	return ts
}

// guard starts a Guard on the server, closed at the end of the test.
func (ts *tessera) guard(mods ...func(*guard.Config)) (*guard.Guard, *syncbuf.Buffer) {
	ts.t.Helper()
	logs := &syncbuf.Buffer{}
	cfg := guard.Config{
		Issuer: ts.issuer, ClientID: ts.clientID, ClientSecret: ts.clientSecret,
		Logger: slog.New(slog.NewTextHandler(logs, nil)), StartTimeout: 5 * time.Second, Now: ts.clock.Now,
	}
	for _, m := range mods {
		m(&cfg)
	}
	start := time.Now()
	g, err := guard.New(cfg)
	if err != nil {
		ts.t.Fatalf("guard.New: %v\nlogs:\n%s", err, logs)
	}
	ts.t.Logf("guard.New took %v", time.Since(start).Round(time.Millisecond))
	ts.t.Cleanup(func() { g.Close() })
	return g, logs
}

func (ts *tessera) user(email string, roles ...string) *auth.User {
	ts.t.Helper()
	u, err := ts.svc.CreateUser(context.Background(), auth.NewUser{Email: email, Password: testPassword, Roles: roles})
	if err != nil {
		ts.t.Fatal(err)
	}
	return u
}

// call sends a request to the issuer URL and decodes a JSON answer into out.
func (ts *tessera) call(method, path string, body io.Reader, header map[string]string, out any) int {
	ts.t.Helper()
	req, _ := http.NewRequest(method, ts.issuer+path, body)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, out); err != nil {
			ts.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// login signs in with mode "token" and returns the access token.
func (ts *tessera) login(email, scope string) string {
	ts.t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": testPassword, "mode": "token", "scope": scope})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if code := ts.call("POST", "/v1/login", strings.NewReader(string(body)), map[string]string{"Content-Type": "application/json"}, &out); code != 200 || out.AccessToken == "" {
		ts.t.Fatalf("login %s: HTTP %d", email, code)
	}
	return out.AccessToken
}

// logout ends the token's session through POST /v1/logout.
func (ts *tessera) logout(token string) {
	ts.t.Helper()
	code := ts.call("POST", "/v1/logout", nil, map[string]string{"Authorization": "Bearer " + token}, nil)
	if code == http.StatusBadGateway {
		// The test proxy reused a connection that the test just cut at the
		// backend, and does not retry a POST: send it again.
		code = ts.call("POST", "/v1/logout", nil, map[string]string{"Authorization": "Bearer " + token}, nil)
	}
	if code != 204 {
		ts.t.Fatalf("logout: HTTP %d", code)
	}
}

// clientToken gets a client_credentials token for a new client with scopes.
func (ts *tessera) clientToken(name string, scopes ...string) (clientID, token string) {
	ts.t.Helper()
	nc, err := ts.svc.CreateClient(context.Background(), name, scopes)
	if err != nil {
		ts.t.Fatal(err)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"Authorization": "Basic " + basic(nc.Client.ID, nc.Secret.Reveal())}
	if code := ts.call("POST", "/oauth2/token", strings.NewReader("grant_type=client_credentials"), h, &out); code != 200 {
		ts.t.Fatalf("client_credentials: HTTP %d", code)
	}
	return nc.Client.ID, out.AccessToken
}

func basic(id, secret string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// refusedWithin polls Verify every 5 ms for up to 2 s until it refuses token
// as revoked, and returns how long that took.
func refusedWithin(t *testing.T, g *guard.Guard, token string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, err := g.Verify(bg, token)
		if errors.Is(err, guard.ErrRevoked) {
			return time.Since(start)
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("Fast still answers %v 2 s after the revocation", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isRefused(err error) bool {
	return errors.Is(err, guard.ErrRevoked) || errors.Is(err, guard.ErrInactive)
}

func TestIntegrationLogoutReachesFast(t *testing.T) {
	ts := newTessera(t)
	g, _ := ts.guard()
	ts.user("alice@example.com")
	var lags []time.Duration
	for range 20 {
		tok := ts.login("alice@example.com", "")
		if _, err := g.Verify(bg, tok); err != nil {
			t.Fatalf("fresh token: %v", err)
		}
		ts.logout(tok) // the revoking call has answered
		lags = append(lags, refusedWithin(t, g, tok))
	}
	slices.Sort(lags)
	t.Logf("logout → Fast refuses (loopback, 5 ms polling, %d logouts): p50 %v, p99 %v, max %v",
		len(lags), lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1])
	if s := g.Stats(); s.Fallbacks != 0 || s.EventsApplied < 20 {
		t.Errorf("Stats = %+v: want no fallbacks and every revocation applied", s)
	}
}

func TestIntegrationStrictRefusesRevokedAtOnce(t *testing.T) {
	ts := newTessera(t)
	g, _ := ts.guard()
	ts.user("bob@example.com")
	h := g.Strict(okHandler())
	for range 10 {
		tok := ts.login("bob@example.com", "")
		if _, err := g.VerifyStrict(bg, tok); err != nil {
			t.Fatalf("live session: %v", err)
		}
		if resp := get(h, tok); resp.StatusCode != 200 {
			t.Fatalf("Strict route, live session: %d", resp.StatusCode)
		}
		ts.logout(tok)
		// No waiting for the event: the server itself is asked.
		if _, err := g.VerifyStrict(bg, tok); !isRefused(err) {
			t.Fatalf("Strict right after logout: %v, want refused", err)
		}
		if resp := get(h, tok); resp.StatusCode != 401 {
			t.Fatalf("Strict route right after logout: %d, want 401", resp.StatusCode)
		}
	}
}

func TestIntegrationRestartCatchesUp(t *testing.T) {
	ts := newTessera(t)
	ts.user("carol@example.com")
	toks := map[string]string{}
	for _, k := range []string{"a", "b", "c", "live"} {
		toks[k] = ts.login("carol@example.com", "")
	}
	g1, _ := ts.guard()
	ts.logout(toks["a"])
	refusedWithin(t, g1, toks["a"])
	g1.Close()
	// Revoked while no guard runs.
	ts.logout(toks["b"])
	ts.logout(toks["c"])

	g2, _ := ts.guard()
	// At once, no polling: New returned after the replay.
	for _, k := range []string{"a", "b", "c"} {
		if _, err := g2.Verify(bg, toks[k]); !errors.Is(err, guard.ErrRevoked) {
			t.Errorf("restarted guard, session %s revoked earlier: %v, want ErrRevoked", k, err)
		}
	}
	if _, err := g2.Verify(bg, toks["live"]); err != nil {
		t.Errorf("restarted guard, live session: %v", err)
	}
	if ids := ts.proxy.eventIDs(); ids[len(ids)-1] != "" {
		t.Errorf("a restarted guard sent Last-Event-ID %q, want none (a full replay)", ids[len(ids)-1])
	}
}

func TestIntegrationReconnectMissesNothing(t *testing.T) {
	ts := newTessera(t)
	g, _ := ts.guard()
	ts.user("dave@example.com")
	toks := map[string]string{}
	for _, k := range []string{"a", "b", "c", "live"} {
		toks[k] = ts.login("dave@example.com", "")
	}
	ts.logout(toks["a"])
	refusedWithin(t, g, toks["a"])
	before := g.Stats()

	// Close the server's connections, and keep the stream away while two
	// more sessions end.
	ts.proxy.cut()
	ts.backend.CloseClientConnections()
	eventually(t, "the disconnect", func() bool { return !g.Stats().StreamConnected })
	ts.logout(toks["b"])
	ts.logout(toks["c"])
	ts.proxy.restore()

	eventually(t, "the reconnect", func() bool { return g.Stats().StreamConnected })
	for _, k := range []string{"b", "c"} {
		t.Logf("session %s refused %v after the reconnect", k, refusedWithin(t, g, toks[k]))
	}
	if _, err := g.Verify(bg, toks["live"]); err != nil {
		t.Errorf("live session: %v", err)
	}
	ids := ts.proxy.eventIDs()
	if want := strconv.FormatInt(before.LastEventID, 10); ids[len(ids)-1] != want {
		t.Errorf("reconnected with Last-Event-ID %q, want %q (the last applied event); all: %q", ids[len(ids)-1], want, ids)
	}
	if s := g.Stats(); s.StreamReconnects <= before.StreamReconnects {
		t.Errorf("StreamReconnects = %d, was %d", s.StreamReconnects, before.StreamReconnects)
	}
}

func TestIntegrationStalenessFallsBackToIntrospection(t *testing.T) {
	ts := newTessera(t)
	g, logs := ts.guard(func(c *guard.Config) { c.Staleness = 300 * time.Millisecond })
	ts.user("erin@example.com")
	tok := ts.login("erin@example.com", "")
	live := ts.login("erin@example.com", "")
	if _, err := g.Verify(bg, tok); err != nil {
		t.Fatal(err)
	}
	ts.proxy.cut() // the events endpoint stops; introspection still works
	ts.logout(tok)
	start := time.Now()
	eventually(t, "the fallback to refuse the token", func() bool {
		_, err := g.Verify(bg, tok)
		return errors.Is(err, guard.ErrInactive)
	})
	t.Logf("refused by introspection %v after the logout (Staleness 300ms)", time.Since(start).Round(time.Millisecond))
	if _, err := g.Verify(bg, live); err != nil {
		t.Errorf("live token during the outage: %v", err)
	}
	if s := g.Stats(); s.Fallbacks == 0 || s.Introspections == 0 {
		t.Errorf("Stats = %+v, want fallbacks", s)
	}
	if !strings.Contains(logs.String(), "fall back to introspection") {
		t.Errorf("no log line for the outage:\n%s", logs)
	}
	ts.proxy.restore()
	eventually(t, "the stream again", func() bool {
		_, err := g.Verify(bg, tok)
		return errors.Is(err, guard.ErrRevoked) // from the deny set, not introspection
	})
}

func TestIntegrationKeyRotation(t *testing.T) {
	ts := newTessera(t)
	g, _ := ts.guard()
	ts.user("frank@example.com")
	old := ts.login("frank@example.com", "")

	t.Run("KeyRotatedEvent", func(t *testing.T) {
		// The server's first key also made a key.rotated event, which the
		// startup replay delivered: wait for that fetch to be counted.
		eventually(t, "the startup fetches", func() bool { return g.Stats().KeyFetches >= 2 })
		fetches := g.Stats().KeyFetches
		if _, err := ts.svc.RotateKey(bg); err != nil {
			t.Fatal(err)
		}
		tok := ts.login("frank@example.com", "")
		start := time.Now()
		eventually(t, "the token of the new key to verify", func() bool { _, err := g.Verify(bg, tok); return err == nil })
		t.Logf("a token minted right after the rotation verified %v later", time.Since(start).Round(time.Microsecond))
		if g.Stats().KeyFetches <= fetches {
			t.Errorf("no key fetch after the rotation")
		}
		if _, err := g.Verify(bg, old); err != nil {
			t.Errorf("token of the previous key: %v", err)
		}
	})
	t.Run("UnknownKid", func(t *testing.T) {
		// The stream is cut: only the unknown kid tells guard.
		ts.proxy.cut()
		eventually(t, "the disconnect", func() bool { return !g.Stats().StreamConnected })
		if _, err := ts.svc.RotateKey(bg); err != nil {
			t.Fatal(err)
		}
		tok := ts.login("frank@example.com", "")
		fetches := g.Stats().KeyFetches
		eventually(t, "the refetch after an unknown kid", func() bool { _, err := g.Verify(bg, tok); return err == nil })
		if g.Stats().KeyFetches <= fetches {
			t.Errorf("no key fetch")
		}
		ts.proxy.restore()
	})
}

func TestIntegrationRolesAndScopes(t *testing.T) {
	ts := newTessera(t)
	g, _ := ts.guard()
	ts.user("admin@example.com", "admin")
	ts.user("user@example.com")
	mux := http.NewServeMux()
	mux.Handle("/admin", g.Fast(guard.RequireRoles("admin")(okHandler())))
	mux.Handle("/strict-admin", g.Strict(guard.RequireRoles("admin")(okHandler())))
	mux.Handle("/read", g.Fast(guard.RequireScopes("read")(okHandler())))
	admin := ts.login("admin@example.com", "read")
	user := ts.login("user@example.com", "")
	_, client := ts.clientToken("reader", "read")
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"/admin", admin, 200}, {"/admin", user, 403}, {"/admin", client, 403}, {"/admin", "", 401},
		{"/strict-admin", admin, 200}, {"/strict-admin", user, 403},
		{"/read", admin, 200}, {"/read", user, 403}, {"/read", client, 200}, {"/read", "", 401},
	} {
		r := httptest.NewRequest("GET", c.path, nil)
		if c.token != "" {
			r.Header.Set("Authorization", "Bearer "+c.token)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s with token %.8s…: %d, want %d", c.path, c.token, w.Code, c.want)
		}
	}
}

func TestIntegrationUserAndClientRevocations(t *testing.T) {
	ts := newTessera(t)
	g, _ := ts.guard()
	u := ts.user("grace@example.com")
	t.Run("SignOutEverywhere", func(t *testing.T) {
		toks := []string{ts.login("grace@example.com", ""), ts.login("grace@example.com", "")}
		if _, err := ts.svc.SignOutEverywhere(bg, u.ID); err != nil {
			t.Fatal(err)
		}
		for _, tok := range toks {
			refusedWithin(t, g, tok)
		}
		if _, err := g.Verify(bg, ts.login("grace@example.com", "")); err != nil {
			t.Errorf("a token from a new sign-in: %v", err)
		}
	})
	t.Run("ClientRemoved", func(t *testing.T) {
		id, tok := ts.clientToken("doomed", "read")
		p, err := g.Verify(bg, tok)
		if err != nil || !p.IsClient() {
			t.Fatalf("client token: %+v, %v", p, err)
		}
		if err := ts.svc.RemoveClient(bg, id); err != nil {
			t.Fatal(err)
		}
		refusedWithin(t, g, tok)
		if _, err := g.VerifyStrict(bg, tok); !isRefused(err) {
			t.Errorf("Strict, removed client: %v", err)
		}
	})
	if s := g.Stats(); s.Fallbacks != 0 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestIntegrationNewErrors(t *testing.T) {
	ts := newTessera(t)
	t.Run("IssuerNotExact", func(t *testing.T) {
		_, err := guard.New(guard.Config{Issuer: ts.issuer + "/", ClientID: ts.clientID, ClientSecret: ts.clientSecret, Now: ts.clock.Now})
		if err == nil || !strings.Contains(err.Error(), "compared exactly") {
			t.Fatalf("New with a trailing slash: %v", err)
		}
	})
	t.Run("ClientWithoutEventsScope", func(t *testing.T) {
		nc, err := ts.svc.CreateClient(bg, "introspect-only", []string{auth.ScopeIntrospect})
		if err != nil {
			t.Fatal(err)
		}
		_, err = guard.New(guard.Config{Issuer: ts.issuer, ClientID: nc.Client.ID, ClientSecret: nc.Secret.Reveal(), Now: ts.clock.Now})
		if err == nil || !strings.Contains(err.Error(), "invalid_scope") {
			t.Fatalf("New with a client lacking the events scope: %v, want invalid_scope", err)
		}
		t.Logf("the error reads: %v", err)
	})
	t.Run("WrongSecret", func(t *testing.T) {
		_, err := guard.New(guard.Config{Issuer: ts.issuer, ClientID: ts.clientID, ClientSecret: "nope", Now: ts.clock.Now})
		if err == nil || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("New with a wrong secret: %v, want invalid_client", err)
		}
	})
}
