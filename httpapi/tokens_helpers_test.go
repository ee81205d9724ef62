package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/secret"
)

// Helpers shared by the token, OAuth and interoperability tests.

const formType = "application/x-www-form-urlencoded"

// tokenResp is an RFC 6749 §5.1 token response (also the token part of a
// login response), as a client reads it. ExpiresIn stays untyped so that
// tests can insist it is a JSON number.
type tokenResp struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    any    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Session      struct {
		ID string `json:"sid"`
	} `json:"session"`
}

// loginTokens posts POST /v1/login with mode "token" (unless fields say
// otherwise) plus fields, and returns the response.
func (e *env) loginTokens(email string, fields map[string]string) (*response, tokenResp) {
	e.t.Helper()
	body := map[string]string{"email": email, "password": pw, "mode": "token"}
	maps.Copy(body, fields)
	r := e.do(request{method: "POST", path: "/v1/login", json: body})
	var tr tokenResp
	if r.StatusCode == 200 {
		r.decode(e.t, &tr)
	}
	return r, tr
}

// mustTokens logs in in token mode (fields may override) and fails the test
// unless it succeeds with both tokens.
func (e *env) mustTokens(email string, fields map[string]string) tokenResp {
	e.t.Helper()
	r, tr := e.loginTokens(email, fields)
	if r.StatusCode != 200 || tr.AccessToken == "" || tr.RefreshToken == "" {
		e.t.Fatalf("token login: %d %s", r.StatusCode, r.body)
	}
	return tr
}

// post sends an application/x-www-form-urlencoded POST.
func (e *env) post(path string, form url.Values, header map[string]string) *response {
	e.t.Helper()
	return e.do(request{method: "POST", path: path, raw: form.Encode(), contentType: formType, header: header})
}

// basic is an Authorization header for client_secret_basic, with RFC 6749
// §2.3.1's form-encoding of both parts (what x/oauth2 sends).
func basic(id, sec string) map[string]string {
	return rawBasic(url.QueryEscape(id), url.QueryEscape(sec))
}

// rawBasic is an Authorization header with id and secret exactly as given.
func rawBasic(id, sec string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+sec))}
}

// percentAll percent-encodes every byte of s, which a server that URL-decodes
// Basic credentials must turn back into s.
func percentAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// refresh runs grant_type=refresh_token for rt with extra parameters.
func (e *env) refresh(rt string, extra url.Values, header map[string]string) *response {
	e.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for k, v := range extra {
		form[k] = v
	}
	return e.post("/oauth2/token", form, header)
}

// refreshFirstParty refreshes a token of the built-in "tessera" client.
func (e *env) refreshFirstParty(rt string) *response {
	e.t.Helper()
	return e.refresh(rt, url.Values{"client_id": {"tessera"}}, nil)
}

// mustRefresh refreshes a "tessera" token and fails unless it succeeds.
func (e *env) mustRefresh(rt string) tokenResp {
	e.t.Helper()
	r := e.refreshFirstParty(rt)
	var tr tokenResp
	r.decode(e.t, &tr)
	if r.StatusCode != 200 || tr.AccessToken == "" || tr.RefreshToken == "" {
		e.t.Fatalf("refresh: %d %s", r.StatusCode, r.body)
	}
	return tr
}

// oauthErrorBody is RFC 6749 §5.2's error response.
type oauthErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// oauthError checks that r is an RFC 6749 §5.2 error with the given status
// and returns its error code.
func oauthError(t *testing.T, r *response, status int) string {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", r.StatusCode, status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q; body %s", ct, r.body)
	}
	var b oauthErrorBody
	r.decode(t, &b)
	if b.Error == "" {
		t.Fatalf("no error code: %s", r.body)
	}
	if strings.Contains(string(r.body), "access_token") {
		t.Fatalf("an error response carries a token: %s", r.body)
	}
	return b.Error
}

// wantOAuthError checks r against RFC 6749 §5.2: status and error code; 401
// invalid_client answers carry WWW-Authenticate.
func wantOAuthError(t *testing.T, r *response, status int, code string) {
	t.Helper()
	if got := oauthError(t, r, status); got != code {
		t.Fatalf("error %q, want %q; body %s", got, code, r.body)
	}
	if status == 401 && r.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
}

// wantUnauthorized checks that r is a 401 problem document refusing a bearer
// credential.
func wantUnauthorized(t *testing.T, r *response) {
	t.Helper()
	if r.StatusCode != 401 {
		t.Fatalf("status %d, want 401; body %s", r.StatusCode, r.body)
	}
	if p := r.problem(t); p.Code != "unauthenticated" || p.Status != 401 {
		t.Fatalf("problem %+v", p)
	}
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
	}
}

// jwtParts decodes a compact JWS's header and payload by hand.
func jwtParts(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	dec := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil {
			t.Fatalf("segment %q: %v", s, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("segment %s: %v", b, err)
		}
		return m
	}
	return dec(parts[0]), dec(parts[1])
}

// b64json is the base64url of v's JSON.
func b64json(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// jwks fetches and parses the served JWKS.
func (e *env) jwks() *accesstoken.KeySet {
	e.t.Helper()
	r := e.do(request{method: "GET", path: "/.well-known/jwks.json"})
	if r.StatusCode != 200 {
		e.t.Fatalf("jwks: %d", r.StatusCode)
	}
	ks, err := accesstoken.ParseJWKS(r.body)
	if err != nil {
		e.t.Fatalf("jwks %s: %v", r.body, err)
	}
	return ks
}

// verify checks tok against the served JWKS, as a resource server would,
// with the server's clock and the given audience ("" for the default).
func (e *env) verify(tok, aud string) (*accesstoken.Claims, error) {
	e.t.Helper()
	if aud == "" {
		aud = e.issuer()
	}
	v := &accesstoken.Verifier{Keys: e.jwks(), Issuer: e.issuer(), Audience: aud, Now: e.clock.Now}
	return v.Verify(tok)
}

func (e *env) mustVerify(tok, aud string) *accesstoken.Claims {
	e.t.Helper()
	c, err := e.verify(tok, aud)
	if err != nil {
		e.t.Fatalf("verify: %v", err)
	}
	return c
}

// storedKey returns signing key kid with its private part, unsealed from the
// store with the server's key-encryption secret: what an attacker holding
// the key could sign with, to show which claim a refusal is about.
func (e *env) storedKey(kid string) *accesstoken.Key {
	e.t.Helper()
	keys, err := e.db.SigningKeys(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, sk := range keys {
		if sk.ID != kid {
			continue
		}
		der, err := accesstoken.Open(e.svc.Config().Tokens.KEK, sk.ID, sk.SealedPrivate)
		if err != nil {
			e.t.Fatal(err)
		}
		alg, err := accesstoken.ParseAlg(sk.Alg)
		if err != nil {
			e.t.Fatal(err)
		}
		k, err := accesstoken.ParsePrivateKey(sk.ID, alg, der, sk.CreatedAt)
		if err != nil {
			e.t.Fatal(err)
		}
		return k
	}
	e.t.Fatalf("no stored key %s", kid)
	return nil
}

// kidOf is the kid header of tok.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _ := jwtParts(t, tok)
	kid, _ := h["kid"].(string)
	return kid
}

// sign signs c with k, failing the test on error.
func sign(t *testing.T, k *accesstoken.Key, c accesstoken.Claims) string {
	t.Helper()
	tok, err := accesstoken.Sign(k, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// client registers a confidential client and returns its ID and secret.
func (e *env) client(name string, scopes ...string) (id, sec string) {
	e.t.Helper()
	nc, err := e.svc.CreateClient(context.Background(), name, scopes)
	if err != nil {
		e.t.Fatal(err)
	}
	return nc.Client.ID, nc.Secret.Reveal()
}

// hashOf is the stored form of a refresh token.
func hashOf(t *testing.T, tok string) secret.Hash {
	t.Helper()
	st, err := secret.Parse(tok)
	if err != nil {
		t.Fatalf("not a refresh token: %v", err)
	}
	return st.Hash()
}

// introspect calls POST /oauth2/introspect as client id/sec (Basic).
func (e *env) introspect(id, sec, tok string) *response {
	e.t.Helper()
	return e.post("/oauth2/introspect", url.Values{"token": {tok}}, basic(id, sec))
}

// wantInactive checks that r is exactly {"active":false}.
func wantInactive(t *testing.T, r *response) {
	t.Helper()
	if r.StatusCode != 200 || strings.TrimSpace(string(r.body)) != `{"active":false}` {
		t.Fatalf("introspection: %d %s, want exactly {\"active\":false}", r.StatusCode, r.body)
	}
}

// wantActive checks that r is an active introspection answer and returns it.
func wantActive(t *testing.T, r *response) map[string]any {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	if r.StatusCode != 200 || m["active"] != true {
		t.Fatalf("introspection: %d %s, want active", r.StatusCode, r.body)
	}
	return m
}
