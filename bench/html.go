package bench

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed templates/report.html.tmpl
var templates embed.FS

var reportTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"rate":  fmtRate,
	"dur":   fmtDur,
	"ratio": fmtRatio,
	"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
	"round": func(d time.Duration) time.Duration { return d.Round(time.Second) },
	"mb":    func(v float64) string { return fmt.Sprintf("%.0f MiB", v) },
	"join":  strings.Join,
	"ints": func(xs []int) string {
		s := make([]string, len(xs))
		for i, x := range xs {
			s[i] = fmt.Sprint(x)
		}
		return strings.Join(s, ", ")
	},
}).ParseFS(templates, "templates/report.html.tmpl"))

// htmlView is what the template reads.
type htmlView struct {
	*Report
	Throughput, Lag []Result
	Charts          []template.HTML
	Goals           []Result
}

// WriteHTML writes the report as one self-contained HTML page: inline CSS
// and inline SVG charts (throughput per scenario, latency percentiles per
// scenario, revocation lag per mode), nothing loaded from anywhere.
func (r *Report) WriteHTML(w io.Writer) error {
	v := htmlView{Report: r}
	for _, res := range r.Results {
		if res.Kind == KindLag {
			v.Lag = append(v.Lag, res)
		} else {
			v.Throughput = append(v.Throughput, res)
		}
		if res.Goal != "" {
			v.Goals = append(v.Goals, res)
		}
	}
	if len(v.Throughput) > 0 {
		v.Charts = append(v.Charts, r.throughputChart().svg(), r.latencyChart().svg())
	}
	if len(v.Lag) > 0 {
		v.Charts = append(v.Charts, r.lagChart().svg())
	}
	return reportTemplate.Execute(w, v)
}
