package node_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/syncbuf"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/internal/clock"
	"github.com/tessera-auth/tessera/node"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/store/sqlite"
)

var cheap = password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tessera.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // the node closed it already, normally
	return st
}

func kek() []byte { return bytes.Repeat([]byte{7}, 32) }

// TestPurgeUsesTheNodesClock: the sessions the purge deletes are those that
// ended by the node's clock, not by the wall clock. The clock is years
// ahead of the wall clock in one run and years behind in the other, so a
// purge on the wall clock deletes nothing in the first and everything in
// the second.
func TestPurgeUsesTheNodesClock(t *testing.T) {
	for name, t0 := range map[string]time.Time{"Ahead": clock.Ahead, "Behind": clock.Behind} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t)
			clk := clock.NewFake(t0.Add(-72 * time.Hour))
			acfg := auth.Config{IdleTimeout: 24 * time.Hour, AbsoluteTimeout: 720 * time.Hour, TouchInterval: time.Minute, Now: clk.Now}
			hasher := password.NewHasher(cheap, 0, 0)
			svc := auth.NewService(st, hasher, acfg)
			if _, err := svc.CreateUser(ctx, auth.NewUser{Email: "ada@example.com", Password: "correct-horse-42"}); err != nil {
				t.Fatal(err)
			}
			login := func() string {
				t.Helper()
				l, err := svc.Login(ctx, auth.LoginRequest{Email: "ada@example.com", Password: "correct-horse-42", Client: auth.Client{IP: "127.0.0.1"}})
				if err != nil {
					t.Fatal(err)
				}
				return l.Session.ID
			}
			idle := login() // unused for 72h by the time the node starts: past 24h idle
			clk.Set(t0.Add(-time.Minute))
			fresh := login()
			clk.Set(t0)

			var logs syncbuf.Buffer
			n := node.New(st, kek(), node.Config{
				Addr:       "127.0.0.1:0",
				EventsPoll: 50 * time.Millisecond,
				Auth:       acfg,
				Hasher:     hasher,
				Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
				Now:        clk.Now,
			})
			defer n.Close()
			if err := n.Run(ctx); err != nil {
				t.Fatal(err)
			}
			// The purge runs once at start.
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, err := st.SessionByID(ctx, idle)
				if errors.Is(err, auth.ErrNotFound) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if time.Now().After(deadline) {
					t.Fatalf("the session idle for 72h by the node's clock was not purged; logs:\n%s", logs.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if _, err := st.SessionByID(ctx, fresh); err != nil {
				t.Fatalf("the session used a minute ago by the node's clock was purged: %v", err)
			}
			if !strings.Contains(logs.String(), "deleted old sessions") {
				t.Errorf("no log line for the purge:\n%s", logs.String())
			}
		})
	}
}

// TestRun: with no issuer given, the node names the address it bound
// (port 0 gives the real port), serves, trusts its cache with a store that
// sends no notifications, and Close stops it and closes the store, once.
func TestRun(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	var logs syncbuf.Buffer
	var settingsIssuer string
	n := node.New(st, kek(), node.Config{
		Addr:        "127.0.0.1:0",
		EventsPoll:  50 * time.Millisecond,
		Hasher:      password.NewHasher(cheap, 0, 0),
		Logger:      slog.New(slog.NewTextHandler(&logs, nil)),
		LogSettings: func(issuer string) []any { settingsIssuer = issuer; return []any{"issuer", issuer} },
	})
	defer n.Close()
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want := "http://" + n.Addr().String()
	if tc := n.Auth.Config().Tokens; tc.Issuer != want || tc.Audience != want {
		t.Errorf("issuer %q, audience %q; want both %q", tc.Issuer, tc.Audience, want)
	}
	if settingsIssuer != want {
		t.Errorf("LogSettings got issuer %q, want %q", settingsIssuer, want)
	}
	if l := logs.String(); !strings.Contains(l, "msg=configuration issuer="+want) || !strings.Contains(l, "listening on "+want) {
		t.Errorf("logs lack the configuration and listening lines:\n%s", l)
	}
	if !n.CacheTrusted() {
		t.Error("the cache is not trusted with SQLite")
	}
	resp, err := http.Get(want + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %s", resp.Status)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if _, err := http.Get(want + "/healthz"); err == nil {
		t.Error("the server still answers after Close")
	}
	if _, err := st.LastEventSeq(ctx); err == nil {
		t.Error("the store is still open after Close")
	}
}

func TestDefaultIssuer(t *testing.T) {
	for _, tc := range []struct {
		addr  string
		https bool
		want  string
	}{
		{"127.0.0.1:8080", false, "http://127.0.0.1:8080"},
		{"0.0.0.0:9000", false, "http://127.0.0.1:9000"},
		{"[::]:9000", true, "https://127.0.0.1:9000"},
		{":9000", false, "http://127.0.0.1:9000"},
		{"[::1]:9000", false, "http://[::1]:9000"},
		{"[::ffff:0.0.0.0]:44321", false, "http://127.0.0.1:44321"},
		{"auth.internal:443", true, "https://auth.internal:443"},
	} {
		if got := node.DefaultIssuer(tc.addr, tc.https); got != tc.want {
			t.Errorf("DefaultIssuer(%q, %v) = %q, want %q", tc.addr, tc.https, got, tc.want)
		}
	}
}
