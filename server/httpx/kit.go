package httpx

import (
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/tessera-auth/tessera/auth"
)

// Config tunes the toolkit. Zero values are the defaults.
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
	Logger         *slog.Logger // default slog.Default()
}

// Kit is the toolkit configured for one server: the auth service, how to
// read and set credentials, the cross-origin check, errors, and the pages'
// layout. Feature packages take one in their New.
type Kit struct {
	Svc *auth.Service
	Log *slog.Logger

	cfg    Config
	cookie string
	cop    *http.CrossOriginProtection
	rec    auth.Recorder
	site   *site
}

// New returns the toolkit over svc.
func New(svc *auth.Service, cfg Config) *Kit {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	k := &Kit{Svc: svc, Log: cfg.Logger, cfg: cfg, cookie: CookieName, cop: http.NewCrossOriginProtection(), rec: svc.Recorder()}
	if cfg.InsecureCookie {
		k.cookie = InsecureCookieName
	}
	k.site = newSite()
	k.site.errors = k.Pages(templateFS, nil)
	return k
}

// Config returns the toolkit's settings.
func (k *Kit) Config() Config { return k.cfg }

// Mux is where a feature mounts its routes: the server's route registry, or
// a plain *http.ServeMux.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// CheckOrigin is the cross-origin check (net/http's CrossOriginProtection,
// on the Sec-Fetch-Site and Origin headers that browsers send) as an error
// with CodeCrossOrigin. Every state change that a browser could be tricked
// into sending with the session cookie runs it first.
func (k *Kit) CheckOrigin(r *http.Request) error {
	if err := k.cop.Check(r); err != nil {
		return auth.Errorf(auth.CodeCrossOrigin, "cross-origin request refused")
	}
	return nil
}
