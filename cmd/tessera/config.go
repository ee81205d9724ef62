package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/node"
	"github.com/tessera-auth/tessera/password"
)

// Config is every setting of Tessera. Each field is a command-line flag, a
// TESSERA_* environment variable and a key of the optional JSON config file
// (the key is the flag's name, e.g. "idle-timeout"). Precedence, highest
// first: flag, environment, config file, default (see configResolver).
//
// The settings come in four groups, each a struct that kong embeds in the
// commands that use it: Global in every command, Remote in the admin commands
// (user, client, keys, sessions, events, webhook), Hashing in the commands
// that hash passwords, Server in serve. The README's configuration table is
// generated from these tags (TestREADMEConfigTable keeps it current).
//
// Tags beyond kong's: secret:"url" marks a value whose credentials must never
// be printed (see redact); secret:"value" marks a value that is a secret as a
// whole (printed as REDACTED when set); file:"-" marks a flag that is not a
// config-file key. On a group, log:"-" keeps its settings out of serve's
// configuration log line (serve does not read them).
type Config struct {
	Global  `scope:"every command"`
	Remote  `scope:"user, client, keys, sessions, events, webhook" log:"-"`
	Hashing `scope:"serve, user add, user passwd"`
	Server  `scope:"serve, keys, token inspect"`
}

// Global settings apply to every command.
type Global struct {
	ConfigFile configFile `name:"config" env:"TESSERA_CONFIG" placeholder:"FILE" file:"-" help:"JSON file of settings; its keys are the flag names, e.g. {\"addr\": \"0.0.0.0:8080\"}."`
	Data       string     `name:"data" env:"TESSERA_DATA" default:"./tessera-data" placeholder:"DIR" help:"Data folder (database, generated secrets); created with mode 0700."`
	Store      string     `name:"store" env:"TESSERA_STORE" placeholder:"URL" secret:"url" help:"Where users and sessions live: sqlite:PATH; or, for a database that several nodes share, postgres://USER@HOST:5432/DB?sslmode=verify-full (also postgresql://; the password in the URL or in PGPASSWORD). Default: sqlite:<data>/tessera.db."`
	// SQLiteSynchronous is SQLite's synchronous pragma for the store.
	SQLiteSynchronous string `name:"sqlite-synchronous" env:"TESSERA_SQLITE_SYNCHRONOUS" default:"FULL" enum:"FULL,NORMAL" help:"SQLite durability: FULL (a commit survives power loss) or NORMAL (survives a crash of the process; faster writes)."`
	// PGMaxConns and PGMinConns size a PostgreSQL store's connection pool.
	PGMaxConns int    `name:"pg-max-conns" env:"TESSERA_PG_MAX_CONNS" default:"10" placeholder:"N" help:"PostgreSQL: connections this process keeps at most in its pool (serve uses one more to LISTEN). Every node has its own pool: keep nodes × this below the server's max_connections."`
	PGMinConns int    `name:"pg-min-conns" env:"TESSERA_PG_MIN_CONNS" default:"0" placeholder:"N" help:"PostgreSQL: connections kept open while idle."`
	LogFormat  string `name:"log-format" env:"TESSERA_LOG_FORMAT" default:"text" enum:"text,json" help:"Log format: text or json."`
	LogLevel   string `name:"log-level" env:"TESSERA_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Least severe log level written: debug, info, warn or error."`
	// SecretKey is the key-encryption secret; see loadSecretKey.
	SecretKey string `name:"secret-key" env:"TESSERA_SECRET_KEY" placeholder:"BASE64" secret:"value" help:"The 32-byte key-encryption secret (standard base64, e.g. from head -c32 /dev/urandom | base64) that seals the signing keys and webhook secrets at rest. Prefer the variable or the config file to the flag. Required with PostgreSQL, the same on every node. Default with SQLite: <data>/secret.key, generated on first use with mode 0600."`
}

// Remote settings send the admin commands (user, client, keys, sessions,
// events, webhook) to a running server's admin API, /admin/v1, instead of
// working on the store: with URL set they use admin.NewRemote, otherwise
// admin.NewLocal over --data or --store. The commands are the same either
// way; only the transport differs.
type Remote struct {
	URL   string `name:"url" aliases:"server-url" env:"TESSERA_URL" placeholder:"URL" secret:"url" help:"Work through the admin API of the Tessera server at this base URL (e.g. https://auth.example.com) instead of on --data/--store; needs --token. (webhook add, whose --url is the endpoint, takes it as --server-url.)"`
	Token string `name:"token" env:"TESSERA_TOKEN" placeholder:"TOKEN" secret:"value" help:"With --url: a bearer token for the admin API: a client_credentials access token of a client with the admin scope, or an admin user's access or session token (tessera token admin). Prefer the variable to the flag."`
}

// Validate checks the remote settings: a usable URL, and a token exactly
// when there is a URL. urlFlag names the URL's flag in messages (--url, or
// --server-url for webhook add). Neither value is ever printed: the URL may
// carry credentials by mistake, the token is a secret.
func (r *Remote) Validate(urlFlag string) error {
	if urlFlag == "" {
		urlFlag = "--url"
	}
	switch {
	case r.URL == "" && r.Token == "":
		return nil
	case r.URL == "":
		return fmt.Errorf("--token (TESSERA_TOKEN) is set but %s (TESSERA_URL) is not: give the server's URL to work through its admin API, or unset the token to work on the store directly", urlFlag)
	case r.Token == "":
		return fmt.Errorf("%s (TESSERA_URL) needs --token (TESSERA_TOKEN): a bearer token for the server's admin API, such as a client_credentials access token of a client with the admin scope (tessera client add --name ops --scope admin), or an admin's access token from tessera token admin", urlFlag)
	}
	u, err := url.Parse(r.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%s (TESSERA_URL) must be the server's base URL, http or https, such as https://auth.example.com", urlFlag)
	case u.User != nil:
		return fmt.Errorf("%s (TESSERA_URL) must not contain credentials: the token goes in --token (TESSERA_TOKEN)", urlFlag)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(r.URL, "#"):
		return fmt.Errorf("%s (TESSERA_URL) must not have a query or fragment: give the server's base URL, such as https://auth.example.com", urlFlag)
	case strings.ContainsAny(r.Token, " \t\r\n"):
		return errors.New("--token (TESSERA_TOKEN) must be the bare token: one word, without spaces or a \"Bearer\" prefix")
	}
	return nil
}

// Hashing settings tune argon2id, for the commands that hash passwords.
type Hashing struct {
	Argon2Memory      uint32 `name:"argon2-memory" env:"TESSERA_ARGON2_MEMORY" default:"19456" placeholder:"KIB" help:"argon2id memory per hash, in KiB (OWASP: 19456 = 19 MiB)."`
	Argon2Time        uint32 `name:"argon2-time" env:"TESSERA_ARGON2_TIME" default:"2" placeholder:"N" help:"argon2id passes over the memory."`
	Argon2Threads     uint8  `name:"argon2-threads" env:"TESSERA_ARGON2_THREADS" default:"1" placeholder:"N" help:"argon2id parallelism within one hash."`
	Argon2Concurrency int    `name:"argon2-concurrency" env:"TESSERA_ARGON2_CONCURRENCY" default:"0" placeholder:"N" help:"Hashes computed at once; 0 means GOMAXPROCS. Bounds the memory a login flood can take."`
	Argon2Queue       int    `name:"argon2-queue" env:"TESSERA_ARGON2_QUEUE" default:"0" placeholder:"N" help:"Callers that may wait for a hashing slot before the server answers 503 busy; 0 means 64 per slot."`
}

// Server settings tune tessera serve.
type Server struct {
	Addr              string        `name:"addr" env:"TESSERA_ADDR" default:"127.0.0.1:8080" placeholder:"HOST:PORT" help:"Address to listen on; port 0 picks a free port."`
	IdleTimeout       time.Duration `name:"idle-timeout" env:"TESSERA_IDLE_TIMEOUT" default:"24h" help:"A session ends after this long unused (sliding)."`
	AbsoluteTimeout   time.Duration `name:"absolute-timeout" env:"TESSERA_ABSOLUTE_TIMEOUT" default:"720h" help:"A session ends this long after sign-in, used or not."`
	TouchInterval     time.Duration `name:"touch-interval" env:"TESSERA_TOUCH_INTERVAL" default:"1m" help:"How often at most a session's last-seen time is written to the store."`
	SessionCache      int           `name:"session-cache" env:"TESSERA_SESSION_CACHE" default:"100000" placeholder:"N" help:"Sessions kept in memory; -1 (or 0) disables the cache."`
	LoginAccountBurst int           `name:"login-account-burst" env:"TESSERA_LOGIN_ACCOUNT_BURST" default:"10" placeholder:"N" help:"Failed sign-ins allowed per account before throttling; sign-ins still being checked count until they succeed."`
	LoginAccountEvery time.Duration `name:"login-account-every" env:"TESSERA_LOGIN_ACCOUNT_EVERY" default:"1m" help:"Then one more failed sign-in per account every."`
	LoginIPBurst      int           `name:"login-ip-burst" env:"TESSERA_LOGIN_IP_BURST" default:"20" placeholder:"N" help:"Failed sign-ins allowed per client IP before throttling; sign-ins still being checked count until they succeed."`
	LoginIPEvery      time.Duration `name:"login-ip-every" env:"TESSERA_LOGIN_IP_EVERY" default:"10s" help:"Then one more failed sign-in per client IP every."`
	InsecureCookie    bool          `name:"insecure-cookie" env:"TESSERA_INSECURE_COOKIE" help:"Drop Secure (and the __Host- prefix) from the session cookie, for plain-HTTP deployments not on localhost."`
	TLSCert           string        `name:"tls-cert" env:"TESSERA_TLS_CERT" placeholder:"FILE" help:"Serve HTTPS with this PEM certificate (chain) file, for deployments without a TLS-terminating proxy; needs --tls-key."`
	TLSKey            string        `name:"tls-key" env:"TESSERA_TLS_KEY" placeholder:"FILE" help:"The PEM private key of --tls-cert."`
	DrainDelay        time.Duration `name:"drain-delay" env:"TESSERA_DRAIN_DELAY" default:"0s" help:"On SIGTERM, answer /readyz with 503 this long before closing the listener, so load balancers stop sending traffic first."`
	TrustedProxies    []string      `name:"trusted-proxies" env:"TESSERA_TRUSTED_PROXIES" placeholder:"CIDR" help:"Proxies whose X-Forwarded-For is believed for the client IP, as CIDRs or addresses."`
	EventsPoll        time.Duration `name:"events-poll" env:"TESSERA_EVENTS_POLL" default:"250ms" help:"How often the server reads the events log to apply changes made by other processes (the CLI, other nodes); at most 1s."`

	Issuer          string        `name:"issuer" env:"TESSERA_ISSUER" placeholder:"URL" help:"The issuer URL: the iss of access tokens and the issuer of the OAuth metadata, compared exactly by verifiers; an absolute http(s) URL without query or fragment. Default: http://<addr>, with 127.0.0.1 for an unspecified host (0.0.0.0, ::)."`
	Audience        string        `name:"audience" env:"TESSERA_AUDIENCE" placeholder:"AUD" help:"The aud of access tokens whose request names none; also what token inspect expects. Default: the issuer."`
	AccessTTL       time.Duration `name:"access-ttl" env:"TESSERA_ACCESS_TTL" default:"5m" help:"Lifetime of access tokens (JWTs); at most 24h. Revocation reaches JWT-only verifiers only when their tokens expire."`
	RefreshIdle     time.Duration `name:"refresh-idle" env:"TESSERA_REFRESH_IDLE" default:"24h" help:"A refresh token ends after this long unused."`
	RefreshAbsolute time.Duration `name:"refresh-absolute" env:"TESSERA_REFRESH_ABSOLUTE" default:"720h" help:"A chain of refresh tokens ends this long after sign-in, used or not (the session's own timeouts apply too)."`
	RefreshGrace    time.Duration `name:"refresh-grace" env:"TESSERA_REFRESH_GRACE" default:"5s" help:"A refresh token presented again this soon after its rotation (two tabs, a lost response) gets the same successor instead of revoking the session; 0 to 1m."`
	SigningAlg      string        `name:"signing-alg" env:"TESSERA_SIGNING_ALG" default:"EdDSA" enum:"EdDSA,ES256,RS256" help:"Algorithm of new signing keys: EdDSA (Ed25519), ES256 or RS256. A change applies from the next rotation (tessera keys rotate)."`
	KeyRotation     time.Duration `name:"key-rotation" env:"TESSERA_KEY_ROTATION" default:"720h" help:"Make a new signing key this often; the old one verifies (and stays in the JWKS) until its tokens expire. 0 disables scheduled rotation."`
}

// Validate checks the settings that kong's types and enums cannot.
func (c *Config) Validate() error {
	return errors.Join(c.Global.Validate(), c.Remote.Validate("--url"), c.Hashing.Validate(), c.Server.Validate())
}

// Validate checks the global settings.
func (g *Global) Validate() error {
	if g.Data == "" {
		return errors.New("--data must not be empty")
	}
	var errs []error
	if g.SecretKey != "" {
		if _, err := parseSecretKey(g.SecretKey); err != nil {
			errs = append(errs, fmt.Errorf("--secret-key (TESSERA_SECRET_KEY): %w", err))
		}
	}
	if g.PGMaxConns < 1 || g.PGMaxConns > 10000 {
		errs = append(errs, errors.New("--pg-max-conns must be 1 to 10000"))
	}
	if g.PGMinConns < 0 || g.PGMinConns > g.PGMaxConns {
		errs = append(errs, errors.New("--pg-min-conns must be 0 to --pg-max-conns"))
	}
	return errors.Join(errs...)
}

// StoreKind is the kind of the effective --store: "sqlite", "postgres"
// (for postgres:// and postgresql:// URLs), or the scheme of another URL.
func (g *Global) StoreKind() string {
	kind, _, _ := strings.Cut(g.StoreURL(), ":")
	kind = strings.ToLower(kind)
	if kind == "postgresql" {
		return "postgres"
	}
	return kind
}

// StoreURL is the effective --store: sqlite:<data>/tessera.db when unset.
func (g *Global) StoreURL() string {
	if g.Store != "" {
		return g.Store
	}
	return "sqlite:" + strings.TrimSuffix(g.Data, "/") + "/tessera.db"
}

// Validate checks that the argon2id parameters are ones that the password
// package will also accept when it reads a stored hash back.
func (h *Hashing) Validate() error {
	var errs []error
	if h.Argon2Threads < 1 || h.Argon2Threads > 16 {
		errs = append(errs, errors.New("--argon2-threads must be 1 to 16"))
	}
	if h.Argon2Time < 1 || h.Argon2Time > 20 {
		errs = append(errs, errors.New("--argon2-time must be 1 to 20"))
	}
	if h.Argon2Memory < 8*uint32(max(h.Argon2Threads, 1)) || h.Argon2Memory > 1<<20 {
		errs = append(errs, errors.New("--argon2-memory must be 8×threads to 1048576 KiB"))
	}
	if h.Argon2Concurrency < 0 || h.Argon2Queue < 0 {
		errs = append(errs, errors.New("--argon2-concurrency and --argon2-queue must not be negative"))
	}
	return errors.Join(errs...)
}

// Params returns the argon2id parameters.
func (h *Hashing) Params() password.Params {
	p := password.OWASP
	p.Memory, p.Time, p.Threads = h.Argon2Memory, h.Argon2Time, h.Argon2Threads
	return p
}

// Hasher returns a password hasher with these settings.
func (h *Hashing) Hasher() *password.Hasher {
	return password.NewHasher(h.Params(), h.Argon2Concurrency, h.Argon2Queue)
}

// Validate checks the server settings.
func (s *Server) Validate() error {
	var errs []error
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive", name))
		}
	}
	positive("idle-timeout", s.IdleTimeout)
	positive("absolute-timeout", s.AbsoluteTimeout)
	positive("touch-interval", s.TouchInterval)
	positive("login-account-every", s.LoginAccountEvery)
	positive("login-ip-every", s.LoginIPEvery)
	if s.TouchInterval >= s.IdleTimeout {
		errs = append(errs, errors.New("--touch-interval must be shorter than --idle-timeout"))
	}
	if s.LoginAccountBurst < 1 || s.LoginIPBurst < 1 {
		errs = append(errs, errors.New("--login-account-burst and --login-ip-burst must be at least 1"))
	}
	if s.SessionCache < -1 {
		errs = append(errs, errors.New("--session-cache must be -1 (off) or more"))
	}
	if s.EventsPoll <= 0 || s.EventsPoll > time.Second {
		errs = append(errs, errors.New("--events-poll must be more than 0 and at most 1s: changes made elsewhere must reach the server within a second"))
	}
	if _, err := s.Proxies(); err != nil {
		errs = append(errs, err)
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	} else if s.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey); err != nil {
			errs = append(errs, fmt.Errorf("--tls-cert/--tls-key: %w", err))
		}
	}
	if s.DrainDelay < 0 || s.DrainDelay > time.Minute {
		errs = append(errs, errors.New("--drain-delay must be 0 to 1m"))
	}
	if _, _, err := net.SplitHostPort(s.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q is not HOST:PORT (e.g. 127.0.0.1:8080 or :8080)", s.Addr))
	} else if err := checkIssuer(s.EffectiveIssuer()); err != nil {
		errs = append(errs, err)
	}
	if len(s.Audience) > 512 || strings.ContainsAny(s.Audience, " \t\r\n") {
		errs = append(errs, errors.New("--audience must be one URI or name of at most 512 characters, without spaces"))
	}
	positive("access-ttl", s.AccessTTL)
	positive("refresh-idle", s.RefreshIdle)
	positive("refresh-absolute", s.RefreshAbsolute)
	if s.AccessTTL > 24*time.Hour {
		errs = append(errs, errors.New("--access-ttl must be at most 24h: a JWT cannot be revoked before it expires; keep it short and let refresh tokens last"))
	}
	if s.RefreshGrace < 0 || s.RefreshGrace > time.Minute {
		errs = append(errs, errors.New("--refresh-grace must be 0 to 1m"))
	}
	if _, err := accesstoken.ParseAlg(s.SigningAlg); err != nil {
		errs = append(errs, fmt.Errorf("--signing-alg must be EdDSA, ES256 or RS256, not %q", s.SigningAlg))
	}
	if s.KeyRotation != 0 && (s.KeyRotation < time.Hour || s.KeyRotation < s.AccessTTL) {
		errs = append(errs, errors.New("--key-rotation must be 0 (no scheduled rotation) or at least 1h and at least --access-ttl: every retired key stays published until its tokens expire"))
	}
	return errors.Join(errs...)
}

// EffectiveIssuer is --issuer, or when unset the default derived from --addr
// (node.DefaultIssuer): http://HOST:PORT (https with --tls-cert), with
// 127.0.0.1 for an unspecified host (empty, 0.0.0.0, ::), since the wildcard
// is no address a client can use. serve derives it from the address it
// actually listens on, so that port 0 gives the real port.
func (s *Server) EffectiveIssuer() string {
	if s.Issuer != "" {
		return s.Issuer
	}
	return node.DefaultIssuer(s.Addr, s.TLSCert != "")
}

// EffectiveAudience is --audience, or the issuer when unset.
func (s *Server) EffectiveAudience() string {
	if s.Audience != "" {
		return s.Audience
	}
	return s.EffectiveIssuer()
}

// checkIssuer requires an absolute http(s) URL with a host and without
// credentials, query or fragment (RFC 8414 §2).
func checkIssuer(iss string) error {
	u, err := url.Parse(iss)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "":
		return fmt.Errorf("--issuer %q must be an absolute URL such as https://auth.example.com", iss)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("--issuer %q must be an http or https URL", iss)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("--issuer %q has no host", iss)
	case u.User != nil:
		return fmt.Errorf("--issuer must not contain credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(iss, "#"):
		return fmt.Errorf("--issuer %q must not have a query or fragment (RFC 8414)", iss)
	case strings.ContainsAny(iss, " \t\r\n"):
		return fmt.Errorf("--issuer %q must not contain spaces", iss)
	}
	return nil
}

// TokenConfig returns the token settings for the auth service, with kek as
// the key-encryption secret.
func (s *Server) TokenConfig(kek []byte) auth.TokenConfig {
	alg, _ := accesstoken.ParseAlg(s.SigningAlg) // checked by Validate
	grace, rotation := s.RefreshGrace, s.KeyRotation
	if grace == 0 {
		grace = -1 // auth reads 0 as "default"; here 0 means no grace
	}
	if rotation == 0 {
		rotation = -1 // likewise: 0 means never
	}
	return auth.TokenConfig{
		Issuer:          s.EffectiveIssuer(),
		Audience:        s.EffectiveAudience(),
		AccessTTL:       s.AccessTTL,
		RefreshIdle:     s.RefreshIdle,
		RefreshAbsolute: s.RefreshAbsolute,
		RefreshGrace:    grace,
		Alg:             alg,
		KeyRotation:     rotation,
		KEK:             kek,
	}
}

// Proxies parses --trusted-proxies; a bare address is a one-address prefix.
func (s *Server) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range s.TrustedProxies {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is not a CIDR (like 10.0.0.0/8) or an address", v)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// AuthConfig returns the auth service's configuration, with kek as the
// key-encryption secret of the signing keys.
func (s *Server) AuthConfig(log *slog.Logger, kek []byte) auth.Config {
	cache := s.SessionCache
	if cache == 0 {
		cache = -1 // auth reads 0 as "default"; here 0 means off
	}
	return auth.Config{
		IdleTimeout:     s.IdleTimeout,
		AbsoluteTimeout: s.AbsoluteTimeout,
		TouchInterval:   s.TouchInterval,
		CacheSize:       cache,
		AccountBurst:    s.LoginAccountBurst,
		AccountEvery:    s.LoginAccountEvery,
		IPBurst:         s.LoginIPBurst,
		IPEvery:         s.LoginIPEvery,
		Tokens:          s.TokenConfig(kek),
		Logger:          log,
	}
}

// configFile is the --config flag. Like kong.ConfigFlag, it adds the file's
// resolver before the others run, and names the file in its errors.
type configFile string

// BeforeResolve loads the config file named by --config or TESSERA_CONFIG.
func (c configFile) BeforeResolve(k *kong.Kong, ctx *kong.Context, trace *kong.Path) error {
	path, _ := ctx.FlagValue(trace.Flag).(configFile)
	if path == "" {
		return nil
	}
	r, err := k.LoadConfig(string(path))
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if cr, ok := r.(*configResolver); ok {
		cr.path = string(path)
	}
	ctx.AddResolver(r)
	return nil
}

// configResolver supplies values from a JSON config file whose keys are flag
// names. kong applies environment variables before resolvers and lets a
// resolver override them, which would rank the file above the environment;
// this resolver stands back for every flag whose variable is set, so the
// precedence is flag > environment > file > default. Unknown keys are errors,
// not silently ignored typos.
type configResolver struct {
	path   string
	values map[string]any
}

// loadConfig is the kong.ConfigurationLoader for JSON config files.
func loadConfig(r io.Reader) (kong.Resolver, error) {
	dec := json.NewDecoder(r)
	var values map[string]any
	if err := dec.Decode(&values); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return &configResolver{values: values}, nil
}

// fileKeys are the keys a config file may hold: the settings of Config.
// Command-specific flags (--email, --json, …) are not settings.
var fileKeys = func() map[string]bool {
	keys := map[string]bool{}
	for _, s := range settings(&Config{}) {
		if !s.NoFile {
			keys[s.Name] = true
		}
	}
	return keys
}()

// Validate refuses keys that name no setting.
func (r *configResolver) Validate(*kong.Application) error {
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(r.values)) {
		dashed := strings.ReplaceAll(key, "_", "-")
		switch {
		case key == "config":
			errs = append(errs, fmt.Errorf("config file %s: a config file cannot name another (key \"config\")", r.path))
		case !fileKeys[key] && fileKeys[dashed]:
			errs = append(errs, fmt.Errorf("config file %s: unknown key %q; keys are flag names: %q", r.path, key, dashed))
		case !fileKeys[key]:
			errs = append(errs, fmt.Errorf("config file %s: unknown key %q", r.path, key))
		}
	}
	return errors.Join(errs...)
}

var durationType = reflect.TypeOf(time.Duration(0))

// Resolve returns the file's value for flag, unless the flag's environment
// variable is set.
func (r *configResolver) Resolve(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
	key := flag.Name
	if key == serverURLFlag {
		key = "url" // webhook add's name for --url
	}
	v, ok := r.values[key]
	if !ok || v == nil || !fileKeys[key] {
		return nil, nil
	}
	for _, env := range flag.Tag.Envs {
		if _, set := os.LookupEnv(env); set {
			return nil, nil
		}
	}
	if n, isNum := v.(float64); isNum {
		// JSON numbers decode as float64; kong would round 1.5 to 2 and read
		// a bare number as a duration in nanoseconds. Neither is meant.
		if flag.Target.Type() == durationType {
			return nil, fmt.Errorf("config file %s: write a duration as a string such as \"90s\" or \"24h\"", r.path)
		}
		if n != math.Trunc(n) {
			return nil, fmt.Errorf("config file %s: must be a whole number", r.path)
		}
		return strconv.FormatFloat(n, 'f', -1, 64), nil
	}
	return v, nil
}

// setting describes one field of Config: its flag, variable, default and
// current value. It drives `tessera config`, the serve log line and the
// README's configuration table.
type setting struct {
	Name    string // flag name, also the config-file key
	Env     string
	Default string
	Help    string
	Scope   string // which commands read it
	Secret  string // "", "url" (credentials inside) or "value" (secret as a whole)
	NoFile  bool   // not a config-file key
	NoLog   bool   // not in serve's configuration line
	Value   reflect.Value
}

// settings walks c's fields in declaration order.
func settings(c *Config) []setting {
	var out []setting
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		group := t.Field(i)
		scope := group.Tag.Get("scope")
		noLog := group.Tag.Get("log") == "-"
		gv := v.Field(i)
		for j := range group.Type.NumField() {
			f := group.Type.Field(j)
			name := f.Tag.Get("name")
			if name == "" {
				continue
			}
			out = append(out, setting{
				Name: name, Env: f.Tag.Get("env"), Default: f.Tag.Get("default"), Help: f.Tag.Get("help"),
				Scope: scope, Secret: f.Tag.Get("secret"), NoFile: f.Tag.Get("file") == "-", NoLog: noLog, Value: gv.Field(j),
			})
		}
	}
	return out
}

// display returns the setting's value as JSON would carry it, redacted if
// it is secret.
func (s setting) display() any {
	switch v := s.Value.Interface().(type) {
	case time.Duration:
		return formatDuration(v)
	case []string:
		if v == nil {
			return []string{}
		}
		return v
	case string:
		switch {
		case s.Secret == "value" && v != "":
			return "REDACTED"
		case s.Secret != "":
			return redact(v)
		}
		return v
	case configFile:
		return string(v)
	}
	return s.Value.Interface()
}

// effective returns c's settings as ordered (name, value) pairs with the
// defaults that depend on other settings filled in and secrets redacted.
func (c *Config) effective() []setting {
	eff := *c
	eff.Store = eff.StoreURL()
	eff.Issuer = eff.EffectiveIssuer()
	eff.Audience = eff.EffectiveAudience()
	all := settings(&eff)
	out := all[:0]
	for _, s := range all {
		if !s.NoFile {
			out = append(out, s)
		}
	}
	return out
}

// JSON returns the effective configuration as a JSON object keyed by flag
// name: a valid config file, secrets aside.
func (c *Config) JSON() []byte {
	var b strings.Builder
	b.WriteString("{\n")
	eff := c.effective()
	for i, s := range eff {
		fmt.Fprintf(&b, "  %s: %s", marshal(s.Name), marshal(s.display()))
		if i < len(eff)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// marshal is json.Marshal without HTML escaping and the trailing newline.
func marshal(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

// LogAttrs returns the effective configuration as log attributes, but for
// the settings that serve does not read (the Remote group).
func (c *Config) LogAttrs() []any {
	var attrs []any
	for _, s := range c.effective() {
		if s.NoLog {
			continue
		}
		attrs = append(attrs, slog.Any(s.Name, s.display()))
	}
	return attrs
}

// formatDuration prints 24h for 24h0m0s and 1m for 1m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// redact hides the credentials in a secret setting: the password of a URL
// such as postgres://user:password@host/db, credential query parameters, and
// password=… in key=value connection strings. A value it cannot parse is
// hidden whole. Everything printed or logged from a secret setting, error
// messages included, goes through here.
func redact(s string) string {
	const mask = "xxxxx"
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		if kvPassword.MatchString(s) {
			out := kvPassword.ReplaceAllString(s, "${1}"+mask)
			if err == nil && showsCredential(u, out) {
				return "[redacted]" // a relative URL whose query holds one
			}
			return out
		}
		return "[redacted]"
	}
	changed := false
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), mask)
			changed = true
		}
	}
	if q := u.Query(); len(q) > 0 {
		masked := false
		for k := range q {
			switch strings.ToLower(k) {
			case "password", "sslpassword", "pass", "secret", "token", "key", "sslkey":
				q.Set(k, mask)
				masked = true
			}
		}
		if masked {
			u.RawQuery = q.Encode()
			changed = true
		}
	}
	if !changed {
		return s
	}
	return u.String()
}

var kvPassword = regexp.MustCompile(`(?i)(\b(?:ssl)?password\s*=\s*)('[^']*'|\S+)`)

// showsCredential reports whether out still holds a credential of u: its
// password or a credential query parameter.
func showsCredential(u *url.URL, out string) bool {
	var secrets []string
	if pw, ok := u.User.Password(); ok {
		secrets = append(secrets, pw)
	}
	for k, vs := range u.Query() {
		switch strings.ToLower(k) {
		case "password", "sslpassword", "pass", "secret", "token", "key", "sslkey":
			secrets = append(secrets, vs...)
		}
	}
	for _, sec := range secrets {
		if sec != "" && strings.Contains(out, sec) {
			return true
		}
	}
	return false
}
