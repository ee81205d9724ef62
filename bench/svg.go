package bench

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// The report's charts are SVG written here, inline in the HTML: no script,
// no font, nothing fetched.

// Colours (an accessible categorical palette; series keep their colour
// across charts).
var (
	colFloor  = "#9aa3ad"
	colBar    = "#2f6fb2"
	colSeries = []string{"#2f6fb2", "#e08a1e", "#3a9d5d", "#c23b3b"}
)

// bar is one horizontal bar row of a chart.
type bar struct {
	label  string
	values []float64 // one per series
	texts  []string  // the label written after each bar
	floor  bool
}

// chart describes a horizontal bar chart, one row per label and one bar per
// series in each row.
type chart struct {
	title  string
	unit   string   // axis caption
	series []string // legend, when more than one series
	rows   []bar
	log    bool    // logarithmic axis (values ≤ 0 draw no bar)
	floor  float64 // a log axis starts at this value at the lowest
}

const (
	chartWidth = 960
	labelWidth = 250
	textWidth  = 190
	rowGap     = 10
	barH       = 16
)

func esc(s string) string { return template.HTMLEscapeString(s) }

// svg renders the chart.
func (c *chart) svg() template.HTML {
	nSeries := max(len(c.series), 1)
	rowH := nSeries*barH + rowGap
	top := 40
	if len(c.series) > 1 {
		top += 22
	}
	plotW := float64(chartWidth - labelWidth - textWidth)
	height := top + len(c.rows)*rowH + 36

	// The axis: linear from 0, or decades.
	hi := 0.0
	lo := math.Inf(1)
	for _, r := range c.rows {
		for _, v := range r.values {
			hi = max(hi, v)
			if v > 0 {
				lo = min(lo, v)
			}
		}
	}
	var pos func(v float64) float64
	var ticks []float64
	if c.log {
		if math.IsInf(lo, 1) {
			lo, hi = 1, 10
		}
		dlo, dhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if c.floor > 0 {
			dlo = max(dlo, math.Floor(math.Log10(c.floor)))
		}
		if dhi <= dlo {
			dhi = dlo + 1
		}
		pos = func(v float64) float64 {
			if v <= 0 {
				return 0
			}
			return max(0, (math.Log10(v)-dlo)/(dhi-dlo)*plotW)
		}
		for d := dlo; d <= dhi; d++ {
			ticks = append(ticks, math.Pow(10, d))
		}
	} else {
		if hi <= 0 {
			hi = 1
		}
		step := niceStep(hi / 5)
		top := math.Ceil(hi/step) * step
		pos = func(v float64) float64 { return max(0, v/top*plotW) }
		for t := 0.0; t <= top+step/2; t += step {
			ticks = append(ticks, t)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg role="img" width="%d" height="%d" viewBox="0 0 %d %d" font-family="system-ui, sans-serif" font-size="12">`,
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.title))
	fmt.Fprintf(&b, `<text x="0" y="18" font-size="15" font-weight="600">%s</text>`, esc(c.title))
	if len(c.series) > 1 {
		x := labelWidth
		for i, s := range c.series {
			fmt.Fprintf(&b, `<rect x="%d" y="30" width="12" height="12" fill="%s"/><text x="%d" y="40">%s</text>`, x, colSeries[i%len(colSeries)], x+16, esc(s))
			x += 30 + 8*len(s)
		}
	}
	x0 := float64(labelWidth)
	bottom := top + len(c.rows)*rowH
	for _, t := range ticks {
		x := x0 + pos(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e3e6ea"/>`, x, top-4, x, bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`, x, bottom+14, esc(axisLabel(t, c.log)))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`, x0+plotW/2, bottom+30, esc(c.unit))
	for i, r := range c.rows {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelWidth-8, y+nSeries*barH/2+4, esc(r.label))
		for k, v := range r.values {
			col := colSeries[k%len(colSeries)]
			if len(c.series) <= 1 {
				col = colBar
				if r.floor {
					col = colFloor
				}
			}
			w := pos(v)
			by := y + k*barH
			if w > 0 {
				fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`, x0, by+1, w, barH-2, col, esc(r.label+": "+r.texts[k]))
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#222">%s</text>`, x0+w+4, by+barH-4, esc(r.texts[k]))
		}
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#888"/>`, x0, top-4, x0, bottom)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceStep rounds a step up to 1, 2 or 5 times a power of ten.
func niceStep(s float64) float64 {
	if s <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(s)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= s {
			return m * p
		}
	}
	return 10 * p
}

func axisLabel(v float64, log bool) string {
	switch {
	case log && v < 1:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}

// rowLabel names a result in a chart; the concurrency is shown when the run
// swept several.
func (r *Report) rowLabel(res Result) string {
	if len(r.Options.Concurrency) > 1 && res.Concurrency > 0 {
		return fmt.Sprintf("%s c=%d", res.Name, res.Concurrency)
	}
	return res.Name
}

func (r *Report) throughputChart() *chart {
	c := &chart{title: "Throughput per scenario (requests/s; grey: floors)", unit: "requests/s (ops/s for argon2id-raw)"}
	for _, res := range r.Results {
		if res.Kind == KindLag {
			continue
		}
		t := fmtRate(res.RPS) + "/s"
		if res.Kind != KindFloor && res.Ratio > 0 {
			t += fmt.Sprintf("  (%.2f× %s)", res.Ratio, res.Floor)
		}
		c.rows = append(c.rows, bar{label: r.rowLabel(res), values: []float64{res.RPS}, texts: []string{t}, floor: res.Kind == KindFloor})
	}
	return c
}

func msf(d time.Duration) float64 { return float64(d) / 1e6 }

func (r *Report) latencyChart() *chart {
	c := &chart{title: "Latency percentiles per scenario (ms, log scale)", unit: "milliseconds", log: true, floor: 0.001,
		series: []string{"p50", "p90", "p99", "p99.9"}}
	for _, res := range r.Results {
		if res.Kind == KindLag || res.Requests == 0 {
			continue
		}
		ds := []time.Duration{res.P50, res.P90, res.P99, res.P999}
		row := bar{label: r.rowLabel(res)}
		for _, d := range ds {
			row.values = append(row.values, msf(d))
			row.texts = append(row.texts, fmtDur(d))
		}
		c.rows = append(c.rows, row)
	}
	return c
}

func (r *Report) lagChart() *chart {
	c := &chart{title: "Revocation lag per mode (ms, log scale from 1 µs)", unit: "milliseconds from the logout response to the first refusal", log: true, floor: 0.001,
		series: []string{"p50", "p99", "max"}}
	for _, res := range r.Results {
		if res.Kind != KindLag {
			continue
		}
		label := res.Name
		if res.Computed {
			label += " (computed)"
		}
		row := bar{label: label}
		for _, d := range []time.Duration{res.P50, res.P99, res.Max} {
			row.values = append(row.values, msf(d))
			row.texts = append(row.texts, fmtDur(d))
		}
		c.rows = append(c.rows, row)
	}
	return c
}
