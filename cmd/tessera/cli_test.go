package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	_ "modernc.org/sqlite"
)

// listUsers runs user list --json.
func listUsers(t *testing.T, e *env, args ...string) []userJSON {
	t.Helper()
	r := e.mustRun("", append([]string{"user", "list", "--json"}, args...)...)
	var users []userJSON
	if err := json.Unmarshal([]byte(r.stdout), &users); err != nil {
		t.Fatalf("user list --json: %v\n%s", err, r)
	}
	return users
}

func TestUserAddList(t *testing.T) {
	e := newEnv(t)
	r := e.mustRun("correct-horse-42\n", "user", "add", "--email", "Ada@Example.com", "--password-stdin", "--role", "admin", "--role", "ops")
	if !strings.Contains(r.stdout, "added ada@example.com") {
		t.Errorf("user add printed %q", r.stdout)
	}
	e.mustRun("another-horse-43", "user", "add", "--email", "bob@example.com", "--password-stdin")

	got := listUsers(t, e)
	want := []userJSON{
		{Email: "ada@example.com", Roles: []string{"admin", "ops"}},
		{Email: "bob@example.com", Roles: []string{}},
	}
	ignore := cmpopts.IgnoreFields(userJSON{}, "ID", "CreatedAt", "UpdatedAt")
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("user list --json (-want +got):\n%s", diff)
	}
	for _, u := range got {
		if u.ID == "" || u.CreatedAt.IsZero() {
			t.Errorf("user %s has no ID or creation time: %+v", u.Email, u)
		}
	}

	t.Run("Search", func(t *testing.T) {
		got := listUsers(t, e, "--search", "BOB")
		if len(got) != 1 || got[0].Email != "bob@example.com" {
			t.Errorf("--search BOB: got %+v", got)
		}
	})
	t.Run("Table", func(t *testing.T) {
		r := e.mustRun("", "user", "list")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "EMAIL") ||
			!strings.Contains(lines[1], "admin,ops") || !strings.Contains(lines[2], "bob@example.com") {
			t.Errorf("user list:\n%s", r.stdout)
		}
	})
}

func TestUserAddRefused(t *testing.T) {
	e := newEnv(t)
	e.mustRun("correct-horse-42\n", "user", "add", "--email", "ada@example.com", "--password-stdin")

	t.Run("ErrDuplicateEmail", func(t *testing.T) {
		e.mustFail("a user with this email exists", "other-horse-77\n", "user", "add", "--email", "ADA@example.com", "--password-stdin")
	})
	t.Run("ErrWeakPassword", func(t *testing.T) {
		e.mustFail("too common", "password\n", "user", "add", "--email", "b@example.com", "--password-stdin")
		e.mustFail("at least 8 characters", "short\n", "user", "add", "--email", "b@example.com", "--password-stdin")
	})
	t.Run("ErrNoPasswordStdinFlag", func(t *testing.T) {
		r := e.mustFail("--password-stdin", "", "user", "add", "--email", "b@example.com")
		if !strings.Contains(r.stderr, "printf") {
			t.Errorf("the error shows no example: %s", r.stderr)
		}
	})
	t.Run("ErrEmptyStdin", func(t *testing.T) {
		e.mustFail("no password on stdin", "", "user", "add", "--email", "b@example.com", "--password-stdin")
	})
	t.Run("ErrInvalidEmail", func(t *testing.T) {
		e.mustFail("email is not a valid address", "correct-horse-42\n", "user", "add", "--email", "not-an-email", "--password-stdin")
	})
	t.Run("ErrInvalidRole", func(t *testing.T) {
		e.mustFail("role", "correct-horse-42\n", "user", "add", "--email", "b@example.com", "--password-stdin", "--role", "Bad Role")
	})
	t.Run("ErrMissingEmail", func(t *testing.T) {
		e.mustFail("--email", "", "user", "add", "--password-stdin")
	})
	if got := listUsers(t, e); len(got) != 1 {
		t.Errorf("refused commands changed the users: %+v", got)
	}
}

func TestUserChanges(t *testing.T) {
	e := newEnv(t)
	e.mustRun("correct-horse-42\n", "user", "add", "--email", "ada@example.com", "--password-stdin", "--role", "admin")
	only := func() userJSON {
		t.Helper()
		us := listUsers(t, e)
		if len(us) != 1 {
			t.Fatalf("want one user, got %+v", us)
		}
		return us[0]
	}

	t.Run("Disable", func(t *testing.T) {
		e.mustRun("", "user", "disable", "--email", "ada@example.com")
		if u := only(); !u.Disabled {
			t.Errorf("after disable: %+v", u)
		}
	})
	t.Run("Enable", func(t *testing.T) {
		e.mustRun("", "user", "enable", "--email", "ada@example.com")
		if u := only(); u.Disabled {
			t.Errorf("after enable: %+v", u)
		}
	})
	t.Run("SetRoles", func(t *testing.T) {
		e.mustRun("", "user", "set-roles", "--email", "ada@example.com", "--role", "ops", "--role", "billing")
		if u := only(); !cmp.Equal(u.Roles, []string{"billing", "ops"}) {
			t.Errorf("after set-roles: %+v", u)
		}
	})
	t.Run("SetRolesNoneRemovesAll", func(t *testing.T) {
		e.mustRun("", "user", "set-roles", "--email", "ada@example.com")
		if u := only(); len(u.Roles) != 0 {
			t.Errorf("after set-roles without --role: %+v", u)
		}
	})
	t.Run("Passwd", func(t *testing.T) {
		before := only()
		e.mustRun("new-horse-staple-9\n", "user", "passwd", "--email", "ada@example.com", "--password-stdin")
		if u := only(); !u.UpdatedAt.After(before.UpdatedAt) {
			t.Errorf("passwd did not update the user: %+v", u)
		}
		e.mustFail("too common", "password\n", "user", "passwd", "--email", "ada@example.com", "--password-stdin")
		e.mustFail("--password-stdin", "", "user", "passwd", "--email", "ada@example.com")
	})
	t.Run("ErrNoSuchUser", func(t *testing.T) {
		for _, cmd := range []string{"disable", "enable", "set-roles"} {
			e.mustFail("no user with email nobody@example.com", "", "user", cmd, "--email", "nobody@example.com")
		}
		e.mustFail("no user with email nobody@example.com", "correct-horse-42\n", "user", "passwd", "--email", "nobody@example.com", "--password-stdin")
	})
}

func TestReadPassword(t *testing.T) {
	for _, tc := range []struct{ name, stdin, want, err string }{
		{"OneNewlineTrimmed", "pw with spaces \n", "pw with spaces ", ""},
		{"CRLFTrimmed", "secret-horse\r\n", "secret-horse", ""},
		{"OnlyOneNewline", "secret-horse\n\n", "secret-horse\n", ""},
		{"NoNewline", "secret-horse", "secret-horse", ""},
		{"ErrEmpty", "", "", "no password on stdin"},
		{"ErrOnlyNewline", "\n", "", "no password on stdin"},
		{"ErrTooLong", strings.Repeat("a", 2000), "", "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{stdin: strings.NewReader(tc.stdin)}
			got, err := a.readPassword("add", "a@example.com")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %q, %v; want an error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	e := newEnv(t)
	first := e.mustRun("", "migrate")
	if !strings.HasPrefix(first.stdout, "schema version ") || !strings.Contains(first.stdout, "migrated from 0") {
		t.Errorf("first migrate printed %q", first.stdout)
	}
	second := e.mustRun("", "migrate")
	version := strings.Fields(first.stdout)[2]
	if second.stdout != "schema version "+version+" (up to date)\n" {
		t.Errorf("second migrate printed %q; want version %s, up to date", second.stdout, version)
	}
}

func TestSchemaTooNewRefused(t *testing.T) {
	e := newEnv(t)
	e.mustRun("", "migrate")
	db, err := sql.Open("sqlite", filepath.Join(e.dir, "data", "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(context.Background(), "INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	e.mustFail("newer than this binary", "", "migrate")
	e.mustFail("newer than this binary", "", "user", "list")
	e.mustFail("newer than this binary", "", "serve", "--addr", "127.0.0.1:0")
}

func TestDataFolderMode(t *testing.T) {
	e := newEnv(t)
	data := filepath.Join(e.dir, "nested", "data")
	e.mustRun("", "migrate", "--data", data)
	fi, err := os.Stat(data)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o700 {
		t.Errorf("data folder mode %v, want 0700", mode)
	}
	if _, err := os.Stat(filepath.Join(data, "tessera.db")); err != nil {
		t.Errorf("no database in the data folder: %v", err)
	}
}

func TestUnknownStore(t *testing.T) {
	e := newEnv(t)
	r := e.mustFail("unknown store", "", "migrate", "--store", "mysql://tessera:hunter2@db.example/tessera")
	if !strings.Contains(r.stderr, "supported: sqlite:PATH, postgres://") || strings.Contains(r.stderr, "hunter2") {
		t.Errorf("want the supported stores and no password, got %s", r.stderr)
	}
	e.mustFail("unknown store", "", "user", "list", "--store", "mysql:whatever")
}

func TestExplicitSQLiteStore(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "elsewhere", "users.db")
	e.mustRun("correct-horse-42\n", "user", "add", "--store", "sqlite:"+path, "--email", "ada@example.com", "--password-stdin")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("--store sqlite:%s made no database there: %v", path, err)
	}
	if got := listUsers(t, e.with("TESSERA_STORE=sqlite:"+path)); len(got) != 1 {
		t.Errorf("TESSERA_STORE: want the user, got %+v", got)
	}
	if got := listUsers(t, e); len(got) != 0 {
		t.Errorf("default store: want no users, got %+v", got)
	}
}

func TestUsageErrors(t *testing.T) {
	e := newEnv(t)
	r := e.mustFail("unknown flag --emial", "", "user", "add", "--emial", "x")
	if !strings.Contains(r.stderr, "tessera user add --help") {
		t.Errorf("no usage hint: %s", r.stderr)
	}
	e.mustFail("unexpected argument", "", "frobnicate")
	e.mustFail("--log-format", "", "config", "--log-format", "xml")
}

func TestVersion(t *testing.T) {
	r := newEnv(t).mustRun("", "version")
	if !strings.HasPrefix(r.stdout, "tessera ") || !strings.Contains(r.stdout, "go: go1.") || !strings.Contains(r.stdout, "revision: ") {
		t.Errorf("version printed %q", r.stdout)
	}
}

// TestHelp checks that --help of every command exits 0 and names each of
// the command's flags.
func TestHelp(t *testing.T) {
	parser, err := newParser(&CLI{}, &app{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	var nodes []*kong.Node
	kong.Visit(parser.Model.Node, func(v kong.Visitable, next kong.Next) error {
		if n, ok := v.(*kong.Node); ok {
			nodes = append(nodes, n)
		}
		return next(nil)
	})
	for _, n := range nodes {
		path := strings.Fields(n.Path())
		t.Run(strings.Join(append([]string{"tessera"}, path...), "_"), func(t *testing.T) {
			r := e.mustRun("", append(path, "--help")...)
			if !strings.HasPrefix(r.stdout, "Usage: tessera") {
				t.Errorf("no usage line:\n%s", r.stdout)
			}
			for _, group := range n.AllFlags(true) {
				for _, f := range group {
					if !strings.Contains(r.stdout, "--"+f.Name) {
						t.Errorf("help does not mention --%s:\n%s", f.Name, r.stdout)
					}
				}
			}
			if n.Name == "serve" || n.Name == "add" {
				if !strings.Contains(r.stdout, "Examples:") {
					t.Errorf("help has no examples:\n%s", r.stdout)
				}
			}
		})
	}
}
