package clock

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// wallClockAllowed names each place in the module's code that may read the
// wall clock, as "path#Func" (Func is "Type.Method" for a method), with the
// reason. Everything else takes the injected clock. A new entry needs a
// reason of the same kind: a duration measured for logs or metrics, the
// default of a clock option, a deadline for I/O. Never an expiry.
var wallClockAllowed = map[string]string{
	// Defaults of clock options.
	"auth/service.go#Config.setDefaults":       "the default of auth.Config.Now",
	"webhook/service.go#Config.setDefaults":    "the default of webhook.Config.Now",
	"accesstoken/verify.go#Verifier.validator": "the default of Verifier.Now",
	"guard/config.go#Config.setDefaults":       "the default of guard.Config.Now",
	"cmd/tessera/main.go#package scope":        "the CLI's clock: the machine's (a test build moves it: clock_testclock.go)",
	"internal/clock/clock.go#NewShifted":       "a shifted clock is real time plus an offset",
	"internal/clock/clock.go#Shifted.Now":      "a shifted clock is real time plus an offset",

	// Durations measured for logs and metrics.
	"server/server.go#Server.ServeHTTP":    "the request's duration for the access log and metrics",
	"server/httpx/credential.go#Kit.Check": "the session check's duration for metrics",
	"metrics/store.go#timedStore.since":    "store call latencies for metrics",
	"metrics/store.go#started":             "store call latencies for metrics",
	"webhook/deliver.go#Deliverer.send":    "a delivery attempt's duration for the delivery log",
	"node/node.go#Node.watchNotifications": "how long notifications were down, for a log line, and the pace of the fast polling",

	// Deadlines and pacing of I/O, not of anything stored.
	"server/events/events.go#Handler.handleEvents": "the write deadline of a stream's next frame",
	"guard/keys.go#keyFetcher.run":                 "pacing JWKS fetches",
	"guard/guard.go#Guard.start":                   "the JWKS fetcher's start, for pacing",
}

// allowedDirs may read the wall clock throughout.
var allowedDirs = map[string]string{
	"bench/":        "the load generator measures latencies and paces load; it decides no expiry",
	"internal/e2e/": "end-to-end tests time the real binary from outside",
	"examples/":     "examples run against a real server on the wall clock",
}

// TestNoWallClock fails on every time.Now, time.Since and time.Until in the
// module's non-test code outside wallClockAllowed: the next date bomb is
// caught here, when it is written.
func TestNoWallClock(t *testing.T) {
	root := moduleRoot(t)
	used := map[string]bool{}
	var bad []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if name := d.Name(); rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		for dir := range allowedDirs {
			if strings.HasPrefix(rel, dir) {
				return nil
			}
		}
		for _, r := range wallClockReads(t, path) {
			key := rel + "#" + r.fn
			if _, ok := wallClockAllowed[key]; ok {
				used[key] = true
				continue
			}
			bad = append(bad, rel+":"+strconv.Itoa(r.line)+": time."+r.name+" in "+r.fn)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("%s reads the wall clock: take the injected clock (auth.Config.Now and the like), or, if it only measures a duration or sets an I/O deadline, add it to wallClockAllowed with the reason", b)
	}
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range wallClockAllowed {
			if !yield(k) {
				return
			}
		}
	}) {
		if !used[key] {
			t.Errorf("wallClockAllowed names %s, which no longer reads the wall clock: remove the entry", key)
		}
	}
}

type read struct {
	name, fn string
	line     int
}

// wallClockReads lists the references to time.Now, time.Since and
// time.Until in the file at path (calls or not: "Now: time.Now" counts),
// each with the function declaration it is in.
func wallClockReads(t *testing.T, path string) []read {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	timeName := ""
	for _, imp := range f.Imports {
		if imp.Path.Value == `"time"` {
			timeName = "time"
			if imp.Name != nil {
				timeName = imp.Name.Name
			}
		}
	}
	if timeName == "" || timeName == "_" {
		return nil
	}
	var out []read
	for _, decl := range f.Decls {
		fn := "package scope"
		if fd, ok := decl.(*ast.FuncDecl); ok {
			fn = fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) == 1 {
				fn = recvName(fd.Recv.List[0].Type) + "." + fn
			}
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == timeName {
				switch sel.Sel.Name {
				case "Now", "Since", "Until":
					out = append(out, read{name: sel.Sel.Name, fn: fn, line: fset.Position(sel.Pos()).Line})
				}
			}
			return true
		})
	}
	return out
}

func recvName(e ast.Expr) string {
	switch v := e.(type) {
	case *ast.StarExpr:
		return recvName(v.X)
	case *ast.IndexExpr:
		return recvName(v.X)
	case *ast.IndexListExpr:
		return recvName(v.X)
	case *ast.Ident:
		return v.Name
	}
	return "?"
}

func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
