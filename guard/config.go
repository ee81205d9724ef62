package guard

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
)

// Config configures a Guard. Issuer, ClientID and ClientSecret are required;
// the zero value of every other field is its documented default.
type Config struct {
	// Issuer is the Tessera server's issuer URL, e.g.
	// "https://auth.example.com". It is compared exactly (no trailing-slash
	// or case normalisation) with the "issuer" of the server's RFC 8414
	// metadata and with the "iss" of every token.
	Issuer string
	// ClientID and ClientSecret are the credentials of a Tessera client that
	// holds the "events" and "introspect" scopes, e.g. one made with
	//	tessera client add --name api --scope events --scope introspect
	// Guard uses them for its own client_credentials token (for the event
	// stream) and for introspection (client_secret_basic).
	ClientID     string
	ClientSecret string
	// Audience is the "aud" value tokens must contain; default Issuer (the
	// server's default audience).
	Audience string
	// HTTPClient makes Guard's requests to the server. Default: a client with
	// a 10 s timeout. Guard never follows redirects, whatever the client's
	// CheckRedirect says (keys are only taken from the jwks_uri itself), and
	// the long-lived event stream is made without the client's Timeout (it is
	// watched for silence instead).
	HTTPClient *http.Client
	// Staleness is how long the event stream may go unheard (no event,
	// heartbeat included) before Fast stops trusting its revocation state and
	// checks tokens by introspection instead; default 10 s.
	Staleness time.Duration
	// MaxTokenBytes is the longest token accepted, checked before any
	// decoding; default 8192.
	MaxTokenBytes int
	// CacheSize bounds the repeated-token cache of Fast (verified tokens, kept
	// by their exact bytes until they expire); default 10000. A negative
	// value disables the cache.
	CacheSize int
	// StrictCacheTTL lets Strict reuse a positive introspection answer for
	// the exact same token for this long, at most 1 s (larger values are
	// clamped). Default 0: every Strict check asks the server, so that a
	// token whose session was revoked never passes Strict. With a TTL, a
	// check that starts less than the TTL after the revoking call could still
	// pass, if the revocation event has not reached Guard by then (reuse
	// always stops at the event).
	StrictCacheTTL time.Duration
	// StartTimeout bounds New: discovery, the first key fetch, the client
	// token, and the event stream's initial replay; default 10 s.
	StartTimeout time.Duration
	// Logger receives Guard's log lines; default slog.Default(). Tokens and
	// secrets are never logged.
	Logger *slog.Logger
	// Now is the clock for token expiry, staleness and cache lifetimes;
	// default time.Now. For tests.
	Now func() time.Time
}

// Defaults.
const (
	DefaultStaleness     = 10 * time.Second
	DefaultMaxTokenBytes = accesstoken.DefaultMaxTokenBytes
	DefaultCacheSize     = 10000
	DefaultStartTimeout  = 10 * time.Second
	defaultHTTPTimeout   = 10 * time.Second
)

// Limits and intervals that are not configurable.
const (
	// maxIntrospectionReuse is how long a positive introspection answer is
	// kept: Fast's fallback reuses it for that long, Strict for at most
	// StrictCacheTTL.
	maxIntrospectionReuse = time.Second
	// defaultTokenLifetime is how long deny entries are kept before the
	// server's hello has said how long tokens live.
	defaultTokenLifetime = time.Hour
	// maxSSELine and maxSSEEvent bound what one line and one event of the
	// stream may hold.
	maxSSELine  = 64 << 10
	maxSSEEvent = 256 << 10
	// minBackoff and maxBackoff bound the stream's reconnect delay.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// maxBody bounds the JSON documents Guard reads.
	maxBody = 1 << 20
	// pruneEvery is how often expired cache and deny entries are dropped.
	pruneEvery = 30 * time.Second
)

// jwksMinInterval is the least time between two key fetches caused by
// unknown kids (a key.rotated event is not rate-limited). A variable so that
// tests can shorten it.
var jwksMinInterval = 5 * time.Second

func (c *Config) setDefaults() error {
	switch {
	case c.Issuer == "":
		return errors.New("guard: Config.Issuer is required")
	case c.ClientID == "" || c.ClientSecret == "":
		return errors.New("guard: Config.ClientID and Config.ClientSecret are required (a client with the events and introspect scopes)")
	}
	if c.Audience == "" {
		c.Audience = c.Issuer
	}
	if c.Staleness <= 0 {
		c.Staleness = DefaultStaleness
	}
	if c.MaxTokenBytes <= 0 {
		c.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	c.StrictCacheTTL = min(max(c.StrictCacheTTL, 0), maxIntrospectionReuse)
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// httpClients returns the client for ordinary requests and the one for the
// event stream: copies of the configured client that never follow redirects,
// the second without a timeout.
func (c *Config) httpClients() (plain, stream *http.Client) {
	base := c.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: defaultHTTPTimeout}
	}
	p := *base
	p.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s := p
	s.Timeout = 0
	return &p, &s
}
