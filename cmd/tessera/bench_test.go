package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchCommand(t *testing.T) {
	e := newEnv(t)
	out := filepath.Join(t.TempDir(), "report.html")
	r := e.mustRun("", "bench", "--duration", "200ms", "--concurrency", "2", "--scenarios", "floor,session-cache-hit", "--json", "--out", out)
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var row struct {
			Name  string  `json:"name"`
			RPS   float64 `json:"rps"`
			P50   float64 `json:"p50_ms"`
			P99   float64 `json:"p99_ms"`
			Ratio float64 `json:"ratio"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if row.Name == "" || row.RPS <= 0 || row.Ratio <= 0 || row.P99 < row.P50 {
			t.Errorf("row %+v", row)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("%d rows, want 2:\n%s", n, r.stdout)
	}
	html, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(html), "<svg") {
		t.Fatalf("report: %v", err)
	}
}
