package servertest

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

// Helpers for the token, OAuth and interoperability tests.

// FormType is the media type of a form body.
const FormType = "application/x-www-form-urlencoded"

// TokenResp is an RFC 6749 §5.1 token response (also the token part of a
// login response), as a client reads it. ExpiresIn stays untyped so that
// tests can insist it is a JSON number.
type TokenResp struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    any    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Session      struct {
		ID string `json:"sid"`
	} `json:"session"`
}

// LoginTokens posts POST /v1/login with mode "token" (unless fields say
// otherwise) plus fields, and returns the response.
func (e *Env) LoginTokens(email string, fields map[string]string) (*Response, TokenResp) {
	e.T.Helper()
	body := map[string]string{"email": email, "password": Password, "mode": "token"}
	maps.Copy(body, fields)
	r := e.Do(Request{Method: "POST", Path: "/v1/login", JSON: body})
	var tr TokenResp
	if r.StatusCode == 200 {
		r.Decode(e.T, &tr)
	}
	return r, tr
}

// MustTokens logs in in token mode (fields may override) and fails the test
// unless it succeeds with both tokens.
func (e *Env) MustTokens(email string, fields map[string]string) TokenResp {
	e.T.Helper()
	r, tr := e.LoginTokens(email, fields)
	if r.StatusCode != 200 || tr.AccessToken == "" || tr.RefreshToken == "" {
		e.T.Fatalf("token login: %d %s", r.StatusCode, r.Body)
	}
	return tr
}

// Post sends an application/x-www-form-urlencoded POST.
func (e *Env) Post(path string, form url.Values, header map[string]string) *Response {
	e.T.Helper()
	return e.Do(Request{Method: "POST", Path: path, Raw: form.Encode(), ContentType: FormType, Header: header})
}

// Basic is an Authorization header for client_secret_basic, with RFC 6749
// §2.3.1's form-encoding of both parts (what x/oauth2 sends).
func Basic(id, sec string) map[string]string {
	return RawBasic(url.QueryEscape(id), url.QueryEscape(sec))
}

// RawBasic is an Authorization header with id and secret exactly as given.
func RawBasic(id, sec string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+sec))}
}

// PercentAll percent-encodes every byte of s, which a server that URL-decodes
// Basic credentials must turn back into s.
func PercentAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// Refresh runs grant_type=refresh_token for rt with extra parameters.
func (e *Env) Refresh(rt string, extra url.Values, header map[string]string) *Response {
	e.T.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for k, v := range extra {
		form[k] = v
	}
	return e.Post("/oauth2/token", form, header)
}

// RefreshFirstParty refreshes a token of the built-in "tessera" client.
func (e *Env) RefreshFirstParty(rt string) *Response {
	e.T.Helper()
	return e.Refresh(rt, url.Values{"client_id": {"tessera"}}, nil)
}

// MustRefresh refreshes a "tessera" token and fails unless it succeeds.
func (e *Env) MustRefresh(rt string) TokenResp {
	e.T.Helper()
	r := e.RefreshFirstParty(rt)
	var tr TokenResp
	r.Decode(e.T, &tr)
	if r.StatusCode != 200 || tr.AccessToken == "" || tr.RefreshToken == "" {
		e.T.Fatalf("refresh: %d %s", r.StatusCode, r.Body)
	}
	return tr
}

// OAuthErrorBody is RFC 6749 §5.2's error response.
type OAuthErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// OAuthError checks that r is an RFC 6749 §5.2 error with the given status
// and returns its error code.
func OAuthError(t *testing.T, r *Response, status int) string {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", r.StatusCode, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q; body %s", ct, r.Body)
	}
	var b OAuthErrorBody
	r.Decode(t, &b)
	if b.Error == "" {
		t.Fatalf("no error code: %s", r.Body)
	}
	if strings.Contains(string(r.Body), "access_token") {
		t.Fatalf("an error response carries a token: %s", r.Body)
	}
	return b.Error
}

// WantOAuthError checks r against RFC 6749 §5.2: status and error code; 401
// invalid_client answers carry WWW-Authenticate.
func WantOAuthError(t *testing.T, r *Response, status int, code string) {
	t.Helper()
	if got := OAuthError(t, r, status); got != code {
		t.Fatalf("error %q, want %q; body %s", got, code, r.Body)
	}
	if status == 401 && r.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
}

// WantUnauthorized checks that r is a 401 problem document refusing a bearer
// credential.
func WantUnauthorized(t *testing.T, r *Response) {
	t.Helper()
	if r.StatusCode != 401 {
		t.Fatalf("status %d, want 401; body %s", r.StatusCode, r.Body)
	}
	if p := r.Problem(t); p.Code != "unauthenticated" || p.Status != 401 {
		t.Fatalf("problem %+v", p)
	}
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
	}
}

// JWTParts decodes a compact JWS's header and payload by hand.
func JWTParts(t *testing.T, tok string) (header, claims map[string]any) {
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

// B64JSON is the base64url of v's JSON.
func B64JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// JWKS fetches and parses the served JWKS.
func (e *Env) JWKS() *accesstoken.KeySet {
	e.T.Helper()
	r := e.Do(Request{Method: "GET", Path: "/.well-known/jwks.json"})
	if r.StatusCode != 200 {
		e.T.Fatalf("jwks: %d", r.StatusCode)
	}
	ks, err := accesstoken.ParseJWKS(r.Body)
	if err != nil {
		e.T.Fatalf("jwks %s: %v", r.Body, err)
	}
	return ks
}

// Verify checks tok against the served JWKS, as a resource server would,
// with the server's clock and the given audience ("" for the default).
func (e *Env) Verify(tok, aud string) (*accesstoken.Claims, error) {
	e.T.Helper()
	if aud == "" {
		aud = e.Issuer()
	}
	v := &accesstoken.Verifier{Keys: e.JWKS(), Issuer: e.Issuer(), Audience: aud, Now: e.Clock.Now}
	return v.Verify(tok)
}

func (e *Env) MustVerify(tok, aud string) *accesstoken.Claims {
	e.T.Helper()
	c, err := e.Verify(tok, aud)
	if err != nil {
		e.T.Fatalf("verify: %v", err)
	}
	return c
}

// StoredKey returns signing key kid with its private part, unsealed from the
// store with the server's key-encryption secret: what an attacker holding
// the key could sign with, to show which claim a refusal is about.
func (e *Env) StoredKey(kid string) *accesstoken.Key {
	e.T.Helper()
	keys, err := e.DB.SigningKeys(context.Background())
	if err != nil {
		e.T.Fatal(err)
	}
	for _, sk := range keys {
		if sk.ID != kid {
			continue
		}
		der, err := accesstoken.Open(e.Svc.Config().Tokens.KEK, sk.ID, sk.SealedPrivate)
		if err != nil {
			e.T.Fatal(err)
		}
		alg, err := accesstoken.ParseAlg(sk.Alg)
		if err != nil {
			e.T.Fatal(err)
		}
		k, err := accesstoken.ParsePrivateKey(sk.ID, alg, der, sk.CreatedAt)
		if err != nil {
			e.T.Fatal(err)
		}
		return k
	}
	e.T.Fatalf("no stored key %s", kid)
	return nil
}

// KidOf is the kid header of tok.
func KidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _ := JWTParts(t, tok)
	kid, _ := h["kid"].(string)
	return kid
}

// Sign signs c with k, failing the test on error.
func Sign(t *testing.T, k *accesstoken.Key, c accesstoken.Claims) string {
	t.Helper()
	tok, err := accesstoken.Sign(k, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Client registers a confidential client and returns its ID and secret.
func (e *Env) Client(name string, scopes ...string) (id, sec string) {
	e.T.Helper()
	nc, err := e.Svc.CreateClient(context.Background(), name, scopes)
	if err != nil {
		e.T.Fatal(err)
	}
	return nc.Client.ID, nc.Secret.Reveal()
}

// HashOf is the stored form of a refresh token.
func HashOf(t *testing.T, tok string) secret.Hash {
	t.Helper()
	st, err := secret.Parse(tok)
	if err != nil {
		t.Fatalf("not a refresh token: %v", err)
	}
	return st.Hash()
}

// Introspect calls POST /oauth2/introspect as client id/sec (Basic).
func (e *Env) Introspect(id, sec, tok string) *Response {
	e.T.Helper()
	return e.Post("/oauth2/introspect", url.Values{"token": {tok}}, Basic(id, sec))
}

// WantInactive checks that r is exactly {"active":false}.
func WantInactive(t *testing.T, r *Response) {
	t.Helper()
	if r.StatusCode != 200 || strings.TrimSpace(string(r.Body)) != `{"active":false}` {
		t.Fatalf("introspection: %d %s, want exactly {\"active\":false}", r.StatusCode, r.Body)
	}
}

// WantActive checks that r is an active introspection answer and returns it.
func WantActive(t *testing.T, r *Response) map[string]any {
	t.Helper()
	var m map[string]any
	r.Decode(t, &m)
	if r.StatusCode != 200 || m["active"] != true {
		t.Fatalf("introspection: %d %s, want active", r.StatusCode, r.Body)
	}
	return m
}

// ClientToken registers a client with scopes and returns its
// client_credentials access token.
func (e *Env) ClientToken(name string, scopes ...string) string {
	e.T.Helper()
	id, sec := e.Client(name, scopes...)
	r := e.Post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, Basic(id, sec))
	var tr TokenResp
	r.Decode(e.T, &tr)
	if r.StatusCode != 200 || tr.AccessToken == "" {
		e.T.Fatalf("client_credentials: %d %s", r.StatusCode, r.Body)
	}
	return tr.AccessToken
}

// SessionToken signs in in session mode without the cookie and returns the
// session secret, for use as a bearer token.
func (e *Env) SessionToken(email string) string {
	e.T.Helper()
	r := e.Do(Request{Method: "POST", Path: "/v1/login", JSON: map[string]any{"email": email, "password": Password, "cookie": false}})
	var out struct {
		SessionToken string `json:"session_token"`
	}
	r.Decode(e.T, &out)
	if r.StatusCode != 200 || out.SessionToken == "" {
		e.T.Fatalf("login: %d %s", r.StatusCode, r.Body)
	}
	return out.SessionToken
}
