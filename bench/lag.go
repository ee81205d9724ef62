package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/guard"
)

// lagTimeout bounds the wait for one revocation to take effect. guard falls
// back to introspection after its 10 s staleness at the latest.
const lagTimeout = 15 * time.Second

// lagSamples are the observed lags of one mode.
type lagSamples struct {
	lags     []time.Duration
	timeouts int
	first    string
}

func (l *lagSamples) result(s *scenario, store string) Result {
	r := Result{Name: s.name, Kind: KindLag, Description: s.desc, Store: store, Samples: len(l.lags), Errors: int64(l.timeouts), FirstError: l.first}
	if len(l.lags) == 0 {
		return r
	}
	sorted := slices.Clone(l.lags)
	slices.Sort(sorted)
	q := func(p float64) time.Duration { return nearestRank(sorted, p) }
	r.P50, r.P90, r.P99, r.P999, r.Max = q(0.5), q(0.9), q(0.99), q(0.999), sorted[len(sorted)-1]
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	r.Mean = sum / time.Duration(len(sorted))
	return r
}

// nearestRank is the q-quantile of sorted samples: the sample of rank ⌈q·n⌉.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(float64(n)*q + 0.999999999)
	return sorted[min(max(rank, 1), n)-1]
}

// lagSession measures n revocations of a session: sign in, check (200),
// POST /v1/logout, then GET /v1/session until it answers 401. The lag is
// from the logout response to the start of that check.
func (e *env) lagSession(ctx context.Context, n int, tick func()) (*lagSamples, error) {
	out := &lagSamples{}
	for range n {
		c, err := e.login(ctx, e.base, "session")
		if err != nil {
			return nil, err
		}
		check := func() (int, error) {
			st, _, _, err := e.fetch(ctx, "GET", e.base+"/v1/session", nil, http.Header{"Cookie": {c.cookieHeader()}})
			return st, err
		}
		if st, err := check(); err != nil || st != 200 {
			return nil, fmt.Errorf("bench: a fresh session answered %d (%v)", st, err)
		}
		if err := e.logout(ctx, c); err != nil {
			return nil, err
		}
		t0 := time.Now()
		for {
			ts := time.Now()
			if ts.Sub(t0) > lagTimeout {
				out.timeouts++
				out.first = fmt.Sprintf("a revoked session still passed after %v", lagTimeout)
				break
			}
			st, err := check()
			if err != nil {
				return nil, err
			}
			if st == 401 {
				out.lags = append(out.lags, ts.Sub(t0))
				break
			}
		}
		tick()
	}
	return out, nil
}

// lagTokens measures n revocations of a session whose access token a
// resource server holds: sign in, mint a token, check it with guard (it
// passes), POST /v1/logout, then call guard's Verify in a tight loop until
// it refuses the token. The lag is from the logout response to the start of
// that Verify. The same tokens give the plain-JWT figure: a verifier
// without guard accepts the token until it expires, so its lag is the
// token's remaining lifetime at the logout response.
func (e *env) lagTokens(ctx context.Context, n int, withGuard bool, tick func()) (guarded, plain *lagSamples, err error) {
	var g *guard.Guard
	if withGuard {
		if g, err = e.guardFor(ctx); err != nil {
			return nil, nil, err
		}
	}
	guarded, plain = &lagSamples{}, &lagSamples{}
	for range n {
		c, err := e.login(ctx, e.base, "session")
		if err != nil {
			return nil, nil, err
		}
		tok, err := e.mintToken(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		exp, err := expiryOf(tok)
		if err != nil {
			return nil, nil, err
		}
		if g != nil {
			if _, err := g.Verify(ctx, tok); err != nil {
				return nil, nil, fmt.Errorf("bench: guard refused a fresh token: %w", err)
			}
		}
		if err := e.logout(ctx, c); err != nil {
			return nil, nil, err
		}
		t0 := time.Now()
		plain.lags = append(plain.lags, max(exp.Sub(t0), 0))
		for g != nil {
			ts := time.Now()
			if ts.Sub(t0) > lagTimeout {
				guarded.timeouts++
				guarded.first = fmt.Sprintf("guard still accepted a revoked token after %v", lagTimeout)
				break
			}
			_, err := g.Verify(ctx, tok)
			if errors.Is(err, guard.ErrUnauthorized) {
				guarded.lags = append(guarded.lags, ts.Sub(t0))
				break
			}
			if err != nil && !errors.Is(err, guard.ErrUnavailable) {
				return nil, nil, fmt.Errorf("bench: guard: %w", err)
			}
			runtime.Gosched()
		}
		tick()
	}
	return guarded, plain, nil
}

// logout revokes the session of c with POST /v1/logout.
func (e *env) logout(ctx context.Context, c credential) error {
	st, body, _, err := e.fetch(ctx, "POST", e.base+"/v1/logout", nil, http.Header{"Cookie": {c.cookieHeader()}})
	if err != nil {
		return err
	}
	if st != 204 {
		return fmt.Errorf("bench: POST /v1/logout answered %d: %s", st, truncate(body, 200))
	}
	return nil
}

// expiryOf reads the exp claim of a JWT without verifying it (the server
// just issued it; only its lifetime is wanted).
func expiryOf(jwt string) (time.Time, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("bench: the access token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, fmt.Errorf("bench: the access token's payload: %w", err)
	}
	var c struct {
		Exp float64 `json:"exp"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Exp == 0 {
		return time.Time{}, errors.New("bench: the access token has no exp")
	}
	return time.Unix(0, int64(c.Exp*1e9)), nil
}
