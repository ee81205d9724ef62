package auth_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/store/sqlite"
)

// Two nodes on one database, neither following the events log: a session
// revoked on B must not be refreshed on A, even with A's cache warm. The
// refresh reads the session from the store, not from a cache that another
// node's notification may not have reached yet.
func TestRefreshIgnoresStaleCache(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	kek := make([]byte, 32)
	rand.Read(kek)
	node := func() *auth.Service {
		db, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		svc := auth.NewService(db, password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 0),
			auth.Config{Tokens: auth.TokenConfig{Issuer: "https://auth.example", KEK: kek}})
		if err := svc.LoadKeys(ctx); err != nil {
			t.Fatal(err)
		}
		return svc
	}
	a, b := node(), node()
	if _, err := a.CreateUser(ctx, auth.NewUser{Email: "ada@example.com", Password: "correct-horse-42"}); err != nil {
		t.Fatal(err)
	}
	l, err := a.Login(ctx, auth.LoginRequest{Email: "ada@example.com", Password: "correct-horse-42"})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := a.IssueTokens(ctx, l, auth.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AuthenticateID(ctx, l.Session.ID, auth.Client{}); err != nil { // warm A's cache
		t.Fatal(err)
	}
	if err := b.RevokeSession(ctx, l.User.ID, l.Session.ID, auth.CauseAdmin); err != nil {
		t.Fatal(err)
	}
	first := &auth.OAuthClient{ID: auth.FirstPartyClientID}
	if _, err := a.Refresh(ctx, first, ts.RefreshToken.Reveal(), auth.Client{}); auth.ErrorCode(err) != auth.CodeInvalidGrant {
		t.Fatalf("refresh on A after B revoked the session: %v, want invalid_grant", err)
	}
}
