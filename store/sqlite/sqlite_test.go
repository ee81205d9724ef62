package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

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
