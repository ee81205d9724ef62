//go:build linux

package load

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/internal/e2e/e2etest"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/store/sqlite"
)

var (
	million  = flag.Bool("million", false, "run TestMillionSessions (minutes; writes about a gigabyte to the temporary folder)")
	sessions = flag.Int("sessions", 1_000_000, "sessions stored by TestMillionSessions")
)

// TestMillionSessions stores a million sessions (each with the
// login.succeeded event a real sign-in appends) through the SQLite store,
// one transaction each as sign-ins make them, then starts the server on that
// data and reports the size on disk and the server's RSS: idle, and after
// checking 100 000 distinct sessions (which fills the default session cache).
//
//	go test ./internal/e2e/load -run TestMillionSessions -million -v -timeout 60m
func TestMillionSessions(t *testing.T) {
	if !*million {
		t.Skip("opt-in: -million (see the doc comment)")
	}
	n := *sessions
	st := e2etest.SQLite(t)
	ctx := context.Background()
	if err := os.MkdirAll(st.Data, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(st.Data, "tessera.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}

	// 1000 users sharing one real argon2id hash: sessions are the subject.
	phc, err := password.NewHasher(password.OWASP, 1, 1).Hash(ctx, userPassword)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	const users = 1000
	userIDs := make([]string, users)
	for i := range users {
		u := &auth.User{ID: fmt.Sprintf("01900000-0000-7000-8000-%012d", i), Email: fmt.Sprintf("user%d@example.com", i),
			PasswordHash: phc, Roles: []string{}, CreatedAt: now, UpdatedAt: now}
		if err := db.CreateUser(ctx, u, auth.Event{Type: auth.EventUserCreated, At: now, UserID: u.ID}); err != nil {
			t.Fatal(err)
		}
		userIDs[i] = u.ID
	}

	// The sessions, with a browser's user agent like real ones. The secrets
	// of the last 100 000 are kept for the checks.
	const ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	keep := min(n, 100_000)
	secrets := make([]string, keep)
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	var fillErr atomic.Value
	for range 4 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || fillErr.Load() != nil {
					return
				}
				tok := secret.New()
				at := now.Add(time.Duration(i-n) * time.Millisecond)
				ip := fmt.Sprintf("198.51.%d.%d", i/256%256, i%256)
				s := &auth.Session{ID: secret.RandomID(16), SecretHash: tok.Hash(), UserID: userIDs[i%users],
					CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(30 * 24 * time.Hour),
					CreatedIP: ip, CreatedUA: ua, LastIP: ip, LastUA: ua}
				ev := auth.Event{Type: auth.EventLoginSucceeded, At: at, UserID: s.UserID, SessionID: s.ID, Data: map[string]string{"ip": ip}}
				if err := db.CreateSession(ctx, s, ev); err != nil {
					fillErr.Store(err)
					return
				}
				if j := i - (n - keep); j >= 0 {
					secrets[j] = tok.Reveal()
				}
				if i > 0 && i%100_000 == 0 {
					t.Logf("%d sessions stored in %v", i, time.Since(start).Round(time.Second))
				}
			}
		})
	}
	wg.Wait()
	if err := fillErr.Load(); err != nil {
		t.Fatal(err)
	}
	fill := time.Since(start)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	size := func() string {
		var total int64
		var parts []string
		for _, f := range []string{"tessera.db", "tessera.db-wal", "tessera.db-shm"} {
			if fi, err := os.Stat(filepath.Join(st.Data, f)); err == nil {
				total += fi.Size()
				parts = append(parts, fmt.Sprintf("%s %s", f, e2etest.MiB(fi.Size())))
			}
		}
		return fmt.Sprintf("%s (%v)", e2etest.MiB(total), parts)
	}
	t.Logf("%d sessions and %d events stored in %v (%.0f/s); on disk: %s", n, n+users, fill.Round(time.Second), float64(n)/fill.Seconds(), size())

	srv := e2etest.Start(t, bin, st, nil)
	time.Sleep(3 * time.Second)
	idle, _ := srv.RSS()
	t.Logf("server RSS idle on %d sessions: %s", n, e2etest.MiB(idle))

	c := e2etest.NewClient(srv.URL, 8)
	defer c.Close()
	checkAll := func() (time.Duration, int64) {
		var next atomic.Int64
		var bad atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= len(secrets) {
						return
					}
					if status, _, err := c.Session(ctx, e2etest.CookieHeader(secrets[i])); err != nil || status != 200 {
						bad.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start), bad.Load()
	}
	d1, bad1 := checkAll()
	rss1, _ := srv.RSS()
	d2, bad2 := checkAll()
	rss2, _ := srv.RSS()
	t.Logf("checked %d distinct sessions: from the store in %v (%.0f/s), RSS %s; again, from the cache, in %v (%.0f/s), RSS %s",
		len(secrets), d1.Round(time.Millisecond), float64(len(secrets))/d1.Seconds(), e2etest.MiB(rss1),
		d2.Round(time.Millisecond), float64(len(secrets))/d2.Seconds(), e2etest.MiB(rss2))
	if bad1+bad2 > 0 {
		t.Errorf("%d session checks failed", bad1+bad2)
	}
	srv.Stop()
	t.Logf("on disk after the server ran (and checkpointed): %s", size())
}
