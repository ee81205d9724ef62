package guard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/syncbuf"

	"github.com/tessera-auth/tessera/internal/clock"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/guard"
)

// fakeServer is a small Tessera look-alike that speaks the wire formats
// guard depends on: RFC 8414 metadata, the JWKS, client_credentials,
// introspection and the /v1/events stream. Tokens are signed with
// accesstoken.Sign over real keys.
type fakeServer struct {
	t            testing.TB
	srv          *httptest.Server
	issuer       string
	clientID     string
	clientSecret string
	ttl          time.Duration // access-token lifetime
	heartbeat    time.Duration
	clock        *clock.Shifted // shared by the fake and the guard: real time, years from today

	mu             sync.Mutex
	metaIssuer     string // issuer in the metadata; default issuer
	keys           []*accesstoken.Key
	bearers        map[string]bool
	log            []fakeEvent
	compacted      int64 // Last-Event-IDs below this cannot be resumed
	changed        chan struct{}
	revoked        map[string]bool
	invalidBefore  map[string]time.Time
	removedClients map[string]bool
	eventsStatus   int // when set, /v1/events answers this status
	paused         bool
	unpause        chan struct{}
	conns          map[int]context.CancelFunc
	nextConn       int
	lastEventIDs   []string      // Last-Event-ID of each /v1/events request ("" when absent)
	noLiveMarker   bool          // no heartbeat right after the replay
	tokenTTL       int           // expires_in of client tokens
	resumeDelay    time.Duration // pause between a resumed hello and the catch-up
	jwksRedirect   string        // when set, the JWKS answers 302 to it
	jwksDelay      time.Duration // the JWKS answers this late

	jwksHits, tokenHits, introspectHits, eventsHits atomic.Int64
	resets                                          atomic.Int64 // resets sent to a Last-Event-ID that could not be resumed
}

type fakeEvent struct {
	Seq    int64             `json:"seq"`
	Type   string            `json:"type"`
	At     time.Time         `json:"at"`
	UserID string            `json:"user_id,omitempty"`
	SID    string            `json:"sid,omitempty"`
	Data   map[string]string `json:"data,omitempty"`
}

const (
	testClientID     = "cl_guard:with+odd chars"
	testClientSecret = "s3cret/with%odd&chars="
)

func newFake(t testing.TB, opts ...func(*fakeServer)) *fakeServer {
	t.Helper()
	f := &fakeServer{
		t: t, clientID: testClientID, clientSecret: testClientSecret,
		ttl: 5 * time.Minute, heartbeat: 100 * time.Millisecond, clock: clock.NewShifted(clock.Epoch(t)),
		bearers: map[string]bool{}, changed: make(chan struct{}), revoked: map[string]bool{},
		invalidBefore: map[string]time.Time{}, removedClients: map[string]bool{},
		conns: map[int]context.CancelFunc{}, tokenTTL: 300,
	}
	f.keys = []*accesstoken.Key{f.newKey()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", f.handleMeta)
	mux.HandleFunc("GET /jwks", f.handleJWKS)
	mux.HandleFunc("POST /token", f.handleToken)
	mux.HandleFunc("POST /introspect", f.handleIntrospect)
	mux.HandleFunc("GET /v1/events", f.handleEvents)
	f.srv = httptest.NewServer(mux)
	f.issuer = f.srv.URL
	for _, o := range opts {
		o(f)
	}
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.dropConns) // runs first: lets srv.Close finish
	return f
}

func (f *fakeServer) newKey() *accesstoken.Key {
	k, err := accesstoken.GenerateKey(accesstoken.EdDSA, nil, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

// config is a guard.Config for this server, logging into logs.
func (f *fakeServer) config(logs *syncbuf.Buffer) guard.Config {
	return guard.Config{
		Issuer: f.issuer, ClientID: f.clientID, ClientSecret: f.clientSecret,
		Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		StartTimeout: 5 * time.Second,
	}
}

// --- tokens ---

func (f *fakeServer) sign(c accesstoken.Claims) string {
	f.t.Helper()
	f.mu.Lock()
	key := f.keys[len(f.keys)-1]
	f.mu.Unlock()
	tok, err := accesstoken.Sign(key, c)
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

var jtiSeq atomic.Int64

// userToken mints a user's access token, issued now.
func (f *fakeServer) userToken(sub, sid string, roles []string, scope string) string {
	return f.userTokenAt(f.clock.Now(), sub, sid, roles, scope)
}

func (f *fakeServer) userTokenAt(iat time.Time, sub, sid string, roles []string, scope string) string {
	return f.sign(accesstoken.Claims{
		Issuer: f.issuer, Subject: sub, Audience: []string{f.issuer},
		IssuedAt: iat, NotBefore: iat, ExpiresAt: iat.Add(f.ttl),
		ID: "jti-" + strconv.FormatInt(jtiSeq.Add(1), 10), SessionID: sid, Scope: scope, Roles: roles, ClientID: "cl_app",
	})
}

// clientToken mints a client's own (client_credentials) token.
func (f *fakeServer) clientToken(clientID, scope string) string {
	now := f.clock.Now()
	return f.sign(accesstoken.Claims{
		Issuer: f.issuer, Subject: clientID, Audience: []string{f.issuer},
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(f.ttl),
		ID: "jti-" + strconv.FormatInt(jtiSeq.Add(1), 10), Scope: scope, ClientID: clientID,
	})
}

// --- state changes ---

func (f *fakeServer) appendLocked(ev fakeEvent) int64 {
	ev.Seq = int64(len(f.log)) + 1
	if ev.At.IsZero() {
		ev.At = f.clock.Now()
	}
	f.log = append(f.log, ev)
	close(f.changed)
	f.changed = make(chan struct{})
	return ev.Seq
}

func (f *fakeServer) emit(ev fakeEvent) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.appendLocked(ev)
}

// revokeSession ends a session and emits session.revoked.
func (f *fakeServer) revokeSession(userID, sid string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked[sid] = true
	return f.appendLocked(fakeEvent{Type: "session.revoked", UserID: userID, SID: sid, Data: map[string]string{"cause": "logout"}})
}

// revokeSilently ends a session without an event (only introspection knows).
func (f *fakeServer) revokeSilently(sid string) {
	f.mu.Lock()
	f.revoked[sid] = true
	f.mu.Unlock()
}

func (f *fakeServer) invalidateUser(userID string, at time.Time) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invalidBefore[userID] = at
	return f.appendLocked(fakeEvent{Type: "user.tokens_invalidated", UserID: userID, At: at})
}

func (f *fakeServer) removeClient(clientID string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removedClients[clientID] = true
	return f.appendLocked(fakeEvent{Type: "client.removed", Data: map[string]string{"client_id": clientID}})
}

// rotate adds a new signing key, emitting key.rotated when withEvent.
func (f *fakeServer) rotate(withEvent bool) {
	k := f.newKey()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, k)
	if withEvent {
		f.appendLocked(fakeEvent{Type: "key.rotated", Data: map[string]string{"kid": k.ID}})
	}
}

// compact makes every Last-Event-ID so far unresumable.
func (f *fakeServer) compact() {
	f.mu.Lock()
	f.compacted = int64(len(f.log)) + 1
	f.mu.Unlock()
}

// dropConns ends every open event stream.
func (f *fakeServer) dropConns() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cancel := range f.conns {
		cancel()
	}
}

func (f *fakeServer) openConns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// pause keeps the streams open but silent, heartbeats included.
func (f *fakeServer) pause() {
	f.mu.Lock()
	if !f.paused {
		f.paused, f.unpause = true, make(chan struct{})
	}
	f.mu.Unlock()
}

func (f *fakeServer) resume() {
	f.mu.Lock()
	if f.paused {
		f.paused = false
		close(f.unpause)
	}
	f.mu.Unlock()
}

func (f *fakeServer) setEventsStatus(code int) {
	f.mu.Lock()
	f.eventsStatus = code
	f.mu.Unlock()
}

// revokeBearers makes every client token issued so far invalid for /v1/events.
func (f *fakeServer) revokeBearers() {
	f.mu.Lock()
	clear(f.bearers)
	f.mu.Unlock()
}

func (f *fakeServer) lastEventIDsSeen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lastEventIDs...)
}

// --- handlers ---

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeServer) handleMeta(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	iss := f.metaIssuer
	f.mu.Unlock()
	if iss == "" {
		iss = f.issuer
	}
	writeJSON(w, 200, map[string]string{
		"issuer": iss, "jwks_uri": f.srv.URL + "/jwks", "token_endpoint": f.srv.URL + "/token",
		"introspection_endpoint": f.srv.URL + "/introspect",
	})
}

func (f *fakeServer) keySet() *accesstoken.KeySet {
	f.mu.Lock()
	defer f.mu.Unlock()
	set, err := accesstoken.NewKeySet(f.keys...)
	if err != nil {
		panic(err)
	}
	return set
}

func (f *fakeServer) handleJWKS(w http.ResponseWriter, r *http.Request) {
	f.jwksHits.Add(1)
	f.mu.Lock()
	redirect, delay := f.jwksRedirect, f.jwksDelay
	f.mu.Unlock()
	time.Sleep(delay)
	if redirect != "" {
		http.Redirect(w, r, redirect, http.StatusFound)
		return
	}
	b, err := f.keySet().MarshalJWKS()
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// clientAuth checks client_secret_basic with RFC 6749 §2.3.1 decoding.
func (f *fakeServer) clientAuth(r *http.Request) bool {
	id, sec, ok := r.BasicAuth()
	if !ok {
		return false
	}
	id, err1 := url.QueryUnescape(id)
	sec, err2 := url.QueryUnescape(sec)
	return err1 == nil && err2 == nil && id == f.clientID && sec == f.clientSecret
}

func (f *fakeServer) handleToken(w http.ResponseWriter, r *http.Request) {
	f.tokenHits.Add(1)
	if !f.clientAuth(r) {
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	r.ParseForm()
	if r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("scope") != "events introspect" {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	tok := f.clientToken(f.clientID, "events introspect")
	f.mu.Lock()
	f.bearers[tok] = true
	ttl := f.tokenTTL
	f.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": ttl, "scope": "events introspect"})
}

func (f *fakeServer) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	f.introspectHits.Add(1)
	if !f.clientAuth(r) {
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	r.ParseForm()
	v := &accesstoken.Verifier{Keys: f.keySet(), Issuer: f.issuer, Audience: f.issuer, Now: f.clock.Now}
	c, err := v.Verify(r.PostForm.Get("token"))
	inactive := map[string]bool{"active": false}
	if err != nil || r.PostForm.Get("token_type_hint") != "access_token" {
		writeJSON(w, 200, inactive)
		return
	}
	f.mu.Lock()
	dead := f.revoked[c.SessionID] ||
		(c.SessionID == "" && f.removedClients[c.ClientID]) ||
		(!f.invalidBefore[c.Subject].IsZero() && c.IssuedAt.Unix() < f.invalidBefore[c.Subject].Unix())
	f.mu.Unlock()
	if dead {
		writeJSON(w, 200, inactive)
		return
	}
	out := map[string]any{"active": true, "token_type": "access_token", "sub": c.Subject, "client_id": c.ClientID,
		"scope": c.Scope, "exp": c.ExpiresAt.Unix(), "iat": c.IssuedAt.Unix(), "aud": c.Audience, "roles": c.Roles}
	if c.SessionID != "" {
		out["sid"] = c.SessionID
	}
	writeJSON(w, 200, out)
}

var revocationTypes = map[string]bool{"session.revoked": true, "user.tokens_invalidated": true, "user.deleted": true,
	"refresh.reuse_detected": true, "client.removed": true, "key.rotated": true}

func (f *fakeServer) handleEvents(w http.ResponseWriter, r *http.Request) {
	f.eventsHits.Add(1)
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	status, authed := f.eventsStatus, f.bearers[tok]
	f.lastEventIDs = append(f.lastEventIDs, r.Header.Get("Last-Event-ID"))
	f.mu.Unlock()
	switch {
	case !authed:
		writeJSON(w, 401, map[string]string{"error": "invalid_token"})
		return
	case status != 0:
		writeJSON(w, status, map[string]string{"error": "unavailable"})
		return
	case r.Header.Get("Accept") != "text/event-stream":
		http.Error(w, "want Accept: text/event-stream", 406)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	f.mu.Lock()
	id := f.nextConn
	f.nextConn++
	f.conns[id] = cancel
	latest := int64(len(f.log))
	last, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	resumed := err == nil && last >= f.compacted && last <= latest
	var replay []fakeEvent
	cursor := latest
	if resumed {
		cursor = last
	} else {
		for _, ev := range f.log {
			if revocationTypes[ev.Type] {
				replay = append(replay, ev)
			}
		}
	}
	noLive := f.noLiveMarker
	f.mu.Unlock()
	defer func() { f.mu.Lock(); delete(f.conns, id); f.mu.Unlock() }()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(200)
	fl := w.(http.Flusher)
	write := func(id, typ string, data any) {
		b, _ := json.Marshal(data)
		if id != "" {
			fmt.Fprintf(w, "id: %s\n", id)
		}
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b)
	}
	write("", "hello", map[string]any{"token_lifetime_seconds": int(f.ttl/time.Second) + 60, "latest_seq": latest, "resumed": resumed})
	f.mu.Lock()
	delay := f.resumeDelay
	f.mu.Unlock()
	if resumed && delay > 0 {
		fl.Flush()
		time.Sleep(delay)
	}
	if !resumed {
		if r.Header.Get("Last-Event-ID") != "" {
			f.resets.Add(1)
		}
		write("", "reset", map[string]any{})
		for _, ev := range replay {
			write(strconv.FormatInt(ev.Seq, 10), ev.Type, ev)
		}
		if !noLive {
			write("", "heartbeat", map[string]any{"latest_seq": latest})
		}
	}
	fl.Flush()
	tick := time.NewTicker(f.heartbeat)
	defer tick.Stop()
	for {
		f.mu.Lock()
		if f.paused {
			ch := f.unpause
			f.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return
			}
		}
		var evs []fakeEvent
		if cursor < int64(len(f.log)) {
			evs = append(evs, f.log[cursor:]...)
		}
		changed := f.changed
		n := int64(len(f.log))
		f.mu.Unlock()
		for _, ev := range evs {
			write(strconv.FormatInt(ev.Seq, 10), ev.Type, ev)
			cursor = ev.Seq
		}
		fl.Flush()
		select {
		case <-changed:
		case <-tick.C:
			f.mu.Lock()
			paused := f.paused
			f.mu.Unlock()
			if !paused {
				write("", "heartbeat", map[string]any{"latest_seq": n})
				fl.Flush()
			}
		case <-ctx.Done():
			return
		}
	}
}

// --- helpers ---

// mustGuard starts a guard on f and closes it at the end of the test.
func mustGuard(t testing.TB, f *fakeServer, mods ...func(*guard.Config)) (*guard.Guard, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	cfg := f.config(logs)
	for _, m := range mods {
		m(&cfg)
	}
	g, err := guard.New(cfg)
	if err != nil {
		t.Fatalf("guard.New: %v\nlogs:\n%s", err, logs)
	}
	t.Cleanup(func() { g.Close() })
	return g, logs
}

// eventually polls cond every 5 ms for up to 3 s.
func eventually(t testing.TB, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 3*time.Second {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
	return 0
}

// get calls h with an optional bearer token and returns the response.
func get(h http.Handler, token string) *http.Response {
	r := httptest.NewRequest("GET", "/x", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	resp := w.Result()
	io.Copy(io.Discard, resp.Body)
	return resp
}
