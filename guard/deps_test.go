package guard_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDeps keeps guard importable on its own, in the manner of tailscale's
// tstest/deptest: it lists the package's (non-test) dependencies for several
// platforms and fails on any Tessera package other than accesstoken, any
// database driver and Prometheus; and it fails on any non-standard package
// that accesstoken itself does not already bring in.
func TestDeps(t *testing.T) {
	const (
		module      = "github.com/tessera-auth/tessera"
		self        = module + "/guard"
		accesstoken = module + "/accesstoken"
	)
	bad := []string{
		"database/sql",
		"modernc.org/sqlite",
		"github.com/jackc/pgx",
		"github.com/lib/pq",
		"github.com/mattn/go-sqlite3",
		"github.com/prometheus",
	}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			allowed := map[string]bool{}
			for _, p := range goListDeps(t, goos, accesstoken) {
				allowed[p] = true
			}
			deps := goListDeps(t, goos, self)
			if !contains(deps, accesstoken) || !contains(deps, "net/http") {
				t.Fatalf("go list -deps %s gave %d packages without accesstoken or net/http: is the listing broken?", self, len(deps))
			}
			for _, p := range deps {
				for _, b := range bad {
					if p == b || strings.HasPrefix(p, b+"/") {
						t.Errorf("guard depends on %s: no database driver, database/sql or Prometheus in guard", p)
					}
				}
				if (p == module || strings.HasPrefix(p, module+"/")) && p != self && p != accesstoken {
					t.Errorf("guard depends on the Tessera package %s: guard may import only accesstoken", p)
				}
				if !isStd(p) && p != self && !allowed[p] {
					t.Errorf("guard depends on %s, which accesstoken does not: guard may import only the standard library and accesstoken", p)
				}
			}
		})
	}
}

// goListDeps returns the import paths of pkg and its non-test dependencies.
func goListDeps(t *testing.T, goos, pkg string) []string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}+{{end}}{{.ImportPath}}", pkg)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	var deps []string
	for _, line := range strings.Fields(string(out)) {
		std := !strings.HasPrefix(line, "+")
		p := strings.TrimPrefix(line, "+")
		if std {
			stdPkgs[p] = true
		}
		deps = append(deps, p)
	}
	return deps
}

// stdPkgs records the packages go list reported as standard.
var stdPkgs = map[string]bool{}

func isStd(p string) bool { return stdPkgs[p] }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
