package httpapi_test

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
)

// The token and hybrid modes of POST /v1/login, the access tokens they mint
// (RFC 9068), bearer access tokens on the session endpoints, POST
// /v1/session/token, and signing keys.

func TestTokenLogin(t *testing.T) {
	t.Run("OK_TokenMode", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		r, tr := e.loginTokens("ada@example.com", nil)
		if r.StatusCode != 200 {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		if tr.AccessToken == "" || tr.RefreshToken == "" || tr.TokenType != "Bearer" {
			t.Fatalf("token response: %s", r.body)
		}
		if n, ok := tr.ExpiresIn.(float64); !ok || n != 300 {
			t.Fatalf("expires_in %#v, want the number 300", tr.ExpiresIn)
		}
		if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Fatalf("token mode set a cookie: %q", sc)
		}
		if strings.Contains(string(r.body), "session_token") {
			t.Fatalf("token mode handed out the session secret: %s", r.body)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("Cache-Control %q", cc)
		}
		if got := e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken}).StatusCode; got != 200 {
			t.Fatalf("bearer: %d", got)
		}
	})
	t.Run("OK_HybridMode", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		r, tr := e.loginTokens("ada@example.com", map[string]string{"mode": "hybrid"})
		if r.StatusCode != 200 || tr.AccessToken == "" || tr.RefreshToken == "" || tr.TokenType != "Bearer" {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		if _, ok := tr.ExpiresIn.(float64); !ok {
			t.Fatalf("expires_in %#v", tr.ExpiresIn)
		}
		c := r.sessionCookie()
		if c == nil || !c.HttpOnly || !c.Secure {
			t.Fatalf("hybrid mode cookie: %v", r.Header["Set-Cookie"])
		}
		// Cookie and token name the same session.
		var byCookie, byToken struct{ Session struct{ Sid string } }
		rc := e.do(request{method: "GET", path: "/v1/session", cookie: c.Value})
		rc.decode(t, &byCookie)
		rt := e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken})
		rt.decode(t, &byToken)
		if rc.StatusCode != 200 || rt.StatusCode != 200 || byCookie.Session.Sid == "" || byCookie.Session.Sid != byToken.Session.Sid {
			t.Fatalf("cookie %d %s, token %d %s", rc.StatusCode, rc.body, rt.StatusCode, rt.body)
		}
	})
	t.Run("OK_DefaultClientIsTessera", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		if c := e.mustVerify(tr.AccessToken, ""); c.ClientID != "tessera" {
			t.Fatalf("client_id %q", c.ClientID)
		}
		rt, err := e.db.RefreshTokenByHash(context.Background(), hashOf(t, tr.RefreshToken))
		if err != nil || rt.ClientID != "tessera" {
			t.Fatalf("stored refresh token: %+v %v", rt, err)
		}
	})
	t.Run("OK_RegisteredClient", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		id, _ := e.client("shop")
		tr := e.mustTokens("ada@example.com", map[string]string{"client_id": id})
		if c := e.mustVerify(tr.AccessToken, ""); c.ClientID != id {
			t.Fatalf("client_id %q, want %q", c.ClientID, id)
		}
		rt, err := e.db.RefreshTokenByHash(context.Background(), hashOf(t, tr.RefreshToken))
		if err != nil || rt.ClientID != id {
			t.Fatalf("stored refresh token: %+v %v", rt, err)
		}
	})
	t.Run("ErrUnknownClient", func(t *testing.T) {
		e := newEnv(t)
		u := e.mustUser("ada@example.com", pw)
		before := len(e.events())
		for _, mode := range []string{"token", "hybrid"} {
			r, _ := e.loginTokens("ada@example.com", map[string]string{"mode": mode, "client_id": "cl_nosuchclient"})
			if r.StatusCode != 400 || r.problem(t).Code != "invalid_request" {
				t.Fatalf("%s: %d %s", mode, r.StatusCode, r.body)
			}
			if r.sessionCookie() != nil || strings.Contains(string(r.body), "access_token") || strings.Contains(string(r.body), "refresh_token") {
				t.Fatalf("%s: refused login handed out credentials: %s", mode, r.body)
			}
		}
		if n := len(e.events()); n != before {
			t.Fatalf("%d events appended by refused logins", n-before)
		}
		if list, _ := e.db.ListSessions(context.Background(), u.ID, e.clock.Now()); len(list) != 0 {
			t.Fatalf("refused logins created %d sessions", len(list))
		}
	})
	t.Run("ErrReservedScope", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		for _, sc := range []string{"admin", "events", "introspect"} {
			r, _ := e.loginTokens("ada@example.com", map[string]string{"scope": sc})
			if r.StatusCode != 400 {
				t.Fatalf("scope %s: %d %s", sc, r.StatusCode, r.body)
			}
		}
	})
	t.Run("ErrTokenFieldsInSessionMode", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		r, _ := e.loginTokens("ada@example.com", map[string]string{"mode": "session", "client_id": "tessera"})
		if r.StatusCode != 400 {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
	})
}

// TestAccessTokenIsRFC9068 reads the token by hand: header and claims.
func TestAccessTokenIsRFC9068(t *testing.T) {
	e := newEnv(t)
	u := e.mustUser("ada@example.com", pw, "admin", "viewer")
	tr := e.mustTokens("ada@example.com", map[string]string{"scope": "profile email"})
	h, c := jwtParts(t, tr.AccessToken)

	t.Run("Header", func(t *testing.T) {
		if h["typ"] != "at+jwt" || h["alg"] != "EdDSA" {
			t.Fatalf("header %v", h)
		}
		kid, _ := h["kid"].(string)
		if kid == "" {
			t.Fatalf("no kid: %v", h)
		}
		if _, ok := e.jwks().Lookup(kid); !ok {
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
		if c["iss"] != e.issuer() {
			t.Errorf("iss %v, want exactly %q", c["iss"], e.issuer())
		}
		if c["sub"] != u.ID {
			t.Errorf("sub %v, want %s", c["sub"], u.ID)
		}
		if c["aud"] != e.issuer() {
			t.Errorf("aud %v, want the issuer (default audience)", c["aud"])
		}
		now := float64(e.clock.Now().Unix())
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
		r := e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken})
		r.decode(t, &who)
		if r.StatusCode != 200 || who.Session.Sid == "" || c["sid"] != who.Session.Sid || tr.Session.ID != who.Session.Sid {
			t.Fatalf("sid claim %v, session %s, login response %q", c["sid"], r.body, tr.Session.ID)
		}
	})
	t.Run("JTIUnique", func(t *testing.T) {
		seen := map[string]bool{}
		add := func(tok string) {
			_, c := jwtParts(t, tok)
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
			next := e.mustRefresh(rt)
			add(next.AccessToken)
			rt = next.RefreshToken
		}
		add(e.mustTokens("ada@example.com", nil).AccessToken)
	})
	t.Run("AudienceOverride", func(t *testing.T) {
		tr := e.mustTokens("ada@example.com", map[string]string{"audience": "https://api.example.com"})
		_, c := jwtParts(t, tr.AccessToken)
		if c["aud"] != "https://api.example.com" {
			t.Fatalf("aud %v", c["aud"])
		}
		e.mustVerify(tr.AccessToken, "https://api.example.com")
		// The audience carries over to refreshed tokens.
		next := e.mustRefresh(tr.RefreshToken)
		if _, c := jwtParts(t, next.AccessToken); c["aud"] != "https://api.example.com" {
			t.Fatalf("refreshed aud %v", c["aud"])
		}
		// Tessera is not that audience: its own endpoints refuse the token.
		wantUnauthorized(t, e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken}))
	})
	t.Run("ConfiguredAudience", func(t *testing.T) {
		e := newEnv(t, func(a *auth.Config, _ *httpapi.Config) { a.Tokens.Audience = "https://api.example.com" })
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		if _, c := jwtParts(t, tr.AccessToken); c["aud"] != "https://api.example.com" || c["iss"] != e.issuer() {
			t.Fatalf("aud %v iss %v", c["aud"], c["iss"])
		}
		if got := e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken}).StatusCode; got != 200 {
			t.Fatalf("bearer with the configured audience: %d", got)
		}
	})
}

func TestBearerAccessToken(t *testing.T) {
	t.Run("OK_Session", func(t *testing.T) {
		e := newEnv(t)
		u := e.mustUser("ada@example.com", pw, "admin")
		tr := e.mustTokens("ada@example.com", nil)
		var who struct {
			User struct {
				ID    string
				Roles []string
			}
		}
		r := e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken})
		r.decode(t, &who)
		if r.StatusCode != 200 || who.User.ID != u.ID || !slices.Equal(who.User.Roles, []string{"admin"}) {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		// The scheme is case-insensitive (RFC 9110 §11.1).
		r = e.do(request{method: "GET", path: "/v1/session", header: map[string]string{"Authorization": "bearer " + tr.AccessToken}})
		if r.StatusCode != 200 {
			t.Fatalf("lower-case scheme: %d", r.StatusCode)
		}
	})
	t.Run("OK_Sessions", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		e.mustTokens("ada@example.com", nil)
		var list struct {
			Sessions []struct {
				Sid     string
				Current bool
			}
		}
		r := e.do(request{method: "GET", path: "/v1/sessions", bearer: tr.AccessToken})
		r.decode(t, &list)
		if r.StatusCode != 200 || len(list.Sessions) != 2 {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		for _, s := range list.Sessions {
			if s.Current != (s.Sid == tr.Session.ID) {
				t.Fatalf("current flag wrong: %s", r.body)
			}
		}
	})
	t.Run("OK_LogoutEndsSession", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		r := e.do(request{method: "POST", path: "/v1/logout", bearer: tr.AccessToken})
		if r.StatusCode != 204 {
			t.Fatalf("logout: %d %s", r.StatusCode, r.body)
		}
		if n := countType(e.events(), auth.EventSessionRevoked); n != 1 {
			t.Fatalf("%d session.revoked events", n)
		}
		wantUnauthorized(t, e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken}))
		wantOAuthError(t, e.refreshFirstParty(tr.RefreshToken), 400, "invalid_grant")
	})
	t.Run("ErrClientCredentialsToken", func(t *testing.T) {
		e := newEnv(t)
		id, sec := e.client("batch", "events")
		r := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(id, sec))
		var tr tokenResp
		r.decode(t, &tr)
		if r.StatusCode != 200 || tr.AccessToken == "" {
			t.Fatalf("client_credentials: %d %s", r.StatusCode, r.body)
		}
		wantUnauthorized(t, e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken}))
		wantUnauthorized(t, e.do(request{method: "GET", path: "/v1/sessions", bearer: tr.AccessToken}))
	})
	t.Run("ErrRefreshTokenAsBearer", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		wantUnauthorized(t, e.do(request{method: "GET", path: "/v1/session", bearer: tr.RefreshToken}))
	})
}

// TestForgedBearerTokens sends a representative set of forged tokens (J-01,
// J-02, J-05, J-08, J-09, J-10, J-11, J-14, J-18 of SECURITY-CHECKS.md) as
// Bearer credentials; every one must get a 401 problem document. The full
// catalogue is unit-tested in package accesstoken.
func TestForgedBearerTokens(t *testing.T) {
	e := newEnv(t)
	u := e.mustUser("ada@example.com", pw, "viewer")
	tr := e.mustTokens("ada@example.com", nil)
	good := tr.AccessToken
	parts := strings.Split(good, ".")
	h, c := jwtParts(t, good)
	kid := h["kid"].(string)
	ours := e.storedKey(kid)
	attacker, err := accesstoken.GenerateKey(accesstoken.EdDSA, nil, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// claims are the genuine token's, for re-signing with one change.
	claims := func() accesstoken.Claims {
		now := e.clock.Now()
		return accesstoken.Claims{
			Issuer: e.issuer(), Subject: u.ID, Audience: []string{e.issuer()}, IssuedAt: now, NotBefore: now,
			ExpiresAt: now.Add(5 * time.Minute), ID: "forged-jti", SessionID: c["sid"].(string), ClientID: "tessera",
			Roles: []string{"admin"},
		}
	}
	hdr := func(alg string) string { return b64json(map[string]any{"alg": alg, "kid": kid, "typ": "at+jwt"}) }
	hs256 := func(key []byte, alg string) string {
		in := hdr(alg) + "." + parts[1]
		m := hmac.New(sha256.New, key)
		m.Write([]byte(in))
		return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	jwksBody := e.do(request{method: "GET", path: "/.well-known/jwks.json"}).body
	var set struct{ Keys []map[string]any }
	json.Unmarshal(jwksBody, &set)
	var jwkJSON []byte
	var rawPub []byte
	for _, k := range set.Keys {
		if k["kid"] == kid {
			jwkJSON, _ = json.Marshal(k)
			rawPub, _ = base64.RawURLEncoding.DecodeString(k["x"].(string))
		}
	}
	if len(rawPub) != 32 {
		t.Fatalf("no Ed25519 key %s in the JWKS %s", kid, jwksBody)
	}
	payloadWith := func(mod map[string]any) string {
		m := map[string]any{}
		for k, v := range c {
			m[k] = v
		}
		for k, v := range mod {
			m[k] = v
		}
		return b64json(m)
	}
	var jkuHits atomic.Int64
	jku := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jkuHits.Add(1)
		w.Write([]byte(`{"keys":[]}`))
	}))
	defer jku.Close()

	// The genuine token works: each refusal is about the forgery.
	if got := e.do(request{method: "GET", path: "/v1/session", bearer: good}).StatusCode; got != 200 {
		t.Fatalf("genuine token: %d", got)
	}
	if got := e.do(request{method: "GET", path: "/v1/session", bearer: sign(t, ours, claims())}).StatusCode; got != 200 {
		t.Fatalf("re-signed genuine claims: %d", got)
	}

	// Clock skew inside the leeway is tolerated.
	skewed := claims()
	skewed.IssuedAt, skewed.NotBefore = skewed.IssuedAt.Add(20*time.Second), skewed.NotBefore.Add(20*time.Second)
	if got := e.do(request{method: "GET", path: "/v1/session", bearer: sign(t, ours, skewed)}).StatusCode; got != 200 {
		t.Fatalf("iat and nbf 20 s ahead: %d", got)
	}

	cases := []struct {
		name  string
		token func() string
	}{
		{"ErrAlgNone", func() string { return hdr("none") + "." + parts[1] + "." }},
		{"ErrAlgNoneCapitalised", func() string { return hdr("None") + "." + parts[1] + "." }},
		{"ErrAlgNoneUpper", func() string { return hdr("NONE") + "." + parts[1] + "." }},
		{"ErrAlgNoneMixed", func() string { return hdr("nOnE") + "." + parts[1] + "." }},
		{"ErrAlgNoneSignatureKept", func() string { return hdr("none") + "." + parts[1] + "." + parts[2] }},
		{"ErrAlgNoneMixedSignatureKept", func() string { return hdr("nOnE") + "." + parts[1] + "." + parts[2] }},
		{"ErrHS256KeyedWithRawPublicKey", func() string { return hs256(rawPub, "HS256") }},
		{"ErrHS256KeyedWithJWK", func() string { return hs256(jwkJSON, "HS256") }},
		{"ErrHS256KeyedWithJWKS", func() string { return hs256(jwksBody, "HS256") }},
		{"ErrHS512KeyedWithRawPublicKey", func() string { return hs256(rawPub, "HS512") }},
		{"ErrChangedPayload", func() string {
			return parts[0] + "." + payloadWith(map[string]any{"roles": []string{"admin"}}) + "." + parts[2]
		}},
		{"ErrChangedSubject", func() string {
			return parts[0] + "." + payloadWith(map[string]any{"sub": "someone-else"}) + "." + parts[2]
		}},
		{"ErrStrippedSignature", func() string { return parts[0] + "." + parts[1] + "." }},
		{"ErrNoSignatureSegment", func() string { return parts[0] + "." + parts[1] }},
		{"ErrExtraSegment", func() string { return good + "." + parts[2] }},
		{"ErrOtherTokensSignature", func() string {
			other := e.mustTokens("ada@example.com", nil).AccessToken
			return parts[0] + "." + parts[1] + "." + strings.Split(other, ".")[2]
		}},
		{"ErrUnknownKid", func() string { return sign(t, attacker, claims()) }},
		{"ErrOurKidAttackersKey", func() string {
			k := *attacker
			k.ID = kid
			return sign(t, &k, claims())
		}},
		{"ErrJKU", func() string {
			hd := b64json(map[string]any{"alg": "EdDSA", "kid": attacker.ID, "typ": "at+jwt", "jku": jku.URL})
			return hd + "." + strings.SplitN(sign(t, attacker, claims()), ".", 2)[1]
		}},
		{"ErrEmbeddedJWK", func() string {
			jwk, err := json.Marshal(attacker.PublicJWK())
			if err != nil {
				t.Fatal(err)
			}
			hd := b64json(map[string]any{"alg": "EdDSA", "kid": kid, "typ": "at+jwt", "jwk": json.RawMessage(jwk)})
			in := hd + "." + parts[1]
			return in + "." + base64.RawURLEncoding.EncodeToString(mustSignRaw(t, attacker, in))
		}},
		{"ErrX5U", func() string {
			hd := b64json(map[string]any{"alg": "EdDSA", "kid": kid, "typ": "at+jwt", "x5u": jku.URL})
			in := hd + "." + parts[1]
			return in + "." + base64.RawURLEncoding.EncodeToString(mustSignRaw(t, ours, in))
		}},
		{"ErrUnknownCrit", func() string {
			hd := b64json(map[string]any{"alg": "EdDSA", "kid": kid, "typ": "at+jwt", "crit": []string{"tessera-x"}, "tessera-x": true})
			in := hd + "." + parts[1]
			return in + "." + base64.RawURLEncoding.EncodeToString(mustSignRaw(t, ours, in))
		}},
		{"ErrNoTyp", func() string {
			hd := b64json(map[string]any{"alg": "EdDSA", "kid": kid})
			in := hd + "." + parts[1]
			return in + "." + base64.RawURLEncoding.EncodeToString(mustSignRaw(t, ours, in))
		}},
		{"ErrIssuedInTheFuture", func() string {
			c := claims()
			c.IssuedAt, c.NotBefore = c.IssuedAt.Add(2*time.Minute), time.Time{}
			c.ExpiresAt = c.IssuedAt.Add(5 * time.Minute)
			return sign(t, ours, c)
		}},
		{"ErrWrongIssuer", func() string { c := claims(); c.Issuer = "https://evil.example"; return sign(t, ours, c) }},
		{"ErrIssuerTrailingSlash", func() string { c := claims(); c.Issuer = e.issuer() + "/"; return sign(t, ours, c) }},
		{"ErrWrongAudience", func() string { c := claims(); c.Audience = []string{"https://other.example"}; return sign(t, ours, c) }},
		{"ErrExpiredClaims", func() string {
			c := claims()
			c.IssuedAt, c.NotBefore, c.ExpiresAt = c.IssuedAt.Add(-time.Hour), c.IssuedAt.Add(-time.Hour), c.IssuedAt.Add(-2*time.Minute)
			return sign(t, ours, c)
		}},
		{"ErrNotYetValid", func() string {
			c := claims()
			c.IssuedAt, c.NotBefore, c.ExpiresAt = c.IssuedAt.Add(time.Hour), c.IssuedAt.Add(time.Hour), c.IssuedAt.Add(2*time.Hour)
			return sign(t, ours, c)
		}},
		{"ErrOtherUsersSession", func() string {
			c := claims()
			c.Subject = "0190a0c2-0000-7000-8000-000000000000"
			return sign(t, ours, c)
		}},
		{"ErrNoSuchSession", func() string { c := claims(); c.SessionID = "no-such-session"; return sign(t, ours, c) }},
		{"ErrWrongTyp", func() string {
			hd := b64json(map[string]any{"alg": "EdDSA", "kid": kid, "typ": "JWT"})
			in := hd + "." + parts[1]
			return in + "." + base64.RawURLEncoding.EncodeToString(mustSignRaw(t, ours, in))
		}},
		{"ErrSignedOversized", func() string {
			c := claims()
			c.Scope = strings.Repeat("s", 16<<10)
			return sign(t, ours, c)
		}},
		{"ErrOversizedGarbage", func() string { return strings.Repeat("a", 16<<10) + ".b.c" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token()
			if tc.name == "ErrSignedOversized" && len(tok) < 16<<10 {
				t.Fatalf("token is only %d bytes", len(tok))
			}
			wantUnauthorized(t, e.do(request{method: "GET", path: "/v1/session", bearer: tok}))
			wantUnauthorized(t, e.do(request{method: "GET", path: "/v1/sessions", bearer: tok}))
		})
	}
	if n := jkuHits.Load(); n != 0 {
		t.Fatalf("the jku URL was fetched %d times", n)
	}
	t.Run("ErrExpiredByClock", func(t *testing.T) {
		e.clock.Add(5*time.Minute + accesstoken.MaxLeeway + time.Second)
		wantUnauthorized(t, e.do(request{method: "GET", path: "/v1/session", bearer: good}))
		// The session itself is still live: the refusal is the token's exp.
		tr2 := e.mustRefresh(tr.RefreshToken)
		if got := e.do(request{method: "GET", path: "/v1/session", bearer: tr2.AccessToken}).StatusCode; got != 200 {
			t.Fatalf("fresh token after expiry: %d", got)
		}
	})
}

// mustSignRaw signs the JWS signing input in with an Ed25519 key.
func mustSignRaw(t *testing.T, k *accesstoken.Key, in string) []byte {
	t.Helper()
	sig, err := k.Private.Sign(nil, []byte(in), crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestSessionTokenEndpoint(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		u := e.mustUser("ada@example.com", pw, "viewer")
		c := e.login("ada@example.com", pw)
		var who struct{ Session struct{ Sid string } }
		e.do(request{method: "GET", path: "/v1/session", cookie: c}).decode(t, &who)
		for _, site := range []string{"", "same-origin", "none"} {
			hd := map[string]string{}
			if site != "" {
				hd["Sec-Fetch-Site"] = site
			}
			r := e.do(request{method: "POST", path: "/v1/session/token", cookie: c, header: hd})
			var tr tokenResp
			r.decode(t, &tr)
			if r.StatusCode != 200 || tr.AccessToken == "" || tr.TokenType != "Bearer" || tr.RefreshToken != "" {
				t.Fatalf("Sec-Fetch-Site %q: %d %s", site, r.StatusCode, r.body)
			}
			if _, ok := tr.ExpiresIn.(float64); !ok {
				t.Fatalf("expires_in %#v", tr.ExpiresIn)
			}
			cl := e.mustVerify(tr.AccessToken, "")
			if cl.SessionID != who.Session.Sid || cl.Subject != u.ID || !slices.Equal(cl.Roles, []string{"viewer"}) {
				t.Fatalf("claims %+v, session %s", cl, who.Session.Sid)
			}
			if got := e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken}).StatusCode; got != 200 {
				t.Fatalf("minted token: %d", got)
			}
		}
		// With a JSON body naming the audience.
		r := e.do(request{method: "POST", path: "/v1/session/token", cookie: c, json: map[string]string{"audience": "https://api.example.com"}})
		var tr tokenResp
		r.decode(t, &tr)
		if r.StatusCode != 200 {
			t.Fatalf("with audience: %d %s", r.StatusCode, r.body)
		}
		e.mustVerify(tr.AccessToken, "https://api.example.com")
	})
	t.Run("ErrCrossSite", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		c := e.login("ada@example.com", pw)
		before := len(e.events())
		for _, hd := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "https://evil.example"}} {
			r := e.do(request{method: "POST", path: "/v1/session/token", cookie: c, header: hd})
			if r.StatusCode != 403 || r.problem(t).Code != "cross_origin" {
				t.Fatalf("%v: %d %s", hd, r.StatusCode, r.body)
			}
			if strings.Contains(string(r.body), "access_token") || strings.Contains(string(r.body), "eyJ") {
				t.Fatalf("%v: a token was minted: %s", hd, r.body)
			}
		}
		if len(e.events()) != before || e.sessionStatus(c) != 200 {
			t.Fatal("refused requests changed state")
		}
	})
	t.Run("ErrNoSession", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		r := e.do(request{method: "POST", path: "/v1/session/token"})
		if r.StatusCode != 401 || r.problem(t).Code != "unauthenticated" {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		c := e.login("ada@example.com", pw)
		e.do(request{method: "POST", path: "/v1/logout", cookie: c})
		r = e.do(request{method: "POST", path: "/v1/session/token", cookie: c})
		if r.StatusCode != 401 {
			t.Fatalf("after logout: %d %s", r.StatusCode, r.body)
		}
	})
	t.Run("ErrUnknownClient", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		c := e.login("ada@example.com", pw)
		r := e.do(request{method: "POST", path: "/v1/session/token", cookie: c, json: map[string]string{"client_id": "cl_nosuch"}})
		if r.StatusCode != 400 {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
	})
}

// TestRoleChangesInNextToken: roles are read when a token is minted.
func TestRoleChangesInNextToken(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u := e.mustUser("ada@example.com", pw, "viewer")
	tr := e.mustTokens("ada@example.com", nil)
	if c := e.mustVerify(tr.AccessToken, ""); !slices.Equal(c.Roles, []string{"viewer"}) {
		t.Fatalf("roles %v", c.Roles)
	}
	e.clock.Add(time.Second)
	if _, err := e.svc.SetRoles(ctx, u.ID, []string{"viewer", "editor"}); err != nil {
		t.Fatal(err)
	}
	next := e.mustRefresh(tr.RefreshToken)
	if c := e.mustVerify(next.AccessToken, ""); !slices.Contains(c.Roles, "editor") || !slices.Contains(c.Roles, "viewer") {
		t.Fatalf("roles after adding editor: %v", c.Roles)
	}
	// Adding a role keeps the session: the old token still works.
	if got := e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken}).StatusCode; got != 200 {
		t.Fatalf("old token after a role was added: %d", got)
	}
	// Removing one ends the session and every token of it.
	e.clock.Add(time.Second)
	if _, err := e.svc.SetRoles(ctx, u.ID, []string{"viewer"}); err != nil {
		t.Fatal(err)
	}
	wantUnauthorized(t, e.do(request{method: "GET", path: "/v1/session", bearer: next.AccessToken}))
	wantOAuthError(t, e.refreshFirstParty(next.RefreshToken), 400, "invalid_grant")
	// A new sign-in carries the new roles.
	if c := e.mustVerify(e.mustTokens("ada@example.com", nil).AccessToken, ""); !slices.Equal(c.Roles, []string{"viewer"}) {
		t.Fatalf("roles after removing editor: %v", c.Roles)
	}
}

// TestTokenKeyRotation: old keys keep verifying until their tokens have expired,
// then leave the JWKS (J-18).
func TestTokenKeyRotation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	u := e.mustUser("ada@example.com", pw)
	tr := e.mustTokens("ada@example.com", nil)
	oldKid := kidOf(t, tr.AccessToken)
	oldKey := e.storedKey(oldKid)
	before := countType(e.events(), auth.EventKeyRotated)

	info, err := e.svc.RotateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID == oldKid {
		t.Fatal("rotation kept the kid")
	}
	if countType(e.events(), auth.EventKeyRotated) != before+1 {
		t.Fatal("no key.rotated event")
	}
	t.Run("OK_OldTokenStillVerifies", func(t *testing.T) {
		if got := e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken}).StatusCode; got != 200 {
			t.Fatalf("token signed before the rotation: %d", got)
		}
		ks := e.jwks()
		if _, ok := ks.Lookup(oldKid); !ok || ks.Len() != 2 {
			t.Fatalf("JWKS has %d keys, old one listed: %v", ks.Len(), ok)
		}
		if _, ok := ks.Lookup(info.ID); !ok {
			t.Fatal("new key not in the JWKS")
		}
	})
	t.Run("OK_NewTokensUseNewKey", func(t *testing.T) {
		next := e.mustRefresh(tr.RefreshToken)
		tr = next
		if kid := kidOf(t, next.AccessToken); kid != info.ID {
			t.Fatalf("new token kid %s, want %s", kid, info.ID)
		}
		if got := e.do(request{method: "GET", path: "/v1/session", bearer: next.AccessToken}).StatusCode; got != 200 {
			t.Fatalf("new token: %d", got)
		}
	})
	// A token signed by the old key that has not expired is accepted while
	// the key is published.
	fresh := func() string {
		_, c := jwtParts(t, tr.AccessToken)
		now := e.clock.Now()
		return sign(t, oldKey, accesstoken.Claims{Issuer: e.issuer(), Subject: u.ID, Audience: []string{e.issuer()},
			IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Minute), ID: "j", SessionID: c["sid"].(string), ClientID: "tessera"})
	}
	if got := e.do(request{method: "GET", path: "/v1/session", bearer: fresh()}).StatusCode; got != 200 {
		t.Fatalf("old key, before the retirement window: %d", got)
	}
	t.Run("ErrRetiredKey", func(t *testing.T) {
		e.clock.Add(e.svc.Config().Tokens.AccessTTL + accesstoken.MaxLeeway + time.Second)
		if err := e.svc.MaintainKeys(ctx); err != nil {
			t.Fatal(err)
		}
		ks := e.jwks()
		if _, ok := ks.Lookup(oldKid); ok || ks.Len() != 1 {
			t.Fatalf("retired key still published (%d keys)", ks.Len())
		}
		wantUnauthorized(t, e.do(request{method: "GET", path: "/v1/session", bearer: fresh()}))
		wantUnauthorized(t, e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken}))
		// The new key keeps working.
		next := e.mustRefresh(tr.RefreshToken)
		if got := e.do(request{method: "GET", path: "/v1/session", bearer: next.AccessToken}).StatusCode; got != 200 {
			t.Fatalf("token of the active key: %d", got)
		}
	})
}

// TestTokenKeyRotationSchedule: MaintainKeys rotates once the active key is
// older than the rotation schedule, and retires the old key on time.
func TestTokenKeyRotationSchedule(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(a *auth.Config, _ *httpapi.Config) {
		a.Tokens.KeyRotation = 24 * time.Hour
		a.IdleTimeout = 48 * time.Hour
	})
	e.mustUser("ada@example.com", pw)
	first := kidOf(t, e.mustTokens("ada@example.com", nil).AccessToken)
	e.clock.Add(23 * time.Hour)
	if err := e.svc.MaintainKeys(ctx); err != nil {
		t.Fatal(err)
	}
	tr := e.mustTokens("ada@example.com", nil)
	if kid := kidOf(t, tr.AccessToken); kid != first {
		t.Fatal("rotated before the schedule")
	}
	e.clock.Add(time.Hour)
	tr = e.mustRefresh(tr.RefreshToken) // signed by the first key, just before it retires
	if err := e.svc.MaintainKeys(ctx); err != nil {
		t.Fatal(err)
	}
	next := e.mustRefresh(tr.RefreshToken)
	if kid := kidOf(t, next.AccessToken); kid == first {
		t.Fatal("not rotated after the schedule")
	}
	if ks := e.jwks(); ks.Len() != 2 {
		t.Fatalf("JWKS has %d keys right after rotation", ks.Len())
	}
	if got := e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken}).StatusCode; got != 200 {
		t.Fatalf("token of the previous key: %d", got)
	}
	e.clock.Add(e.svc.Config().Tokens.AccessTTL + accesstoken.MaxLeeway + time.Second)
	if err := e.svc.MaintainKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.jwks().Lookup(first); ok {
		t.Fatal("retired key still published")
	}
	if n := countType(e.events(), auth.EventKeyRotated); n != 2 { // the first key, and one rotation
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
			e := newEnv(t, func(a *auth.Config, _ *httpapi.Config) { a.Tokens.Alg = tc.alg })
			e.mustUser("ada@example.com", pw)
			tr := e.mustTokens("ada@example.com", nil)
			h, _ := jwtParts(t, tr.AccessToken)
			if h["alg"] != string(tc.alg) || h["typ"] != "at+jwt" {
				t.Fatalf("header %v", h)
			}
			if got := e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken}).StatusCode; got != 200 {
				t.Fatalf("bearer: %d", got)
			}
			e.mustVerify(tr.AccessToken, "")
			keys := jwksKeys(t, e)
			if len(keys) != 1 || keys[0]["alg"] != string(tc.alg) || keys[0]["kty"] != tc.kty || keys[0]["kid"] != h["kid"] || keys[0]["use"] != "sig" {
				t.Fatalf("JWKS %v", keys)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
				if _, ok := keys[0][private]; ok {
					t.Fatalf("JWKS publishes %q", private)
				}
			}
			next := e.mustRefresh(tr.RefreshToken)
			if got := e.do(request{method: "GET", path: "/v1/session", bearer: next.AccessToken}).StatusCode; got != 200 {
				t.Fatalf("refreshed bearer: %d", got)
			}
		})
	}
}

// jwksKeys returns the served JWKS's keys as raw JSON objects.
func jwksKeys(t *testing.T, e *env) []map[string]any {
	t.Helper()
	r := e.do(request{method: "GET", path: "/.well-known/jwks.json"})
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	r.decode(t, &set)
	return set.Keys
}
