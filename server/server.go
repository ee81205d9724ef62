// Package server is Tessera's HTTP server: it puts every feature's routes
// (the packages below it) on one mux, behind one middleware that gives each
// request an ID, the security headers, panic recovery, an access-log line
// and metrics. It also answers what belongs to no feature: /healthz,
// /readyz, /metrics, /openapi.json, the pages' assets, 404 and 405.
//
// The features, each a package with its handlers, page templates and tests:
//
//	server/session      sign-in and sign-out, who am I, devices (/v1/login, /v1/session…, /login)
//	server/account      the account page (/account)
//	server/oauth        OAuth 2.0: token, introspection, revocation, JWKS, metadata
//	server/events       the revocation stream (GET /v1/events)
//	server/forwardauth  forward-auth for reverse proxies (GET /v1/authz)
//	server/admin        the admin API (/admin/v1) and pages (/admin)
//
// They are written over the toolkit in server/httpx; server/servertest runs
// the whole server for their tests.
package server

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tessera-auth/tessera/admin"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/metrics"
	"github.com/tessera-auth/tessera/server/account"
	adminroutes "github.com/tessera-auth/tessera/server/admin"
	"github.com/tessera-auth/tessera/server/events"
	"github.com/tessera-auth/tessera/server/forwardauth"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/server/oauth"
	"github.com/tessera-auth/tessera/server/session"
)

// Config tunes the server. Zero values are the defaults.
type Config struct {
	// InsecureCookie drops the Secure attribute (and with it the __Host-
	// prefix) from the session cookie; see httpx.Config.
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

// Server serves Tessera over HTTP.
type Server struct {
	cfg      Config
	kit      *httpx.Kit
	log      *slog.Logger
	mux      *http.ServeMux
	events   *events.Handler
	draining atomic.Bool

	patterns []string                  // every route registered, in order (see Routes)
	observe  map[string]*metrics.Route // by pattern; read-only once serving
	noRoute  *metrics.Route
}

// New returns the server for svc, with every feature mounted.
func New(svc *auth.Service, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	kit := httpx.New(svc, httpx.Config{InsecureCookie: cfg.InsecureCookie, TrustedProxies: cfg.TrustedProxies, Logger: cfg.Logger})
	s := &Server{cfg: cfg, kit: kit, log: cfg.Logger, mux: http.NewServeMux(), observe: map[string]*metrics.Route{}}
	if cfg.Metrics != nil {
		s.noRoute = cfg.Metrics.Route("unmatched")
	}
	s.events = events.New(kit)
	for _, f := range []interface{ Mount(httpx.Mux) }{
		session.New(kit),
		oauth.New(kit),
		s.events,
		forwardauth.New(kit),
		adminroutes.New(kit, cfg.Webhooks),
		account.New(kit),
	} {
		f.Mount(s)
	}
	s.Handle("GET /healthz", http.HandlerFunc(s.handleHealth))
	s.Handle("GET /readyz", http.HandlerFunc(s.handleReady))
	s.Handle("GET /openapi.json", http.HandlerFunc(s.handleOpenAPI))
	if cfg.Metrics != nil {
		s.Handle("GET /metrics", cfg.Metrics.Handler())
	}
	s.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { httpx.Redirect(w, httpx.DefaultReturn) }))
	s.Handle("GET /assets/{name}", http.HandlerFunc(kit.ServeAsset))
	s.mux.HandleFunc("/", s.handleNoRoute)
	return s
}

// Kit is the toolkit the features run on.
func (s *Server) Kit() *httpx.Kit { return s.kit }

// Handle registers a route on the server's mux, behind the same middleware,
// and in the registry that Routes, the OpenAPI test and the per-route
// metrics read. Call it before serving: the route table is not locked.
func (s *Server) Handle(pattern string, h http.Handler) {
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
func (s *Server) CloseStreams() { s.events.Close() }

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
		s.kit.WriteError(w, r, auth.Errorf(httpx.CodeMethodNotAllowed, "use %s", strings.Join(allow, " or ")))
		return
	}
	s.kit.WriteError(w, r, auth.Errorf(auth.CodeNotFound, "no such endpoint"))
}

// ServeHTTP adds a request ID, security headers, panic recovery and an access
// log line around every request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var b [8]byte
	rand.Read(b[:])
	rid := hex.EncodeToString(b[:])
	r = r.WithContext(httpx.WithRequestID(r.Context(), rid))
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
				s.kit.WriteError(sw, r, auth.Errorf(auth.CodeInternal, "internal error"))
			}
		}
		d := time.Since(start)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", rid), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("duration", d), slog.String("ip", s.kit.ClientIP(r)))
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

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.kit.WriteError(w, r, &auth.Error{Code: auth.CodeBusy, Message: "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.kit.Svc.Store().Ping(ctx); err != nil {
		s.kit.WriteError(w, r, &auth.Error{Code: auth.CodeBusy, Message: "store unreachable", Err: err})
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// openapiJSON is the OpenAPI 3.1 document of the whole HTTP API. It is
// written by hand and committed; openapi_test.go fails when it and the
// routes the server registers disagree.
//
//go:embed openapi.json
var openapiJSON []byte

// OpenAPI returns the OpenAPI 3.1 document served at GET /openapi.json.
func OpenAPI() []byte { return slices.Clone(openapiJSON) }

// handleOpenAPI: GET /openapi.json.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openapiJSON)
}
