//go:build linux

// Package crash kills the real server with SIGKILL in the middle of logins,
// refreshes and revocations, restarts it on the same data, and checks that
// everything it acknowledged is still there: every session it answered 200
// for, every refresh-token rotation (the old token, presented again, is
// refused and ends the session as reuse), and every logout and revocation
// (the session and all its tokens are refused). What it did not acknowledge
// (the request was in flight at the kill) may have happened or not, but
// consistently: a session is either fully valid or fully revoked.
package crash

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/e2e/e2etest"
)

var bin string

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m, &bin)) }

func TestCrashSQLite(t *testing.T) { crashRounds(t, e2etest.SQLite(t)) }

func TestCrashPostgres(t *testing.T) { crashRounds(t, e2etest.Postgres(t)) }

const (
	password = "correct-horse-battery"
	workers  = 4
)

// serverArgs: no refresh grace, so that any rotated token presented again is
// reuse; long-lived access tokens, so that the test's own duration never
// expires one; a fixed issuer, since the default one names the port, which
// changes at every restart (and tokens of another issuer are refused).
var serverArgs = []string{"--refresh-grace", "0s", "--access-ttl", "1h", "--issuer", "https://auth.crash.test"}

// record is one sign-in as the client saw it.
type record struct {
	mode    string   // "session" (a cookie) or "token" (access and refresh tokens)
	user    string   // email
	sid     string   // the session's ID
	secret  string   // mode session: the cookie's value
	at      string   // mode token: the latest access token received
	rts     []string // mode token: every refresh token received, oldest first
	revoked bool     // a logout or revocation was acknowledged
	// unsure: a refresh, logout or revocation was sent but not acknowledged
	// (the server died under it). Either outcome is allowed.
	unsure bool
}

func (r *record) String() string {
	return fmt.Sprintf("%s session %s of %s (revoked %v, unsure %v, %d refresh tokens)", r.mode, r.sid, r.user, r.revoked, r.unsure, len(r.rts))
}

func crashRounds(t *testing.T, st *e2etest.Store) {
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	var users []string
	for i := range workers {
		u := fmt.Sprintf("user%d@example.com", i)
		st.AddUser(t, bin, u, password)
		users = append(users, u)
	}
	var ledger []*record
	srv := e2etest.Start(t, bin, st, nil, serverArgs...)
	for round := 1; round <= rounds; round++ {
		c := e2etest.NewClient(srv.URL, workers)
		// Each worker owns the live records whose index it is given, and
		// appends the sign-ins it makes; no two touch the same record.
		owned := make([][]*record, workers)
		for i, r := range ledger {
			if !r.revoked && !r.unsure {
				owned[i%workers] = append(owned[i%workers], r)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var acks atomic.Int64
		created := make([][]*record, workers)
		for w := range workers {
			wg.Go(func() {
				created[w] = work(ctx, t, c, users[w], owned[w], &acks)
			})
		}
		d := time.Duration(300+rand.IntN(1200)) * time.Millisecond
		time.Sleep(d)
		srv.Kill()
		cancel()
		wg.Wait()
		c.Close()
		for _, recs := range created {
			ledger = append(ledger, recs...)
		}
		if t.Failed() {
			t.Fatalf("round %d: errors before the kill; server log:\n%s", round, srv.Logs())
		}

		srv = e2etest.Start(t, bin, st, nil, serverArgs...)
		c = e2etest.NewClient(srv.URL, 1)
		unsure := 0
		for _, r := range ledger {
			if r.unsure {
				unsure++
			}
			verify(t, c, r)
		}
		c.Close()
		live := 0
		for _, r := range ledger {
			if !r.revoked {
				live++
			}
		}
		t.Logf("round %d: killed after %v with %d acknowledged writes; %d sign-ins checked after the restart (%d unsure, %d live now)",
			round, d, acks.Load(), len(ledger), unsure, live)
		if t.Failed() {
			t.Fatalf("round %d: server log after the restart:\n%s", round, srv.Logs())
		}
	}
	srv.Kill()
}

// work signs in, refreshes, checks and revokes as fast as it can until ctx
// ends or the server stops answering, and returns the sign-ins it made.
// Requests answered with anything but their success status are errors: the
// server is alive while ctx is.
func work(ctx context.Context, t *testing.T, c *e2etest.Client, user string, own []*record, acks *atomic.Int64) []*record {
	var created []*record
	live := func() *record {
		var cand []*record
		for _, r := range own {
			if !r.revoked && !r.unsure {
				cand = append(cand, r)
			}
		}
		if len(cand) == 0 {
			return nil
		}
		return cand[rand.IntN(len(cand))]
	}
	unexpected := func(what string, r *record, resp *e2etest.Response) {
		if ctx.Err() == nil {
			t.Errorf("%s (%v): status %d: %s", what, r, resp.Status, resp.Body)
		}
	}
	for ctx.Err() == nil {
		op := rand.IntN(100)
		r := live()
		switch {
		case op < 30 || r == nil:
			mode := "session"
			if op%2 == 0 {
				mode = "token"
			}
			l, resp, err := c.Login(ctx, user, password, mode)
			if err != nil {
				return created // the server is gone: nothing acknowledged
			}
			if l == nil {
				unexpected("login", nil, resp)
				return created
			}
			rec := &record{mode: mode, user: user, sid: l.SID, secret: l.Secret, at: l.AccessToken}
			if mode == "token" {
				rec.rts = []string{l.RefreshToken}
			}
			created = append(created, rec)
			own = append(own, rec)
			acks.Add(1)
		case op < 60 && r.mode == "token":
			resp, at, rt, err := c.Refresh(ctx, r.rts[len(r.rts)-1])
			if err != nil && resp == nil {
				r.unsure = true
				return created
			}
			if resp.Status != 200 || err != nil {
				unexpected("refresh", r, resp)
				return created
			}
			r.at, r.rts = at, append(r.rts, rt)
			acks.Add(1)
		case op < 80:
			hdr := e2etest.CookieHeader(r.secret)
			if r.mode == "token" {
				hdr = e2etest.BearerHeader(r.at)
			}
			status, sid, err := c.Session(ctx, hdr)
			if err != nil {
				return created
			}
			if status != 200 || sid != r.sid {
				unexpected("session check", r, &e2etest.Response{Status: status})
				return created
			}
		default:
			var resp *e2etest.Response
			var err error
			want := 204
			switch {
			case r.mode == "session":
				resp, err = c.Logout(ctx, e2etest.CookieHeader(r.secret))
			case op%2 == 0:
				resp, err = c.Revoke(ctx, r.rts[len(r.rts)-1])
				want = 200
			default:
				resp, err = c.RevokeSession(ctx, r.sid, e2etest.BearerHeader(r.at))
			}
			if err != nil {
				r.unsure = true
				return created
			}
			if resp.Status != want {
				unexpected("revocation", r, resp)
				return created
			}
			r.revoked = true
			acks.Add(1)
		}
	}
	return created
}

// verify checks one record against the restarted server, and brings it up
// to date: an unsure record is resolved one way or the other (and checked
// to be consistent), and a live one may be tested destructively by
// replaying a rotated refresh token.
func verify(t *testing.T, c *e2etest.Client, r *record) {
	t.Helper()
	ctx := context.Background()
	check := func(what string, got int, err error, want ...int) bool {
		t.Helper()
		if err != nil {
			t.Errorf("%v: %s: %v", r, what, err)
			return false
		}
		for _, w := range want {
			if got == w {
				return true
			}
		}
		t.Errorf("%v: %s: status %d, want %v", r, what, got, want)
		return false
	}
	sessionStatus := func() (int, error) {
		hdr := e2etest.CookieHeader(r.secret)
		if r.mode == "token" {
			hdr = e2etest.BearerHeader(r.at)
		}
		status, sid, err := c.Session(ctx, hdr)
		if err == nil && status == 200 && sid != r.sid {
			t.Errorf("%v: the credential opened session %s", r, sid)
		}
		return status, err
	}
	refresh := func(rt string) (int, error) {
		resp, at, next, err := c.Refresh(ctx, rt)
		if err != nil {
			return 0, err
		}
		if resp.Status == 200 {
			r.at, r.rts = at, append(r.rts, next)
		}
		return resp.Status, nil
	}
	// allRefused checks that the session and every token of it is refused.
	allRefused := func() {
		t.Helper()
		status, err := sessionStatus()
		check("credential of a revoked session", status, err, 401)
		if r.mode == "token" {
			for i := len(r.rts) - 1; i >= 0 && i >= len(r.rts)-3; i-- {
				status, err := refresh(r.rts[i])
				check(fmt.Sprintf("refresh token %d of %d of a revoked session", i+1, len(r.rts)), status, err, 400)
			}
		}
	}

	switch {
	case r.unsure && r.mode == "session":
		// A logout in flight: done or not, but if the cookie still works,
		// a logout now must end it.
		status, err := sessionStatus()
		if check("cookie after an unacknowledged logout", status, err, 200, 401) && status == 200 {
			resp, err := c.Logout(ctx, e2etest.CookieHeader(r.secret))
			if err == nil {
				check("logout", resp.Status, nil, 204)
			}
		}
		r.unsure, r.revoked = false, true
		allRefused()
	case r.unsure:
		// A refresh or revocation in flight. If it happened, the current
		// refresh token is rotated or revoked and presenting it now is
		// refused (and, if rotated, ends the session as reuse); if not, it
		// works. Either way the session must then agree with it.
		status, err := refresh(r.rts[len(r.rts)-1])
		if !check("refresh after an unacknowledged refresh or revocation", status, err, 200, 400) {
			return
		}
		r.unsure = false
		if status == 400 {
			r.revoked = true
			allRefused()
			return
		}
		status, err = sessionStatus()
		check("access token from the refresh", status, err, 200)
	case r.revoked:
		allRefused()
	case r.mode == "session":
		status, err := sessionStatus()
		check("cookie of an acknowledged session", status, err, 200)
	default:
		status, err := sessionStatus()
		check("access token of an acknowledged session", status, err, 200)
		if len(r.rts) >= 2 && rand.IntN(2) == 0 {
			// The previous refresh token was rotated with an acknowledgement:
			// presenting it again is reuse, which ends the session.
			status, err := refresh(r.rts[len(r.rts)-2])
			check("a rotated refresh token", status, err, 400)
			r.revoked = true
			allRefused()
			return
		}
		status, err = refresh(r.rts[len(r.rts)-1])
		check("the latest refresh token of an acknowledged session", status, err, 200)
	}
}
