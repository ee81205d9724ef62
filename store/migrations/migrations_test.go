package migrations

import (
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
