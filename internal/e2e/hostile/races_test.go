//go:build linux

package hostile

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/e2e/e2etest"
)

// shared is one session that several clients use at once, like the tabs of
// a browser or the instances of an app that copied one sign-in.
type shared struct {
	mode   string // "token" or "session"
	sid    string
	secret string // mode session

	mu     sync.Mutex
	ats    []string // every access token any client received
	rts    []string // every refresh token any client received
	latest string   // the refresh token received last
}

func (s *shared) add(at, rt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ats = append(s.ats, at)
	s.rts = append(s.rts, rt)
	s.latest = rt
}

// TestRaces: many clients refresh, check, log out and revoke the same
// sessions at once, with the default refresh grace (5 s: a retried refresh
// gets the same successor) and clients that sometimes keep a stale refresh
// token (which the server must take for theft). No answer is a 5xx or
// outside the endpoint's contract, and at the end every session is either
// fully valid (every access token accepted, exactly one refresh token
// active, the head of its chain, which refreshes) or fully revoked (every access token
// refused, no refresh token active or usable).
func TestRaces(t *testing.T) {
	t.Parallel()
	d := 10 * time.Second
	if testing.Short() {
		d = 3 * time.Second
	}
	st := e2etest.SQLite(t)
	users := []string{"u0@example.com", "u1@example.com", "u2@example.com"}
	for _, u := range users {
		st.AddUser(t, bin, u, userPassword)
	}
	rsID, rsSecret := st.AddClient(t, bin, "resource-server", "introspect")
	srv := e2etest.Start(t, bin, st, nil, "--access-ttl", "1h")
	ctx := context.Background()
	c := e2etest.NewClient(srv.URL, 64)
	defer c.Close()

	var sessions []*shared
	for i := range 36 {
		mode := "token"
		if i%3 == 2 {
			mode = "session"
		}
		// The sessions of u0 are never revoked by their clients (see
		// below); those of u1 and u2 are, also all at once (DELETE
		// /v1/sessions), which races with everything else on them.
		user := users[0]
		if i%2 == 1 {
			user = users[1+(i/2)%2]
		}
		l, r, err := c.Login(ctx, user, userPassword, mode)
		if err != nil || l == nil {
			t.Fatalf("login: %v %+v", err, r)
		}
		s := &shared{mode: mode, sid: l.SID, secret: l.Secret}
		if mode == "token" {
			s.add(l.AccessToken, l.RefreshToken)
		}
		sessions = append(sessions, s)
	}

	rctx, stop := context.WithTimeout(ctx, d)
	defer stop()
	var wg sync.WaitGroup
	for i, s := range sessions {
		// 1 to 4 clients per session; every other session's clients only
		// refresh and check, never log out or revoke, so that some
		// sessions can survive to the end.
		revokers := i%2 == 1
		for range 1 + (i/2)%4 {
			wg.Go(func() { raceClient(rctx, t, c, s, revokers) })
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// The end state.
	introspect := func(tok string) bool {
		form := url.Values{"token": {tok}}
		r, err := c.Do(ctx, "POST", "/oauth2/introspect", "application/x-www-form-urlencoded", []byte(form.Encode()),
			map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(rsID)+":"+url.QueryEscape(rsSecret)))})
		if err != nil || r.Status != 200 {
			t.Fatalf("introspect: %v %+v", err, r)
		}
		var v struct {
			Active bool `json:"active"`
		}
		json.Unmarshal(r.Body, &v)
		return v.Active
	}
	valid, revoked := 0, 0
	for _, s := range sessions {
		if s.mode == "session" {
			status, _, err := c.Session(ctx, e2etest.CookieHeader(s.secret))
			if err != nil || !oneOf(status, 200, 401) {
				t.Errorf("session %s: cookie: %d %v", s.sid, status, err)
			}
			if status == 200 {
				valid++
			} else {
				revoked++
			}
			continue
		}
		accepted, refused := 0, 0
		for _, at := range s.ats {
			status, sid, err := c.Session(ctx, e2etest.BearerHeader(at))
			switch {
			case err != nil:
				t.Fatal(err)
			case status == 200 && sid == s.sid:
				accepted++
			case status == 401:
				refused++
			default:
				t.Errorf("session %s: access token: status %d, session %q", s.sid, status, sid)
			}
		}
		var active []string
		seen := map[string]bool{} // a retry inside the grace window gets the same successor again
		for _, rt := range s.rts {
			if !seen[rt] && introspect(rt) {
				active = append(active, rt)
			}
			seen[rt] = true
		}
		state := fmt.Sprintf("session %s: %d of %d access tokens accepted, %d of %d refresh tokens active", s.sid, accepted, len(s.ats), len(active), len(s.rts))
		switch {
		case accepted > 0 && refused > 0:
			t.Errorf("%s: half valid, half revoked", state)
		case accepted > 0:
			valid++
			if len(active) != 1 {
				t.Errorf("%s: a valid session must have exactly one active refresh token, the head of its chain", state)
				continue
			}
			if r, _, _, err := c.Refresh(ctx, active[0]); err != nil || r.Status != 200 {
				t.Errorf("%s: its active refresh token does not refresh: %v %+v", state, err, r)
			}
		default:
			revoked++
			if len(active) != 0 {
				t.Errorf("%s: a revoked session has active refresh tokens", state)
			}
			if r, _, _, err := c.Refresh(ctx, s.latest); err != nil || r.Status != 400 {
				t.Errorf("%s: its newest refresh token still refreshes: %v %+v", state, err, r)
			}
		}
	}
	t.Logf("%v of racing on %d sessions: %d valid, %d revoked at the end", d, len(sessions), valid, revoked)
}

// raceClient is one client of s until ctx ends: it refreshes with the
// refresh token it holds (after a refusal it either takes the newest one the
// others got, as tabs sharing storage would, or keeps its stale one, as a
// copied sign-in would), checks its session, and, if revokes, now and then
// logs out or revokes.
//
// ctx only says when to stop: requests run to completion, so that every
// token the server issues reaches the client (a refresh cut off after the
// server rotated would leave a head that no client holds).
func raceClient(stop context.Context, t *testing.T, c *e2etest.Client, s *shared, revokes bool) {
	ctx := context.Background()
	s.mu.Lock()
	rt, at := s.latest, ""
	if len(s.ats) > 0 {
		at = s.ats[len(s.ats)-1]
	}
	s.mu.Unlock()
	cred := e2etest.CookieHeader(s.secret)
	if s.mode == "token" {
		cred = e2etest.BearerHeader(at)
	}
	bad := func(what string, r *e2etest.Response) {
		t.Errorf("%s session %s: %s: status %d: %s", s.mode, s.sid, what, r.Status, r.Body)
	}
	for stop.Err() == nil {
		op := rand.IntN(100)
		if !revokes {
			op = rand.IntN(85)
		}
		var r *e2etest.Response
		var err error
		switch {
		case s.mode == "token" && op < 55:
			var nat, nrt string
			r, nat, nrt, err = c.Refresh(ctx, rt)
			if err != nil {
				break
			}
			switch r.Status {
			case 200:
				s.add(nat, nrt)
				rt, at = nrt, nat
				cred = e2etest.BearerHeader(at)
			case 400:
				if rand.IntN(2) == 0 {
					s.mu.Lock()
					rt = s.latest
					s.mu.Unlock()
				}
			default:
				bad("refresh", r)
			}
		case op < 85:
			r, err = c.Do(ctx, "GET", "/v1/session", "", nil, cred)
			if err == nil && !oneOf(r.Status, 200, 401) {
				bad("session check", r)
			}
		case op < 90:
			r, err = c.Logout(ctx, cred)
			if err == nil && r.Status != 204 {
				bad("logout", r)
			}
		case op < 95 && s.mode == "token":
			r, err = c.Revoke(ctx, rt)
			if err == nil && r.Status != 200 {
				bad("revoke", r)
			}
		case op < 99:
			// 404: another client ended the session between this request's
			// authentication and its revocation.
			r, err = c.RevokeSession(ctx, s.sid, cred)
			if err == nil && !oneOf(r.Status, 204, 401, 404) {
				bad("DELETE /v1/sessions/{sid}", r)
			}
		default:
			r, err = c.Do(ctx, "DELETE", "/v1/sessions", "", nil, cred)
			if err == nil && !oneOf(r.Status, 200, 401) {
				bad("DELETE /v1/sessions", r)
			}
		}
		if err != nil {
			t.Errorf("%s session %s: %v", s.mode, s.sid, err)
			return
		}
	}
}
