package oauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/servertest"
)

// oauthCreds are the credentials behind the placeholders of FuzzOAuthForm:
// a confidential client ({CID}, {CSEC}, {BASIC} for its Basic header), and a
// user's first-party refresh and access tokens ({RT}, {AT}) and the same for
// the confidential client ({CRT}, {CAT}).
type oauthCreds struct {
	e                *servertest.Env
	cid, csec, basic string
	rt, at, crt, cat string
	repl             *strings.Replacer
}

func newOAuthCreds(f *testing.F, e *servertest.Env) *oauthCreds {
	nc, err := e.Svc.CreateClient(context.Background(), "fuzz", []string{"introspect", "read"})
	if err != nil {
		f.Fatal(err)
	}
	o := &oauthCreds{e: e, cid: nc.Client.ID, csec: nc.Secret.Reveal()}
	o.basic = "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(o.cid)+":"+url.QueryEscape(o.csec)))
	o.renew(f)
	return o
}

// renew replaces the user tokens with fresh ones, after a request may have
// rotated or revoked them.
func (o *oauthCreds) renew(tb testing.TB) {
	ctx := context.Background()
	issue := func(clientID string) (rt, at string) {
		l, err := o.e.Svc.Login(ctx, auth.LoginRequest{Email: servertest.FuzzEmail, Password: servertest.Password, Client: auth.Client{IP: "192.0.2.1"}})
		if err != nil {
			tb.Fatal(err)
		}
		ts, err := o.e.Svc.IssueTokens(ctx, l, auth.TokenRequest{ClientID: clientID})
		if err != nil {
			tb.Fatal(err)
		}
		return ts.RefreshToken.Reveal(), ts.AccessToken
	}
	o.rt, o.at = issue("")
	o.crt, o.cat = issue(o.cid)
	o.repl = strings.NewReplacer("{CID}", o.cid, "{CSEC}", o.csec, "{BASIC}", o.basic,
		"{RT}", o.rt, "{AT}", o.at, "{CRT}", o.crt, "{CAT}", o.cat)
}

// FuzzOAuthForm posts arbitrary form bodies, content types and Authorization
// headers to the OAuth endpoints (/oauth2/token, /introspect, /revoke). The
// answers are 200, 400, 401 (with WWW-Authenticate) or 413, never a 5xx,
// errors are RFC 6749 §5.2 JSON, and a success needs the real secret:
//
//   - a token response only for the real refresh token, or for
//     client_credentials with the real client secret;
//   - an active introspection only for the real client and one of the real
//     tokens.
func FuzzOAuthForm(f *testing.F) {
	e := servertest.NewFuzz(f)
	o := newOAuthCreds(f, e)
	const form = "application/x-www-form-urlencoded"
	for _, s := range []struct {
		ep              uint8
		authz, ct, body string
	}{
		{0, "", form, "grant_type=refresh_token&refresh_token={RT}"},
		{0, "", form, "grant_type=refresh_token&refresh_token={RT}&client_id=tessera"},
		{0, "{BASIC}", form, "grant_type=refresh_token&refresh_token={CRT}"},
		{0, "", form, "grant_type=refresh_token&refresh_token={CRT}&client_id={CID}&client_secret={CSEC}"},
		{0, "", form, "grant_type=refresh_token&refresh_token={CRT}"},
		{0, "{BASIC}", form, "grant_type=refresh_token&refresh_token={RT}"},
		{0, "{BASIC}", form, "grant_type=client_credentials&scope=read"},
		{0, "{BASIC}", form, "grant_type=client_credentials&scope=admin"},
		{0, "{BASIC}", form, "grant_type=client_credentials&client_secret={CSEC}"},
		{0, "", form, "grant_type=client_credentials&client_id={CID}&client_secret={CSEC}&audience=x"},
		{0, "", form, "grant_type=client_credentials&client_id={CID}&client_secret=x{CSEC}"},
		{0, "", form, "grant_type=client_credentials&client_id=tessera"},
		{0, "", form, "grant_type=password&username=ada%40example.com&password=correct-horse-battery"},
		{0, "", form, "grant_type=refresh_token&refresh_token={RT}&refresh_token={RT}"},
		{0, "", form, "grant_type=refresh_token&refresh_token={AT}"},
		{0, "Bearer {AT}", form, "grant_type=refresh_token&refresh_token={RT}"},
		{0, "Basic Og==", form, "grant_type=client_credentials"},
		{0, "Basic %%%", form, "grant_type=client_credentials"},
		{0, "", "application/json", `{"grant_type":"refresh_token","refresh_token":"{RT}"}`},
		{0, "", form + "; charset=utf-8", "grant_type=refresh_token&refresh_token={RT}"},
		{0, "", form, ""},
		{1, "{BASIC}", form, "token={AT}"},
		{1, "{BASIC}", form, "token={RT}&token_type_hint=refresh_token"},
		{1, "{BASIC}", form, "token={CAT}&token_type_hint=access_token"},
		{1, "", form, "token={CRT}&client_id={CID}&client_secret={CSEC}"},
		{1, "", form, "token={AT}&client_id=tessera"},
		{1, "", form, "token={AT}"},
		{1, "{BASIC}", form, "token=e30.e30.e30"},
		{1, "{BASIC}", form, "token="},
		{2, "", form, "token={RT}"},
		{2, "", form, "token={AT}&client_id=tessera"},
		{2, "", form, "token={CRT}"},
		{2, "{BASIC}", form, "token={CAT}"},
		{2, "{BASIC}", form, "token=unknown"},
	} {
		f.Add(s.ep, s.authz, s.ct, s.body)
	}
	paths := []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"}
	f.Fuzz(func(t *testing.T, ep uint8, authz, ct, body string) {
		path := paths[int(ep)%len(paths)]
		used := strings.Contains(authz+body, "{RT}") || strings.Contains(authz+body, "{AT}") ||
			strings.Contains(authz+body, "{CRT}") || strings.Contains(authz+body, "{CAT}")
		authz, ok1 := servertest.WireHeader(o.repl.Replace(authz))
		ct, ok2 := servertest.WireHeader(ct)
		body = o.repl.Replace(body)
		if !ok1 || !ok2 {
			return
		}
		if used && path != "/oauth2/introspect" {
			defer o.renew(t) // the request may rotate or revoke them
		}
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := e.Serve(r)
		switch w.Code {
		case 200:
		case 400, 401, 413:
			var eb struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || !slices.Contains([]string{"invalid_request", "invalid_client",
				"invalid_grant", "invalid_scope", "unauthorized_client", "unsupported_grant_type"}, eb.Error) {
				t.Fatalf("%s: status %d with body %q", path, w.Code, w.Body)
			}
			if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Fatalf("%s: 401 without WWW-Authenticate", path)
			}
			return
		default:
			t.Fatalf("%s: status %d for Authorization %q, Content-Type %q, body %q: %s", path, w.Code, authz, ct, body, w.Body)
		}

		// A success: which credentials did the request carry?
		form, _ := url.ParseQuery(body)
		id, sec, basic := r.BasicAuth()
		if basic {
			id, _ = url.QueryUnescape(id)
			sec, _ = url.QueryUnescape(sec)
		} else {
			id, sec = form.Get("client_id"), form.Get("client_secret")
		}
		realClient := id == o.cid && sec == o.csec
		switch path {
		case "/oauth2/token":
			var tr struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || tr.AccessToken == "" || tr.TokenType != "Bearer" {
				t.Fatalf("token response %q", w.Body)
			}
			switch form.Get("grant_type") {
			case "refresh_token":
				rt := form.Get("refresh_token")
				if !(rt == o.rt && (id == "" || id == "tessera") && sec == "") && !(rt == o.crt && realClient) {
					t.Fatalf("a refresh succeeded with client %q and refresh token %q", id, rt)
				}
			case "client_credentials":
				if !realClient {
					t.Fatalf("client_credentials succeeded for client %q", id)
				}
			default:
				t.Fatalf("grant_type %q succeeded", form.Get("grant_type"))
			}
		case "/oauth2/introspect":
			var in struct {
				Active *bool `json:"active"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &in); err != nil || in.Active == nil {
				t.Fatalf("introspection response %q", w.Body)
			}
			if *in.Active && (!realClient || !slices.Contains([]string{o.rt, o.at, o.crt, o.cat}, form.Get("token"))) {
				t.Fatalf("active introspection for client %q, token %q", id, form.Get("token"))
			}
		}
	})
}
