package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tessera-auth/tessera/auth"

	"github.com/tessera-auth/tessera/store/sqlite"
	"github.com/tessera-auth/tessera/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunWith(t, storetest.Options{
		Open: func(t *testing.T) storetest.Store {
			db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tessera.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
		Reopen: func(t *testing.T, old storetest.Store) storetest.Store {
			db, err := sqlite.Open(context.Background(), old.(*sqlite.DB).Path(), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
	})
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tessera.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	applied, latest, err := db.SchemaVersion(ctx)
	if err != nil || applied != latest || latest < 1 {
		t.Fatalf("schema %d of %d: %v", applied, latest, err)
	}
	t.Run("Idempotent", func(t *testing.T) {
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if a, _, _ := db.SchemaVersion(ctx); a != applied {
			t.Fatalf("second migrate moved the schema to %d", a)
		}
	})
	db.Close()
	t.Run("ErrSchemaTooNew", func(t *testing.T) {
		raw, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name) VALUES (9999, 'future.sql')`); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		if _, err := sqlite.Open(ctx, path, sqlite.Options{}); !errors.Is(err, sqlite.ErrSchemaTooNew) {
			t.Fatalf("opening a newer schema: %v", err)
		}
	})
}

// Group commit: writes queued together share a transaction, yet a failing
// write is rolled back alone and every caller learns its own outcome.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tessera.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Every fourth writer reuses the email of the writer before it.
			email := fmt.Sprintf("u%d@example.com", i)
			if i%4 == 3 {
				email = fmt.Sprintf("u%d@example.com", i-1)
			}
			u := storetest.NewUser(email)
			errs[i] = db.CreateUser(ctx, u, auth.Event{Type: auth.EventUserCreated, At: storetest.Base, UserID: u.ID})
		})
	}
	wg.Wait()
	ok, conflicts := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, auth.ErrConflict):
			conflicts++
		default:
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if ok != n*3/4 || conflicts != n/4 {
		t.Fatalf("%d created, %d conflicts; want %d and %d", ok, conflicts, n*3/4, n/4)
	}
	evs, _ := db.EventsAfter(ctx, 0, 1000)
	if len(evs) != ok {
		t.Fatalf("%d events for %d created users: a failed write's event survived, or a good one's was lost", len(evs), ok)
	}
	users, _ := db.ListUsers(ctx, auth.UserFilter{Limit: 1000})
	if len(users) != ok {
		t.Fatalf("%d users stored, want %d", len(users), ok)
	}
}

// A caller that gives up (its context cancelled) must not break the other
// writes of its batch.
func TestGroupCommitSurvivesCancelledCallers(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tessera.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wg sync.WaitGroup
	var created atomic.Int64
	for i := range 64 {
		wg.Go(func() {
			c := ctx
			if i%2 == 1 {
				cc, cancel := context.WithCancel(ctx)
				cancel()
				c = cc
			}
			if err := db.CreateUser(c, storetest.NewUser(fmt.Sprintf("u%d@example.com", i))); err == nil {
				created.Add(1)
			} else if i%2 == 0 {
				t.Errorf("writer %d with a live context: %v", i, err)
			}
		})
	}
	wg.Wait()
	users, _ := db.ListUsers(ctx, auth.UserFilter{Limit: 1000})
	if int64(len(users)) != created.Load() {
		t.Fatalf("%d users stored, %d reported created", len(users), created.Load())
	}
}
