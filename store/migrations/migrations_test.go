package migrations

import (
	"errors"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/0001_a.sql": {Data: []byte("A")},
		"m/README":     {Data: []byte("not a migration")},
	}
	ms, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 1 || ms[0].Name != "0001_a.sql" || ms[0].SQL != "A" || ms[1].Version != 2 {
		t.Fatalf("Load = %+v", ms)
	}
	for name, bad := range map[string]fstest.MapFS{
		"ErrUnnumbered": {"m/init.sql": {}},
		"ErrDuplicate":  {"m/0001_a.sql": {}, "m/1_b.sql": {}},
		"ErrEmpty":      {"m/README": {}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Load(bad, "m"); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestCheckApplied(t *testing.T) {
	tooNew := errors.New("too new")
	if err := CheckApplied(3, 3, tooNew); err != nil {
		t.Fatalf("CheckApplied(3, 3) = %v", err)
	}
	if err := CheckApplied(0, 3, tooNew); err != nil {
		t.Fatalf("CheckApplied(0, 3) = %v", err)
	}
	err := CheckApplied(4, 3, tooNew)
	if !errors.Is(err, tooNew) || err.Error() != "too new (database at 4, binary knows 3)" {
		t.Fatalf("CheckApplied(4, 3) = %v", err)
	}
	if got := Latest([]Migration{{Version: 1}, {Version: 7}}); got != 7 {
		t.Fatalf("Latest = %d", got)
	}
}
