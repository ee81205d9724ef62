// Package auth holds Tessera's domain: users, sessions and the events log, and
// the rules that govern them (login, the session check, revocation). It does no
// I/O of its own: it is given a Store (see store.go) and a password.Hasher, and
// the HTTP layer and the CLI call it.
package auth

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/secret"
)

// Config tunes the service. Zero values are the documented defaults.
type Config struct {
	IdleTimeout     time.Duration // session ends after this long unused; default 24h
	AbsoluteTimeout time.Duration // session ends this long after sign-in; default 720h (30 days)
	// TouchInterval is how often at most a session's last-seen time is written
	// to the store; default 1m. Sliding the idle expiry costs no write per request.
	TouchInterval time.Duration
	CacheSize     int // sessions kept in memory; default 100000; negative disables the cache

	// Login throttling: a token bucket of failures per account and per client IP.
	AccountBurst int           // default 10 failures
	AccountEvery time.Duration // then one more every; default 1m
	IPBurst      int           // default 20 failures
	IPEvery      time.Duration // default 10s

	Tokens TokenConfig

	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	// Recorder receives counts and latencies (see metrics.go); nil records
	// nothing.
	Recorder Recorder
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.IdleTimeout, 24*time.Hour)
	def(&c.AbsoluteTimeout, 30*24*time.Hour)
	def(&c.TouchInterval, time.Minute)
	def(&c.AccountEvery, time.Minute)
	def(&c.IPEvery, 10*time.Second)
	if c.CacheSize == 0 {
		c.CacheSize = 100_000
	}
	if c.AccountBurst == 0 {
		c.AccountBurst = 10
	}
	if c.IPBurst == 0 {
		c.IPBurst = 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Recorder == nil {
		c.Recorder = nopRecorder{}
	}
	c.Tokens.setDefaults()
}

// Service implements sign-in, the session check and account changes.
type Service struct {
	cfg     Config
	store   Store
	hasher  *password.Hasher
	cache   *cache
	byEmail *throttle
	byIP    *throttle
	log     *slog.Logger

	keys       keyring
	verifier   *accesstoken.Verifier
	refreshKey []byte
	feed       feed
	followed   atomic.Int64
}

// NewService returns a Service over store. Token features need
// cfg.Tokens.KEK (32 bytes) and a LoadKeys call before use.
func NewService(store Store, hasher *password.Hasher, cfg Config) *Service {
	cfg.setDefaults()
	s := &Service{
		cfg:     cfg,
		store:   store,
		hasher:  hasher,
		cache:   newCache(cfg.CacheSize),
		byEmail: newThrottle(cfg.AccountBurst, cfg.AccountEvery, 100_000),
		byIP:    newThrottle(cfg.IPBurst, cfg.IPEvery, 100_000),
		log:     cfg.Logger,
	}
	s.feed.wakeup = make(chan struct{}, 1)
	s.keys.trusted = accesstoken.NewAtomicKeySet(nil)
	s.verifier = s.newVerifier()
	if len(cfg.Tokens.KEK) == 32 {
		s.refreshKey = deriveRefreshKey(cfg.Tokens.KEK)
	}
	return s
}

// IdleExpiry is when sess ends unless it is used again: its last-seen time
// as stored plus the idle timeout.
func (s *Service) IdleExpiry(sess *Session) time.Time { return sess.LastSeenAt.Add(s.cfg.IdleTimeout) }

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Store returns the store the service runs on.
func (s *Service) Store() Store { return s.store }

func (s *Service) now() time.Time { return s.cfg.Now() }

// Client describes who is calling: the address and user agent recorded on
// sessions and used for throttling.
type Client struct {
	IP        string
	UserAgent string
}

// LoginRequest is a password sign-in.
type LoginRequest struct {
	Email    string
	Password string
	Client   Client
	// Replaces is a session secret the client already held (a cookie sent with
	// the login request). It is never reused; if it names a live session, that
	// session is revoked.
	Replaces secret.Token
}

// Login is a successful sign-in: a new session and its secret.
type Login struct {
	Session *Session
	Secret  secret.Token
	User    *User
}

// Login checks a password and starts a new session. Unknown users and wrong
// passwords fail alike, after the same argon2id work. Failures are throttled
// per account and per client IP (CodeThrottled with RetryAfter).
func (s *Service) Login(ctx context.Context, req LoginRequest) (*Login, error) {
	l, err := s.login(ctx, req)
	s.cfg.Recorder.Login(LoginResult(err))
	return l, err
}

func (s *Service) login(ctx context.Context, req LoginRequest) (*Login, error) {
	email, err := NormalizeEmail(req.Email)
	if err != nil {
		return nil, err
	}
	if req.Password == "" || len(req.Password) > password.MaxBytes {
		return nil, Errorf(CodeInvalidRequest, "password must have 1 to %d bytes", password.MaxBytes)
	}
	now := s.now()
	u, rehash, err := s.checkPassword(ctx, email, req.Password, req.Client.IP, now)
	if err != nil {
		return nil, err
	}

	if rehash {
		// Parameters changed since this hash was made: upgrade it now that we
		// know the password. A failure here must not fail the sign-in.
		if phc, err := s.hasher.Hash(ctx, req.Password); err == nil {
			nu := *u
			nu.PasswordHash, nu.UpdatedAt = phc, now
			if err := s.store.UpdateUser(ctx, &nu); err != nil {
				s.log.Warn("rehash password", "user", u.ID, "err", err)
			} else {
				u = &nu
			}
		}
	}

	if !req.Replaces.IsZero() {
		if old, err := s.store.SessionByHash(ctx, req.Replaces.Hash()); err == nil && !old.Revoked() {
			if err := s.revoke(ctx, []string{old.ID}, old.UserID, CauseReplaced); err != nil {
				return nil, err
			}
		}
	}
	sess, tok, err := s.startSession(ctx, u, req.Client, now)
	if err != nil {
		return nil, err
	}
	return &Login{Session: sess, Secret: tok, User: u}, nil
}

// checkPassword checks the password of the account email under the sign-in
// throttles of the account and of the client IP, and returns its user. A
// wrong password, an unknown account and a disabled one all return
// errCredentials, after one argon2id hash each and a login_failed event.
func (s *Service) checkPassword(ctx context.Context, email, pw, ip string, now time.Time) (_ *User, rehash bool, err error) {
	failed := false
	if d := s.byIP.begin(ip, now); d > 0 {
		return nil, false, throttled(d)
	}
	defer func() { s.byIP.end(ip, now, failed) }()
	if d := s.byEmail.begin(email, now); d > 0 {
		return nil, false, throttled(d)
	}
	defer func() { s.byEmail.end(email, now, failed) }()

	u, err := s.store.UserByEmail(ctx, email)
	var ok bool
	switch {
	case err == nil:
		ok, rehash, err = s.hasher.Verify(ctx, u.PasswordHash, pw)
	case ErrorCode(err) == CodeNotFound:
		u, err = nil, s.hasher.VerifyDummy(ctx, pw)
	}
	if err != nil {
		return nil, false, s.hashError(err)
	}
	if !ok || u.Disabled {
		failed = true
		ev := Event{Type: EventLoginFailed, At: now, Data: map[string]string{"email": email, "ip": ip}}
		if u != nil {
			ev.UserID = u.ID
		}
		if err := s.store.AppendEvents(ctx, ev); err != nil {
			return nil, false, fmt.Errorf("recording failed login: %w", err)
		}
		return nil, false, errCredentials
	}
	s.byEmail.reset(email)
	return u, rehash, nil
}

// throttled is the error of an attempt refused for d by a sign-in throttle.
func throttled(d time.Duration) error {
	return &Error{Code: CodeThrottled, Message: fmt.Sprintf("too many attempts, try again in %d s", int(d.Seconds())), RetryAfter: d}
}

func (s *Service) hashError(err error) error {
	if err == password.ErrBusy {
		return &Error{Code: CodeBusy, Message: "too many sign-ins at once, try again shortly", RetryAfter: time.Second, Err: err}
	}
	return fmt.Errorf("checking password: %w", err)
}

// startSession creates a session for u, appending login.succeeded with it.
func (s *Service) startSession(ctx context.Context, u *User, c Client, now time.Time) (*Session, secret.Token, error) {
	tok := secret.New()
	sess := &Session{
		ID:         secret.RandomID(16),
		SecretHash: tok.Hash(),
		UserID:     u.ID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(s.cfg.AbsoluteTimeout),
		CreatedIP:  c.IP, CreatedUA: truncate(c.UserAgent, 512),
		LastIP: c.IP, LastUA: truncate(c.UserAgent, 512),
	}
	ev := Event{Type: EventLoginSucceeded, At: now, UserID: u.ID, SessionID: sess.ID, Data: map[string]string{"ip": c.IP}}
	if err := s.store.CreateSession(ctx, sess, ev); err != nil {
		return nil, secret.Token{}, fmt.Errorf("creating session: %w", err)
	}
	return sess, tok, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Principal is an authenticated caller: a live session and its user.
type Principal struct {
	Session Session
	User    *User
}

// Authenticate is the session check: it finds the session whose secret is tok
// and checks it is live (not revoked, not idle or absolutely expired, user
// enabled, not older than the user's TokensValidAfter). A cache hit does no
// store I/O; the last-seen time is written at most once per TouchInterval.
func (s *Service) Authenticate(ctx context.Context, tok secret.Token, c Client) (*Principal, error) {
	h := tok.Hash()
	e := s.cache.sessionByHash(h)
	if e == nil {
		gen := s.cache.generation()
		sess, err := s.store.SessionByHash(ctx, h)
		if err != nil {
			if ErrorCode(err) == CodeNotFound {
				return nil, errUnauthenticated
			}
			return nil, fmt.Errorf("looking up session: %w", err)
		}
		e = s.cache.putSession(sess, gen)
	}
	return s.check(ctx, e, c, true)
}

// AuthenticateID checks the session with public ID sid, as named by a JWT's
// sid claim; the rules are Authenticate's.
func (s *Service) AuthenticateID(ctx context.Context, sid string, c Client) (*Principal, error) {
	e, err := s.sessionEntryByID(ctx, sid)
	if err != nil {
		return nil, err
	}
	return s.check(ctx, e, c, true)
}

// checkID checks that session sid is live without counting it as use (for
// introspection, which is not the user's activity).
func (s *Service) checkID(ctx context.Context, sid string) (*Principal, error) {
	e, err := s.sessionEntryByID(ctx, sid)
	if err != nil {
		return nil, err
	}
	return s.check(ctx, e, Client{}, false)
}

func (s *Service) sessionEntryByID(ctx context.Context, sid string) (*cachedSession, error) {
	e := s.cache.sessionByID(sid)
	if e == nil {
		gen := s.cache.generation()
		sess, err := s.store.SessionByID(ctx, sid)
		if err != nil {
			if ErrorCode(err) == CodeNotFound {
				return nil, errUnauthenticated
			}
			return nil, fmt.Errorf("looking up session: %w", err)
		}
		e = s.cache.putSession(sess, gen)
	}
	return e, nil
}

func (s *Service) check(ctx context.Context, e *cachedSession, c Client, touch bool) (*Principal, error) {
	now := s.now()
	sess := &e.s
	if sess.Revoked() || !now.Before(sess.ExpiresAt) || !now.Before(time.Unix(0, e.lastSeen.Load()).Add(s.cfg.IdleTimeout)) {
		return nil, errUnauthenticated
	}
	u, err := s.user(ctx, sess.UserID)
	if err != nil {
		if ErrorCode(err) == CodeNotFound {
			return nil, errUnauthenticated
		}
		return nil, err
	}
	if u.Disabled || sess.CreatedAt.Before(u.TokensValidAfter) {
		return nil, errUnauthenticated
	}
	if touch {
		s.touch(ctx, e, c, now)
	}
	p := &Principal{Session: *sess, User: u}
	p.Session.LastSeenAt = time.Unix(0, e.lastSeen.Load())
	return p, nil
}

// touch slides the idle expiry: always in memory, in the store at most once
// per TouchInterval (one goroutine wins the compare-and-swap and writes).
func (s *Service) touch(ctx context.Context, e *cachedSession, c Client, now time.Time) {
	n := now.UnixNano()
	if last := e.lastSeen.Load(); n > last {
		e.lastSeen.CompareAndSwap(last, n)
	}
	t := e.touched.Load()
	if now.Sub(time.Unix(0, t)) < s.cfg.TouchInterval || !e.touched.CompareAndSwap(t, n) {
		return
	}
	if err := s.store.TouchSession(ctx, e.s.ID, now, c.IP, truncate(c.UserAgent, 512)); err != nil {
		// The session stays valid; the next request tries again.
		e.touched.CompareAndSwap(n, t)
		s.log.Warn("touch session", "sid", e.s.ID, "err", err)
	}
}

// user returns the user from the cache or the store.
func (s *Service) user(ctx context.Context, id string) (*User, error) {
	if u := s.cache.user(id); u != nil {
		return u, nil
	}
	gen := s.cache.generation()
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.cache.putUser(u, gen)
	return u, nil
}

// Logout ends the caller's session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	return s.revoke(ctx, []string{p.Session.ID}, p.User.ID, CauseLogout)
}

// Sessions lists the user's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, userID string) ([]*Session, error) {
	u, err := s.user(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	all, err := s.store.ListSessions(ctx, userID, now)
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	live := all[:0]
	for _, sess := range all {
		last := sess.LastSeenAt
		if e := s.cache.sessionByID(sess.ID); e != nil {
			last = time.Unix(0, e.lastSeen.Load())
			sess.LastSeenAt = last
		}
		if now.Before(last.Add(s.cfg.IdleTimeout)) && !sess.CreatedAt.Before(u.TokensValidAfter) {
			live = append(live, sess)
		}
	}
	return live, nil
}

// RevokeSession ends one of the user's sessions; CodeNotFound if the user has
// no such live session (another user's sid is not found either).
func (s *Service) RevokeSession(ctx context.Context, userID, sid, cause string) error {
	sess, err := s.store.SessionByID(ctx, sid)
	if err != nil || sess.UserID != userID || sess.Revoked() {
		if err == nil || ErrorCode(err) == CodeNotFound {
			return Errorf(CodeNotFound, "no such session")
		}
		return fmt.Errorf("looking up session: %w", err)
	}
	return s.revoke(ctx, []string{sid}, userID, cause)
}

// RevokeOtherSessions ends every session of the user but keep (which may be
// empty to end them all) and returns how many it ended.
func (s *Service) RevokeOtherSessions(ctx context.Context, userID, keep, cause string) (int, error) {
	all, err := s.store.ListSessions(ctx, userID, s.now())
	if err != nil {
		return 0, fmt.Errorf("listing sessions: %w", err)
	}
	var ids []string
	for _, sess := range all {
		if sess.ID != keep {
			ids = append(ids, sess.ID)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	n := len(ids)
	return n, s.revoke(ctx, ids, userID, cause)
}

// revoke ends sessions, appending one session.revoked event each, and drops
// them from this node's cache before returning: revocation is immediate here,
// and other processes follow the events log.
func (s *Service) revoke(ctx context.Context, ids []string, userID, cause string) error {
	now := s.now()
	evs := make([]Event, len(ids))
	for i, id := range ids {
		evs[i] = Event{Type: EventSessionRevoked, At: now, UserID: userID, SessionID: id, Data: map[string]string{"cause": cause}}
	}
	ended, err := s.store.RevokeSessions(ctx, ids, now, cause, evs...)
	if err != nil {
		return fmt.Errorf("revoking sessions: %w", err)
	}
	for _, id := range ids {
		s.cache.dropSession(id)
	}
	s.wake()
	s.cfg.Recorder.Revoked(cause, len(ended))
	return nil
}

// newUserID returns a time-ordered UUIDv7.
func newUserID() string { return uuid.Must(uuid.NewV7()).String() }

// authenticateStored is AuthenticateID with the session and user read from
// the store rather than the cache. Refresh uses it: a refresh writes to the
// store anyway, and must not act on a cache that another node's revocation
// has not reached yet (its notification may be milliseconds away).
func (s *Service) authenticateStored(ctx context.Context, sid string, c Client) (*Principal, error) {
	sess, err := s.store.SessionByID(ctx, sid)
	if err != nil {
		if ErrorCode(err) == CodeNotFound {
			return nil, errUnauthenticated
		}
		return nil, fmt.Errorf("looking up session: %w", err)
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		if ErrorCode(err) == CodeNotFound {
			return nil, errUnauthenticated
		}
		return nil, fmt.Errorf("looking up user: %w", err)
	}
	now := s.now()
	cached := s.cache.sessionByID(sid)
	last := sess.LastSeenAt
	if cached != nil {
		if l := time.Unix(0, cached.lastSeen.Load()); l.After(last) {
			last = l
		}
	}
	if sess.Revoked() || !now.Before(sess.ExpiresAt) || !now.Before(last.Add(s.cfg.IdleTimeout)) ||
		u.Disabled || sess.CreatedAt.Before(u.TokensValidAfter) {
		if cached != nil {
			s.cache.dropSession(sid) // the cache had not heard yet
		}
		return nil, errUnauthenticated
	}
	if cached == nil {
		cached = &cachedSession{s: *sess}
		cached.lastSeen.Store(sess.LastSeenAt.UnixNano())
		cached.touched.Store(sess.LastSeenAt.UnixNano())
	}
	s.touch(ctx, cached, c, now)
	p := &Principal{Session: *sess, User: u}
	p.Session.LastSeenAt = time.Unix(0, cached.lastSeen.Load())
	return p, nil
}
