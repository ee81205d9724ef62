package guard

import (
	"context"
	"errors"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
)

// Verify is the Fast check without HTTP: it verifies token locally (signature
// with a key from the server's JWKS, typ, iss, aud, exp, nbf, iat) and
// refuses it if a revocation event covers it. It does no network I/O while
// the event stream is fresh; a token seen before is answered from the
// repeated-token cache (revocations still apply). When the stream has not
// been heard from for longer than Config.Staleness, or is replaying after a
// reset, Verify checks the token by introspection instead (see the package
// documentation).
//
// Errors matching ErrUnauthorized: ErrInvalidToken (wrapping the accesstoken
// reason; a token of an unknown kid starts a background key fetch and is
// refused meanwhile), ErrRevoked, and in the fallback ErrInactive. Not
// matching it: ErrUnavailable (fallback only) and ErrClosed.
//
// The returned Principal is shared and must not be modified.
func (g *Guard) Verify(ctx context.Context, token string) (*Principal, error) {
	if g.closed.Load() {
		return nil, ErrClosed
	}
	if len(token) > g.cfg.MaxTokenBytes {
		g.stats.refused.Add(1)
		return nil, errTooLarge
	}
	now := g.now()
	ns := now.UnixNano()
	if !g.fresh(ns) {
		return g.fallback(ctx, token, now)
	}
	if p := g.cache.get(token, ns); p != nil {
		if g.deny.denied(p) {
			g.stats.refused.Add(1)
			return nil, ErrRevoked
		}
		g.stats.cached.Add(1)
		return p, nil
	}
	g.stats.fast.Add(1)
	p, err := g.verifyLocal(token, now)
	if err != nil {
		g.stats.refused.Add(1)
		return nil, err
	}
	if g.deny.denied(p) {
		g.stats.refused.Add(1)
		return nil, ErrRevoked
	}
	return p, nil
}

// fresh reports whether the revocation state can be trusted at ns.
func (g *Guard) fresh(ns int64) bool {
	return g.synced.Load() && ns-g.lastHeard.Load() <= int64(g.cfg.Staleness)
}

// fallback is Fast's check when the stream is stale: introspection.
func (g *Guard) fallback(ctx context.Context, token string, now time.Time) (*Principal, error) {
	g.stats.fallbacks.Add(1)
	if g.outage.CompareAndSwap(false, true) {
		g.log.Warn("guard: the event stream is stale or catching up; Fast checks fall back to introspection until it recovers",
			"staleness", g.cfg.Staleness, "last_heard", time.Unix(0, g.lastHeard.Load()), "synced", g.synced.Load())
	}
	return g.checkStrict(ctx, token, now, maxIntrospectionReuse)
}

// verifyLocal verifies token's signature and claims and caches the result. It
// does no I/O: a token signed by an unknown key starts a background JWKS
// fetch (rate-limited) and is refused.
func (g *Guard) verifyLocal(token string, now time.Time) (*Principal, error) {
	c, err := g.verifier.Verify(token)
	if err != nil {
		if errors.Is(err, accesstoken.ErrUnknownKey) {
			g.fetcher.trigger(false)
		}
		return nil, &invalidError{cause: err}
	}
	p := newPrincipal(c)
	g.cache.put(token, p, c.ExpiresAt.Add(g.leeway).UnixNano(), now.UnixNano())
	return p, nil
}

// VerifyStrict checks token with the server: after the local checks of
// Verify (a token signed by an unknown key waits, within ctx, for a key
// fetch and is tried again), the server's introspection endpoint must say
// that it is active — for a user's token, that its session is live. A token
// whose session was revoked never passes, whether or not the revocation
// event has arrived. Only with Config.StrictCacheTTL set is a positive answer
// reused, for that long (at most 1 s) for the exact same token, and never
// after a revocation event that could concern it.
//
// Errors: ErrInvalidToken, ErrRevoked, ErrInactive (all matching
// ErrUnauthorized); ErrUnavailable when the server cannot answer (the token
// is not accepted); ErrClosed.
func (g *Guard) VerifyStrict(ctx context.Context, token string) (*Principal, error) {
	if g.closed.Load() {
		return nil, ErrClosed
	}
	g.stats.strict.Add(1)
	return g.checkStrict(ctx, token, g.now(), g.cfg.StrictCacheTTL)
}

// checkStrict verifies token locally and by introspection. A positive
// introspection answer younger than reuse is used instead of asking again.
func (g *Guard) checkStrict(ctx context.Context, token string, now time.Time, reuse time.Duration) (*Principal, error) {
	p, err := g.checkStrictInner(ctx, token, now, reuse)
	if err != nil && errors.Is(err, ErrUnauthorized) {
		g.stats.refused.Add(1)
	}
	return p, err
}

func (g *Guard) checkStrictInner(ctx context.Context, token string, now time.Time, reuse time.Duration) (*Principal, error) {
	if len(token) > g.cfg.MaxTokenBytes {
		return nil, errTooLarge
	}
	ns := now.UnixNano()
	p := g.cache.get(token, ns)
	if p == nil {
		var err error
		if p, err = g.verifyLocal(token, now); errors.Is(err, accesstoken.ErrUnknownKey) {
			// Strict talks to the server anyway: wait for a key fetch.
			select {
			case <-g.fetcher.trigger(false):
			case <-ctx.Done():
				return nil, err
			}
			p, err = g.verifyLocal(token, now)
		}
		if err != nil {
			return nil, err
		}
	}
	if g.deny.denied(p) {
		return nil, ErrRevoked
	}
	// Entries live maxIntrospectionReuse after their answer; one is young
	// enough for reuse when it would still live maxIntrospectionReuse-reuse
	// from now.
	if reuse > 0 && g.strict.get(token, ns+int64(maxIntrospectionReuse-reuse)) != nil {
		return p, nil
	}
	gen := g.revGen.Load()
	in, err := g.introspect(ctx, token)
	if err != nil {
		return nil, err
	}
	if !in.Active {
		return nil, ErrInactive
	}
	if in.Subject != p.Subject || in.SessionID != p.SessionID || in.ClientID != "" && in.ClientID != p.ClientID {
		g.log.Warn("guard: introspection answered for a different subject, session or client than the token's; refusing it")
		return nil, ErrInactive
	}
	// Keep the answer for reuse, unless a revocation event arrived while the
	// server was being asked (the answer may predate that revocation).
	if g.revGen.Load() == gen {
		g.strict.put(token, p, now.Add(maxIntrospectionReuse).UnixNano(), ns)
	}
	return p, nil
}
