package session_test

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
	"github.com/tessera-auth/tessera/server/servertest"
)

// The token and hybrid modes of POST /v1/login, the access tokens they mint
// (RFC 9068), bearer access tokens on the session endpoints, POST
// /v1/session/token, and signing keys.

func TestTokenLogin(t *testing.T) {
	t.Run("OK_TokenMode", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		r, tr := e.LoginTokens("ada@example.com", nil)
		if r.StatusCode != 200 {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		if tr.AccessToken == "" || tr.RefreshToken == "" || tr.TokenType != "Bearer" {
			t.Fatalf("token response: %s", r.Body)
		}
		if n, ok := tr.ExpiresIn.(float64); !ok || n != 300 {
			t.Fatalf("expires_in %#v, want the number 300", tr.ExpiresIn)
		}
		if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Fatalf("token mode set a cookie: %q", sc)
		}
		if strings.Contains(string(r.Body), "session_token") {
			t.Fatalf("token mode handed out the session secret: %s", r.Body)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("Cache-Control %q", cc)
		}
		if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken}).StatusCode; got != 200 {
			t.Fatalf("bearer: %d", got)
		}
	})
	t.Run("OK_HybridMode", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		r, tr := e.LoginTokens("ada@example.com", map[string]string{"mode": "hybrid"})
		if r.StatusCode != 200 || tr.AccessToken == "" || tr.RefreshToken == "" || tr.TokenType != "Bearer" {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		if _, ok := tr.ExpiresIn.(float64); !ok {
			t.Fatalf("expires_in %#v", tr.ExpiresIn)
		}
		c := r.SessionCookie()
		if c == nil || !c.HttpOnly || !c.Secure {
			t.Fatalf("hybrid mode cookie: %v", r.Header["Set-Cookie"])
		}
		// Cookie and token name the same session.
		var byCookie, byToken struct{ Session struct{ Sid string } }
		rc := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Cookie: c.Value})
		rc.Decode(t, &byCookie)
		rt := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken})
		rt.Decode(t, &byToken)
		if rc.StatusCode != 200 || rt.StatusCode != 200 || byCookie.Session.Sid == "" || byCookie.Session.Sid != byToken.Session.Sid {
			t.Fatalf("cookie %d %s, token %d %s", rc.StatusCode, rc.Body, rt.StatusCode, rt.Body)
		}
	})
	t.Run("OK_DefaultClientIsTessera", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		if c := e.MustVerify(tr.AccessToken, ""); c.ClientID != "tessera" {
			t.Fatalf("client_id %q", c.ClientID)
		}
		rt, err := e.DB.RefreshTokenByHash(context.Background(), servertest.HashOf(t, tr.RefreshToken))
		if err != nil || rt.ClientID != "tessera" {
			t.Fatalf("stored refresh token: %+v %v", rt, err)
		}
	})
	t.Run("OK_RegisteredClient", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		id, _ := e.Client("shop")
		tr := e.MustTokens("ada@example.com", map[string]string{"client_id": id})
		if c := e.MustVerify(tr.AccessToken, ""); c.ClientID != id {
			t.Fatalf("client_id %q, want %q", c.ClientID, id)
		}
		rt, err := e.DB.RefreshTokenByHash(context.Background(), servertest.HashOf(t, tr.RefreshToken))
		if err != nil || rt.ClientID != id {
			t.Fatalf("stored refresh token: %+v %v", rt, err)
		}
	})
	t.Run("ErrUnknownClient", func(t *testing.T) {
		e := servertest.New(t)
		u := e.MustUser("ada@example.com", servertest.Password)
		before := len(e.Events())
		for _, mode := range []string{"token", "hybrid"} {
			r, _ := e.LoginTokens("ada@example.com", map[string]string{"mode": mode, "client_id": "cl_nosuchclient"})
			if r.StatusCode != 400 || r.Problem(t).Code != "invalid_request" {
				t.Fatalf("%s: %d %s", mode, r.StatusCode, r.Body)
			}
			if r.SessionCookie() != nil || strings.Contains(string(r.Body), "access_token") || strings.Contains(string(r.Body), "refresh_token") {
				t.Fatalf("%s: refused login handed out credentials: %s", mode, r.Body)
			}
		}
		if n := len(e.Events()); n != before {
			t.Fatalf("%d events appended by refused logins", n-before)
		}
		if list, _ := e.DB.ListSessions(context.Background(), u.ID, e.Clock.Now()); len(list) != 0 {
			t.Fatalf("refused logins created %d sessions", len(list))
		}
	})
	t.Run("ErrReservedScope", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		for _, sc := range []string{"admin", "events", "introspect"} {
			r, _ := e.LoginTokens("ada@example.com", map[string]string{"scope": sc})
			if r.StatusCode != 400 {
				t.Fatalf("scope %s: %d %s", sc, r.StatusCode, r.Body)
			}
		}
	})
	t.Run("ErrTokenFieldsInSessionMode", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		r, _ := e.LoginTokens("ada@example.com", map[string]string{"mode": "session", "client_id": "tessera"})
		if r.StatusCode != 400 {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	})
}

func TestBearerAccessToken(t *testing.T) {
	t.Run("OK_Session", func(t *testing.T) {
		e := servertest.New(t)
		u := e.MustUser("ada@example.com", servertest.Password, "admin")
		tr := e.MustTokens("ada@example.com", nil)
		var who struct {
			User struct {
				ID    string
				Roles []string
			}
		}
		r := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken})
		r.Decode(t, &who)
		if r.StatusCode != 200 || who.User.ID != u.ID || !slices.Equal(who.User.Roles, []string{"admin"}) {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		// The scheme is case-insensitive (RFC 9110 §11.1).
		r = e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Header: map[string]string{"Authorization": "bearer " + tr.AccessToken}})
		if r.StatusCode != 200 {
			t.Fatalf("lower-case scheme: %d", r.StatusCode)
		}
	})
	t.Run("OK_Sessions", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		e.MustTokens("ada@example.com", nil)
		var list struct {
			Sessions []struct {
				Sid     string
				Current bool
			}
		}
		r := e.Do(servertest.Request{Method: "GET", Path: "/v1/sessions", Bearer: tr.AccessToken})
		r.Decode(t, &list)
		if r.StatusCode != 200 || len(list.Sessions) != 2 {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		for _, s := range list.Sessions {
			if s.Current != (s.Sid == tr.Session.ID) {
				t.Fatalf("current flag wrong: %s", r.Body)
			}
		}
	})
	t.Run("OK_LogoutEndsSession", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		r := e.Do(servertest.Request{Method: "POST", Path: "/v1/logout", Bearer: tr.AccessToken})
		if r.StatusCode != 204 {
			t.Fatalf("logout: %d %s", r.StatusCode, r.Body)
		}
		if n := servertest.CountType(e.Events(), auth.EventSessionRevoked); n != 1 {
			t.Fatalf("%d session.revoked events", n)
		}
		servertest.WantUnauthorized(t, e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken}))
		servertest.WantOAuthError(t, e.RefreshFirstParty(tr.RefreshToken), 400, "invalid_grant")
	})
	t.Run("ErrClientCredentialsToken", func(t *testing.T) {
		e := servertest.New(t)
		id, sec := e.Client("batch", "events")
		r := e.Post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, servertest.Basic(id, sec))
		var tr servertest.TokenResp
		r.Decode(t, &tr)
		if r.StatusCode != 200 || tr.AccessToken == "" {
			t.Fatalf("client_credentials: %d %s", r.StatusCode, r.Body)
		}
		servertest.WantUnauthorized(t, e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken}))
		servertest.WantUnauthorized(t, e.Do(servertest.Request{Method: "GET", Path: "/v1/sessions", Bearer: tr.AccessToken}))
	})
	t.Run("ErrRefreshTokenAsBearer", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		servertest.WantUnauthorized(t, e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.RefreshToken}))
	})
}

// TestForgedBearerTokens sends a representative set of forged tokens (J-01,
// J-02, J-05, J-08, J-09, J-10, J-11, J-14, J-18 of SECURITY-CHECKS.md) as
// Bearer credentials; every one must get a 401 problem document. The full
// catalogue is unit-tested in package accesstoken.
func TestForgedBearerTokens(t *testing.T) {
	e := servertest.New(t)
	u := e.MustUser("ada@example.com", servertest.Password, "viewer")
	tr := e.MustTokens("ada@example.com", nil)
	good := tr.AccessToken
	parts := strings.Split(good, ".")
	h, c := servertest.JWTParts(t, good)
	kid := h["kid"].(string)
	ours := e.StoredKey(kid)
	attacker, err := accesstoken.GenerateKey(accesstoken.EdDSA, nil, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// claims are the genuine token's, for re-signing with one change.
	claims := func() accesstoken.Claims {
		now := e.Clock.Now()
		return accesstoken.Claims{
			Issuer: e.Issuer(), Subject: u.ID, Audience: []string{e.Issuer()}, IssuedAt: now, NotBefore: now,
			ExpiresAt: now.Add(5 * time.Minute), ID: "forged-jti", SessionID: c["sid"].(string), ClientID: "tessera",
			Roles: []string{"admin"},
		}
	}
	hdr := func(alg string) string {
		return servertest.B64JSON(map[string]any{"alg": alg, "kid": kid, "typ": "at+jwt"})
	}
	hs256 := func(key []byte, alg string) string {
		in := hdr(alg) + "." + parts[1]
		m := hmac.New(sha256.New, key)
		m.Write([]byte(in))
		return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	jwksBody := e.Do(servertest.Request{Method: "GET", Path: "/.well-known/jwks.json"}).Body
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
		return servertest.B64JSON(m)
	}
	var jkuHits atomic.Int64
	jku := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jkuHits.Add(1)
		w.Write([]byte(`{"keys":[]}`))
	}))
	defer jku.Close()

	// The genuine token works: each refusal is about the forgery.
	if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: good}).StatusCode; got != 200 {
		t.Fatalf("genuine token: %d", got)
	}
	if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: servertest.Sign(t, ours, claims())}).StatusCode; got != 200 {
		t.Fatalf("re-signed genuine claims: %d", got)
	}

	// Clock skew inside the leeway is tolerated.
	skewed := claims()
	skewed.IssuedAt, skewed.NotBefore = skewed.IssuedAt.Add(20*time.Second), skewed.NotBefore.Add(20*time.Second)
	if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: servertest.Sign(t, ours, skewed)}).StatusCode; got != 200 {
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
			other := e.MustTokens("ada@example.com", nil).AccessToken
			return parts[0] + "." + parts[1] + "." + strings.Split(other, ".")[2]
		}},
		{"ErrUnknownKid", func() string { return servertest.Sign(t, attacker, claims()) }},
		{"ErrOurKidAttackersKey", func() string {
			k := *attacker
			k.ID = kid
			return servertest.Sign(t, &k, claims())
		}},
		{"ErrJKU", func() string {
			hd := servertest.B64JSON(map[string]any{"alg": "EdDSA", "kid": attacker.ID, "typ": "at+jwt", "jku": jku.URL})
			return hd + "." + strings.SplitN(servertest.Sign(t, attacker, claims()), ".", 2)[1]
		}},
		{"ErrEmbeddedJWK", func() string {
			jwk, err := json.Marshal(attacker.PublicJWK())
			if err != nil {
				t.Fatal(err)
			}
			hd := servertest.B64JSON(map[string]any{"alg": "EdDSA", "kid": kid, "typ": "at+jwt", "jwk": json.RawMessage(jwk)})
			in := hd + "." + parts[1]
			return in + "." + base64.RawURLEncoding.EncodeToString(mustSignRaw(t, attacker, in))
		}},
		{"ErrX5U", func() string {
			hd := servertest.B64JSON(map[string]any{"alg": "EdDSA", "kid": kid, "typ": "at+jwt", "x5u": jku.URL})
			in := hd + "." + parts[1]
			return in + "." + base64.RawURLEncoding.EncodeToString(mustSignRaw(t, ours, in))
		}},
		{"ErrUnknownCrit", func() string {
			hd := servertest.B64JSON(map[string]any{"alg": "EdDSA", "kid": kid, "typ": "at+jwt", "crit": []string{"tessera-x"}, "tessera-x": true})
			in := hd + "." + parts[1]
			return in + "." + base64.RawURLEncoding.EncodeToString(mustSignRaw(t, ours, in))
		}},
		{"ErrNoTyp", func() string {
			hd := servertest.B64JSON(map[string]any{"alg": "EdDSA", "kid": kid})
			in := hd + "." + parts[1]
			return in + "." + base64.RawURLEncoding.EncodeToString(mustSignRaw(t, ours, in))
		}},
		{"ErrIssuedInTheFuture", func() string {
			c := claims()
			c.IssuedAt, c.NotBefore = c.IssuedAt.Add(2*time.Minute), time.Time{}
			c.ExpiresAt = c.IssuedAt.Add(5 * time.Minute)
			return servertest.Sign(t, ours, c)
		}},
		{"ErrWrongIssuer", func() string { c := claims(); c.Issuer = "https://evil.example"; return servertest.Sign(t, ours, c) }},
		{"ErrIssuerTrailingSlash", func() string { c := claims(); c.Issuer = e.Issuer() + "/"; return servertest.Sign(t, ours, c) }},
		{"ErrWrongAudience", func() string {
			c := claims()
			c.Audience = []string{"https://other.example"}
			return servertest.Sign(t, ours, c)
		}},
		{"ErrExpiredClaims", func() string {
			c := claims()
			c.IssuedAt, c.NotBefore, c.ExpiresAt = c.IssuedAt.Add(-time.Hour), c.IssuedAt.Add(-time.Hour), c.IssuedAt.Add(-2*time.Minute)
			return servertest.Sign(t, ours, c)
		}},
		{"ErrNotYetValid", func() string {
			c := claims()
			c.IssuedAt, c.NotBefore, c.ExpiresAt = c.IssuedAt.Add(time.Hour), c.IssuedAt.Add(time.Hour), c.IssuedAt.Add(2*time.Hour)
			return servertest.Sign(t, ours, c)
		}},
		{"ErrOtherUsersSession", func() string {
			c := claims()
			c.Subject = "0190a0c2-0000-7000-8000-000000000000"
			return servertest.Sign(t, ours, c)
		}},
		{"ErrNoSuchSession", func() string { c := claims(); c.SessionID = "no-such-session"; return servertest.Sign(t, ours, c) }},
		{"ErrWrongTyp", func() string {
			hd := servertest.B64JSON(map[string]any{"alg": "EdDSA", "kid": kid, "typ": "JWT"})
			in := hd + "." + parts[1]
			return in + "." + base64.RawURLEncoding.EncodeToString(mustSignRaw(t, ours, in))
		}},
		{"ErrSignedOversized", func() string {
			c := claims()
			c.Scope = strings.Repeat("s", 16<<10)
			return servertest.Sign(t, ours, c)
		}},
		{"ErrOversizedGarbage", func() string { return strings.Repeat("a", 16<<10) + ".b.c" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token()
			if tc.name == "ErrSignedOversized" && len(tok) < 16<<10 {
				t.Fatalf("token is only %d bytes", len(tok))
			}
			servertest.WantUnauthorized(t, e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tok}))
			servertest.WantUnauthorized(t, e.Do(servertest.Request{Method: "GET", Path: "/v1/sessions", Bearer: tok}))
		})
	}
	if n := jkuHits.Load(); n != 0 {
		t.Fatalf("the jku URL was fetched %d times", n)
	}
	t.Run("ErrExpiredByClock", func(t *testing.T) {
		e.Clock.Add(5*time.Minute + accesstoken.MaxLeeway + time.Second)
		servertest.WantUnauthorized(t, e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: good}))
		// The session itself is still live: the refusal is the token's exp.
		tr2 := e.MustRefresh(tr.RefreshToken)
		if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr2.AccessToken}).StatusCode; got != 200 {
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
		e := servertest.New(t)
		u := e.MustUser("ada@example.com", servertest.Password, "viewer")
		c := e.Login("ada@example.com", servertest.Password)
		var who struct{ Session struct{ Sid string } }
		e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Cookie: c}).Decode(t, &who)
		for _, site := range []string{"", "same-origin", "none"} {
			hd := map[string]string{}
			if site != "" {
				hd["Sec-Fetch-Site"] = site
			}
			r := e.Do(servertest.Request{Method: "POST", Path: "/v1/session/token", Cookie: c, Header: hd})
			var tr servertest.TokenResp
			r.Decode(t, &tr)
			if r.StatusCode != 200 || tr.AccessToken == "" || tr.TokenType != "Bearer" || tr.RefreshToken != "" {
				t.Fatalf("Sec-Fetch-Site %q: %d %s", site, r.StatusCode, r.Body)
			}
			if _, ok := tr.ExpiresIn.(float64); !ok {
				t.Fatalf("expires_in %#v", tr.ExpiresIn)
			}
			cl := e.MustVerify(tr.AccessToken, "")
			if cl.SessionID != who.Session.Sid || cl.Subject != u.ID || !slices.Equal(cl.Roles, []string{"viewer"}) {
				t.Fatalf("claims %+v, session %s", cl, who.Session.Sid)
			}
			if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken}).StatusCode; got != 200 {
				t.Fatalf("minted token: %d", got)
			}
		}
		// With a JSON body naming the audience.
		r := e.Do(servertest.Request{Method: "POST", Path: "/v1/session/token", Cookie: c, JSON: map[string]string{"audience": "https://api.example.com"}})
		var tr servertest.TokenResp
		r.Decode(t, &tr)
		if r.StatusCode != 200 {
			t.Fatalf("with audience: %d %s", r.StatusCode, r.Body)
		}
		e.MustVerify(tr.AccessToken, "https://api.example.com")
	})
	t.Run("ErrCrossSite", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		c := e.Login("ada@example.com", servertest.Password)
		before := len(e.Events())
		for _, hd := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "https://evil.example"}} {
			r := e.Do(servertest.Request{Method: "POST", Path: "/v1/session/token", Cookie: c, Header: hd})
			if r.StatusCode != 403 || r.Problem(t).Code != "cross_origin" {
				t.Fatalf("%v: %d %s", hd, r.StatusCode, r.Body)
			}
			if strings.Contains(string(r.Body), "access_token") || strings.Contains(string(r.Body), "eyJ") {
				t.Fatalf("%v: a token was minted: %s", hd, r.Body)
			}
		}
		if len(e.Events()) != before || e.SessionStatus(c) != 200 {
			t.Fatal("refused requests changed state")
		}
	})
	t.Run("ErrNoSession", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		r := e.Do(servertest.Request{Method: "POST", Path: "/v1/session/token"})
		if r.StatusCode != 401 || r.Problem(t).Code != "unauthenticated" {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		c := e.Login("ada@example.com", servertest.Password)
		e.Do(servertest.Request{Method: "POST", Path: "/v1/logout", Cookie: c})
		r = e.Do(servertest.Request{Method: "POST", Path: "/v1/session/token", Cookie: c})
		if r.StatusCode != 401 {
			t.Fatalf("after logout: %d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("ErrUnknownClient", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		c := e.Login("ada@example.com", servertest.Password)
		r := e.Do(servertest.Request{Method: "POST", Path: "/v1/session/token", Cookie: c, JSON: map[string]string{"client_id": "cl_nosuch"}})
		if r.StatusCode != 400 {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	})
}

// TestRoleChangesInNextToken: roles are read when a token is minted.
func TestRoleChangesInNextToken(t *testing.T) {
	ctx := context.Background()
	e := servertest.New(t)
	u := e.MustUser("ada@example.com", servertest.Password, "viewer")
	tr := e.MustTokens("ada@example.com", nil)
	if c := e.MustVerify(tr.AccessToken, ""); !slices.Equal(c.Roles, []string{"viewer"}) {
		t.Fatalf("roles %v", c.Roles)
	}
	e.Clock.Add(time.Second)
	if _, err := e.Svc.SetRoles(ctx, u.ID, []string{"viewer", "editor"}); err != nil {
		t.Fatal(err)
	}
	next := e.MustRefresh(tr.RefreshToken)
	if c := e.MustVerify(next.AccessToken, ""); !slices.Contains(c.Roles, "editor") || !slices.Contains(c.Roles, "viewer") {
		t.Fatalf("roles after adding editor: %v", c.Roles)
	}
	// Adding a role keeps the session: the old token still works.
	if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken}).StatusCode; got != 200 {
		t.Fatalf("old token after a role was added: %d", got)
	}
	// Removing one ends the session and every token of it.
	e.Clock.Add(time.Second)
	if _, err := e.Svc.SetRoles(ctx, u.ID, []string{"viewer"}); err != nil {
		t.Fatal(err)
	}
	servertest.WantUnauthorized(t, e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: next.AccessToken}))
	servertest.WantOAuthError(t, e.RefreshFirstParty(next.RefreshToken), 400, "invalid_grant")
	// A new sign-in carries the new roles.
	if c := e.MustVerify(e.MustTokens("ada@example.com", nil).AccessToken, ""); !slices.Equal(c.Roles, []string{"viewer"}) {
		t.Fatalf("roles after removing editor: %v", c.Roles)
	}
}
