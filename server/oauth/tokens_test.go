package oauth_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/servertest"
)

// TestAccessTokenIsRFC9068 reads the token by hand: header and claims.
func TestAccessTokenIsRFC9068(t *testing.T) {
	e := servertest.New(t)
	u := e.MustUser("ada@example.com", servertest.Password, "admin", "viewer")
	tr := e.MustTokens("ada@example.com", map[string]string{"scope": "profile email"})
	h, c := servertest.JWTParts(t, tr.AccessToken)

	t.Run("Header", func(t *testing.T) {
		if h["typ"] != "at+jwt" || h["alg"] != "EdDSA" {
			t.Fatalf("header %v", h)
		}
		kid, _ := h["kid"].(string)
		if kid == "" {
			t.Fatalf("no kid: %v", h)
		}
		if _, ok := e.JWKS().Lookup(kid); !ok {
			t.Fatalf("kid %q is not in the JWKS", kid)
		}
		for _, k := range []string{"jku", "jwk", "x5u", "x5c", "crit", "zip"} {
			if _, ok := h[k]; ok {
				t.Fatalf("header has %s", k)
			}
		}
	})
	t.Run("Claims", func(t *testing.T) {
		for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "scope", "roles", "client_id"} {
			if _, ok := c[k]; !ok {
				t.Errorf("claim %s missing: %v", k, c)
			}
		}
		if c["iss"] != e.Issuer() {
			t.Errorf("iss %v, want exactly %q", c["iss"], e.Issuer())
		}
		if c["sub"] != u.ID {
			t.Errorf("sub %v, want %s", c["sub"], u.ID)
		}
		if c["aud"] != e.Issuer() {
			t.Errorf("aud %v, want the issuer (default audience)", c["aud"])
		}
		now := float64(e.Clock.Now().Unix())
		if c["iat"] != now || c["nbf"] != now || c["exp"] != now+300 {
			t.Errorf("iat %v nbf %v exp %v, now %v", c["iat"], c["nbf"], c["exp"], now)
		}
		if c["scope"] != "profile email" || c["client_id"] != "tessera" {
			t.Errorf("scope %v client_id %v", c["scope"], c["client_id"])
		}
		roles, _ := c["roles"].([]any)
		if len(roles) != 2 || !slices.Contains(roles, any("admin")) || !slices.Contains(roles, any("viewer")) {
			t.Errorf("roles %v", c["roles"])
		}
		if jti, _ := c["jti"].(string); len(jti) < 16 {
			t.Errorf("jti %v", c["jti"])
		}
		if tr.Scope != "profile email" {
			t.Errorf("response scope %q", tr.Scope)
		}
	})
	t.Run("SidIsTheSession", func(t *testing.T) {
		var who struct{ Session struct{ Sid string } }
		r := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken})
		r.Decode(t, &who)
		if r.StatusCode != 200 || who.Session.Sid == "" || c["sid"] != who.Session.Sid || tr.Session.ID != who.Session.Sid {
			t.Fatalf("sid claim %v, session %s, login response %q", c["sid"], r.Body, tr.Session.ID)
		}
	})
	t.Run("JTIUnique", func(t *testing.T) {
		seen := map[string]bool{}
		add := func(tok string) {
			_, c := servertest.JWTParts(t, tok)
			jti := c["jti"].(string)
			if seen[jti] {
				t.Fatalf("jti %s repeated", jti)
			}
			seen[jti] = true
		}
		add(tr.AccessToken)
		// Same second, same session: still distinct.
		rt := tr.RefreshToken
		for range 3 {
			next := e.MustRefresh(rt)
			add(next.AccessToken)
			rt = next.RefreshToken
		}
		add(e.MustTokens("ada@example.com", nil).AccessToken)
	})
	t.Run("AudienceOverride", func(t *testing.T) {
		tr := e.MustTokens("ada@example.com", map[string]string{"audience": "https://api.example.com"})
		_, c := servertest.JWTParts(t, tr.AccessToken)
		if c["aud"] != "https://api.example.com" {
			t.Fatalf("aud %v", c["aud"])
		}
		e.MustVerify(tr.AccessToken, "https://api.example.com")
		// The audience carries over to refreshed tokens.
		next := e.MustRefresh(tr.RefreshToken)
		if _, c := servertest.JWTParts(t, next.AccessToken); c["aud"] != "https://api.example.com" {
			t.Fatalf("refreshed aud %v", c["aud"])
		}
		// Tessera is not that audience: its own endpoints refuse the token.
		servertest.WantUnauthorized(t, e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken}))
	})
	t.Run("ConfiguredAudience", func(t *testing.T) {
		e := servertest.New(t, func(a *auth.Config, _ *server.Config) { a.Tokens.Audience = "https://api.example.com" })
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		if _, c := servertest.JWTParts(t, tr.AccessToken); c["aud"] != "https://api.example.com" || c["iss"] != e.Issuer() {
			t.Fatalf("aud %v iss %v", c["aud"], c["iss"])
		}
		if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken}).StatusCode; got != 200 {
			t.Fatalf("bearer with the configured audience: %d", got)
		}
	})
}

// TestTokenKeyRotation: old keys keep verifying until their tokens have expired,
// then leave the JWKS (J-18).
func TestTokenKeyRotation(t *testing.T) {
	ctx := context.Background()
	e := servertest.New(t)
	u := e.MustUser("ada@example.com", servertest.Password)
	tr := e.MustTokens("ada@example.com", nil)
	oldKid := servertest.KidOf(t, tr.AccessToken)
	oldKey := e.StoredKey(oldKid)
	before := servertest.CountType(e.Events(), auth.EventKeyRotated)

	info, err := e.Svc.RotateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID == oldKid {
		t.Fatal("rotation kept the kid")
	}
	if servertest.CountType(e.Events(), auth.EventKeyRotated) != before+1 {
		t.Fatal("no key.rotated event")
	}
	t.Run("OK_OldTokenStillVerifies", func(t *testing.T) {
		if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken}).StatusCode; got != 200 {
			t.Fatalf("token signed before the rotation: %d", got)
		}
		ks := e.JWKS()
		if _, ok := ks.Lookup(oldKid); !ok || ks.Len() != 2 {
			t.Fatalf("JWKS has %d keys, old one listed: %v", ks.Len(), ok)
		}
		if _, ok := ks.Lookup(info.ID); !ok {
			t.Fatal("new key not in the JWKS")
		}
	})
	t.Run("OK_NewTokensUseNewKey", func(t *testing.T) {
		next := e.MustRefresh(tr.RefreshToken)
		tr = next
		if kid := servertest.KidOf(t, next.AccessToken); kid != info.ID {
			t.Fatalf("new token kid %s, want %s", kid, info.ID)
		}
		if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: next.AccessToken}).StatusCode; got != 200 {
			t.Fatalf("new token: %d", got)
		}
	})
	// A token signed by the old key that has not expired is accepted while
	// the key is published.
	fresh := func() string {
		_, c := servertest.JWTParts(t, tr.AccessToken)
		now := e.Clock.Now()
		return servertest.Sign(t, oldKey, accesstoken.Claims{Issuer: e.Issuer(), Subject: u.ID, Audience: []string{e.Issuer()},
			IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Minute), ID: "j", SessionID: c["sid"].(string), ClientID: "tessera"})
	}
	if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: fresh()}).StatusCode; got != 200 {
		t.Fatalf("old key, before the retirement window: %d", got)
	}
	t.Run("ErrRetiredKey", func(t *testing.T) {
		e.Clock.Add(e.Svc.Config().Tokens.AccessTTL + accesstoken.MaxLeeway + time.Second)
		if err := e.Svc.MaintainKeys(ctx); err != nil {
			t.Fatal(err)
		}
		ks := e.JWKS()
		if _, ok := ks.Lookup(oldKid); ok || ks.Len() != 1 {
			t.Fatalf("retired key still published (%d keys)", ks.Len())
		}
		servertest.WantUnauthorized(t, e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: fresh()}))
		servertest.WantUnauthorized(t, e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken}))
		// The new key keeps working.
		next := e.MustRefresh(tr.RefreshToken)
		if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: next.AccessToken}).StatusCode; got != 200 {
			t.Fatalf("token of the active key: %d", got)
		}
	})
}

// TestTokenKeyRotationSchedule: MaintainKeys rotates once the active key is
// older than the rotation schedule, and retires the old key on time.
func TestTokenKeyRotationSchedule(t *testing.T) {
	ctx := context.Background()
	e := servertest.New(t, func(a *auth.Config, _ *server.Config) {
		a.Tokens.KeyRotation = 24 * time.Hour
		a.IdleTimeout = 48 * time.Hour
	})
	e.MustUser("ada@example.com", servertest.Password)
	first := servertest.KidOf(t, e.MustTokens("ada@example.com", nil).AccessToken)
	e.Clock.Add(23 * time.Hour)
	if err := e.Svc.MaintainKeys(ctx); err != nil {
		t.Fatal(err)
	}
	tr := e.MustTokens("ada@example.com", nil)
	if kid := servertest.KidOf(t, tr.AccessToken); kid != first {
		t.Fatal("rotated before the schedule")
	}
	e.Clock.Add(time.Hour)
	tr = e.MustRefresh(tr.RefreshToken) // signed by the first key, just before it retires
	if err := e.Svc.MaintainKeys(ctx); err != nil {
		t.Fatal(err)
	}
	next := e.MustRefresh(tr.RefreshToken)
	if kid := servertest.KidOf(t, next.AccessToken); kid == first {
		t.Fatal("not rotated after the schedule")
	}
	if ks := e.JWKS(); ks.Len() != 2 {
		t.Fatalf("JWKS has %d keys right after rotation", ks.Len())
	}
	if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken}).StatusCode; got != 200 {
		t.Fatalf("token of the previous key: %d", got)
	}
	e.Clock.Add(e.Svc.Config().Tokens.AccessTTL + accesstoken.MaxLeeway + time.Second)
	if err := e.Svc.MaintainKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.JWKS().Lookup(first); ok {
		t.Fatal("retired key still published")
	}
	if n := servertest.CountType(e.Events(), auth.EventKeyRotated); n != 2 { // the first key, and one rotation
		t.Fatalf("%d key.rotated events", n)
	}
}

// TestTokenSigningAlgorithms: every supported algorithm mints tokens that verify,
// and the JWKS names exactly the token's alg.
func TestTokenSigningAlgorithms(t *testing.T) {
	for _, tc := range []struct {
		alg accesstoken.Alg
		kty string
	}{{accesstoken.EdDSA, "OKP"}, {accesstoken.ES256, "EC"}, {accesstoken.RS256, "RSA"}} {
		t.Run("OK_"+string(tc.alg), func(t *testing.T) {
			e := servertest.New(t, func(a *auth.Config, _ *server.Config) { a.Tokens.Alg = tc.alg })
			e.MustUser("ada@example.com", servertest.Password)
			tr := e.MustTokens("ada@example.com", nil)
			h, _ := servertest.JWTParts(t, tr.AccessToken)
			if h["alg"] != string(tc.alg) || h["typ"] != "at+jwt" {
				t.Fatalf("header %v", h)
			}
			if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken}).StatusCode; got != 200 {
				t.Fatalf("bearer: %d", got)
			}
			e.MustVerify(tr.AccessToken, "")
			keys := jwksKeys(t, e)
			if len(keys) != 1 || keys[0]["alg"] != string(tc.alg) || keys[0]["kty"] != tc.kty || keys[0]["kid"] != h["kid"] || keys[0]["use"] != "sig" {
				t.Fatalf("JWKS %v", keys)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
				if _, ok := keys[0][private]; ok {
					t.Fatalf("JWKS publishes %q", private)
				}
			}
			next := e.MustRefresh(tr.RefreshToken)
			if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: next.AccessToken}).StatusCode; got != 200 {
				t.Fatalf("refreshed bearer: %d", got)
			}
		})
	}
}

// jwksKeys returns the served JWKS's keys as raw JSON objects.
func jwksKeys(t *testing.T, e *servertest.Env) []map[string]any {
	t.Helper()
	r := e.Do(servertest.Request{Method: "GET", Path: "/.well-known/jwks.json"})
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	r.Decode(t, &set)
	return set.Keys
}
