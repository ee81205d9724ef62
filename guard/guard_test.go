package guard_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/syncbuf"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/guard"
)

func TestMain(m *testing.M) {
	// One key fetch per 300 ms instead of 5 s keeps the tests short;
	// TestUnknownKidFetchIsRateLimited checks the limit itself.
	guard.SetJWKSMinInterval(300 * time.Millisecond)
	os.Exit(m.Run())
}

var bg = context.Background()

func TestNew(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f := newFake(t)
		g, _ := mustGuard(t, f)
		s := g.Stats()
		if !s.StreamConnected || s.KeyFetches != 1 {
			t.Errorf("Stats after New = %+v, want connected and one key fetch", s)
		}
		if n := f.tokenHits.Load(); n != 1 {
			t.Errorf("token endpoint hit %d times, want 1", n)
		}
	})
	t.Run("ErrIssuerMismatch", func(t *testing.T) {
		for _, iss := range []string{"/", "https://evil.example"} {
			f := newFake(t)
			f.metaIssuer = f.issuer + iss
			if strings.HasPrefix(iss, "https") {
				f.metaIssuer = iss
			}
			_, err := guard.New(f.config(&syncbuf.Buffer{}))
			if err == nil || !strings.Contains(err.Error(), "compared exactly") {
				t.Errorf("metadata issuer %q: New err = %v, want an issuer mismatch", f.metaIssuer, err)
			}
		}
	})
	t.Run("ErrTrailingSlashConfig", func(t *testing.T) {
		f := newFake(t)
		cfg := f.config(&syncbuf.Buffer{})
		cfg.Issuer += "/"
		if _, err := guard.New(cfg); err == nil {
			t.Fatal("New with Issuer + \"/\" succeeded; issuers must match exactly")
		}
	})
	t.Run("ErrConfig", func(t *testing.T) {
		for _, cfg := range []guard.Config{{}, {Issuer: "https://a"}, {Issuer: "https://a", ClientID: "x"}} {
			if _, err := guard.New(cfg); err == nil {
				t.Errorf("New(%+v) succeeded", cfg)
			}
		}
	})
	t.Run("ErrBadClientSecret", func(t *testing.T) {
		f := newFake(t)
		cfg := f.config(&syncbuf.Buffer{})
		cfg.ClientSecret = "wrong"
		if _, err := guard.New(cfg); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("New with a wrong secret: %v", err)
		}
	})
	t.Run("ErrJWKSRedirect", func(t *testing.T) {
		// Keys come from the jwks_uri itself, never from where it redirects.
		evil := newFake(t)
		f := newFake(t)
		f.jwksRedirect = evil.srv.URL + "/jwks"
		_, err := guard.New(f.config(&syncbuf.Buffer{}))
		if err == nil || !strings.Contains(err.Error(), "302") {
			t.Fatalf("New with a redirecting jwks_uri: %v, want an HTTP 302 error", err)
		}
		if n := evil.jwksHits.Load(); n != 0 {
			t.Errorf("the redirect target was fetched %d times", n)
		}
	})
	t.Run("ErrStreamUnavailable", func(t *testing.T) {
		f := newFake(t)
		f.setEventsStatus(http.StatusServiceUnavailable)
		cfg := f.config(&syncbuf.Buffer{})
		cfg.StartTimeout = 500 * time.Millisecond
		start := time.Now()
		_, err := guard.New(cfg)
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Fatalf("New without an event stream: err = %v, want one naming HTTP 503", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("New took %v with StartTimeout 500ms", d)
		}
	})
	t.Run("WaitsForReplayBeforeTrusting", func(t *testing.T) {
		// Revocations that happened before the guard started are known
		// when New returns: no poll needed.
		f := newFake(t)
		tok := f.userToken("u1", "s1", nil, "")
		f.revokeSession("u1", "s1")
		f.emit(fakeEvent{Type: "login.succeeded", UserID: "u2"}) // latest_seq is not a revocation
		g, _ := mustGuard(t, f)
		if _, err := g.Verify(bg, tok); !errors.Is(err, guard.ErrRevoked) {
			t.Fatalf("Verify of a token revoked before New: %v, want ErrRevoked", err)
		}
		if n := f.introspectHits.Load(); n != 0 {
			t.Errorf("%d introspections; Fast must be local once synced", n)
		}
	})
	t.Run("SyncsOnLatestSeqWithoutHeartbeat", func(t *testing.T) {
		f := newFake(t)
		f.noLiveMarker = true
		f.heartbeat = time.Hour
		f.revokeSession("u1", "s1")
		f.revokeSession("u1", "s2")
		start := time.Now()
		mustGuard(t, f)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("New took %v; the replay reached latest_seq", d)
		}
	})
}

func TestVerify(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f)
	tok := f.userToken("user-1", "sess-1", []string{"admin", "dev"}, "read write")

	t.Run("OK", func(t *testing.T) {
		p, err := g.Verify(bg, tok)
		if err != nil {
			t.Fatal(err)
		}
		if p.Subject != "user-1" || p.SessionID != "sess-1" || p.ClientID != "cl_app" ||
			strings.Join(p.Roles, ",") != "admin,dev" || strings.Join(p.Scopes, ",") != "read,write" ||
			p.ExpiresAt.IsZero() || p.IsClient() || !p.HasRole("admin") || p.HasRole("root") || !p.HasScope("write") {
			t.Errorf("Principal = %+v", p)
		}
		p2, err := g.Verify(bg, tok)
		if err != nil || p2 != p {
			t.Errorf("second Verify = %p, %v; want the cached %p", p2, err, p)
		}
		if s := g.Stats(); s.FastVerifications != 1 || s.CachedVerifications != 1 {
			t.Errorf("Stats = %+v, want 1 fast and 1 cached", s)
		}
	})
	t.Run("NoNetworkIO", func(t *testing.T) {
		before := f.introspectHits.Load() + f.jwksHits.Load() + f.tokenHits.Load()
		for range 50 {
			g.Verify(bg, f.userToken("u", "s", nil, ""))
		}
		if after := f.introspectHits.Load() + f.jwksHits.Load() + f.tokenHits.Load(); after != before {
			t.Errorf("Fast made %d requests to the server", after-before)
		}
	})
	t.Run("ErrInvalidToken", func(t *testing.T) {
		other, _ := accesstoken.GenerateKey(accesstoken.EdDSA, nil, time.Now())
		now := f.clock.Now()
		good := accesstoken.Claims{Issuer: f.issuer, Subject: "u", Audience: []string{f.issuer}, IssuedAt: now,
			ExpiresAt: now.Add(time.Minute), ID: "j", SessionID: "s", ClientID: "c"}
		signed := func(mod func(*accesstoken.Claims)) string {
			c := good
			mod(&c)
			return f.sign(c)
		}
		foreign, _ := accesstoken.Sign(other, good)
		cases := map[string]struct {
			tok  string
			want error
		}{
			"garbage":     {"not-a-jwt", accesstoken.ErrMalformed},
			"empty":       {"", accesstoken.ErrMalformed},
			"expired":     {signed(func(c *accesstoken.Claims) { c.IssuedAt = now.Add(-time.Hour); c.ExpiresAt = now.Add(-time.Minute) }), accesstoken.ErrExpired},
			"wrongIssuer": {signed(func(c *accesstoken.Claims) { c.Issuer += "/" }), accesstoken.ErrIssuer},
			"wrongAud":    {signed(func(c *accesstoken.Claims) { c.Audience = []string{"https://other"} }), accesstoken.ErrAudience},
			"unknownKey":  {foreign, accesstoken.ErrUnknownKey},
			"tamperedSig": {tok[:len(tok)-4] + "AAAA", accesstoken.ErrSignature},
			"tooLarge":    {tok + strings.Repeat("A", guard.DefaultMaxTokenBytes), accesstoken.ErrTooLarge},
			"notYetValid": {signed(func(c *accesstoken.Claims) { c.IssuedAt = now.Add(time.Hour); c.ExpiresAt = now.Add(2 * time.Hour) }), accesstoken.ErrNotYetValid},
		}
		for name, c := range cases {
			_, err := g.Verify(bg, c.tok)
			if !errors.Is(err, guard.ErrInvalidToken) || !errors.Is(err, guard.ErrUnauthorized) || !errors.Is(err, c.want) {
				t.Errorf("%s: err = %v, want ErrInvalidToken and %v", name, err, c.want)
			}
		}
	})
	t.Run("ExpiresFromCache", func(t *testing.T) {
		tok := f.userToken("u-exp", "s-exp", nil, "")
		if _, err := g.Verify(bg, tok); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(f.ttl + time.Minute) // past exp and the 30 s leeway
		defer f.clock.Add(-(f.ttl + time.Minute))
		if _, err := g.Verify(bg, tok); !errors.Is(err, accesstoken.ErrExpired) {
			t.Fatalf("Verify of an expired cached token: %v, want ErrExpired", err)
		}
	})
}

func TestFastRevocation(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f)

	t.Run("SessionRevoked", func(t *testing.T) {
		tok := f.userToken("u1", "s1", nil, "")
		other := f.userToken("u1", "s1-other", nil, "")
		if _, err := g.Verify(bg, tok); err != nil { // now cached
			t.Fatal(err)
		}
		f.revokeSession("u1", "s1")
		lag := eventually(t, "the revocation", func() bool {
			_, err := g.Verify(bg, tok)
			return errors.Is(err, guard.ErrRevoked)
		})
		t.Logf("revocation reached Fast in %v", lag)
		if _, err := g.Verify(bg, other); err != nil {
			t.Errorf("another session of the same user: %v", err)
		}
		// A fresh (uncached) token of the revoked session is refused too.
		if _, err := g.Verify(bg, f.userToken("u1", "s1", nil, "")); !errors.Is(err, guard.ErrRevoked) {
			t.Errorf("new token of a revoked session: %v", err)
		}
	})
	t.Run("UserTokensInvalidated", func(t *testing.T) {
		at := f.clock.Now().Truncate(time.Second).Add(500 * time.Millisecond)
		before := f.userTokenAt(at.Add(-time.Second), "u2", "s2a", nil, "")
		sameSecond := f.userTokenAt(at.Add(-400*time.Millisecond), "u2", "s2b", nil, "")
		g.Verify(bg, before)
		f.invalidateUser("u2", at)
		eventually(t, "the invalidation", func() bool {
			_, err := g.Verify(bg, before)
			return errors.Is(err, guard.ErrRevoked)
		})
		// iat in the same second as the event is not strictly before it:
		// the server's accompanying session.revoked covers those.
		if _, err := g.Verify(bg, sameSecond); err != nil {
			t.Errorf("token issued in the event's second: %v, want accepted", err)
		}
		if _, err := g.Verify(bg, f.userTokenAt(at.Add(time.Second), "u2", "s2c", nil, "")); err != nil {
			t.Errorf("token issued after: %v", err)
		}
	})
	t.Run("UserDeleted", func(t *testing.T) {
		tok := f.userTokenAt(f.clock.Now().Add(-2*time.Second), "u3", "s3", nil, "")
		f.emit(fakeEvent{Type: "user.deleted", UserID: "u3"})
		eventually(t, "user.deleted", func() bool {
			_, err := g.Verify(bg, tok)
			return errors.Is(err, guard.ErrRevoked)
		})
	})
	t.Run("ClientRemoved", func(t *testing.T) {
		ctok := f.clientToken("cl_gone", "read")
		user := f.sign(accesstoken.Claims{Issuer: f.issuer, Subject: "u4", Audience: []string{f.issuer}, IssuedAt: f.clock.Now(),
			ExpiresAt: f.clock.Now().Add(time.Minute), ID: "j4", SessionID: "s4", ClientID: "cl_gone"})
		p, err := g.Verify(bg, ctok)
		if err != nil || !p.IsClient() {
			t.Fatalf("client token: %v, %+v", err, p)
		}
		f.removeClient("cl_gone")
		eventually(t, "client.removed", func() bool {
			_, err := g.Verify(bg, ctok)
			return errors.Is(err, guard.ErrRevoked)
		})
		if _, err := g.Verify(bg, user); err != nil {
			t.Errorf("a user's token minted for the removed client: %v (sessions are revoked by their own events)", err)
		}
	})
	t.Run("UnknownAndInformationalEventsIgnored", func(t *testing.T) {
		tok := f.userToken("u5", "s5", nil, "")
		n := g.Stats().EventsApplied
		f.emit(fakeEvent{Type: "something.new", UserID: "u5", SID: "s5"})
		f.emit(fakeEvent{Type: "refresh.reuse_detected", UserID: "u5", SID: "s5"})
		eventually(t, "two events", func() bool { return g.Stats().EventsApplied >= n+2 })
		if _, err := g.Verify(bg, tok); err != nil {
			t.Errorf("after unknown events: %v", err)
		}
	})
	if s := g.Stats(); s.DeniedSessions < 1 || s.DeniedUsers < 2 || s.DeniedClients != 1 || s.LastEventID == 0 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestDenyEntriesLastTheTokenLifetime(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f)
	tok := f.userToken("u", "s", nil, "")
	f.revokeSession("u", "s")
	eventually(t, "the revocation", func() bool { _, err := g.Verify(bg, tok); return errors.Is(err, guard.ErrRevoked) })
	// Just before the token expires it is still refused.
	f.clock.Add(f.ttl - time.Second)
	moved := f.clock.Now()
	eventually(t, "a heartbeat in the new time", func() bool { return !g.Stats().LastHeard.Before(moved) })
	if _, err := g.Verify(bg, tok); !errors.Is(err, guard.ErrRevoked) {
		t.Fatalf("revoked token near its exp: %v", err)
	}
	g.Prune()
	if n := g.Stats().DeniedSessions; n != 1 {
		t.Fatalf("DeniedSessions = %d before the token lifetime has passed, want 1", n)
	}
	// Once every token it could match has expired (lifetime from hello,
	// plus the maximum leeway), the entry is dropped.
	f.clock.Add(2*time.Minute + time.Second)
	g.Prune()
	if n := g.Stats().DeniedSessions; n != 0 {
		t.Fatalf("DeniedSessions = %d after the token lifetime, want 0", n)
	}
	if _, err := g.Verify(bg, tok); !errors.Is(err, accesstoken.ErrExpired) {
		t.Fatalf("the token itself: %v, want ErrExpired", err)
	}
}

func TestUnknownKid(t *testing.T) {
	t.Run("RefusedWithoutWaitingThenRefetched", func(t *testing.T) {
		f := newFake(t)
		g, _ := mustGuard(t, f)
		f.rotate(false)                     // a new key, no event: only the unknown kid tells
		time.Sleep(guard.JWKSMinInterval()) // a fetch may start at once
		f.mu.Lock()
		f.jwksDelay = time.Second // and takes a second
		f.mu.Unlock()
		tok := f.userToken("u", "s", nil, "")
		start := time.Now()
		_, err := g.Verify(bg, tok)
		if !errors.Is(err, accesstoken.ErrUnknownKey) {
			t.Fatalf("first Verify with a new kid: %v, want ErrUnknownKey", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("Fast waited %v on an unknown kid: it must not wait for the key fetch", d)
		}
		// Nor does the next check wait for the fetch in flight.
		start = time.Now()
		if _, err := g.Verify(bg, tok); !errors.Is(err, accesstoken.ErrUnknownKey) || time.Since(start) > 500*time.Millisecond {
			t.Errorf("second Verify: %v after %v", err, time.Since(start))
		}
		eventually(t, "the JWKS refetch", func() bool { _, err := g.Verify(bg, tok); return err == nil })
		if n := f.jwksHits.Load(); n < 2 {
			t.Errorf("JWKS fetched %d times, want a refetch", n)
		}
	})
	t.Run("FetchIsRateLimited", func(t *testing.T) {
		f := newFake(t)
		g, _ := mustGuard(t, f)
		other, _ := accesstoken.GenerateKey(accesstoken.EdDSA, nil, time.Now())
		now := f.clock.Now()
		forged, _ := accesstoken.Sign(other, accesstoken.Claims{Issuer: f.issuer, Subject: "u", Audience: []string{f.issuer},
			IssuedAt: now, ExpiresAt: now.Add(time.Minute), ID: "j", ClientID: "c"})
		interval := guard.JWKSMinInterval()
		start := time.Now()
		for time.Since(start) < 2*interval {
			g.Verify(bg, forged)
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		// One fetch at New, then at most one per interval.
		if n, most := f.jwksHits.Load(), 1+int64(elapsed/interval)+1; n > most {
			t.Errorf("%d JWKS fetches in %v with a %v limit, want at most %d", n, elapsed, interval, most)
		}
	})
	t.Run("StrictWaitsForTheFetch", func(t *testing.T) {
		f := newFake(t)
		g, _ := mustGuard(t, f)
		f.rotate(false)
		time.Sleep(guard.JWKSMinInterval()) // the limit has passed since New's fetch
		if _, err := g.VerifyStrict(bg, f.userToken("u", "s", nil, "")); err != nil {
			t.Fatalf("Strict with a new kid: %v", err)
		}
	})
	t.Run("KeyRotatedEventRefetchesAtOnce", func(t *testing.T) {
		f := newFake(t)
		g, _ := mustGuard(t, f)
		f.rotate(true)
		eventually(t, "the refetch after key.rotated", func() bool { return g.Stats().KeyFetches == 2 })
		if _, err := g.Verify(bg, f.userToken("u", "s", nil, "")); err != nil {
			t.Fatalf("token of the rotated key: %v", err)
		}
	})
}

func TestStrict(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f)

	t.Run("OK", func(t *testing.T) {
		tok := f.userToken("u", "s-ok", []string{"r"}, "a")
		n := f.introspectHits.Load()
		p, err := g.VerifyStrict(bg, tok)
		if err != nil || p.SessionID != "s-ok" {
			t.Fatalf("VerifyStrict: %+v, %v", p, err)
		}
		if f.introspectHits.Load() != n+1 {
			t.Errorf("Strict did not introspect")
		}
	})
	t.Run("RevokedNeverPasses", func(t *testing.T) {
		tok := f.userToken("u", "s-silent", nil, "")
		if _, err := g.VerifyStrict(bg, tok); err != nil {
			t.Fatal(err)
		}
		// Revoked on the server with no event reaching guard: Strict still refuses.
		f.revokeSilently("s-silent")
		if _, err := g.VerifyStrict(bg, tok); !errors.Is(err, guard.ErrInactive) {
			t.Fatalf("Strict after a revocation: %v, want ErrInactive", err)
		}
		// Fast, which only knows what the stream says, still accepts it.
		if _, err := g.Verify(bg, tok); err != nil {
			t.Errorf("Fast without an event: %v", err)
		}
	})
	t.Run("NotCachedByDefault", func(t *testing.T) {
		tok := f.userToken("u", "s-nocache", nil, "")
		n := f.introspectHits.Load()
		for range 3 {
			if _, err := g.VerifyStrict(bg, tok); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.introspectHits.Load() - n; got != 3 {
			t.Errorf("3 Strict checks made %d introspections, want 3", got)
		}
	})
	g, _ = mustGuard(t, f, func(c *guard.Config) { c.StrictCacheTTL = time.Hour }) // clamped to 1 s
	t.Run("CachedForOneSecondAtMost", func(t *testing.T) {
		tok := f.userToken("u", "s-cache", nil, "")
		n := f.introspectHits.Load()
		for range 5 {
			if _, err := g.VerifyStrict(bg, tok); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.introspectHits.Load() - n; got != 1 {
			t.Errorf("5 Strict checks within a second made %d introspections, want 1", got)
		}
		f.clock.Add(strictCacheTTL)
		defer f.clock.Add(-strictCacheTTL)
		g.VerifyStrict(bg, tok)
		if got := f.introspectHits.Load() - n; got != 2 {
			t.Errorf("after 1 s: %d introspections, want 2", got)
		}
	})
	t.Run("CacheEndsAtRevocationEvent", func(t *testing.T) {
		tok := f.userToken("u", "s-ev", nil, "")
		if _, err := g.VerifyStrict(bg, tok); err != nil {
			t.Fatal(err)
		}
		f.revokeSession("u", "s-ev")
		eventually(t, "the event", func() bool {
			_, err := g.VerifyStrict(bg, tok)
			return errors.Is(err, guard.ErrRevoked)
		})
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		tok := f.userToken("u", "s-down", nil, "")
		f.mu.Lock()
		f.clientSecret = "rotated" // introspection now refuses guard
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.clientSecret = testClientSecret; f.mu.Unlock() }()
		_, err := g.VerifyStrict(bg, tok)
		if !errors.Is(err, guard.ErrUnavailable) || errors.Is(err, guard.ErrUnauthorized) {
			t.Fatalf("Strict with introspection failing: %v, want ErrUnavailable only", err)
		}
		if resp := get(g.Strict(okHandler()), tok); resp.StatusCode != 503 {
			t.Errorf("Strict handler: %d, want 503", resp.StatusCode)
		}
	})
	if s := g.Stats(); s.StrictVerifications == 0 || s.Introspections == 0 || s.Fallbacks != 0 {
		t.Errorf("Stats = %+v", s)
	}
}

const strictCacheTTL = time.Second // the clamp of Config.StrictCacheTTL

func TestStalenessFallsBackToIntrospection(t *testing.T) {
	f := newFake(t)
	g, logs := mustGuard(t, f, func(c *guard.Config) { c.Staleness = time.Second }) // heartbeats every 100 ms
	tok := f.userToken("u", "s", nil, "")
	live := f.userToken("u", "s-live", nil, "")
	if _, err := g.Verify(bg, tok); err != nil {
		t.Fatal(err)
	}
	f.pause()
	// Revoked while guard hears nothing: only introspection knows.
	f.revokeSilently("s")
	eventually(t, "the fallback", func() bool {
		_, err := g.Verify(bg, tok)
		return errors.Is(err, guard.ErrInactive)
	})
	if _, err := g.Verify(bg, live); err != nil {
		t.Errorf("a live token during the outage: %v", err)
	}
	s := g.Stats()
	if s.Fallbacks == 0 || s.Introspections == 0 {
		t.Errorf("Stats = %+v, want fallbacks and introspections", s)
	}
	if n := strings.Count(logs.String(), "fall back to introspection"); n != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", n, logs)
	}
	f.resume()
	eventually(t, "local checks again", func() bool {
		n := g.Stats().Fallbacks
		g.Verify(bg, live)
		return g.Stats().Fallbacks == n
	})
	if !strings.Contains(logs.String(), "live again") {
		t.Errorf("recovery not logged:\n%s", logs)
	}
}

func TestStreamReconnectsWithLastEventID(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f)
	toks := map[string]string{}
	for _, sid := range []string{"a", "b", "c"} {
		toks[sid] = f.userToken("u", sid, nil, "")
	}
	seq := f.revokeSession("u", "a")
	eventually(t, "event a", func() bool { return g.Stats().LastEventID == seq })

	f.setEventsStatus(http.StatusServiceUnavailable)
	f.dropConns()
	eventually(t, "the disconnect", func() bool { return !g.Stats().StreamConnected })
	f.revokeSession("u", "b") // while disconnected
	f.setEventsStatus(0)
	last := f.revokeSession("u", "c")
	eventually(t, "the catch-up", func() bool { return g.Stats().LastEventID == last })
	for sid, tok := range toks {
		if _, err := g.Verify(bg, tok); !errors.Is(err, guard.ErrRevoked) {
			t.Errorf("session %s: %v, want ErrRevoked", sid, err)
		}
	}
	ids := f.lastEventIDsSeen()
	if ids[0] != "" || ids[len(ids)-1] != "1" {
		t.Errorf("Last-Event-IDs sent: %q, want \"\" first and \"1\" last", ids)
	}
	if s := g.Stats(); s.StreamReconnects == 0 || !s.StreamConnected {
		t.Errorf("Stats = %+v", s)
	}
}

func TestCatchUpAfterOutageBeforeTrusting(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f, func(c *guard.Config) { c.Staleness = 200 * time.Millisecond })
	tok := f.userToken("u", "s", nil, "")
	if _, err := g.Verify(bg, tok); err != nil {
		t.Fatal(err)
	}
	f.revokeSession("x", "x") // an applied event, so that the reconnect resumes
	eventually(t, "the first event", func() bool { return g.Stats().LastEventID == 1 })
	f.pause()
	f.revokeSession("u", "s") // logged, but not delivered
	eventually(t, "the fallback", func() bool { _, err := g.Verify(bg, tok); return errors.Is(err, guard.ErrInactive) })
	// The server resumes slowly: hello first, the missed event 300 ms later.
	f.mu.Lock()
	f.resumeDelay = 300 * time.Millisecond
	f.mu.Unlock()
	f.dropConns()
	f.resume()
	eventually(t, "the resumed hello", func() bool { return len(f.lastEventIDsSeen()) >= 2 && g.Stats().StreamConnected })
	if ids := f.lastEventIDsSeen(); ids[len(ids)-1] != "1" {
		t.Fatalf("Last-Event-IDs %q: the reconnect did not resume", ids)
	}
	for start := time.Now(); time.Since(start) < 400*time.Millisecond; time.Sleep(5 * time.Millisecond) {
		if _, err := g.Verify(bg, tok); err == nil {
			t.Fatal("a token revoked during the outage passed between the hello and the catch-up")
		}
	}
	eventually(t, "the catch-up (ErrRevoked from the deny set)", func() bool {
		_, err := g.Verify(bg, tok)
		return errors.Is(err, guard.ErrRevoked)
	})
}

func TestStreamResetAfterCompaction(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f)
	tok := f.userToken("u", "a", nil, "")
	f.revokeSession("u", "a")
	eventually(t, "event", func() bool { return g.Stats().DeniedSessions == 1 })
	f.compact()
	f.dropConns()
	eventually(t, "a reset", func() bool { return f.resets.Load() == 1 })
	// Refused throughout (by introspection while the replay runs), then
	// from the rebuilt deny set.
	eventually(t, "the replay", func() bool {
		_, err := g.Verify(bg, tok)
		if !errors.Is(err, guard.ErrRevoked) && !errors.Is(err, guard.ErrInactive) {
			t.Fatalf("during the reset: %v", err)
		}
		return errors.Is(err, guard.ErrRevoked)
	})
	if n := g.Stats().DeniedSessions; n != 1 {
		t.Errorf("DeniedSessions = %d after the replay, want 1", n)
	}
}

func TestStream401FetchesANewClientToken(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f)
	n := f.tokenHits.Load()
	f.revokeBearers()
	f.dropConns()
	eventually(t, "a reconnect with a new token", func() bool { return f.tokenHits.Load() > n && f.openConns() == 1 })
	tok := f.userToken("u", "z", nil, "")
	f.revokeSession("u", "z")
	eventually(t, "events on the new connection", func() bool { _, err := g.Verify(bg, tok); return errors.Is(err, guard.ErrRevoked) })
}

func TestClientTokenRenewedBeforeExpiry(t *testing.T) {
	f := newFake(t)
	f.tokenTTL = 1 // renew after 0.8 s
	g, _ := mustGuard(t, f)
	_ = g
	time.Sleep(900 * time.Millisecond)
	f.dropConns()
	eventually(t, "a renewal", func() bool { return f.tokenHits.Load() >= 2 })
}

func TestCacheIsBounded(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f, func(c *guard.Config) { c.CacheSize = 16 })
	for i := range 100 {
		if _, err := g.Verify(bg, f.userToken("u", "s", nil, "")); err != nil {
			t.Fatal(i, err)
		}
		if n := g.Stats().CachedTokens; n > 16 {
			t.Fatalf("cache holds %d tokens, bound 16", n)
		}
	}
}

func TestMaxTokenBytes(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f, func(c *guard.Config) { c.MaxTokenBytes = 100 })
	_, err := g.Verify(bg, f.userToken("u", "s", nil, ""))
	if !errors.Is(err, accesstoken.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if _, err := g.VerifyStrict(bg, f.userToken("u", "s", nil, "")); !errors.Is(err, accesstoken.ErrTooLarge) {
		t.Fatalf("Strict err = %v, want ErrTooLarge", err)
	}
}

func TestClose(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f)
	tok := f.userToken("u", "s", nil, "")
	g.Close()
	if _, err := g.Verify(bg, tok); !errors.Is(err, guard.ErrClosed) {
		t.Errorf("Verify after Close: %v", err)
	}
	if _, err := g.VerifyStrict(bg, tok); !errors.Is(err, guard.ErrClosed) {
		t.Errorf("VerifyStrict after Close: %v", err)
	}
	eventually(t, "the stream to close", func() bool { return f.openConns() == 0 })
	if err := g.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestVerifyRepeatedAllocatesNothing(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f)
	tok := f.userToken("u", "s", []string{"a"}, "x y")
	if _, err := g.Verify(bg, tok); err != nil {
		t.Fatal(err)
	}
	f.revokeSession("other", "other") // a non-empty deny set
	eventually(t, "event", func() bool { return g.Stats().DeniedSessions == 1 })
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := g.Verify(bg, tok); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("repeated Verify allocates %v times, want 0", n)
	}
}
