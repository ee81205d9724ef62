// Package migrations reads a store's embedded, numbered schema migrations
// (NNNN_name.sql). Each store applies them in its own dialect and records
// them in its own schema_migrations table; the numbering is shared so that a
// version means the same schema on every store.
package migrations

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string // the file name, e.g. 0001_init.sql
	SQL     string
}

// Load returns the *.sql files of dir in fsys, ordered by their number. It
// fails on a file whose name does not start with its number, on a number
// used twice, and on an empty set.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	var ms []Migration
	seen := map[int]string{}
	for _, name := range names {
		base := path.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: the name must start with its number", base)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s have the same number", other, base)
		}
		seen[v] = base
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Latest returns the version of the last of ms as Load orders them: the
// schema version that a binary embedding ms knows.
func Latest(ms []Migration) int { return ms[len(ms)-1].Version }

// CheckApplied returns nil unless a database at version applied is newer
// than latest, and then an error wrapping tooNew (the store's sentinel) that
// gives both versions.
func CheckApplied(applied, latest int, tooNew error) error {
	if applied > latest {
		return fmt.Errorf("%w (database at %d, binary knows %d)", tooNew, applied, latest)
	}
	return nil
}
