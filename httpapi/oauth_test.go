package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
	"github.com/tessera-auth/tessera/secret"
)

// The OAuth 2.0 endpoints: refresh (R-01..R-04), client_credentials,
// introspection, revocation, the JWKS and metadata.

// TestRefreshRotation is R-01: rotation, the grace window and reuse.
func TestRefreshRotation(t *testing.T) {
	ctx := context.Background()
	t.Run("OK_Rotates", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		r := e.refreshFirstParty(tr.RefreshToken)
		var next tokenResp
		r.decode(t, &next)
		if r.StatusCode != 200 || next.TokenType != "Bearer" || next.AccessToken == "" || next.RefreshToken == "" {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		if n, ok := next.ExpiresIn.(float64); !ok || n != 300 {
			t.Fatalf("expires_in %#v", next.ExpiresIn)
		}
		if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v", r.Header)
		}
		if next.RefreshToken == tr.RefreshToken || next.AccessToken == tr.AccessToken {
			t.Fatal("refresh did not rotate")
		}
		if _, err := secret.Parse(next.RefreshToken); err != nil {
			t.Fatalf("successor is not an opaque 256-bit token: %v", err)
		}
		// Only the hash is stored, and the chain is recorded.
		old, err := e.db.RefreshTokenByHash(ctx, hashOf(t, tr.RefreshToken))
		if err != nil || old.RotatedAt.IsZero() || !old.SuccessorHash.Equal(hashOf(t, next.RefreshToken)) {
			t.Fatalf("rotated token %+v %v", old, err)
		}
		succ, err := e.db.RefreshTokenByHash(ctx, hashOf(t, next.RefreshToken))
		if err != nil || succ.FamilyID != old.FamilyID || succ.SessionID != old.SessionID || succ.ClientID != "tessera" {
			t.Fatalf("successor %+v %v", succ, err)
		}
		if c := e.mustVerify(next.AccessToken, ""); c.SessionID != tr.Session.ID {
			t.Fatalf("refreshed token sid %q, want %q", c.SessionID, tr.Session.ID)
		}
	})
	t.Run("OK_RetryInGraceGetsSameSuccessor", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		first := e.mustRefresh(tr.RefreshToken)
		before := len(e.events())
		e.clock.Add(4 * time.Second)
		again := e.mustRefresh(tr.RefreshToken)
		if again.RefreshToken != first.RefreshToken {
			t.Fatal("a retry inside the grace window got a different successor")
		}
		e.clock.Add(time.Second) // exactly the grace window: still a retry
		if e.mustRefresh(tr.RefreshToken).RefreshToken != first.RefreshToken {
			t.Fatal("a retry at the end of the grace window got a different successor")
		}
		if len(e.events()) != before {
			t.Fatal("a retry appended events")
		}
		for _, tok := range []string{first.AccessToken, again.AccessToken} {
			if got := e.do(request{method: "GET", path: "/v1/session", bearer: tok}).StatusCode; got != 200 {
				t.Fatalf("access token after a retry: %d", got)
			}
		}
		// The successor still rotates normally.
		e.mustRefresh(first.RefreshToken)
	})
	t.Run("OK_ConfiguredGrace", func(t *testing.T) {
		e := newEnv(t, func(a *auth.Config, _ *httpapi.Config) { a.Tokens.RefreshGrace = 30 * time.Second })
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		first := e.mustRefresh(tr.RefreshToken)
		e.clock.Add(20 * time.Second)
		if e.mustRefresh(tr.RefreshToken).RefreshToken != first.RefreshToken {
			t.Fatal("retry inside a 30 s grace window")
		}
		e.clock.Add(11 * time.Second)
		wantOAuthError(t, e.refreshFirstParty(tr.RefreshToken), 400, "invalid_grant")
	})
	t.Run("ErrReuseAfterGrace", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		rsID, rsSecret := e.client("resource-server", "introspect")
		tr := e.mustTokens("ada@example.com", nil)
		next := e.mustRefresh(tr.RefreshToken)
		wantActive(t, e.introspect(rsID, rsSecret, next.AccessToken))
		before := e.events()
		e.clock.Add(5*time.Second + time.Millisecond)
		wantOAuthError(t, e.refreshFirstParty(tr.RefreshToken), 400, "invalid_grant")
		// The whole session is gone: the successor, its access token.
		wantOAuthError(t, e.refreshFirstParty(next.RefreshToken), 400, "invalid_grant")
		wantInactive(t, e.introspect(rsID, rsSecret, next.AccessToken))
		wantInactive(t, e.introspect(rsID, rsSecret, next.RefreshToken))
		wantUnauthorized(t, e.do(request{method: "GET", path: "/v1/session", bearer: next.AccessToken}))
		after := e.events()
		if countType(after, auth.EventRefreshReuse)-countType(before, auth.EventRefreshReuse) != 1 {
			t.Fatalf("refresh.reuse_detected events: %v", after[len(before):])
		}
		var revoked []auth.Event
		for _, ev := range after[len(before):] {
			if ev.Type == auth.EventSessionRevoked {
				revoked = append(revoked, ev)
			}
		}
		if len(revoked) != 1 || revoked[0].SessionID != tr.Session.ID || revoked[0].Data["cause"] != auth.CauseReuse {
			t.Fatalf("session.revoked events: %+v", revoked)
		}
		// Replaying again raises no second alarm.
		n := len(e.events())
		wantOAuthError(t, e.refreshFirstParty(tr.RefreshToken), 400, "invalid_grant")
		if len(e.events()) != n {
			t.Fatal("a replay on a revoked session appended events")
		}
	})
	t.Run("ErrRetryAfterSuccessorUsed", func(t *testing.T) {
		// Inside the grace window, but the successor was used already: the
		// chain moved on, so the old token is a replay.
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		next := e.mustRefresh(tr.RefreshToken)
		third := e.mustRefresh(next.RefreshToken)
		wantOAuthError(t, e.refreshFirstParty(tr.RefreshToken), 400, "invalid_grant")
		wantOAuthError(t, e.refreshFirstParty(third.RefreshToken), 400, "invalid_grant")
		if countType(e.events(), auth.EventRefreshReuse) != 1 {
			t.Fatal("no refresh.reuse_detected")
		}
	})
}

// TestRefreshConcurrent is R-02: many parallel refreshes of one token make
// one successor chain, and none fails with a server error.
func TestRefreshConcurrent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.mustUser("ada@example.com", pw)
	tr := e.mustTokens("ada@example.com", nil)
	before := len(e.events())
	const n = 30
	type result struct {
		status int
		body   []byte
		err    error
	}
	results := make([]result, n)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}, "client_id": {"tessera"}}.Encode()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := http.Post(e.srv.URL+"/oauth2/token", formType, strings.NewReader(form))
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			results[i].status = resp.StatusCode
			results[i].body, results[i].err = io.ReadAll(resp.Body)
		}()
	}
	close(start)
	wg.Wait()
	successor := ""
	ok := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("request %d: %v", i, r.err)
		}
		if r.status >= 500 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
		if r.status != 200 {
			var eb oauthErrorBody
			json.Unmarshal(r.body, &eb)
			if r.status != 400 || eb.Error != "invalid_grant" {
				t.Fatalf("request %d: %d %s", i, r.status, r.body)
			}
			continue
		}
		ok++
		var next tokenResp
		if err := json.Unmarshal(r.body, &next); err != nil {
			t.Fatal(err)
		}
		if successor == "" {
			successor = next.RefreshToken
		} else if next.RefreshToken != successor {
			t.Fatalf("request %d got a second successor", i)
		}
	}
	if ok == 0 {
		t.Fatal("no refresh succeeded")
	}
	t.Logf("%d of %d concurrent refreshes succeeded", ok, n)
	// The store: RT1 points at the one successor, which is unused.
	old, err := e.db.RefreshTokenByHash(ctx, hashOf(t, tr.RefreshToken))
	if err != nil || !old.SuccessorHash.Equal(hashOf(t, successor)) {
		t.Fatalf("RT1 %+v %v", old, err)
	}
	succ, err := e.db.RefreshTokenByHash(ctx, hashOf(t, successor))
	if err != nil || !succ.RotatedAt.IsZero() || succ.SuccessorHash != (secret.Hash{}) {
		t.Fatalf("successor %+v %v", succ, err)
	}
	if countType(e.events(), auth.EventRefreshReuse) != 0 || len(e.events()) != before {
		t.Fatal("concurrent retries raised the theft alarm")
	}
	// The one chain continues.
	e.mustRefresh(successor)
}

// TestRefreshRefused: the session is the source of truth, and client binding
// . A refused refresh changes nothing stored.
func TestRefreshRefused(t *testing.T) {
	ctx := context.Background()
	type setup struct {
		e      *env
		u      *auth.User
		tr     tokenResp
		cookie string
		aID    string // the confidential client the token is bound to, if any
		aSec   string
		bID    string // another confidential client
		bSec   string
	}
	for _, tc := range []struct {
		name      string
		opts      []option
		confident bool                                   // bind the tokens to a registered client A
		before    func(t *testing.T, s *setup)           // what happens before the refresh
		refresh   func(t *testing.T, s *setup) *response // the refused refresh; default: the token's own client
		status    int                                    // default 400
		code      string                                 // default invalid_grant
		sessionOK bool                                   // the session itself survives
		stillOK   bool                                   // and the token still refreshes for its own client
	}{
		{name: "ErrSessionLoggedOut", before: func(t *testing.T, s *setup) {
			if r := s.e.do(request{method: "POST", path: "/v1/logout", bearer: s.tr.AccessToken}); r.StatusCode != 204 {
				t.Fatalf("logout %d", r.StatusCode)
			}
		}},
		{name: "ErrSessionRevokedFromOtherDevice", before: func(t *testing.T, s *setup) {
			other := s.e.mustTokens("ada@example.com", nil)
			r := s.e.do(request{method: "DELETE", path: "/v1/sessions/" + s.tr.Session.ID, bearer: other.AccessToken})
			if r.StatusCode != 204 {
				t.Fatalf("revoke %d %s", r.StatusCode, r.body)
			}
		}},
		{name: "ErrUserDisabled", before: func(t *testing.T, s *setup) {
			s.e.clock.Add(time.Millisecond)
			if _, err := s.e.svc.SetDisabled(ctx, s.u.ID, true); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "ErrPasswordChanged", before: func(t *testing.T, s *setup) {
			s.e.clock.Add(time.Millisecond)
			if _, err := s.e.svc.SetPassword(ctx, s.u.ID, "another-long-password"); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "ErrRoleRemoved", before: func(t *testing.T, s *setup) {
			s.e.clock.Add(time.Millisecond)
			if _, err := s.e.svc.SetRoles(ctx, s.u.ID, []string{"viewer"}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "ErrSignedOutEverywhere", before: func(t *testing.T, s *setup) {
			s.e.clock.Add(time.Millisecond)
			if _, err := s.e.svc.SignOutEverywhere(ctx, s.u.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "ErrSessionIdle", opts: []option{func(a *auth.Config, _ *httpapi.Config) { a.Tokens.RefreshIdle = 72 * time.Hour }},
			before: func(t *testing.T, s *setup) {
				s.e.clock.Add(24*time.Hour + time.Second)
			}},
		{name: "ErrRefreshIdle", opts: []option{func(a *auth.Config, _ *httpapi.Config) { a.IdleTimeout = 7 * 24 * time.Hour }},
			sessionOK: true, before: func(t *testing.T, s *setup) {
				s.e.clock.Add(24*time.Hour + time.Second)
			}},
		{name: "ErrClientBMeetsClientAsToken", confident: true, sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *response {
			return s.e.refresh(s.tr.RefreshToken, nil, basic(s.bID, s.bSec))
		}},
		{name: "ErrClientBMeetsClientAsTokenPost", confident: true, sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *response {
			return s.e.refresh(s.tr.RefreshToken, url.Values{"client_id": {s.bID}, "client_secret": {s.bSec}}, nil)
		}},
		{name: "ErrPublicClientMeetsConfidentialToken", confident: true, sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *response {
			return s.e.refreshFirstParty(s.tr.RefreshToken)
		}},
		{name: "ErrNoClientMeetsConfidentialToken", confident: true, sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *response {
			return s.e.refresh(s.tr.RefreshToken, nil, nil)
		}},
		{name: "ErrConfidentialClientMeetsPublicToken", sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *response {
			return s.e.refresh(s.tr.RefreshToken, nil, basic(s.bID, s.bSec))
		}},
		{name: "ErrAccessTokenAsRefreshToken", sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *response {
			return s.e.refreshFirstParty(s.tr.AccessToken)
		}},
		{name: "ErrUnknownRefreshToken", sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *response {
			return s.e.refreshFirstParty(secret.New().Reveal())
		}},
		{name: "ErrSessionSecretAsRefreshToken", sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *response {
			return s.e.refreshFirstParty(s.cookie)
		}},
		{name: "ErrMalformedRefreshToken", sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *response {
			return s.e.refreshFirstParty(s.tr.RefreshToken + "x")
		}},
		{name: "ErrWrongSecretForBoundClient", confident: true, sessionOK: true, stillOK: true, status: 401, code: "invalid_client",
			refresh: func(t *testing.T, s *setup) *response {
				return s.e.refresh(s.tr.RefreshToken, nil, basic(s.aID, s.aSec+"x"))
			}},
		{name: "ErrPublicClientWithSecret", sessionOK: true, stillOK: true, status: 401, code: "invalid_client",
			refresh: func(t *testing.T, s *setup) *response {
				return s.e.refresh(s.tr.RefreshToken, url.Values{"client_id": {"tessera"}, "client_secret": {"x"}}, nil)
			}},
		{name: "ErrMissingRefreshToken", sessionOK: true, stillOK: true, code: "invalid_request",
			refresh: func(t *testing.T, s *setup) *response {
				return s.e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"tessera"}}, nil)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			s := &setup{e: e, u: e.mustUser("ada@example.com", pw, "admin", "viewer")}
			s.bID, s.bSec = e.client("client-b")
			fields := map[string]string{"mode": "hybrid"}
			if tc.confident {
				s.aID, s.aSec = e.client("client-a")
				fields["client_id"] = s.aID
			}
			r, tr := e.loginTokens("ada@example.com", fields)
			if r.StatusCode != 200 || r.sessionCookie() == nil {
				t.Fatalf("login %d %s", r.StatusCode, r.body)
			}
			s.tr, s.cookie = tr, r.sessionCookie().Value
			if tc.before != nil {
				tc.before(t, s)
			}
			before := len(e.events())
			if tc.refresh == nil {
				tc.refresh = func(t *testing.T, s *setup) *response {
					if tc.confident {
						return s.e.refresh(s.tr.RefreshToken, nil, basic(s.aID, s.aSec))
					}
					return s.e.refreshFirstParty(s.tr.RefreshToken)
				}
			}
			status, code := tc.status, tc.code
			if status == 0 {
				status = 400
			}
			if code == "" {
				code = "invalid_grant"
			}
			wantOAuthError(t, tc.refresh(t, s), status, code)
			// Nothing stored changed: no event, the token is not rotated.
			if n := len(e.events()); n != before {
				t.Fatalf("a refused refresh appended %d events: %+v", n-before, e.events()[before:])
			}
			rt, err := e.db.RefreshTokenByHash(ctx, hashOf(t, s.tr.RefreshToken))
			if err != nil || !rt.RotatedAt.IsZero() {
				t.Fatalf("refresh token after a refused refresh: %+v %v", rt, err)
			}
			if got := e.sessionStatus(s.cookie); (got == 200) != tc.sessionOK {
				t.Fatalf("session after: %d", got)
			}
			if tc.stillOK {
				// The rightful client can still refresh.
				var r *response
				if tc.confident {
					r = e.refresh(s.tr.RefreshToken, nil, basic(s.aID, s.aSec))
				} else {
					r = e.refreshFirstParty(s.tr.RefreshToken)
				}
				if r.StatusCode != 200 {
					t.Fatalf("rightful refresh after the refused one: %d %s", r.StatusCode, r.body)
				}
			}
		})
	}
}

// TestRefreshAbsoluteExpiry is R-04: sliding refreshes end at the absolute
// lifetime, of the refresh family and of the session.
func TestRefreshAbsoluteExpiry(t *testing.T) {
	// slide refreshes every 12 h and returns how long the chain lived.
	slide := func(t *testing.T, e *env, rt string, limit time.Duration) (time.Duration, string) {
		t.Helper()
		start := e.clock.Now()
		for {
			e.clock.Add(12 * time.Hour)
			r := e.refreshFirstParty(rt)
			if r.StatusCode != 200 {
				wantOAuthError(t, r, 400, "invalid_grant")
				return e.clock.Now().Sub(start), rt
			}
			var tr tokenResp
			r.decode(t, &tr)
			rt = tr.RefreshToken
			if e.clock.Now().Sub(start) > limit {
				t.Fatalf("still refreshing after %v", e.clock.Now().Sub(start))
			}
		}
	}
	t.Run("ErrAfter720h", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		lived, rt := slide(t, e, tr.RefreshToken, 800*time.Hour)
		if lived != 720*time.Hour {
			t.Fatalf("refresh chain ended after %v, want 720h", lived)
		}
		// The last successor is not reused or rotated: it simply expired.
		if countType(e.events(), auth.EventRefreshReuse) != 0 {
			t.Fatal("expiry raised the theft alarm")
		}
		wantOAuthError(t, e.refreshFirstParty(rt), 400, "invalid_grant")
	})
	t.Run("ErrRefreshAbsoluteBeforeSession", func(t *testing.T) {
		e := newEnv(t, func(a *auth.Config, _ *httpapi.Config) { a.Tokens.RefreshAbsolute = 48 * time.Hour })
		e.mustUser("ada@example.com", pw)
		r, tr := e.loginTokens("ada@example.com", map[string]string{"mode": "hybrid"})
		cookie := r.sessionCookie().Value
		if lived, _ := slide(t, e, tr.RefreshToken, 100*time.Hour); lived != 48*time.Hour {
			t.Fatalf("refresh chain ended after %v, want 48h", lived)
		}
		if e.sessionStatus(cookie) != 200 {
			t.Fatal("the session should outlive its refresh family")
		}
	})
	t.Run("ErrSessionAbsoluteBeforeRefresh", func(t *testing.T) {
		e := newEnv(t, func(a *auth.Config, _ *httpapi.Config) {
			a.AbsoluteTimeout = 48 * time.Hour
			a.Tokens.RefreshAbsolute = 1000 * time.Hour
		})
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		if lived, _ := slide(t, e, tr.RefreshToken, 100*time.Hour); lived != 48*time.Hour {
			t.Fatalf("refresh chain ended after %v, want the session's 48h", lived)
		}
	})
}

// TestRefreshClients: which client may refresh which token.
func TestRefreshClients(t *testing.T) {
	t.Run("OK_TesseraByClientID", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		e.mustRefresh(e.mustTokens("ada@example.com", nil).RefreshToken)
	})
	t.Run("OK_TesseraNoClient", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		r := e.refresh(tr.RefreshToken, nil, nil)
		var next tokenResp
		r.decode(t, &next)
		if r.StatusCode != 200 || next.RefreshToken == "" {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		if c := e.mustVerify(next.AccessToken, ""); c.ClientID != "tessera" {
			t.Fatalf("client_id %q", c.ClientID)
		}
	})
	t.Run("OK_TesseraBasicWithoutSecret", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		tr := e.mustTokens("ada@example.com", nil)
		if r := e.refresh(tr.RefreshToken, nil, basic("tessera", "")); r.StatusCode != 200 {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
	})
	for _, style := range []string{"Basic", "Post", "BasicPercentEncoded"} {
		t.Run("OK_Confidential"+style, func(t *testing.T) {
			e := newEnv(t)
			e.mustUser("ada@example.com", pw)
			id, sec := e.client("client-a")
			tr := e.mustTokens("ada@example.com", map[string]string{"client_id": id})
			var r *response
			switch style {
			case "Basic":
				r = e.refresh(tr.RefreshToken, nil, basic(id, sec))
			case "Post":
				r = e.refresh(tr.RefreshToken, url.Values{"client_id": {id}, "client_secret": {sec}}, nil)
			default:
				r = e.refresh(tr.RefreshToken, nil, rawBasic(percentAll(id), percentAll(sec)))
			}
			var next tokenResp
			r.decode(t, &next)
			if r.StatusCode != 200 || next.RefreshToken == "" {
				t.Fatalf("%d %s", r.StatusCode, r.body)
			}
			if c := e.mustVerify(next.AccessToken, ""); c.ClientID != id {
				t.Fatalf("client_id %q", c.ClientID)
			}
		})
	}
	t.Run("ErrBasicAndBodyClientDisagree", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		id, sec := e.client("client-a")
		tr := e.mustTokens("ada@example.com", map[string]string{"client_id": id})
		wantOAuthError(t, e.refresh(tr.RefreshToken, url.Values{"client_id": {"tessera"}}, basic(id, sec)), 400, "invalid_request")
	})
}

func TestOAuthClientCredentials(t *testing.T) {
	e := newEnv(t)
	id, sec := e.client("batch", "events", "reports")
	otherID, otherSec := e.client("other")
	grant := url.Values{"grant_type": {"client_credentials"}}
	with := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	ok := func(t *testing.T, r *response) tokenResp {
		t.Helper()
		var tr tokenResp
		r.decode(t, &tr)
		if r.StatusCode != 200 || tr.AccessToken == "" || tr.TokenType != "Bearer" {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		if _, ok := tr.ExpiresIn.(float64); !ok {
			t.Fatalf("expires_in %#v", tr.ExpiresIn)
		}
		if tr.RefreshToken != "" {
			t.Fatal("client_credentials must not issue a refresh token")
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q", r.Header.Get("Cache-Control"))
		}
		return tr
	}
	t.Run("OK_Basic", func(t *testing.T) {
		tr := ok(t, e.post("/oauth2/token", grant, basic(id, sec)))
		c := e.mustVerify(tr.AccessToken, "")
		if c.Subject != id || c.ClientID != id || c.SessionID != "" || c.Scope != "events reports" || tr.Scope != "events reports" {
			t.Fatalf("claims %+v, response scope %q", c, tr.Scope)
		}
		if h, _ := jwtParts(t, tr.AccessToken); h["typ"] != "at+jwt" {
			t.Fatalf("header %v", h)
		}
	})
	t.Run("OK_Post", func(t *testing.T) {
		tr := ok(t, e.post("/oauth2/token", with("client_id", id, "client_secret", sec), nil))
		if c := e.mustVerify(tr.AccessToken, ""); c.ClientID != id {
			t.Fatalf("client_id %q", c.ClientID)
		}
	})
	t.Run("OK_BasicPercentEncoded", func(t *testing.T) {
		// RFC 6749 §2.3.1: the server URL-decodes both parts.
		ok(t, e.post("/oauth2/token", grant, rawBasic(percentAll(id), percentAll(sec))))
		ok(t, e.post("/oauth2/token", grant, rawBasic(url.QueryEscape(id), url.QueryEscape(sec))))
	})
	t.Run("OK_ScopeSubset", func(t *testing.T) {
		tr := ok(t, e.post("/oauth2/token", with("scope", "events"), basic(id, sec)))
		if c := e.mustVerify(tr.AccessToken, ""); c.Scope != "events" {
			t.Fatalf("scope %q", c.Scope)
		}
	})
	t.Run("OK_Audience", func(t *testing.T) {
		tr := ok(t, e.post("/oauth2/token", with("audience", "https://api.example.com"), basic(id, sec)))
		e.mustVerify(tr.AccessToken, "https://api.example.com")
	})
	t.Run("ErrBothMethods", func(t *testing.T) {
		wantOAuthError(t, e.post("/oauth2/token", with("client_id", id, "client_secret", sec), basic(id, sec)), 400, "invalid_request")
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		wantOAuthError(t, e.post("/oauth2/token", grant, basic(id, sec+"x")), 401, "invalid_client")
		wantOAuthError(t, e.post("/oauth2/token", grant, basic(id, otherSec)), 401, "invalid_client")
		wantOAuthError(t, e.post("/oauth2/token", with("client_id", id, "client_secret", "wrong"), nil), 401, "invalid_client")
		wantOAuthError(t, e.post("/oauth2/token", with("client_id", id), nil), 401, "invalid_client")
	})
	t.Run("ErrUnknownClient", func(t *testing.T) {
		wantOAuthError(t, e.post("/oauth2/token", grant, basic("cl_nosuchclient", sec)), 401, "invalid_client")
		wantOAuthError(t, e.post("/oauth2/token", with("client_id", "cl_nosuchclient", "client_secret", sec), nil), 401, "invalid_client")
	})
	t.Run("ErrNoClient", func(t *testing.T) {
		wantOAuthError(t, e.post("/oauth2/token", grant, nil), 401, "invalid_client")
	})
	t.Run("ErrPublicClient", func(t *testing.T) {
		wantOAuthError(t, e.post("/oauth2/token", with("client_id", "tessera"), nil), 401, "invalid_client")
	})
	t.Run("ErrBadPercentEncoding", func(t *testing.T) {
		wantOAuthError(t, e.post("/oauth2/token", grant, rawBasic(id, sec+"%zz")), 401, "invalid_client")
	})
	t.Run("ErrBearerAuthorization", func(t *testing.T) {
		wantOAuthError(t, e.post("/oauth2/token", grant, map[string]string{"Authorization": "Bearer " + sec}), 401, "invalid_client")
	})
	t.Run("ErrScope", func(t *testing.T) {
		wantOAuthError(t, e.post("/oauth2/token", with("scope", "admin"), basic(id, sec)), 400, "invalid_scope")
		wantOAuthError(t, e.post("/oauth2/token", with("scope", "events admin"), basic(id, sec)), 400, "invalid_scope")
		wantOAuthError(t, e.post("/oauth2/token", with("scope", "events"), basic(otherID, otherSec)), 400, "invalid_scope")
	})
	t.Run("ErrUnsupportedGrantType", func(t *testing.T) {
		for _, g := range []string{"password", "authorization_code", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer", "CLIENT_CREDENTIALS"} {
			r := e.post("/oauth2/token", url.Values{"grant_type": {g}, "username": {"ada@example.com"}, "password": {pw}}, basic(id, sec))
			wantOAuthError(t, r, 400, "unsupported_grant_type")
		}
	})
	t.Run("ErrMissingGrantType", func(t *testing.T) {
		wantOAuthError(t, e.post("/oauth2/token", url.Values{}, basic(id, sec)), 400, "invalid_request")
	})
	t.Run("ErrJSONBody", func(t *testing.T) {
		r := e.do(request{method: "POST", path: "/oauth2/token", json: map[string]string{"grant_type": "client_credentials", "client_id": id, "client_secret": sec}})
		wantOAuthError(t, r, 400, "invalid_request")
		r = e.do(request{method: "POST", path: "/oauth2/token", raw: grant.Encode(), header: basic(id, sec)})
		wantOAuthError(t, r, 400, "invalid_request")
	})
	t.Run("ErrDuplicateParameter", func(t *testing.T) {
		wantOAuthError(t, e.post("/oauth2/token", with("grant_type", "client_credentials"), basic(id, sec)), 400, "invalid_request")
		wantOAuthError(t, e.post("/oauth2/token", with("scope", "events", "scope", "reports"), basic(id, sec)), 400, "invalid_request")
		r := e.do(request{method: "POST", path: "/oauth2/token", contentType: formType,
			raw: "grant_type=client_credentials&client_id=" + id + "&client_secret=" + sec + "&client_id=" + otherID})
		wantOAuthError(t, r, 400, "invalid_request")
	})
	t.Run("ErrParametersInQuery", func(t *testing.T) {
		r := e.do(request{method: "POST", path: "/oauth2/token?client_secret=" + sec, contentType: formType, raw: grant.Encode(), header: basic(id, sec)})
		wantOAuthError(t, r, 400, "invalid_request")
	})
	t.Run("ErrOversizedBody", func(t *testing.T) {
		r := e.do(request{method: "POST", path: "/oauth2/token", contentType: formType, raw: grant.Encode() + "&pad=" + strings.Repeat("a", httpapi.MaxBodyBytes), header: basic(id, sec)})
		if r.StatusCode != 413 {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
	})
	t.Run("ErrCookieOnly", func(t *testing.T) {
		// C-05: the OAuth endpoints authenticate clients, never cookies.
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		c := e.login("ada@example.com", pw)
		same := map[string]string{"Sec-Fetch-Site": "same-origin"}
		r := e.do(request{method: "POST", path: "/oauth2/token", contentType: formType, raw: grant.Encode(), cookie: c, header: same})
		wantOAuthError(t, r, 401, "invalid_client")
		r = e.do(request{method: "POST", path: "/oauth2/introspect", contentType: formType, raw: url.Values{"token": {c}}.Encode(), cookie: c, header: same})
		wantOAuthError(t, r, 401, "invalid_client")
		before := len(e.events())
		r = e.do(request{method: "POST", path: "/oauth2/revoke", contentType: formType, raw: url.Values{"token": {c}}.Encode(), cookie: c, header: same})
		if r.StatusCode != 200 || len(e.events()) != before || e.sessionStatus(c) != 200 {
			t.Fatalf("revoke with a cookie: %d, session %d", r.StatusCode, e.sessionStatus(c))
		}
	})
}

// TestOAuthIntrospect is R-06.
func TestOAuthIntrospect(t *testing.T) {
	e := newEnv(t)
	u := e.mustUser("ada@example.com", pw, "viewer")
	aID, aSec := e.client("client-a", "profile")
	bID, bSec := e.client("client-b")
	rsID, rsSec := e.client("resource-server", "introspect")
	otherID, otherSec := e.client("unrelated")
	tr := e.mustTokens("ada@example.com", map[string]string{"client_id": aID, "scope": "profile"})

	t.Run("ErrNoClientAuth", func(t *testing.T) {
		r := e.post("/oauth2/introspect", url.Values{"token": {tr.AccessToken}}, nil)
		wantOAuthError(t, r, 401, "invalid_client")
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		wantOAuthError(t, e.introspect(aID, bSec, tr.AccessToken), 401, "invalid_client")
	})
	t.Run("ErrPublicClient", func(t *testing.T) {
		for _, r := range []*response{
			e.post("/oauth2/introspect", url.Values{"token": {tr.AccessToken}, "client_id": {"tessera"}}, nil),
			e.introspect("tessera", "", tr.AccessToken),
		} {
			if r.StatusCode < 400 || r.StatusCode >= 500 || strings.Contains(string(r.body), `"active"`) {
				t.Fatalf("%d %s", r.StatusCode, r.body)
			}
			oauthError(t, r, r.StatusCode)
		}
	})
	t.Run("ErrMissingToken", func(t *testing.T) {
		wantOAuthError(t, e.post("/oauth2/introspect", url.Values{}, basic(aID, aSec)), 400, "invalid_request")
	})
	t.Run("OK_IssuingClient", func(t *testing.T) {
		r := e.introspect(aID, aSec, tr.AccessToken)
		m := wantActive(t, r)
		if m["iss"] != e.issuer() || m["sub"] != u.ID || m["client_id"] != aID || m["scope"] != "profile" || m["aud"] == nil {
			t.Fatalf("%s", r.body)
		}
		if exp, ok := m["exp"].(float64); !ok || int64(exp) != e.clock.Now().Add(5*time.Minute).Unix() {
			t.Fatalf("exp %v", m["exp"])
		}
		if m["sid"] != tr.Session.ID || m["token_type"] != "access_token" {
			t.Fatalf("%s", r.body)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q", r.Header.Get("Cache-Control"))
		}
		// client_secret_post works as well.
		r = e.post("/oauth2/introspect", url.Values{"token": {tr.AccessToken}, "client_id": {aID}, "client_secret": {aSec}}, nil)
		wantActive(t, r)
	})
	t.Run("OK_ClientNamedInAudience", func(t *testing.T) {
		tok := e.mustTokens("ada@example.com", map[string]string{"audience": bID}).AccessToken
		m := wantActive(t, e.introspect(bID, bSec, tok))
		if m["aud"] == nil || !strings.Contains(mustJSON(m["aud"]), bID) {
			t.Fatalf("aud %v", m["aud"])
		}
		wantInactive(t, e.introspect(otherID, otherSec, tok))
	})
	t.Run("OK_IssuingClientOtherAudience", func(t *testing.T) {
		tok := e.mustTokens("ada@example.com", map[string]string{"client_id": aID, "audience": "https://api.example.com"}).AccessToken
		m := wantActive(t, e.introspect(aID, aSec, tok))
		if m["client_id"] != aID || !strings.Contains(mustJSON(m["aud"]), "https://api.example.com") {
			t.Fatalf("%v", m)
		}
		wantInactive(t, e.introspect(otherID, otherSec, tok))
	})
	t.Run("OK_IntrospectScope", func(t *testing.T) {
		wantActive(t, e.introspect(rsID, rsSec, tr.AccessToken))
		// Also a token meant for another audience: a resource server may
		// introspect any token.
		tok := e.mustTokens("ada@example.com", map[string]string{"audience": "https://api.example.com"}).AccessToken
		m := wantActive(t, e.introspect(rsID, rsSec, tok))
		if !strings.Contains(mustJSON(m["aud"]), "https://api.example.com") {
			t.Fatalf("aud %v", m["aud"])
		}
	})
	t.Run("OK_ClientCredentialsToken", func(t *testing.T) {
		r := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(bID, bSec))
		var cc tokenResp
		r.decode(t, &cc)
		m := wantActive(t, e.introspect(bID, bSec, cc.AccessToken))
		if m["client_id"] != bID || m["sub"] != bID {
			t.Fatalf("%v", m)
		}
		wantInactive(t, e.introspect(otherID, otherSec, cc.AccessToken))
	})
	t.Run("InactiveToUnrelatedClient", func(t *testing.T) {
		wantInactive(t, e.introspect(otherID, otherSec, tr.AccessToken))
		wantInactive(t, e.introspect(bID, bSec, tr.AccessToken))
		wantInactive(t, e.introspect(otherID, otherSec, tr.RefreshToken))
	})
	t.Run("InactiveGarbage", func(t *testing.T) {
		for _, tok := range []string{"garbage", "a.b.c", secret.New().Reveal(), tr.AccessToken + "x", strings.Repeat("A", 10000)} {
			wantInactive(t, e.introspect(rsID, rsSec, tok))
			wantInactive(t, e.introspect(aID, aSec, tok))
		}
	})
	t.Run("OK_RefreshToken", func(t *testing.T) {
		tr := e.mustTokens("ada@example.com", map[string]string{"client_id": aID, "scope": "profile"})
		for _, c := range [][2]string{{aID, aSec}, {rsID, rsSec}} {
			r := e.post("/oauth2/introspect", url.Values{"token": {tr.RefreshToken}, "token_type_hint": {"refresh_token"}}, basic(c[0], c[1]))
			m := wantActive(t, r)
			if m["token_type"] != "refresh_token" || m["client_id"] != aID || m["sub"] != u.ID || m["iss"] != e.issuer() || m["scope"] != "profile" {
				t.Fatalf("%s", r.body)
			}
			if _, ok := m["exp"].(float64); !ok {
				t.Fatalf("exp %v", m["exp"])
			}
			wantActive(t, e.introspect(c[0], c[1], tr.RefreshToken)) // no hint
			wantActive(t, e.post("/oauth2/introspect", url.Values{"token": {tr.RefreshToken}, "token_type_hint": {"access_token"}}, basic(c[0], c[1])))
		}
		// An access token with the refresh_token hint is still found.
		wantActive(t, e.post("/oauth2/introspect", url.Values{"token": {tr.AccessToken}, "token_type_hint": {"refresh_token"}}, basic(aID, aSec)))
		// Once rotated, the old refresh token is no longer active.
		r := e.refresh(tr.RefreshToken, nil, basic(aID, aSec))
		var next tokenResp
		r.decode(t, &next)
		wantInactive(t, e.introspect(aID, aSec, tr.RefreshToken))
		wantActive(t, e.introspect(aID, aSec, next.RefreshToken))
	})
	t.Run("InactiveExpired", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		rsID, rsSec := e.client("resource-server", "introspect")
		tr := e.mustTokens("ada@example.com", nil)
		wantActive(t, e.introspect(rsID, rsSec, tr.AccessToken))
		e.clock.Add(5*time.Minute + accesstoken.MaxLeeway + time.Second)
		wantInactive(t, e.introspect(rsID, rsSec, tr.AccessToken))
		wantActive(t, e.introspect(rsID, rsSec, tr.RefreshToken))
		e.clock.Add(24 * time.Hour)
		wantInactive(t, e.introspect(rsID, rsSec, tr.RefreshToken))
	})
	t.Run("InactiveRevoked", func(t *testing.T) {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		rsID, rsSec := e.client("resource-server", "introspect")
		tr := e.mustTokens("ada@example.com", nil)
		if r := e.do(request{method: "POST", path: "/v1/logout", bearer: tr.AccessToken}); r.StatusCode != 204 {
			t.Fatalf("logout %d", r.StatusCode)
		}
		wantInactive(t, e.introspect(rsID, rsSec, tr.AccessToken))
		wantInactive(t, e.introspect(rsID, rsSec, tr.RefreshToken))
	})
	t.Run("InactiveAfterClientRemoved", func(t *testing.T) {
		e := newEnv(t)
		cID, cSec := e.client("gone")
		rsID, rsSec := e.client("resource-server", "introspect")
		r := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(cID, cSec))
		var cc tokenResp
		r.decode(t, &cc)
		wantActive(t, e.introspect(rsID, rsSec, cc.AccessToken))
		if err := e.svc.RemoveClient(context.Background(), cID); err != nil {
			t.Fatal(err)
		}
		wantInactive(t, e.introspect(rsID, rsSec, cc.AccessToken))
	})
	t.Run("NoSideEffects", func(t *testing.T) {
		// Introspection is not the user's activity and changes nothing.
		before := len(e.events())
		e.introspect(rsID, rsSec, tr.AccessToken)
		e.introspect(aID, aSec, tr.RefreshToken)
		if len(e.events()) != before {
			t.Fatal("introspection appended events")
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestOAuthRevoke is R-05 (RFC 7009).
func TestOAuthRevoke(t *testing.T) {
	ctx := context.Background()
	type fixture struct {
		e          *env
		aID, aSec  string
		bID, bSec  string
		tesseraTok tokenResp
		aTok       tokenResp
	}
	setup := func(t *testing.T) *fixture {
		e := newEnv(t)
		e.mustUser("ada@example.com", pw)
		f := &fixture{e: e}
		f.aID, f.aSec = e.client("client-a")
		f.bID, f.bSec = e.client("client-b")
		f.tesseraTok = e.mustTokens("ada@example.com", nil)
		f.aTok = e.mustTokens("ada@example.com", map[string]string{"client_id": f.aID})
		return f
	}
	revoked := func(t *testing.T, r *response) {
		t.Helper()
		if r.StatusCode != 200 {
			t.Fatalf("revoke: %d %s", r.StatusCode, r.body)
		}
	}
	t.Run("OK_PublicRefreshToken", func(t *testing.T) {
		f := setup(t)
		revoked(t, f.e.post("/oauth2/revoke", url.Values{"token": {f.tesseraTok.RefreshToken}, "client_id": {"tessera"}}, nil))
		wantOAuthError(t, f.e.refreshFirstParty(f.tesseraTok.RefreshToken), 400, "invalid_grant")
		// Revocation ends the sign-in: its access token too.
		wantUnauthorized(t, f.e.do(request{method: "GET", path: "/v1/session", bearer: f.tesseraTok.AccessToken}))
		var found bool
		for _, ev := range f.e.events() {
			if ev.Type == auth.EventSessionRevoked && ev.SessionID == f.tesseraTok.Session.ID && ev.Data["cause"] == auth.CauseTokenRevoked {
				found = true
			}
		}
		if !found {
			t.Fatal("no session.revoked event with cause token_revoked")
		}
		// The other sign-in is untouched.
		f.e.refresh(f.aTok.RefreshToken, nil, basic(f.aID, f.aSec))
	})
	t.Run("OK_PublicRefreshTokenNoClient", func(t *testing.T) {
		f := setup(t)
		revoked(t, f.e.post("/oauth2/revoke", url.Values{"token": {f.tesseraTok.RefreshToken}, "token_type_hint": {"refresh_token"}}, nil))
		wantOAuthError(t, f.e.refreshFirstParty(f.tesseraTok.RefreshToken), 400, "invalid_grant")
	})
	t.Run("OK_ConfidentialRefreshToken", func(t *testing.T) {
		f := setup(t)
		revoked(t, f.e.post("/oauth2/revoke", url.Values{"token": {f.aTok.RefreshToken}}, basic(f.aID, f.aSec)))
		wantOAuthError(t, f.e.refresh(f.aTok.RefreshToken, nil, basic(f.aID, f.aSec)), 400, "invalid_grant")
		if f.e.do(request{method: "GET", path: "/v1/session", bearer: f.tesseraTok.AccessToken}).StatusCode != 200 {
			t.Fatal("revoking client A's token ended another sign-in")
		}
	})
	t.Run("OK_AccessToken", func(t *testing.T) {
		f := setup(t)
		revoked(t, f.e.post("/oauth2/revoke", url.Values{"token": {f.aTok.AccessToken}, "token_type_hint": {"access_token"}}, basic(f.aID, f.aSec)))
		wantUnauthorized(t, f.e.do(request{method: "GET", path: "/v1/session", bearer: f.aTok.AccessToken}))
		wantOAuthError(t, f.e.refresh(f.aTok.RefreshToken, nil, basic(f.aID, f.aSec)), 400, "invalid_grant")
	})
	t.Run("OK_AccessTokenOtherAudience", func(t *testing.T) {
		f := setup(t)
		tr := f.e.mustTokens("ada@example.com", map[string]string{"client_id": f.aID, "audience": "https://api.example.com"})
		revoked(t, f.e.post("/oauth2/revoke", url.Values{"token": {tr.AccessToken}}, basic(f.aID, f.aSec)))
		wantOAuthError(t, f.e.refresh(tr.RefreshToken, nil, basic(f.aID, f.aSec)), 400, "invalid_grant")
	})
	t.Run("OK_UnknownToken", func(t *testing.T) {
		f := setup(t)
		before := len(f.e.events())
		for _, tok := range []string{secret.New().Reveal(), "garbage", "a.b.c"} {
			revoked(t, f.e.post("/oauth2/revoke", url.Values{"token": {tok}}, basic(f.aID, f.aSec)))
			revoked(t, f.e.post("/oauth2/revoke", url.Values{"token": {tok}, "client_id": {"tessera"}}, nil))
		}
		if len(f.e.events()) != before {
			t.Fatal("revoking unknown tokens appended events")
		}
	})
	t.Run("OK_OtherClientsTokenStillWorks", func(t *testing.T) {
		f := setup(t)
		before := len(f.e.events())
		revoked(t, f.e.post("/oauth2/revoke", url.Values{"token": {f.aTok.RefreshToken}}, basic(f.bID, f.bSec)))
		revoked(t, f.e.post("/oauth2/revoke", url.Values{"token": {f.aTok.AccessToken}}, basic(f.bID, f.bSec)))
		revoked(t, f.e.post("/oauth2/revoke", url.Values{"token": {f.tesseraTok.RefreshToken}}, basic(f.aID, f.aSec)))
		if len(f.e.events()) != before {
			t.Fatal("revoking another client's token appended events")
		}
		rt, err := f.e.db.RefreshTokenByHash(ctx, hashOf(t, f.aTok.RefreshToken))
		if err != nil || !rt.RotatedAt.IsZero() {
			t.Fatalf("%+v %v", rt, err)
		}
		if r := f.e.refresh(f.aTok.RefreshToken, nil, basic(f.aID, f.aSec)); r.StatusCode != 200 {
			t.Fatalf("A's token after B revoked it: %d %s", r.StatusCode, r.body)
		}
		f.e.mustRefresh(f.tesseraTok.RefreshToken)
	})
	t.Run("ErrNoAuthForConfidentialToken", func(t *testing.T) {
		f := setup(t)
		before := len(f.e.events())
		wantOAuthError(t, f.e.post("/oauth2/revoke", url.Values{"token": {f.aTok.RefreshToken}}, nil), 401, "invalid_client")
		wantOAuthError(t, f.e.post("/oauth2/revoke", url.Values{"token": {f.aTok.RefreshToken}, "client_id": {f.aID}}, nil), 401, "invalid_client")
		// The public client is not a way around authentication.
		wantOAuthError(t, f.e.post("/oauth2/revoke", url.Values{"token": {f.aTok.RefreshToken}, "client_id": {"tessera"}}, nil), 401, "invalid_client")
		wantOAuthError(t, f.e.post("/oauth2/revoke", url.Values{"token": {f.aTok.AccessToken}}, nil), 401, "invalid_client")
		wantOAuthError(t, f.e.post("/oauth2/revoke", url.Values{"token": {f.aTok.RefreshToken}}, basic(f.aID, "wrong")), 401, "invalid_client")
		if len(f.e.events()) != before {
			t.Fatal("an unauthenticated revocation appended events")
		}
		if r := f.e.refresh(f.aTok.RefreshToken, nil, basic(f.aID, f.aSec)); r.StatusCode != 200 {
			t.Fatalf("token after refused revocation: %d %s", r.StatusCode, r.body)
		}
	})
	t.Run("ErrMissingToken", func(t *testing.T) {
		f := setup(t)
		wantOAuthError(t, f.e.post("/oauth2/revoke", url.Values{}, basic(f.aID, f.aSec)), 400, "invalid_request")
	})
}

func TestJWKS(t *testing.T) {
	e := newEnv(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(e.srv.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("JWKS answered %d directly", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/jwk-set+json") {
		t.Fatalf("Content-Type %q", ct)
	}
	var set map[string][]map[string]any
	if err := json.Unmarshal(body, &set); err != nil || len(set) != 1 || len(set["keys"]) == 0 {
		t.Fatalf("JWKS %s: %v", body, err)
	}
	for _, k := range set["keys"] {
		if k["kid"] == nil || k["kid"] == "" {
			t.Fatalf("key without kid: %v", k)
		}
		if k["alg"] != "EdDSA" {
			t.Fatalf("alg %v, want exactly EdDSA", k["alg"])
		}
		if k["use"] != "sig" || k["kty"] != "OKP" || k["crv"] != "Ed25519" {
			t.Fatalf("key %v", k)
		}
		if _, ok := k["d"]; ok {
			t.Fatal("the JWKS publishes a private key")
		}
	}
	if _, err := accesstoken.ParseJWKS(body); err != nil {
		t.Fatal(err)
	}
	// The token's kid and alg match a published key exactly.
	e.mustUser("ada@example.com", pw)
	h, _ := jwtParts(t, e.mustTokens("ada@example.com", nil).AccessToken)
	if !slices.ContainsFunc(set["keys"], func(k map[string]any) bool { return k["kid"] == h["kid"] && k["alg"] == h["alg"] }) {
		t.Fatalf("no JWK with the token's kid and alg %v", h)
	}
}

func TestMetadata(t *testing.T) {
	e := newEnv(t)
	iss := e.issuer()
	var docs []map[string]any
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		t.Run(strings.TrimPrefix(path, "/.well-known/"), func(t *testing.T) {
			r := e.do(request{method: "GET", path: path})
			if r.StatusCode != 200 || r.Request.URL.Path != path {
				t.Fatalf("%d (after redirects: %s)", r.StatusCode, r.Request.URL.Path)
			}
			var m map[string]any
			r.decode(t, &m)
			docs = append(docs, m)
			if m["issuer"] != iss {
				t.Fatalf("issuer %v, want exactly %q", m["issuer"], iss)
			}
			for k, v := range m {
				if v == nil {
					// RFC 8414 §2: array-valued parameters are arrays; leave
					// out what is not supported.
					t.Errorf("%s is null", k)
				}
			}
			strs := func(k string) []string {
				var out []string
				for _, v := range m[k].([]any) {
					out = append(out, v.(string))
				}
				return out
			}
			if !slices.Contains(strs("id_token_signing_alg_values_supported"), "EdDSA") {
				t.Fatalf("id_token_signing_alg_values_supported %v", m["id_token_signing_alg_values_supported"])
			}
			if methods := strs("token_endpoint_auth_methods_supported"); !slices.Contains(methods, "client_secret_basic") || !slices.Contains(methods, "client_secret_post") {
				t.Fatalf("token_endpoint_auth_methods_supported %v", methods)
			}
			if g := strs("grant_types_supported"); !slices.Contains(g, "refresh_token") || !slices.Contains(g, "client_credentials") || slices.Contains(g, "password") || slices.Contains(g, "implicit") {
				t.Fatalf("grant_types_supported %v", g)
			}
			for k, p := range map[string]string{
				"token_endpoint": "/oauth2/token", "introspection_endpoint": "/oauth2/introspect",
				"revocation_endpoint": "/oauth2/revoke", "jwks_uri": "/.well-known/jwks.json",
			} {
				if m[k] != iss+p {
					t.Fatalf("%s %v, want %s", k, m[k], iss+p)
				}
			}
			// The advertised JWKS is reachable and is the one tokens verify with.
			u, _ := url.Parse(m["jwks_uri"].(string))
			if got := e.do(request{method: "GET", path: u.Path}).StatusCode; got != 200 {
				t.Fatalf("jwks_uri: %d", got)
			}
		})
	}
	if len(docs) == 2 && mustJSON(docs[0]) != mustJSON(docs[1]) {
		t.Fatalf("the two metadata documents differ:\n%v\n%v", docs[0], docs[1])
	}
	// The issuer string is the same in tokens.
	e.mustUser("ada@example.com", pw)
	if _, c := jwtParts(t, e.mustTokens("ada@example.com", nil).AccessToken); c["iss"] != iss {
		t.Fatalf("token iss %v, metadata issuer %q", c["iss"], iss)
	}
}
