// Package httpapi is Tessera's HTTP surface: the JSON API of DESIGN.md, its
// cookies, CSRF protection and problem+json errors. Handlers decode, call the
// auth service and encode; the rules live in package auth.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-auth/tessera/admin"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/metrics"
)

// Config tunes the HTTP layer. Zero values are the defaults.
type Config struct {
	// InsecureCookie drops the Secure attribute (and with it the __Host-
	// prefix) from the session cookie, for plain-HTTP deployments on hosts
	// other than localhost. Browsers keep Secure cookies over http on
	// localhost and 127.0.0.1, and behind a TLS-terminating proxy the browser
	// sees https, so neither needs it.
	InsecureCookie bool
	// TrustedProxies are the peers whose X-Forwarded-For is believed when
	// taking the client IP (used for throttling and the device list).
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger
	// Metrics, when set, is served at GET /metrics and counts every request
	// by route and status. Give the same value to auth.Config.Recorder.
	Metrics *metrics.Metrics
	// Webhooks is the webhook service behind /admin/v1/webhooks (a
	// *webhook.Service); nil answers those routes 404.
	Webhooks admin.Webhooks
}

// Server serves the HTTP API.
type Server struct {
	cfg      Config
	auth     *auth.Service
	log      *slog.Logger
	mux      *http.ServeMux
	cop      *http.CrossOriginProtection
	cookie   string
	draining atomic.Bool

	streams       atomic.Int64 // open event streams
	closeStreams  sync.Once
	streamsClosed chan struct{}

	admin    *admin.Local
	rec      auth.Recorder
	patterns []string                  // every route registered, in order (see Routes)
	observe  map[string]*metrics.Route // by pattern; read-only once serving
	noRoute  *metrics.Route
}

// CookieName is the session cookie's name; InsecureCookie uses
// InsecureCookieName, since browsers refuse a __Host- cookie without Secure.
const (
	CookieName         = "__Host-tessera_session"
	InsecureCookieName = "tessera_session"
)

// New returns the API server for svc.
func New(svc *auth.Service, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, auth: svc, log: cfg.Logger, mux: http.NewServeMux(), cop: http.NewCrossOriginProtection(), cookie: CookieName, streamsClosed: make(chan struct{}),
		admin: admin.NewLocal(svc, cfg.Webhooks), rec: svc.Recorder(), observe: map[string]*metrics.Route{}}
	if cfg.Metrics != nil {
		s.noRoute = cfg.Metrics.Route("unmatched")
	}
	if cfg.InsecureCookie {
		s.cookie = InsecureCookieName
	}
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, auth.Errorf(auth.CodeCrossOrigin, "cross-origin request refused"))
	}))
	s.routes()
	return s
}

// Handle registers an extra route on the server's mux (the web pages and
// later features mount here), behind the same middleware. Call it before
// serving: the route table is not locked.
func (s *Server) Handle(pattern string, h http.Handler) { s.register(pattern, h) }

// handle registers one of the API's own routes.
func (s *Server) handle(pattern string, fn http.HandlerFunc) { s.register(pattern, fn) }

// register adds a route to the mux and to the registry that Routes, the
// OpenAPI test and the per-route metrics read.
func (s *Server) register(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
	s.patterns = append(s.patterns, pattern)
	if s.cfg.Metrics != nil {
		s.observe[pattern] = s.cfg.Metrics.Route(pattern)
	}
}

// Routes returns the pattern of every route registered ("GET /v1/session"),
// in registration order, without the catch-all that answers 404 and 405.
func (s *Server) Routes() []string { return slices.Clone(s.patterns) }

// SetDraining makes /readyz answer 503, so that load balancers stop sending
// traffic before shutdown.
func (s *Server) SetDraining() { s.draining.Store(true) }

// CloseStreams ends every open event stream cleanly (subscribers reconnect,
// to another node, with their Last-Event-ID) and refuses new ones. Call it
// when shutting down, since http.Server.Shutdown would otherwise wait for
// streams that never end on their own.
func (s *Server) CloseStreams() {
	s.closeStreams.Do(func() { close(s.streamsClosed) })
}

func (s *Server) routes() {
	s.handle("POST /v1/login", s.handleLogin)
	s.handle("POST /v1/logout", s.handleLogout)
	s.handle("GET /v1/session", s.handleSession)
	s.handle("GET /v1/sessions", s.handleSessions)
	s.handle("DELETE /v1/sessions/{sid}", s.handleRevokeSession)
	s.handle("DELETE /v1/sessions", s.handleRevokeOthers)
	s.handle("GET /healthz", s.handleHealth)
	s.handle("GET /readyz", s.handleReady)
	s.oauthRoutes()
	s.handle("GET /v1/events", s.handleEvents)
	s.handle("GET /v1/authz", s.handleAuthz)
	s.adminRoutes()
	s.handle("GET /openapi.json", s.handleOpenAPI)
	if s.cfg.Metrics != nil {
		s.Handle("GET /metrics", s.cfg.Metrics.Handler())
	}
	s.mux.HandleFunc("/", s.handleNoRoute)
}

// handleNoRoute answers 405 with Allow when the path exists for other
// methods, else 404: the catch-all would otherwise hide ServeMux's 405.
func (s *Server) handleNoRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, auth.Errorf(codeMethodNotAllowed, "use %s", strings.Join(allow, " or ")))
		return
	}
	s.writeError(w, r, auth.Errorf(auth.CodeNotFound, "no such endpoint"))
}

type ctxKey int

const requestIDKey ctxKey = 0

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// ServeHTTP adds a request ID, security headers, panic recovery and an access
// log line around every request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var b [8]byte
	rand.Read(b[:])
	rid := hex.EncodeToString(b[:])
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey, rid))
	h := w.Header()
	h.Set("X-Request-Id", rid)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=63072000")
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "request_id", rid, "panic", v, "stack", string(debug.Stack()))
			if !sw.wrote {
				s.writeError(sw, r, auth.Errorf(auth.CodeInternal, "internal error"))
			}
		}
		d := time.Since(start)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", rid), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("duration", d), slog.String("ip", s.clientIP(r)))
		if s.cfg.Metrics != nil {
			// The mux set r.Pattern to the route that matched.
			o := s.observe[r.Pattern]
			if o == nil {
				o = s.noRoute
			}
			o.Observe(sw.status, d)
		}
	}()
	s.mux.ServeHTTP(sw, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) clientIP(r *http.Request) string { return ClientIP(r, s.cfg.TrustedProxies) }

// ClientIP is the peer address of r, or, when the peer is one of the trusted
// proxies, the right-most address in X-Forwarded-For that is not itself a
// trusted proxy. Everything that records or throttles by client IP (the API,
// the web pages) takes it from here.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !isTrusted(a, trusted) {
			return a.Unmap().String()
		}
	}
	return host
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Server) client(r *http.Request) auth.Client {
	return auth.Client{IP: s.clientIP(r), UserAgent: r.UserAgent()}
}
