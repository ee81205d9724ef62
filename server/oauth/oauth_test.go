package oauth_test

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
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/server/servertest"
)

// The OAuth 2.0 endpoints: refresh (R-01..R-04), client_credentials,
// introspection, revocation, the JWKS and metadata.

// TestRefreshRotation is R-01: rotation, the grace window and reuse.
func TestRefreshRotation(t *testing.T) {
	ctx := context.Background()
	t.Run("OK_Rotates", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		r := e.RefreshFirstParty(tr.RefreshToken)
		var next servertest.TokenResp
		r.Decode(t, &next)
		if r.StatusCode != 200 || next.TokenType != "Bearer" || next.AccessToken == "" || next.RefreshToken == "" {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
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
		old, err := e.DB.RefreshTokenByHash(ctx, servertest.HashOf(t, tr.RefreshToken))
		if err != nil || old.RotatedAt.IsZero() || !old.SuccessorHash.Equal(servertest.HashOf(t, next.RefreshToken)) {
			t.Fatalf("rotated token %+v %v", old, err)
		}
		succ, err := e.DB.RefreshTokenByHash(ctx, servertest.HashOf(t, next.RefreshToken))
		if err != nil || succ.FamilyID != old.FamilyID || succ.SessionID != old.SessionID || succ.ClientID != "tessera" {
			t.Fatalf("successor %+v %v", succ, err)
		}
		if c := e.MustVerify(next.AccessToken, ""); c.SessionID != tr.Session.ID {
			t.Fatalf("refreshed token sid %q, want %q", c.SessionID, tr.Session.ID)
		}
	})
	t.Run("OK_RetryInGraceGetsSameSuccessor", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		first := e.MustRefresh(tr.RefreshToken)
		before := len(e.Events())
		e.Clock.Add(4 * time.Second)
		again := e.MustRefresh(tr.RefreshToken)
		if again.RefreshToken != first.RefreshToken {
			t.Fatal("a retry inside the grace window got a different successor")
		}
		e.Clock.Add(time.Second) // exactly the grace window: still a retry
		if e.MustRefresh(tr.RefreshToken).RefreshToken != first.RefreshToken {
			t.Fatal("a retry at the end of the grace window got a different successor")
		}
		if len(e.Events()) != before {
			t.Fatal("a retry appended events")
		}
		for _, tok := range []string{first.AccessToken, again.AccessToken} {
			if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tok}).StatusCode; got != 200 {
				t.Fatalf("access token after a retry: %d", got)
			}
		}
		// The successor still rotates normally.
		e.MustRefresh(first.RefreshToken)
	})
	t.Run("OK_ConfiguredGrace", func(t *testing.T) {
		e := servertest.New(t, func(a *auth.Config, _ *server.Config) { a.Tokens.RefreshGrace = 30 * time.Second })
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		first := e.MustRefresh(tr.RefreshToken)
		e.Clock.Add(20 * time.Second)
		if e.MustRefresh(tr.RefreshToken).RefreshToken != first.RefreshToken {
			t.Fatal("retry inside a 30 s grace window")
		}
		e.Clock.Add(11 * time.Second)
		servertest.WantOAuthError(t, e.RefreshFirstParty(tr.RefreshToken), 400, "invalid_grant")
	})
	t.Run("ErrReuseAfterGrace", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		rsID, rsSecret := e.Client("resource-server", "introspect")
		tr := e.MustTokens("ada@example.com", nil)
		next := e.MustRefresh(tr.RefreshToken)
		servertest.WantActive(t, e.Introspect(rsID, rsSecret, next.AccessToken))
		before := e.Events()
		e.Clock.Add(5*time.Second + time.Millisecond)
		servertest.WantOAuthError(t, e.RefreshFirstParty(tr.RefreshToken), 400, "invalid_grant")
		// The whole session is gone: the successor, its access token.
		servertest.WantOAuthError(t, e.RefreshFirstParty(next.RefreshToken), 400, "invalid_grant")
		servertest.WantInactive(t, e.Introspect(rsID, rsSecret, next.AccessToken))
		servertest.WantInactive(t, e.Introspect(rsID, rsSecret, next.RefreshToken))
		servertest.WantUnauthorized(t, e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: next.AccessToken}))
		after := e.Events()
		if servertest.CountType(after, auth.EventRefreshReuse)-servertest.CountType(before, auth.EventRefreshReuse) != 1 {
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
		n := len(e.Events())
		servertest.WantOAuthError(t, e.RefreshFirstParty(tr.RefreshToken), 400, "invalid_grant")
		if len(e.Events()) != n {
			t.Fatal("a replay on a revoked session appended events")
		}
	})
	t.Run("ErrRetryAfterSuccessorUsed", func(t *testing.T) {
		// Inside the grace window, but the successor was used already: the
		// chain moved on, so the old token is a replay.
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		next := e.MustRefresh(tr.RefreshToken)
		third := e.MustRefresh(next.RefreshToken)
		servertest.WantOAuthError(t, e.RefreshFirstParty(tr.RefreshToken), 400, "invalid_grant")
		servertest.WantOAuthError(t, e.RefreshFirstParty(third.RefreshToken), 400, "invalid_grant")
		if servertest.CountType(e.Events(), auth.EventRefreshReuse) != 1 {
			t.Fatal("no refresh.reuse_detected")
		}
	})
}

// TestRefreshConcurrent is R-02: many parallel refreshes of one token make
// one successor chain, and none fails with a server error.
func TestRefreshConcurrent(t *testing.T) {
	ctx := context.Background()
	e := servertest.New(t)
	e.MustUser("ada@example.com", servertest.Password)
	tr := e.MustTokens("ada@example.com", nil)
	before := len(e.Events())
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
			resp, err := http.Post(e.Srv.URL+"/oauth2/token", servertest.FormType, strings.NewReader(form))
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
			var eb servertest.OAuthErrorBody
			json.Unmarshal(r.body, &eb)
			if r.status != 400 || eb.Error != "invalid_grant" {
				t.Fatalf("request %d: %d %s", i, r.status, r.body)
			}
			continue
		}
		ok++
		var next servertest.TokenResp
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
	old, err := e.DB.RefreshTokenByHash(ctx, servertest.HashOf(t, tr.RefreshToken))
	if err != nil || !old.SuccessorHash.Equal(servertest.HashOf(t, successor)) {
		t.Fatalf("RT1 %+v %v", old, err)
	}
	succ, err := e.DB.RefreshTokenByHash(ctx, servertest.HashOf(t, successor))
	if err != nil || !succ.RotatedAt.IsZero() || succ.SuccessorHash != (secret.Hash{}) {
		t.Fatalf("successor %+v %v", succ, err)
	}
	if servertest.CountType(e.Events(), auth.EventRefreshReuse) != 0 || len(e.Events()) != before {
		t.Fatal("concurrent retries raised the theft alarm")
	}
	// The one chain continues.
	e.MustRefresh(successor)
}

// TestRefreshRefused: the session is the source of truth, and client binding
// . A refused refresh changes nothing stored.
func TestRefreshRefused(t *testing.T) {
	ctx := context.Background()
	type setup struct {
		e      *servertest.Env
		u      *auth.User
		tr     servertest.TokenResp
		cookie string
		aID    string // the confidential client the token is bound to, if any
		aSec   string
		bID    string // another confidential client
		bSec   string
	}
	for _, tc := range []struct {
		name      string
		opts      []servertest.Option
		confident bool                                              // bind the tokens to a registered client A
		before    func(t *testing.T, s *setup)                      // what happens before the refresh
		refresh   func(t *testing.T, s *setup) *servertest.Response // the refused refresh; default: the token's own client
		status    int                                               // default 400
		code      string                                            // default invalid_grant
		sessionOK bool                                              // the session itself survives
		stillOK   bool                                              // and the token still refreshes for its own client
	}{
		{name: "ErrSessionLoggedOut", before: func(t *testing.T, s *setup) {
			if r := s.e.Do(servertest.Request{Method: "POST", Path: "/v1/logout", Bearer: s.tr.AccessToken}); r.StatusCode != 204 {
				t.Fatalf("logout %d", r.StatusCode)
			}
		}},
		{name: "ErrSessionRevokedFromOtherDevice", before: func(t *testing.T, s *setup) {
			other := s.e.MustTokens("ada@example.com", nil)
			r := s.e.Do(servertest.Request{Method: "DELETE", Path: "/v1/sessions/" + s.tr.Session.ID, Bearer: other.AccessToken})
			if r.StatusCode != 204 {
				t.Fatalf("revoke %d %s", r.StatusCode, r.Body)
			}
		}},
		{name: "ErrUserDisabled", before: func(t *testing.T, s *setup) {
			s.e.Clock.Add(time.Millisecond)
			if _, err := s.e.Svc.SetDisabled(ctx, s.u.ID, true); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "ErrPasswordChanged", before: func(t *testing.T, s *setup) {
			s.e.Clock.Add(time.Millisecond)
			if _, err := s.e.Svc.SetPassword(ctx, s.u.ID, "another-long-password"); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "ErrRoleRemoved", before: func(t *testing.T, s *setup) {
			s.e.Clock.Add(time.Millisecond)
			if _, err := s.e.Svc.SetRoles(ctx, s.u.ID, []string{"viewer"}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "ErrSignedOutEverywhere", before: func(t *testing.T, s *setup) {
			s.e.Clock.Add(time.Millisecond)
			if _, err := s.e.Svc.SignOutEverywhere(ctx, s.u.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "ErrSessionIdle", opts: []servertest.Option{func(a *auth.Config, _ *server.Config) { a.Tokens.RefreshIdle = 72 * time.Hour }},
			before: func(t *testing.T, s *setup) {
				s.e.Clock.Add(24*time.Hour + time.Second)
			}},
		{name: "ErrRefreshIdle", opts: []servertest.Option{func(a *auth.Config, _ *server.Config) { a.IdleTimeout = 7 * 24 * time.Hour }},
			sessionOK: true, before: func(t *testing.T, s *setup) {
				s.e.Clock.Add(24*time.Hour + time.Second)
			}},
		{name: "ErrClientBMeetsClientAsToken", confident: true, sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *servertest.Response {
			return s.e.Refresh(s.tr.RefreshToken, nil, servertest.Basic(s.bID, s.bSec))
		}},
		{name: "ErrClientBMeetsClientAsTokenPost", confident: true, sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *servertest.Response {
			return s.e.Refresh(s.tr.RefreshToken, url.Values{"client_id": {s.bID}, "client_secret": {s.bSec}}, nil)
		}},
		{name: "ErrPublicClientMeetsConfidentialToken", confident: true, sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *servertest.Response {
			return s.e.RefreshFirstParty(s.tr.RefreshToken)
		}},
		{name: "ErrNoClientMeetsConfidentialToken", confident: true, sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *servertest.Response {
			return s.e.Refresh(s.tr.RefreshToken, nil, nil)
		}},
		{name: "ErrConfidentialClientMeetsPublicToken", sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *servertest.Response {
			return s.e.Refresh(s.tr.RefreshToken, nil, servertest.Basic(s.bID, s.bSec))
		}},
		{name: "ErrAccessTokenAsRefreshToken", sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *servertest.Response {
			return s.e.RefreshFirstParty(s.tr.AccessToken)
		}},
		{name: "ErrUnknownRefreshToken", sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *servertest.Response {
			return s.e.RefreshFirstParty(secret.New().Reveal())
		}},
		{name: "ErrSessionSecretAsRefreshToken", sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *servertest.Response {
			return s.e.RefreshFirstParty(s.cookie)
		}},
		{name: "ErrMalformedRefreshToken", sessionOK: true, stillOK: true, refresh: func(t *testing.T, s *setup) *servertest.Response {
			return s.e.RefreshFirstParty(s.tr.RefreshToken + "x")
		}},
		{name: "ErrWrongSecretForBoundClient", confident: true, sessionOK: true, stillOK: true, status: 401, code: "invalid_client",
			refresh: func(t *testing.T, s *setup) *servertest.Response {
				return s.e.Refresh(s.tr.RefreshToken, nil, servertest.Basic(s.aID, s.aSec+"x"))
			}},
		{name: "ErrPublicClientWithSecret", sessionOK: true, stillOK: true, status: 401, code: "invalid_client",
			refresh: func(t *testing.T, s *setup) *servertest.Response {
				return s.e.Refresh(s.tr.RefreshToken, url.Values{"client_id": {"tessera"}, "client_secret": {"x"}}, nil)
			}},
		{name: "ErrMissingRefreshToken", sessionOK: true, stillOK: true, code: "invalid_request",
			refresh: func(t *testing.T, s *setup) *servertest.Response {
				return s.e.Post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"tessera"}}, nil)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := servertest.New(t, tc.opts...)
			s := &setup{e: e, u: e.MustUser("ada@example.com", servertest.Password, "admin", "viewer")}
			s.bID, s.bSec = e.Client("client-b")
			fields := map[string]string{"mode": "hybrid"}
			if tc.confident {
				s.aID, s.aSec = e.Client("client-a")
				fields["client_id"] = s.aID
			}
			r, tr := e.LoginTokens("ada@example.com", fields)
			if r.StatusCode != 200 || r.SessionCookie() == nil {
				t.Fatalf("login %d %s", r.StatusCode, r.Body)
			}
			s.tr, s.cookie = tr, r.SessionCookie().Value
			if tc.before != nil {
				tc.before(t, s)
			}
			before := len(e.Events())
			if tc.refresh == nil {
				tc.refresh = func(t *testing.T, s *setup) *servertest.Response {
					if tc.confident {
						return s.e.Refresh(s.tr.RefreshToken, nil, servertest.Basic(s.aID, s.aSec))
					}
					return s.e.RefreshFirstParty(s.tr.RefreshToken)
				}
			}
			status, code := tc.status, tc.code
			if status == 0 {
				status = 400
			}
			if code == "" {
				code = "invalid_grant"
			}
			servertest.WantOAuthError(t, tc.refresh(t, s), status, code)
			// Nothing stored changed: no event, the token is not rotated.
			if n := len(e.Events()); n != before {
				t.Fatalf("a refused refresh appended %d events: %+v", n-before, e.Events()[before:])
			}
			rt, err := e.DB.RefreshTokenByHash(ctx, servertest.HashOf(t, s.tr.RefreshToken))
			if err != nil || !rt.RotatedAt.IsZero() {
				t.Fatalf("refresh token after a refused refresh: %+v %v", rt, err)
			}
			if got := e.SessionStatus(s.cookie); (got == 200) != tc.sessionOK {
				t.Fatalf("session after: %d", got)
			}
			if tc.stillOK {
				// The rightful client can still refresh.
				var r *servertest.Response
				if tc.confident {
					r = e.Refresh(s.tr.RefreshToken, nil, servertest.Basic(s.aID, s.aSec))
				} else {
					r = e.RefreshFirstParty(s.tr.RefreshToken)
				}
				if r.StatusCode != 200 {
					t.Fatalf("rightful refresh after the refused one: %d %s", r.StatusCode, r.Body)
				}
			}
		})
	}
}

// TestRefreshAbsoluteExpiry is R-04: sliding refreshes end at the absolute
// lifetime, of the refresh family and of the session.
func TestRefreshAbsoluteExpiry(t *testing.T) {
	// slide refreshes every 12 h and returns how long the chain lived.
	slide := func(t *testing.T, e *servertest.Env, rt string, limit time.Duration) (time.Duration, string) {
		t.Helper()
		start := e.Clock.Now()
		for {
			e.Clock.Add(12 * time.Hour)
			r := e.RefreshFirstParty(rt)
			if r.StatusCode != 200 {
				servertest.WantOAuthError(t, r, 400, "invalid_grant")
				return e.Clock.Now().Sub(start), rt
			}
			var tr servertest.TokenResp
			r.Decode(t, &tr)
			rt = tr.RefreshToken
			if e.Clock.Now().Sub(start) > limit {
				t.Fatalf("still refreshing after %v", e.Clock.Now().Sub(start))
			}
		}
	}
	t.Run("ErrAfter720h", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		lived, rt := slide(t, e, tr.RefreshToken, 800*time.Hour)
		if lived != 720*time.Hour {
			t.Fatalf("refresh chain ended after %v, want 720h", lived)
		}
		// The last successor is not reused or rotated: it simply expired.
		if servertest.CountType(e.Events(), auth.EventRefreshReuse) != 0 {
			t.Fatal("expiry raised the theft alarm")
		}
		servertest.WantOAuthError(t, e.RefreshFirstParty(rt), 400, "invalid_grant")
	})
	t.Run("ErrRefreshAbsoluteBeforeSession", func(t *testing.T) {
		e := servertest.New(t, func(a *auth.Config, _ *server.Config) { a.Tokens.RefreshAbsolute = 48 * time.Hour })
		e.MustUser("ada@example.com", servertest.Password)
		r, tr := e.LoginTokens("ada@example.com", map[string]string{"mode": "hybrid"})
		cookie := r.SessionCookie().Value
		if lived, _ := slide(t, e, tr.RefreshToken, 100*time.Hour); lived != 48*time.Hour {
			t.Fatalf("refresh chain ended after %v, want 48h", lived)
		}
		if e.SessionStatus(cookie) != 200 {
			t.Fatal("the session should outlive its refresh family")
		}
	})
	t.Run("ErrSessionAbsoluteBeforeRefresh", func(t *testing.T) {
		e := servertest.New(t, func(a *auth.Config, _ *server.Config) {
			a.AbsoluteTimeout = 48 * time.Hour
			a.Tokens.RefreshAbsolute = 1000 * time.Hour
		})
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		if lived, _ := slide(t, e, tr.RefreshToken, 100*time.Hour); lived != 48*time.Hour {
			t.Fatalf("refresh chain ended after %v, want the session's 48h", lived)
		}
	})
}

// TestRefreshClients: which client may refresh which token.
func TestRefreshClients(t *testing.T) {
	t.Run("OK_TesseraByClientID", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		e.MustRefresh(e.MustTokens("ada@example.com", nil).RefreshToken)
	})
	t.Run("OK_TesseraNoClient", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		r := e.Refresh(tr.RefreshToken, nil, nil)
		var next servertest.TokenResp
		r.Decode(t, &next)
		if r.StatusCode != 200 || next.RefreshToken == "" {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		if c := e.MustVerify(next.AccessToken, ""); c.ClientID != "tessera" {
			t.Fatalf("client_id %q", c.ClientID)
		}
	})
	t.Run("OK_TesseraBasicWithoutSecret", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		tr := e.MustTokens("ada@example.com", nil)
		if r := e.Refresh(tr.RefreshToken, nil, servertest.Basic("tessera", "")); r.StatusCode != 200 {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	})
	for _, style := range []string{"Basic", "Post", "BasicPercentEncoded"} {
		t.Run("OK_Confidential"+style, func(t *testing.T) {
			e := servertest.New(t)
			e.MustUser("ada@example.com", servertest.Password)
			id, sec := e.Client("client-a")
			tr := e.MustTokens("ada@example.com", map[string]string{"client_id": id})
			var r *servertest.Response
			switch style {
			case "Basic":
				r = e.Refresh(tr.RefreshToken, nil, servertest.Basic(id, sec))
			case "Post":
				r = e.Refresh(tr.RefreshToken, url.Values{"client_id": {id}, "client_secret": {sec}}, nil)
			default:
				r = e.Refresh(tr.RefreshToken, nil, servertest.RawBasic(servertest.PercentAll(id), servertest.PercentAll(sec)))
			}
			var next servertest.TokenResp
			r.Decode(t, &next)
			if r.StatusCode != 200 || next.RefreshToken == "" {
				t.Fatalf("%d %s", r.StatusCode, r.Body)
			}
			if c := e.MustVerify(next.AccessToken, ""); c.ClientID != id {
				t.Fatalf("client_id %q", c.ClientID)
			}
		})
	}
	t.Run("ErrBasicAndBodyClientDisagree", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		id, sec := e.Client("client-a")
		tr := e.MustTokens("ada@example.com", map[string]string{"client_id": id})
		servertest.WantOAuthError(t, e.Refresh(tr.RefreshToken, url.Values{"client_id": {"tessera"}}, servertest.Basic(id, sec)), 400, "invalid_request")
	})
}

func TestOAuthClientCredentials(t *testing.T) {
	e := servertest.New(t)
	id, sec := e.Client("batch", "events", "reports")
	otherID, otherSec := e.Client("other")
	grant := url.Values{"grant_type": {"client_credentials"}}
	with := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	ok := func(t *testing.T, r *servertest.Response) servertest.TokenResp {
		t.Helper()
		var tr servertest.TokenResp
		r.Decode(t, &tr)
		if r.StatusCode != 200 || tr.AccessToken == "" || tr.TokenType != "Bearer" {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
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
		tr := ok(t, e.Post("/oauth2/token", grant, servertest.Basic(id, sec)))
		c := e.MustVerify(tr.AccessToken, "")
		if c.Subject != id || c.ClientID != id || c.SessionID != "" || c.Scope != "events reports" || tr.Scope != "events reports" {
			t.Fatalf("claims %+v, response scope %q", c, tr.Scope)
		}
		if h, _ := servertest.JWTParts(t, tr.AccessToken); h["typ"] != "at+jwt" {
			t.Fatalf("header %v", h)
		}
	})
	t.Run("OK_Post", func(t *testing.T) {
		tr := ok(t, e.Post("/oauth2/token", with("client_id", id, "client_secret", sec), nil))
		if c := e.MustVerify(tr.AccessToken, ""); c.ClientID != id {
			t.Fatalf("client_id %q", c.ClientID)
		}
	})
	t.Run("OK_BasicPercentEncoded", func(t *testing.T) {
		// RFC 6749 §2.3.1: the server URL-decodes both parts.
		ok(t, e.Post("/oauth2/token", grant, servertest.RawBasic(servertest.PercentAll(id), servertest.PercentAll(sec))))
		ok(t, e.Post("/oauth2/token", grant, servertest.RawBasic(url.QueryEscape(id), url.QueryEscape(sec))))
	})
	t.Run("OK_ScopeSubset", func(t *testing.T) {
		tr := ok(t, e.Post("/oauth2/token", with("scope", "events"), servertest.Basic(id, sec)))
		if c := e.MustVerify(tr.AccessToken, ""); c.Scope != "events" {
			t.Fatalf("scope %q", c.Scope)
		}
	})
	t.Run("OK_Audience", func(t *testing.T) {
		tr := ok(t, e.Post("/oauth2/token", with("audience", "https://api.example.com"), servertest.Basic(id, sec)))
		e.MustVerify(tr.AccessToken, "https://api.example.com")
	})
	t.Run("ErrBothMethods", func(t *testing.T) {
		servertest.WantOAuthError(t, e.Post("/oauth2/token", with("client_id", id, "client_secret", sec), servertest.Basic(id, sec)), 400, "invalid_request")
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		servertest.WantOAuthError(t, e.Post("/oauth2/token", grant, servertest.Basic(id, sec+"x")), 401, "invalid_client")
		servertest.WantOAuthError(t, e.Post("/oauth2/token", grant, servertest.Basic(id, otherSec)), 401, "invalid_client")
		servertest.WantOAuthError(t, e.Post("/oauth2/token", with("client_id", id, "client_secret", "wrong"), nil), 401, "invalid_client")
		servertest.WantOAuthError(t, e.Post("/oauth2/token", with("client_id", id), nil), 401, "invalid_client")
	})
	t.Run("ErrUnknownClient", func(t *testing.T) {
		servertest.WantOAuthError(t, e.Post("/oauth2/token", grant, servertest.Basic("cl_nosuchclient", sec)), 401, "invalid_client")
		servertest.WantOAuthError(t, e.Post("/oauth2/token", with("client_id", "cl_nosuchclient", "client_secret", sec), nil), 401, "invalid_client")
	})
	t.Run("ErrNoClient", func(t *testing.T) {
		servertest.WantOAuthError(t, e.Post("/oauth2/token", grant, nil), 401, "invalid_client")
	})
	t.Run("ErrPublicClient", func(t *testing.T) {
		servertest.WantOAuthError(t, e.Post("/oauth2/token", with("client_id", "tessera"), nil), 401, "invalid_client")
	})
	t.Run("ErrBadPercentEncoding", func(t *testing.T) {
		servertest.WantOAuthError(t, e.Post("/oauth2/token", grant, servertest.RawBasic(id, sec+"%zz")), 401, "invalid_client")
	})
	t.Run("ErrBearerAuthorization", func(t *testing.T) {
		servertest.WantOAuthError(t, e.Post("/oauth2/token", grant, map[string]string{"Authorization": "Bearer " + sec}), 401, "invalid_client")
	})
	t.Run("ErrScope", func(t *testing.T) {
		servertest.WantOAuthError(t, e.Post("/oauth2/token", with("scope", "admin"), servertest.Basic(id, sec)), 400, "invalid_scope")
		servertest.WantOAuthError(t, e.Post("/oauth2/token", with("scope", "events admin"), servertest.Basic(id, sec)), 400, "invalid_scope")
		servertest.WantOAuthError(t, e.Post("/oauth2/token", with("scope", "events"), servertest.Basic(otherID, otherSec)), 400, "invalid_scope")
	})
	t.Run("ErrUnsupportedGrantType", func(t *testing.T) {
		for _, g := range []string{"password", "authorization_code", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer", "CLIENT_CREDENTIALS"} {
			r := e.Post("/oauth2/token", url.Values{"grant_type": {g}, "username": {"ada@example.com"}, "password": {servertest.Password}}, servertest.Basic(id, sec))
			servertest.WantOAuthError(t, r, 400, "unsupported_grant_type")
		}
	})
	t.Run("ErrMissingGrantType", func(t *testing.T) {
		servertest.WantOAuthError(t, e.Post("/oauth2/token", url.Values{}, servertest.Basic(id, sec)), 400, "invalid_request")
	})
	t.Run("ErrJSONBody", func(t *testing.T) {
		r := e.Do(servertest.Request{Method: "POST", Path: "/oauth2/token", JSON: map[string]string{"grant_type": "client_credentials", "client_id": id, "client_secret": sec}})
		servertest.WantOAuthError(t, r, 400, "invalid_request")
		r = e.Do(servertest.Request{Method: "POST", Path: "/oauth2/token", Raw: grant.Encode(), Header: servertest.Basic(id, sec)})
		servertest.WantOAuthError(t, r, 400, "invalid_request")
	})
	t.Run("ErrDuplicateParameter", func(t *testing.T) {
		servertest.WantOAuthError(t, e.Post("/oauth2/token", with("grant_type", "client_credentials"), servertest.Basic(id, sec)), 400, "invalid_request")
		servertest.WantOAuthError(t, e.Post("/oauth2/token", with("scope", "events", "scope", "reports"), servertest.Basic(id, sec)), 400, "invalid_request")
		r := e.Do(servertest.Request{Method: "POST", Path: "/oauth2/token", ContentType: servertest.FormType,
			Raw: "grant_type=client_credentials&client_id=" + id + "&client_secret=" + sec + "&client_id=" + otherID})
		servertest.WantOAuthError(t, r, 400, "invalid_request")
	})
	t.Run("ErrParametersInQuery", func(t *testing.T) {
		r := e.Do(servertest.Request{Method: "POST", Path: "/oauth2/token?client_secret=" + sec, ContentType: servertest.FormType, Raw: grant.Encode(), Header: servertest.Basic(id, sec)})
		servertest.WantOAuthError(t, r, 400, "invalid_request")
	})
	t.Run("ErrOversizedBody", func(t *testing.T) {
		r := e.Do(servertest.Request{Method: "POST", Path: "/oauth2/token", ContentType: servertest.FormType, Raw: grant.Encode() + "&pad=" + strings.Repeat("a", httpx.MaxBodyBytes), Header: servertest.Basic(id, sec)})
		if r.StatusCode != 413 {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("ErrCookieOnly", func(t *testing.T) {
		// C-05: the OAuth endpoints authenticate clients, never cookies.
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		c := e.Login("ada@example.com", servertest.Password)
		same := map[string]string{"Sec-Fetch-Site": "same-origin"}
		r := e.Do(servertest.Request{Method: "POST", Path: "/oauth2/token", ContentType: servertest.FormType, Raw: grant.Encode(), Cookie: c, Header: same})
		servertest.WantOAuthError(t, r, 401, "invalid_client")
		r = e.Do(servertest.Request{Method: "POST", Path: "/oauth2/introspect", ContentType: servertest.FormType, Raw: url.Values{"token": {c}}.Encode(), Cookie: c, Header: same})
		servertest.WantOAuthError(t, r, 401, "invalid_client")
		before := len(e.Events())
		r = e.Do(servertest.Request{Method: "POST", Path: "/oauth2/revoke", ContentType: servertest.FormType, Raw: url.Values{"token": {c}}.Encode(), Cookie: c, Header: same})
		if r.StatusCode != 200 || len(e.Events()) != before || e.SessionStatus(c) != 200 {
			t.Fatalf("revoke with a cookie: %d, session %d", r.StatusCode, e.SessionStatus(c))
		}
	})
}

// TestOAuthIntrospect is R-06.
func TestOAuthIntrospect(t *testing.T) {
	e := servertest.New(t)
	u := e.MustUser("ada@example.com", servertest.Password, "viewer")
	aID, aSec := e.Client("client-a", "profile")
	bID, bSec := e.Client("client-b")
	rsID, rsSec := e.Client("resource-server", "introspect")
	otherID, otherSec := e.Client("unrelated")
	tr := e.MustTokens("ada@example.com", map[string]string{"client_id": aID, "scope": "profile"})

	t.Run("ErrNoClientAuth", func(t *testing.T) {
		r := e.Post("/oauth2/introspect", url.Values{"token": {tr.AccessToken}}, nil)
		servertest.WantOAuthError(t, r, 401, "invalid_client")
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		servertest.WantOAuthError(t, e.Introspect(aID, bSec, tr.AccessToken), 401, "invalid_client")
	})
	t.Run("ErrPublicClient", func(t *testing.T) {
		for _, r := range []*servertest.Response{
			e.Post("/oauth2/introspect", url.Values{"token": {tr.AccessToken}, "client_id": {"tessera"}}, nil),
			e.Introspect("tessera", "", tr.AccessToken),
		} {
			if r.StatusCode < 400 || r.StatusCode >= 500 || strings.Contains(string(r.Body), `"active"`) {
				t.Fatalf("%d %s", r.StatusCode, r.Body)
			}
			servertest.OAuthError(t, r, r.StatusCode)
		}
	})
	t.Run("ErrMissingToken", func(t *testing.T) {
		servertest.WantOAuthError(t, e.Post("/oauth2/introspect", url.Values{}, servertest.Basic(aID, aSec)), 400, "invalid_request")
	})
	t.Run("OK_IssuingClient", func(t *testing.T) {
		r := e.Introspect(aID, aSec, tr.AccessToken)
		m := servertest.WantActive(t, r)
		if m["iss"] != e.Issuer() || m["sub"] != u.ID || m["client_id"] != aID || m["scope"] != "profile" || m["aud"] == nil {
			t.Fatalf("%s", r.Body)
		}
		if exp, ok := m["exp"].(float64); !ok || int64(exp) != e.Clock.Now().Add(5*time.Minute).Unix() {
			t.Fatalf("exp %v", m["exp"])
		}
		if m["sid"] != tr.Session.ID || m["token_type"] != "access_token" {
			t.Fatalf("%s", r.Body)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q", r.Header.Get("Cache-Control"))
		}
		// client_secret_post works as well.
		r = e.Post("/oauth2/introspect", url.Values{"token": {tr.AccessToken}, "client_id": {aID}, "client_secret": {aSec}}, nil)
		servertest.WantActive(t, r)
	})
	t.Run("OK_ClientNamedInAudience", func(t *testing.T) {
		tok := e.MustTokens("ada@example.com", map[string]string{"audience": bID}).AccessToken
		m := servertest.WantActive(t, e.Introspect(bID, bSec, tok))
		if m["aud"] == nil || !strings.Contains(mustJSON(m["aud"]), bID) {
			t.Fatalf("aud %v", m["aud"])
		}
		servertest.WantInactive(t, e.Introspect(otherID, otherSec, tok))
	})
	t.Run("OK_IssuingClientOtherAudience", func(t *testing.T) {
		tok := e.MustTokens("ada@example.com", map[string]string{"client_id": aID, "audience": "https://api.example.com"}).AccessToken
		m := servertest.WantActive(t, e.Introspect(aID, aSec, tok))
		if m["client_id"] != aID || !strings.Contains(mustJSON(m["aud"]), "https://api.example.com") {
			t.Fatalf("%v", m)
		}
		servertest.WantInactive(t, e.Introspect(otherID, otherSec, tok))
	})
	t.Run("OK_IntrospectScope", func(t *testing.T) {
		servertest.WantActive(t, e.Introspect(rsID, rsSec, tr.AccessToken))
		// Also a token meant for another audience: a resource server may
		// introspect any token.
		tok := e.MustTokens("ada@example.com", map[string]string{"audience": "https://api.example.com"}).AccessToken
		m := servertest.WantActive(t, e.Introspect(rsID, rsSec, tok))
		if !strings.Contains(mustJSON(m["aud"]), "https://api.example.com") {
			t.Fatalf("aud %v", m["aud"])
		}
	})
	t.Run("OK_ClientCredentialsToken", func(t *testing.T) {
		r := e.Post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, servertest.Basic(bID, bSec))
		var cc servertest.TokenResp
		r.Decode(t, &cc)
		m := servertest.WantActive(t, e.Introspect(bID, bSec, cc.AccessToken))
		if m["client_id"] != bID || m["sub"] != bID {
			t.Fatalf("%v", m)
		}
		servertest.WantInactive(t, e.Introspect(otherID, otherSec, cc.AccessToken))
	})
	t.Run("InactiveToUnrelatedClient", func(t *testing.T) {
		servertest.WantInactive(t, e.Introspect(otherID, otherSec, tr.AccessToken))
		servertest.WantInactive(t, e.Introspect(bID, bSec, tr.AccessToken))
		servertest.WantInactive(t, e.Introspect(otherID, otherSec, tr.RefreshToken))
	})
	t.Run("InactiveGarbage", func(t *testing.T) {
		for _, tok := range []string{"garbage", "a.b.c", secret.New().Reveal(), tr.AccessToken + "x", strings.Repeat("A", 10000)} {
			servertest.WantInactive(t, e.Introspect(rsID, rsSec, tok))
			servertest.WantInactive(t, e.Introspect(aID, aSec, tok))
		}
	})
	t.Run("OK_RefreshToken", func(t *testing.T) {
		tr := e.MustTokens("ada@example.com", map[string]string{"client_id": aID, "scope": "profile"})
		for _, c := range [][2]string{{aID, aSec}, {rsID, rsSec}} {
			r := e.Post("/oauth2/introspect", url.Values{"token": {tr.RefreshToken}, "token_type_hint": {"refresh_token"}}, servertest.Basic(c[0], c[1]))
			m := servertest.WantActive(t, r)
			if m["token_type"] != "refresh_token" || m["client_id"] != aID || m["sub"] != u.ID || m["iss"] != e.Issuer() || m["scope"] != "profile" {
				t.Fatalf("%s", r.Body)
			}
			if _, ok := m["exp"].(float64); !ok {
				t.Fatalf("exp %v", m["exp"])
			}
			servertest.WantActive(t, e.Introspect(c[0], c[1], tr.RefreshToken)) // no hint
			servertest.WantActive(t, e.Post("/oauth2/introspect", url.Values{"token": {tr.RefreshToken}, "token_type_hint": {"access_token"}}, servertest.Basic(c[0], c[1])))
		}
		// An access token with the refresh_token hint is still found.
		servertest.WantActive(t, e.Post("/oauth2/introspect", url.Values{"token": {tr.AccessToken}, "token_type_hint": {"refresh_token"}}, servertest.Basic(aID, aSec)))
		// Once rotated, the old refresh token is no longer active.
		r := e.Refresh(tr.RefreshToken, nil, servertest.Basic(aID, aSec))
		var next servertest.TokenResp
		r.Decode(t, &next)
		servertest.WantInactive(t, e.Introspect(aID, aSec, tr.RefreshToken))
		servertest.WantActive(t, e.Introspect(aID, aSec, next.RefreshToken))
	})
	t.Run("InactiveExpired", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		rsID, rsSec := e.Client("resource-server", "introspect")
		tr := e.MustTokens("ada@example.com", nil)
		servertest.WantActive(t, e.Introspect(rsID, rsSec, tr.AccessToken))
		e.Clock.Add(5*time.Minute + accesstoken.MaxLeeway + time.Second)
		servertest.WantInactive(t, e.Introspect(rsID, rsSec, tr.AccessToken))
		servertest.WantActive(t, e.Introspect(rsID, rsSec, tr.RefreshToken))
		e.Clock.Add(24 * time.Hour)
		servertest.WantInactive(t, e.Introspect(rsID, rsSec, tr.RefreshToken))
	})
	t.Run("InactiveRevoked", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		rsID, rsSec := e.Client("resource-server", "introspect")
		tr := e.MustTokens("ada@example.com", nil)
		if r := e.Do(servertest.Request{Method: "POST", Path: "/v1/logout", Bearer: tr.AccessToken}); r.StatusCode != 204 {
			t.Fatalf("logout %d", r.StatusCode)
		}
		servertest.WantInactive(t, e.Introspect(rsID, rsSec, tr.AccessToken))
		servertest.WantInactive(t, e.Introspect(rsID, rsSec, tr.RefreshToken))
	})
	t.Run("InactiveAfterClientRemoved", func(t *testing.T) {
		e := servertest.New(t)
		cID, cSec := e.Client("gone")
		rsID, rsSec := e.Client("resource-server", "introspect")
		r := e.Post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, servertest.Basic(cID, cSec))
		var cc servertest.TokenResp
		r.Decode(t, &cc)
		servertest.WantActive(t, e.Introspect(rsID, rsSec, cc.AccessToken))
		if err := e.Svc.RemoveClient(context.Background(), cID); err != nil {
			t.Fatal(err)
		}
		servertest.WantInactive(t, e.Introspect(rsID, rsSec, cc.AccessToken))
	})
	t.Run("NoSideEffects", func(t *testing.T) {
		// Introspection is not the user's activity and changes nothing.
		before := len(e.Events())
		e.Introspect(rsID, rsSec, tr.AccessToken)
		e.Introspect(aID, aSec, tr.RefreshToken)
		if len(e.Events()) != before {
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
		e          *servertest.Env
		aID, aSec  string
		bID, bSec  string
		tesseraTok servertest.TokenResp
		aTok       servertest.TokenResp
	}
	setup := func(t *testing.T) *fixture {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		f := &fixture{e: e}
		f.aID, f.aSec = e.Client("client-a")
		f.bID, f.bSec = e.Client("client-b")
		f.tesseraTok = e.MustTokens("ada@example.com", nil)
		f.aTok = e.MustTokens("ada@example.com", map[string]string{"client_id": f.aID})
		return f
	}
	revoked := func(t *testing.T, r *servertest.Response) {
		t.Helper()
		if r.StatusCode != 200 {
			t.Fatalf("revoke: %d %s", r.StatusCode, r.Body)
		}
	}
	t.Run("OK_PublicRefreshToken", func(t *testing.T) {
		f := setup(t)
		revoked(t, f.e.Post("/oauth2/revoke", url.Values{"token": {f.tesseraTok.RefreshToken}, "client_id": {"tessera"}}, nil))
		servertest.WantOAuthError(t, f.e.RefreshFirstParty(f.tesseraTok.RefreshToken), 400, "invalid_grant")
		// Revocation ends the sign-in: its access token too.
		servertest.WantUnauthorized(t, f.e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: f.tesseraTok.AccessToken}))
		var found bool
		for _, ev := range f.e.Events() {
			if ev.Type == auth.EventSessionRevoked && ev.SessionID == f.tesseraTok.Session.ID && ev.Data["cause"] == auth.CauseTokenRevoked {
				found = true
			}
		}
		if !found {
			t.Fatal("no session.revoked event with cause token_revoked")
		}
		// The other sign-in is untouched.
		f.e.Refresh(f.aTok.RefreshToken, nil, servertest.Basic(f.aID, f.aSec))
	})
	t.Run("OK_PublicRefreshTokenNoClient", func(t *testing.T) {
		f := setup(t)
		revoked(t, f.e.Post("/oauth2/revoke", url.Values{"token": {f.tesseraTok.RefreshToken}, "token_type_hint": {"refresh_token"}}, nil))
		servertest.WantOAuthError(t, f.e.RefreshFirstParty(f.tesseraTok.RefreshToken), 400, "invalid_grant")
	})
	t.Run("OK_ConfidentialRefreshToken", func(t *testing.T) {
		f := setup(t)
		revoked(t, f.e.Post("/oauth2/revoke", url.Values{"token": {f.aTok.RefreshToken}}, servertest.Basic(f.aID, f.aSec)))
		servertest.WantOAuthError(t, f.e.Refresh(f.aTok.RefreshToken, nil, servertest.Basic(f.aID, f.aSec)), 400, "invalid_grant")
		if f.e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: f.tesseraTok.AccessToken}).StatusCode != 200 {
			t.Fatal("revoking client A's token ended another sign-in")
		}
	})
	t.Run("OK_AccessToken", func(t *testing.T) {
		f := setup(t)
		revoked(t, f.e.Post("/oauth2/revoke", url.Values{"token": {f.aTok.AccessToken}, "token_type_hint": {"access_token"}}, servertest.Basic(f.aID, f.aSec)))
		servertest.WantUnauthorized(t, f.e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: f.aTok.AccessToken}))
		servertest.WantOAuthError(t, f.e.Refresh(f.aTok.RefreshToken, nil, servertest.Basic(f.aID, f.aSec)), 400, "invalid_grant")
	})
	t.Run("OK_AccessTokenOtherAudience", func(t *testing.T) {
		f := setup(t)
		tr := f.e.MustTokens("ada@example.com", map[string]string{"client_id": f.aID, "audience": "https://api.example.com"})
		revoked(t, f.e.Post("/oauth2/revoke", url.Values{"token": {tr.AccessToken}}, servertest.Basic(f.aID, f.aSec)))
		servertest.WantOAuthError(t, f.e.Refresh(tr.RefreshToken, nil, servertest.Basic(f.aID, f.aSec)), 400, "invalid_grant")
	})
	t.Run("OK_UnknownToken", func(t *testing.T) {
		f := setup(t)
		before := len(f.e.Events())
		for _, tok := range []string{secret.New().Reveal(), "garbage", "a.b.c"} {
			revoked(t, f.e.Post("/oauth2/revoke", url.Values{"token": {tok}}, servertest.Basic(f.aID, f.aSec)))
			revoked(t, f.e.Post("/oauth2/revoke", url.Values{"token": {tok}, "client_id": {"tessera"}}, nil))
		}
		if len(f.e.Events()) != before {
			t.Fatal("revoking unknown tokens appended events")
		}
	})
	t.Run("OK_OtherClientsTokenStillWorks", func(t *testing.T) {
		f := setup(t)
		before := len(f.e.Events())
		revoked(t, f.e.Post("/oauth2/revoke", url.Values{"token": {f.aTok.RefreshToken}}, servertest.Basic(f.bID, f.bSec)))
		revoked(t, f.e.Post("/oauth2/revoke", url.Values{"token": {f.aTok.AccessToken}}, servertest.Basic(f.bID, f.bSec)))
		revoked(t, f.e.Post("/oauth2/revoke", url.Values{"token": {f.tesseraTok.RefreshToken}}, servertest.Basic(f.aID, f.aSec)))
		if len(f.e.Events()) != before {
			t.Fatal("revoking another client's token appended events")
		}
		rt, err := f.e.DB.RefreshTokenByHash(ctx, servertest.HashOf(t, f.aTok.RefreshToken))
		if err != nil || !rt.RotatedAt.IsZero() {
			t.Fatalf("%+v %v", rt, err)
		}
		if r := f.e.Refresh(f.aTok.RefreshToken, nil, servertest.Basic(f.aID, f.aSec)); r.StatusCode != 200 {
			t.Fatalf("A's token after B revoked it: %d %s", r.StatusCode, r.Body)
		}
		f.e.MustRefresh(f.tesseraTok.RefreshToken)
	})
	t.Run("ErrNoAuthForConfidentialToken", func(t *testing.T) {
		f := setup(t)
		before := len(f.e.Events())
		servertest.WantOAuthError(t, f.e.Post("/oauth2/revoke", url.Values{"token": {f.aTok.RefreshToken}}, nil), 401, "invalid_client")
		servertest.WantOAuthError(t, f.e.Post("/oauth2/revoke", url.Values{"token": {f.aTok.RefreshToken}, "client_id": {f.aID}}, nil), 401, "invalid_client")
		// The public client is not a way around authentication.
		servertest.WantOAuthError(t, f.e.Post("/oauth2/revoke", url.Values{"token": {f.aTok.RefreshToken}, "client_id": {"tessera"}}, nil), 401, "invalid_client")
		servertest.WantOAuthError(t, f.e.Post("/oauth2/revoke", url.Values{"token": {f.aTok.AccessToken}}, nil), 401, "invalid_client")
		servertest.WantOAuthError(t, f.e.Post("/oauth2/revoke", url.Values{"token": {f.aTok.RefreshToken}}, servertest.Basic(f.aID, "wrong")), 401, "invalid_client")
		if len(f.e.Events()) != before {
			t.Fatal("an unauthenticated revocation appended events")
		}
		if r := f.e.Refresh(f.aTok.RefreshToken, nil, servertest.Basic(f.aID, f.aSec)); r.StatusCode != 200 {
			t.Fatalf("token after refused revocation: %d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("ErrMissingToken", func(t *testing.T) {
		f := setup(t)
		servertest.WantOAuthError(t, f.e.Post("/oauth2/revoke", url.Values{}, servertest.Basic(f.aID, f.aSec)), 400, "invalid_request")
	})
}

func TestJWKS(t *testing.T) {
	e := servertest.New(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(e.Srv.URL + "/.well-known/jwks.json")
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
	e.MustUser("ada@example.com", servertest.Password)
	h, _ := servertest.JWTParts(t, e.MustTokens("ada@example.com", nil).AccessToken)
	if !slices.ContainsFunc(set["keys"], func(k map[string]any) bool { return k["kid"] == h["kid"] && k["alg"] == h["alg"] }) {
		t.Fatalf("no JWK with the token's kid and alg %v", h)
	}
}

func TestMetadata(t *testing.T) {
	e := servertest.New(t)
	iss := e.Issuer()
	var docs []map[string]any
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		t.Run(strings.TrimPrefix(path, "/.well-known/"), func(t *testing.T) {
			r := e.Do(servertest.Request{Method: "GET", Path: path})
			if r.StatusCode != 200 || r.Request.URL.Path != path {
				t.Fatalf("%d (after redirects: %s)", r.StatusCode, r.Request.URL.Path)
			}
			var m map[string]any
			r.Decode(t, &m)
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
			if got := e.Do(servertest.Request{Method: "GET", Path: u.Path}).StatusCode; got != 200 {
				t.Fatalf("jwks_uri: %d", got)
			}
		})
	}
	if len(docs) == 2 && mustJSON(docs[0]) != mustJSON(docs[1]) {
		t.Fatalf("the two metadata documents differ:\n%v\n%v", docs[0], docs[1])
	}
	// The issuer string is the same in tokens.
	e.MustUser("ada@example.com", servertest.Password)
	if _, c := servertest.JWTParts(t, e.MustTokens("ada@example.com", nil).AccessToken); c["iss"] != iss {
		t.Fatalf("token iss %v, metadata issuer %q", c["iss"], iss)
	}
}
