package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// fmtRate writes a rate with thousands separators, or with decimals below 100.
func fmtRate(v float64) string {
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fmtDur writes a latency with three significant digits, in ms below 10 s.
func fmtDur(d time.Duration) string {
	ms := float64(d) / 1e6
	switch {
	case d == 0:
		return "0 ms"
	case ms < 0.01:
		return fmt.Sprintf("%.4f ms", ms)
	case ms < 1:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	case ms < 10_000:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return d.Round(time.Second).String()
}

func fmtRatio(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", r)
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 } // µs precision

// table writes rows in aligned columns: the first and the last column
// aligned left, the others right.
func table(w io.Writer, rows [][]string) {
	var width []int
	for _, row := range rows {
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0:
				b.WriteString(c + pad)
			case i == len(row)-1:
				b.WriteString("  " + c)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// WriteTable writes the results as aligned text: the throughput scenarios
// (name, concurrency, requests/s, p50, p99, ratio, floor), then the
// revocation lags, the stores of the growth scenarios, the goals and any
// warnings.
func (r *Report) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var tp, lag [][]string
	for _, res := range r.Results {
		if res.Kind == KindLag {
			how := "observed"
			if res.Computed {
				how = "computed: remaining token lifetime"
			}
			if res.Errors > 0 {
				how += fmt.Sprintf(" [%d timeouts]", res.Errors)
			}
			lag = append(lag, []string{res.Name, strconv.Itoa(res.Samples), fmtDur(res.P50), fmtDur(res.P99), fmtDur(res.Max), how})
			continue
		}
		floor := res.Floor
		if res.Kind == KindFloor {
			floor = "(floor)"
		}
		if res.Errors > 0 {
			floor += fmt.Sprintf(" [%d errors]", res.Errors)
		}
		tp = append(tp, []string{res.Name, strconv.Itoa(res.Concurrency), fmtRate(res.RPS), fmtDur(res.P50), fmtDur(res.P99), fmtRatio(res.Ratio), floor})
	}
	if len(tp) > 0 {
		table(bw, append([][]string{{"scenario", "c", "req/s", "p50", "p99", "ratio", "floor"}}, tp...))
	}
	if len(lag) > 0 {
		if len(tp) > 0 {
			fmt.Fprintln(bw)
		}
		table(bw, append([][]string{{"revocation lag", "n", "p50", "p99", "max", "how"}}, lag...))
	}
	first := true
	for _, res := range r.Results {
		if res.InsertTime > 0 && res.Concurrency == r.firstConcurrency() && strings.HasSuffix(res.Name, "-session") {
			if first {
				fmt.Fprintln(bw)
				first = false
			}
			fmt.Fprintf(bw, "%s: %s sessions stored in %s (%s); process RSS after: %.0f MiB\n", strings.TrimSuffix(res.Name, "-session"),
				sizeLabel(res.StoredSessions), res.InsertTime.Round(time.Millisecond), res.InsertMethod, res.RSSMB)
		}
	}
	first = true
	for _, res := range r.Results {
		if res.Goal == "" {
			continue
		}
		if first {
			fmt.Fprintln(bw, "\ngoals:")
			first = false
		}
		mark := "met"
		if !res.GoalMet {
			mark = "NOT met"
		}
		c := ""
		if res.Concurrency > 0 {
			c = fmt.Sprintf(" (c=%d)", res.Concurrency)
		}
		fmt.Fprintf(bw, "  %s%s: %s — %s\n", res.Name, c, res.Goal, mark)
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(bw)
	}
	for _, m := range r.Warnings {
		fmt.Fprintf(bw, "warning: %s\n", m)
	}
	fmt.Fprintln(bw, "\nThe load generator shares the machine with the server: read the ratio, not the absolute figure.")
	return bw.Flush()
}

func (r *Report) firstConcurrency() int {
	if len(r.Options.Concurrency) > 0 {
		return r.Options.Concurrency[0]
	}
	return 0
}

// jsonResult is the JSON form of a Result: the fields the issue names
// (name, rps, p50_ms, p99_ms, ratio; for lags p50_ms, p99_ms, max_ms) are
// always present for their kind.
type jsonResult struct {
	Name           string   `json:"name"`
	Kind           string   `json:"kind"`
	Concurrency    int      `json:"concurrency,omitempty"`
	RPS            *float64 `json:"rps,omitempty"`
	P50            float64  `json:"p50_ms"`
	P90            float64  `json:"p90_ms"`
	P99            float64  `json:"p99_ms"`
	P999           *float64 `json:"p999_ms,omitempty"`
	Max            float64  `json:"max_ms"`
	Mean           float64  `json:"mean_ms"`
	Ratio          *float64 `json:"ratio,omitempty"`
	Floor          string   `json:"floor,omitempty"`
	FloorRPS       *float64 `json:"floor_rps,omitempty"`
	Store          string   `json:"store,omitempty"`
	Requests       int64    `json:"requests,omitempty"`
	Errors         int64    `json:"errors"`
	FirstError     string   `json:"first_error,omitempty"`
	Seconds        float64  `json:"seconds,omitempty"`
	Samples        int      `json:"samples,omitempty"`
	Computed       bool     `json:"computed,omitempty"`
	StoredSessions int      `json:"stored_sessions,omitempty"`
	InsertSeconds  float64  `json:"insert_seconds,omitempty"`
	InsertMethod   string   `json:"insert_method,omitempty"`
	RSSMB          float64  `json:"rss_mb,omitempty"`
	Goal           string   `json:"goal,omitempty"`
	GoalMet        *bool    `json:"goal_met,omitempty"`
	Description    string   `json:"description"`
}

// MarshalJSON writes the result in the shape of WriteJSON's lines.
func (res Result) MarshalJSON() ([]byte, error) {
	j := jsonResult{
		Name: res.Name, Kind: res.Kind, Concurrency: res.Concurrency,
		P50: ms(res.P50), P90: ms(res.P90), P99: ms(res.P99), Max: ms(res.Max), Mean: ms(res.Mean),
		Store: res.Store, Requests: res.Requests, Errors: res.Errors, FirstError: res.FirstError,
		Samples: res.Samples, Computed: res.Computed, StoredSessions: res.StoredSessions,
		InsertSeconds: math.Round(res.InsertTime.Seconds()*1000) / 1000, InsertMethod: res.InsertMethod,
		RSSMB: math.Round(res.RSSMB*10) / 10, Goal: res.Goal, Description: res.Description,
	}
	if res.Kind != KindLag {
		rps, ratio, p999, frps := math.Round(res.RPS*10)/10, math.Round(res.Ratio*1000)/1000, ms(res.P999), math.Round(res.FloorRPS*10)/10
		j.RPS, j.Ratio, j.P999, j.Floor, j.FloorRPS, j.Seconds = &rps, &ratio, &p999, res.Floor, &frps, res.Seconds
	}
	if res.Goal != "" {
		met := res.GoalMet
		j.GoalMet = &met
	}
	return json.Marshal(j)
}

// WriteJSON writes one JSON object per result, one per line.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, res := range r.Results {
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	return nil
}
