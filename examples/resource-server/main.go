// Command resource-server is a small API protected by Tessera's guard
// package: a Fast route (local JWT check plus the revocation stream), a
// Strict route (every request's session checked with the server) and an admin
// route that needs the "admin" role. See README.md for running it against
// tessera serve.
//
//	resource-server -issuer http://127.0.0.1:8080 -listen 127.0.0.1:8081
//
// The client credentials come from TESSERA_CLIENT_ID and TESSERA_CLIENT_SECRET
// (or -client-id and -client-secret, though a secret in a flag shows in ps).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tessera-auth/tessera/guard"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "resource-server:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func run() error {
	issuer := flag.String("issuer", env("TESSERA_ISSUER", "http://127.0.0.1:8080"), "Tessera's issuer URL, exactly as the server states it (env TESSERA_ISSUER)")
	clientID := flag.String("client-id", env("TESSERA_CLIENT_ID", ""), "ID of a client with the events and introspect scopes (env TESSERA_CLIENT_ID)")
	clientSecret := flag.String("client-secret", env("TESSERA_CLIENT_SECRET", ""), "its secret; prefer the variable TESSERA_CLIENT_SECRET")
	listen := flag.String("listen", env("LISTEN_ADDR", "127.0.0.1:8081"), "address to serve on (env LISTEN_ADDR)")
	staleness := flag.Duration("staleness", guard.DefaultStaleness, "fall back to introspection when the event stream is silent this long")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	g, err := guard.New(guard.Config{
		Issuer:       *issuer,
		ClientID:     *clientID,
		ClientSecret: *clientSecret,
		Staleness:    *staleness,
		Logger:       log,
	})
	if err != nil {
		return err
	}
	defer g.Close()

	// guard has no metrics dependency: export its Stats with what the
	// service already uses, here expvar at /debug/vars.
	expvar.Publish("guard", expvar.Func(func() any { return g.Stats() }))

	mux := http.NewServeMux()
	mux.Handle("GET /api/hello", g.Fast(http.HandlerFunc(hello)))
	mux.Handle("/billing/", g.Strict(http.HandlerFunc(billing)))
	mux.Handle("/admin/", g.Fast(guard.RequireRoles("admin")(http.HandlerFunc(admin))))
	mux.Handle("GET /debug/vars", expvar.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })

	srv := &http.Server{
		Addr:              *listen,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("resource server listening", "addr", *listen, "issuer", *issuer)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// whoami is what the routes answer: the verified principal.
func whoami(w http.ResponseWriter, r *http.Request, route string) {
	p, _ := guard.PrincipalFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"route":      route,
		"subject":    p.Subject,
		"session":    p.SessionID,
		"client_id":  p.ClientID,
		"roles":      p.Roles,
		"scopes":     p.Scopes,
		"expires_at": p.ExpiresAt,
	})
}

// hello is a Fast route: no call to Tessera per request.
func hello(w http.ResponseWriter, r *http.Request) { whoami(w, r, "fast") }

// billing is a Strict route: the session is checked with Tessera.
func billing(w http.ResponseWriter, r *http.Request) { whoami(w, r, "strict") }

// admin needs the admin role.
func admin(w http.ResponseWriter, r *http.Request) { whoami(w, r, "admin") }
