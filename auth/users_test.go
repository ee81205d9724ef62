package auth_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/store/sqlite"
)

// A stolen session must not become a way to guess the password: wrong
// current passwords in ChangePassword meet the account's sign-in throttle.
func TestChangePasswordIsThrottled(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := auth.NewService(db, password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 0), auth.Config{})
	if _, err := svc.CreateUser(ctx, auth.NewUser{Email: "ada@example.com", Password: "correct-horse-42"}); err != nil {
		t.Fatal(err)
	}
	l, err := svc.Login(ctx, auth.LoginRequest{Email: "ada@example.com", Password: "correct-horse-42"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, l.Secret, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	var code auth.Code
	for i := 0; i < 30 && code != auth.CodeThrottled; i++ {
		_, err := svc.ChangePassword(ctx, p, "guess-number-x", "new-long-password", auth.Client{})
		code = auth.ErrorCode(err)
	}
	if code != auth.CodeThrottled {
		t.Fatal("30 wrong current passwords, never throttled")
	}
	// Throttled: even the right password waits.
	if _, err := svc.ChangePassword(ctx, p, "correct-horse-42", "new-long-password", auth.Client{}); auth.ErrorCode(err) != auth.CodeThrottled {
		t.Fatalf("right password while throttled: %v", err)
	}
}
