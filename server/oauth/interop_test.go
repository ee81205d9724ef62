package oauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/servertest"
)

// Interoperability with third-party clients (SECURITY-CHECKS.md §4): the
// real libraries, against the real server.

// recorder is an http.RoundTripper that remembers what the client sent.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	auth string
	form url.Values
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var form url.Values
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body.Close()
		form, _ = url.ParseQuery(string(b))
		r.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, recorded{auth: r.Header.Get("Authorization"), form: form})
	rec.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (rec *recorder) context() context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: rec})
}

// TestInteropClientCredentials: golang.org/x/oauth2/clientcredentials gets a
// token with each client authentication style it knows.
func TestInteropClientCredentials(t *testing.T) {
	e := servertest.New(t)
	id, sec := e.Client("batch", "events", "reports")
	rsID, rsSec := e.Client("resource-server", "introspect")
	for _, tc := range []struct {
		name  string
		style oauth2.AuthStyle
		basic bool // the request that succeeded used HTTP Basic
	}{
		{"OK_AutoDetect", oauth2.AuthStyleAutoDetect, true},
		{"OK_InHeader", oauth2.AuthStyleInHeader, true},
		{"OK_InParams", oauth2.AuthStyleInParams, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			cfg := clientcredentials.Config{ClientID: id, ClientSecret: sec, TokenURL: e.Srv.URL + "/oauth2/token", Scopes: []string{"events"}, AuthStyle: tc.style}
			tok, err := cfg.Token(rec.context())
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "bearer") || tok.Expiry.IsZero() || tok.RefreshToken != "" {
				t.Fatalf("token %+v", tok)
			}
			if len(rec.reqs) != 1 {
				t.Fatalf("the client needed %d requests", len(rec.reqs))
			}
			got := rec.reqs[0]
			if tc.basic != strings.HasPrefix(got.auth, "Basic ") || tc.basic == got.form.Has("client_secret") {
				t.Fatalf("sent Authorization %q, form %v", got.auth, got.form)
			}
			c := e.MustVerify(tok.AccessToken, "")
			if c.ClientID != id || c.Subject != id || c.Scope != "events" {
				t.Fatalf("claims %+v", c)
			}
			servertest.WantActive(t, e.Introspect(rsID, rsSec, tok.AccessToken))
		})
	}
	t.Run("ErrWrongSecret", func(t *testing.T) {
		cfg := clientcredentials.Config{ClientID: id, ClientSecret: rsSec, TokenURL: e.Srv.URL + "/oauth2/token"}
		_, err := cfg.Token(context.Background())
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
			t.Fatalf("%v", err)
		}
	})
	t.Run("ErrScope", func(t *testing.T) {
		cfg := clientcredentials.Config{ClientID: id, ClientSecret: sec, TokenURL: e.Srv.URL + "/oauth2/token", Scopes: []string{"admin"}}
		_, err := cfg.Token(context.Background())
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_scope" {
			t.Fatalf("%v", err)
		}
	})
}

// TestInteropOIDCVerifier: github.com/coreos/go-oidc/v3 discovers the
// metadata and verifies our access tokens against our JWKS.
func TestInteropOIDCVerifier(t *testing.T) {
	for _, alg := range []accesstoken.Alg{accesstoken.EdDSA, accesstoken.ES256, accesstoken.RS256} {
		t.Run("OK_"+string(alg), func(t *testing.T) {
			e := servertest.New(t, func(a *auth.Config, _ *server.Config) { a.Tokens.Alg = alg })
			u := e.MustUser("ada@example.com", servertest.Password, "admin")
			ctx := context.Background()
			p, err := oidc.NewProvider(ctx, e.Issuer())
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			if p.Endpoint().TokenURL != e.Issuer()+"/oauth2/token" {
				t.Fatalf("token endpoint %q", p.Endpoint().TokenURL)
			}
			tr := e.MustTokens("ada@example.com", nil)
			v := p.Verifier(&oidc.Config{ClientID: e.Issuer(), SupportedSigningAlgs: []string{string(alg)}, Now: e.Clock.Now})
			tok, err := v.Verify(ctx, tr.AccessToken)
			if err != nil {
				t.Fatalf("go-oidc refused our token: %v", err)
			}
			var claims struct {
				Sid      string   `json:"sid"`
				ClientID string   `json:"client_id"`
				Roles    []string `json:"roles"`
			}
			if err := tok.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if tok.Issuer != e.Issuer() || tok.Subject != u.ID || claims.Sid != tr.Session.ID || claims.ClientID != "tessera" || len(claims.Roles) != 1 {
				t.Fatalf("token %+v, claims %+v", tok, claims)
			}
			// The algorithms advertised in the metadata are enough.
			if _, err := p.Verifier(&oidc.Config{ClientID: e.Issuer(), Now: e.Clock.Now}).Verify(ctx, tr.AccessToken); err != nil {
				t.Fatalf("with the discovered algorithms: %v", err)
			}
		})
	}
	e := servertest.New(t)
	e.MustUser("ada@example.com", servertest.Password)
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, e.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	v := p.Verifier(&oidc.Config{ClientID: e.Issuer(), SupportedSigningAlgs: []string{"EdDSA"}, Now: e.Clock.Now})
	t.Run("OK_Audience", func(t *testing.T) {
		tr := e.MustTokens("ada@example.com", map[string]string{"audience": "https://api.example.com"})
		api := p.Verifier(&oidc.Config{ClientID: "https://api.example.com", SupportedSigningAlgs: []string{"EdDSA"}, Now: e.Clock.Now})
		if _, err := api.Verify(ctx, tr.AccessToken); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, tr.AccessToken); err == nil {
			t.Fatal("go-oidc accepted a token for another audience")
		}
	})
	t.Run("OK_AfterKeyRotation", func(t *testing.T) {
		before := e.MustTokens("ada@example.com", nil)
		if _, err := v.Verify(ctx, before.AccessToken); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Svc.RotateKey(ctx); err != nil {
			t.Fatal(err)
		}
		after := e.MustTokens("ada@example.com", nil)
		if _, err := v.Verify(ctx, after.AccessToken); err != nil {
			t.Fatalf("token of the new key: %v", err)
		}
		if _, err := v.Verify(ctx, before.AccessToken); err != nil {
			t.Fatalf("token of the previous key: %v", err)
		}
	})
	t.Run("ErrChangedPayload", func(t *testing.T) {
		tr := e.MustTokens("ada@example.com", nil)
		parts := strings.Split(tr.AccessToken, ".")
		_, c := servertest.JWTParts(t, tr.AccessToken)
		c["roles"] = []string{"admin"}
		if _, err := v.Verify(ctx, parts[0]+"."+servertest.B64JSON(c)+"."+parts[2]); err == nil {
			t.Fatal("go-oidc accepted a changed payload")
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		tr := e.MustTokens("ada@example.com", nil)
		e.Clock.Add(6 * time.Minute)
		var exp *oidc.TokenExpiredError
		if _, err := v.Verify(ctx, tr.AccessToken); !errors.As(err, &exp) {
			t.Fatalf("%v", err)
		}
	})
}

// TestInteropOAuth2Refresh: golang.org/x/oauth2 refreshes an expired token
// with our refresh token. The library judges expiry by the real clock.
func TestInteropOAuth2Refresh(t *testing.T) {
	expired := func(tr servertest.TokenResp) *oauth2.Token {
		return &oauth2.Token{AccessToken: tr.AccessToken, TokenType: "Bearer", RefreshToken: tr.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
	}
	for _, tc := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"OK_FirstPartyInParams", oauth2.AuthStyleInParams}, {"OK_FirstPartyAutoDetect", oauth2.AuthStyleAutoDetect}} {
		t.Run(tc.name, func(t *testing.T) {
			e := servertest.New(t)
			e.MustUser("ada@example.com", servertest.Password)
			tr := e.MustTokens("ada@example.com", nil)
			conf := &oauth2.Config{ClientID: "tessera", Endpoint: oauth2.Endpoint{TokenURL: e.Srv.URL + "/oauth2/token", AuthStyle: tc.style}}
			tok, err := conf.TokenSource(context.Background(), expired(tr)).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if tok.AccessToken == tr.AccessToken || tok.RefreshToken == "" || tok.RefreshToken == tr.RefreshToken || !strings.EqualFold(tok.TokenType, "bearer") {
				t.Fatalf("refreshed token %+v", tok)
			}
			if !tok.Expiry.After(time.Now()) || tok.Expiry.After(time.Now().Add(6*time.Minute)) {
				t.Fatalf("expiry %v", tok.Expiry)
			}
			if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tok.AccessToken}).StatusCode; got != 200 {
				t.Fatalf("refreshed access token: %d", got)
			}
			// The rotated token refreshes again; the chain goes on.
			tr2 := servertest.TokenResp{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}
			tok2, err := conf.TokenSource(context.Background(), expired(tr2)).Token()
			if err != nil || tok2.RefreshToken == tok.RefreshToken {
				t.Fatalf("second refresh: %+v %v", tok2, err)
			}
		})
	}
	t.Run("OK_ConfidentialClient", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		id, sec := e.Client("shop")
		tr := e.MustTokens("ada@example.com", map[string]string{"client_id": id})
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			conf := &oauth2.Config{ClientID: id, ClientSecret: sec, Endpoint: oauth2.Endpoint{TokenURL: e.Srv.URL + "/oauth2/token", AuthStyle: style}}
			tok, err := conf.TokenSource(context.Background(), expired(tr)).Token()
			if err != nil {
				t.Fatalf("style %d: %v", style, err)
			}
			tr = servertest.TokenResp{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}
		}
	})
	t.Run("ErrReuse", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		conf := &oauth2.Config{ClientID: "tessera", Endpoint: oauth2.Endpoint{TokenURL: e.Srv.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
		if _, err := conf.TokenSource(context.Background(), expired(tr)).Token(); err != nil {
			t.Fatal(err)
		}
		e.Clock.Add(10 * time.Second)
		_, err := conf.TokenSource(context.Background(), expired(tr)).Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("replay after the grace window: %v", err)
		}
	})
}
