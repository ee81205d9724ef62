package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-auth/tessera/admin"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/guard"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/secret"
	tesserasrv "github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/store/postgres"
	"github.com/tessera-auth/tessera/store/sqlite"
)

// Store kinds.
const (
	storeSQLite   = "sqlite"
	storePostgres = "postgres"
)

// server is a Tessera server running in this process.
type server struct {
	base  string // http://127.0.0.1:port, also the issuer
	svc   *auth.Service
	store auth.Store
	kind  string // storeSQLite or storePostgres
	http  *http.Server
	stop  context.CancelFunc
	done  chan struct{}
}

// startServer serves the API over st on a loopback port, as `tessera serve`
// does: the auth service, its events follower, the HTTP server (package server), an http.Server.
func startServer(ctx context.Context, st auth.Store, kind string, argon password.Params, kek []byte, cacheSize int, logger *slog.Logger) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: listening on loopback: %w", err)
	}
	base := "http://" + ln.Addr().String()
	svc := auth.NewService(st, password.NewHasher(argon, 0, 0), auth.Config{
		CacheSize: cacheSize, Logger: logger,
		Tokens: auth.TokenConfig{Issuer: base, KEK: kek},
		// The load generator signs one account in from one address, up to
		// --concurrency at a time; sign-ins in flight count against both
		// throttles, whose default bursts (10 and 20) would refuse the rest.
		AccountBurst: 1 << 20, IPBurst: 1 << 20,
	})
	if err := svc.LoadKeys(ctx); err != nil {
		ln.Close()
		return nil, fmt.Errorf("bench: loading signing keys: %w", err)
	}
	from, err := st.LastEventSeq(ctx)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("bench: reading the events log: %w", err)
	}
	s := &server{base: base, svc: svc, store: st, kind: kind, done: make(chan struct{})}
	s.http = &http.Server{
		Handler:           tesserasrv.New(svc, tesserasrv.Config{Logger: logger}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	fctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	go func() {
		defer close(s.done)
		for fctx.Err() == nil {
			svc.Follow(fctx, from, 250*time.Millisecond)
			from = svc.Followed()
		}
	}()
	go s.http.Serve(ln)
	return s, nil
}

func (s *server) close() {
	s.http.Close() // event streams included
	s.stop()
	<-s.done
}

// env is everything a run drives: the server measured (in-process or
// remote), the fixtures made on it, and the helpers around them.
type env struct {
	opts   Options
	log    *slog.Logger
	hc     *http.Client // the load generator's client: keep-alive, no redirects
	remote bool

	base      string // the server's base URL
	issuer    string
	storeKind string  // "" when remote
	main      *server // nil when remote
	kek       []byte
	dir       string // temporary folder (SQLite)
	pgSchema  string

	adm          admin.Admin
	email, pw    string // the bench user's credentials
	clientID     string
	clientSecret string

	mu       sync.Mutex
	cacheOff map[string]*server      // by store kind
	sessions map[string][]credential // logged-in sessions by server base URL
	guard    *guard.Guard
	res      *resourceServer
	fill     *filler // the growth scenarios' stored sessions

	cleanups []func()
}

// onClose registers f to run at close, after everything registered later.
func (e *env) onClose(f func()) { e.cleanups = append(e.cleanups, f) }

// close undoes the set-up, last first.
func (e *env) close() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	e.cleanups = nil
}

func newEnv(opts Options) *env {
	maxC := 1
	for _, c := range opts.Concurrency {
		maxC = max(maxC, c)
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4*maxC + 64,
		MaxIdleConnsPerHost: 2*maxC + 32,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &env{
		opts: opts,
		log:  slog.New(slog.DiscardHandler),
		hc: &http.Client{
			Transport:     tr,
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		cacheOff: map[string]*server{},
		sessions: map[string][]credential{},
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// setup starts or reaches the server and creates the fixtures.
func (e *env) setup(ctx context.Context) error {
	e.onClose(func() { e.hc.CloseIdleConnections() })
	if e.opts.URL != "" {
		if err := e.setupRemote(ctx); err != nil {
			return err
		}
	} else if err := e.setupLocal(ctx); err != nil {
		return err
	}
	// The bench user and client, made through the admin interface: the
	// admin API when remote, the same code in-process.
	id := randomHex(6)
	e.email = "bench-" + id + "@tessera-bench.invalid"
	e.pw = "bench-" + secret.RandomID(18)
	u, err := e.adm.CreateUser(ctx, admin.NewUser{Email: e.email, Password: e.pw})
	if err != nil {
		return fmt.Errorf("bench: creating the bench user: %w", err)
	}
	e.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e.adm.DeleteUser(ctx, u.ID)
	})
	c, err := e.adm.CreateClient(ctx, "tessera-bench-"+id, []string{auth.ScopeEvents, auth.ScopeIntrospect})
	if err != nil {
		return fmt.Errorf("bench: creating the bench client: %w", err)
	}
	e.clientID, e.clientSecret = c.ID, c.Secret.Reveal()
	e.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e.adm.RemoveClient(ctx, c.ID)
	})
	return nil
}

func (e *env) setupRemote(ctx context.Context) error {
	e.remote = true
	e.base = strings.TrimSuffix(e.opts.URL, "/")
	adm, err := admin.NewRemote(e.base, e.opts.Token, nil)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	e.adm = adm
	// The issuer, as guard will compare it.
	st, body, _, err := e.fetch(ctx, "GET", e.base+"/.well-known/oauth-authorization-server", nil, nil)
	if err != nil {
		return fmt.Errorf("bench: reaching %s: %w", e.base, err)
	}
	var meta struct {
		Issuer string `json:"issuer"`
	}
	if st != 200 || json.Unmarshal(body, &meta) != nil || meta.Issuer == "" {
		return fmt.Errorf("bench: %s/.well-known/oauth-authorization-server answered %d without an issuer: is it a Tessera server?", e.base, st)
	}
	e.issuer = meta.Issuer
	return nil
}

func (e *env) setupLocal(ctx context.Context) error {
	e.kek = make([]byte, 32)
	rand.Read(e.kek)
	var st auth.Store
	if e.opts.Store != "" {
		db, err := e.openPostgres(ctx)
		if err != nil {
			return err
		}
		st, e.storeKind = db, storePostgres
	} else {
		db, err := e.openSQLite(ctx, "tessera.db")
		if err != nil {
			return err
		}
		st, e.storeKind = db, storeSQLite
	}
	s, err := startServer(ctx, st, e.storeKind, e.opts.Argon2, e.kek, 0, e.log)
	if err != nil {
		return err
	}
	e.onClose(s.close)
	e.main, e.base, e.issuer = s, s.base, s.base
	e.adm = admin.NewLocal(s.svc, nil)
	return nil
}

// openSQLite opens a store in the run's temporary folder (made on first use,
// removed at the end).
func (e *env) openSQLite(ctx context.Context, name string) (*sqlite.DB, error) {
	if e.dir == "" {
		dir, err := os.MkdirTemp("", "tessera-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		e.dir = dir
		e.onClose(func() { os.RemoveAll(dir) })
	}
	db, err := sqlite.Open(ctx, filepath.Join(e.dir, name), sqlite.Options{Synchronous: e.opts.SQLiteSynchronous})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	e.onClose(func() { db.Close() })
	return db, nil
}

// openPostgres opens the store in a fresh schema, dropped at the end.
func (e *env) openPostgres(ctx context.Context) (*postgres.DB, error) {
	schema := "tessera_bench_" + randomHex(6)
	ident := pgx.Identifier{schema}.Sanitize()
	if err := pgExec(ctx, e.opts.Store, "CREATE SCHEMA "+ident); err != nil {
		return nil, fmt.Errorf("bench: creating a schema for the run: %w", err)
	}
	e.pgSchema = schema
	e.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		pgExec(ctx, e.opts.Store, "DROP SCHEMA "+ident+" CASCADE")
	})
	db, err := postgres.Open(ctx, e.opts.Store, postgres.Options{Schema: schema, Logger: e.log})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	e.onClose(func() { db.Close() })
	return db, nil
}

func pgExec(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// cacheOffServer returns a second in-process server with the session cache
// disabled: over the main store when it is of that kind, else (SQLite beside
// a PostgreSQL main store) over a store of its own.
func (e *env) cacheOffServer(ctx context.Context, kind string) (*server, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.cacheOff[kind]; s != nil {
		return s, nil
	}
	var st auth.Store
	switch {
	case e.main == nil:
		return nil, errors.New("bench: the cache-off scenarios need the in-process server")
	case kind == e.storeKind:
		st = e.main.store
	case kind == storeSQLite:
		db, err := e.openSQLite(ctx, "cache-off.db")
		if err != nil {
			return nil, err
		}
		st = db
	default:
		return nil, fmt.Errorf("bench: no %s store in this run", kind)
	}
	s, err := startServer(ctx, st, kind, e.opts.Argon2, e.kek, -1, e.log)
	if err != nil {
		return nil, err
	}
	e.onClose(s.close)
	if st != e.main.store {
		// Its own store: its own bench user.
		if _, err := s.svc.CreateUser(ctx, auth.NewUser{Email: e.email, Password: e.pw}); err != nil {
			return nil, fmt.Errorf("bench: creating the bench user on the SQLite store: %w", err)
		}
	}
	e.cacheOff[kind] = s
	return s, nil
}

// guardFor returns the run's guard, made on first use: it follows the
// server's events stream with the bench client.
func (e *env) guardFor(ctx context.Context) (*guard.Guard, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.guard != nil {
		return e.guard, nil
	}
	tr := e.hc.Transport.(*http.Transport).Clone()
	g, err := guard.New(guard.Config{
		Issuer: e.issuer, ClientID: e.clientID, ClientSecret: e.clientSecret,
		// Strict introspects per request: keep its connections alive (the
		// default transport keeps 2 per host).
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: tr},
		Logger:     e.log,
	})
	if err != nil {
		return nil, fmt.Errorf("bench: starting guard: %w", err)
	}
	e.guard = g
	e.onClose(func() { g.Close(); tr.CloseIdleConnections() })
	return g, nil
}

// resourceServer is a tiny resource server on loopback: the same handler
// bare (/plain, the floor), behind guard.Fast (/fast) and guard.Strict
// (/strict).
type resourceServer struct {
	base string
	srv  *http.Server
}

func (e *env) resource(ctx context.Context) (*resourceServer, error) {
	g, err := e.guardFor(ctx)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.res != nil {
		return e.res, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /plain", ok)
	mux.Handle("GET /fast", g.Fast(ok))
	mux.Handle("GET /strict", g.Strict(ok))
	r := &resourceServer{base: "http://" + ln.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}}
	go r.srv.Serve(ln)
	e.res = r
	e.onClose(func() { r.srv.Close() })
	return r, nil
}

// credential is a signed-in session: its cookie, and tokens when asked for.
type credential struct {
	cookieName, cookie string
	access, refresh    string
}

func (c credential) cookieHeader() string { return c.cookieName + "=" + c.cookie }

// login signs the bench user in on the server at base; mode is "session",
// "token" or "hybrid".
func (e *env) login(ctx context.Context, base, mode string) (credential, error) {
	body, _ := json.Marshal(map[string]any{"email": e.email, "password": e.pw, "mode": mode})
	st, resp, h, err := e.fetch(ctx, "POST", base+"/v1/login", body, http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		return credential{}, err
	}
	if st != 200 {
		return credential{}, fmt.Errorf("bench: login answered %d: %s", st, truncate(resp, 200))
	}
	var c credential
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	json.Unmarshal(resp, &tr)
	c.access, c.refresh = tr.AccessToken, tr.RefreshToken
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == httpx.CookieName || ck.Name == httpx.InsecureCookieName {
			c.cookieName, c.cookie = ck.Name, ck.Value
		}
	}
	if mode != "token" && c.cookie == "" {
		return credential{}, errors.New("bench: login set no session cookie")
	}
	if mode != "session" && (c.access == "" || c.refresh == "") {
		return credential{}, errors.New("bench: login in token mode returned no tokens")
	}
	return c, nil
}

// sessionsOn returns n signed-in sessions on the server at base, made once
// and reused by the scenarios (their cache entries stay warm).
func (e *env) sessionsOn(ctx context.Context, base string, n int) ([]credential, error) {
	e.mu.Lock()
	have := e.sessions[base]
	e.mu.Unlock()
	for len(have) < n {
		c, err := e.login(ctx, base, "session")
		if err != nil {
			return nil, err
		}
		have = append(have, c)
	}
	e.mu.Lock()
	e.sessions[base] = have
	e.mu.Unlock()
	return have[:n], nil
}

// mintToken gets a fresh access token for a session (the hybrid mode's
// POST /v1/session/token), for the guard scenarios.
func (e *env) mintToken(ctx context.Context, c credential) (string, error) {
	st, body, _, err := e.fetch(ctx, "POST", e.base+"/v1/session/token", nil, http.Header{"Cookie": {c.cookieHeader()}})
	if err != nil {
		return "", err
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if st != 200 || json.Unmarshal(body, &tr) != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("bench: POST /v1/session/token answered %d: %s", st, truncate(body, 200))
	}
	return tr.AccessToken, nil
}

// fetch makes one request and reads the whole answer.
func (e *env) fetch(ctx context.Context, method, url string, body []byte, h http.Header) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, resp.Header, err
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
