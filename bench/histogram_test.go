package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestHistogramQuantiles compares the histogram's percentiles with the
// nearest-rank percentiles of the sorted samples, on distributions shaped
// like latencies (log-normal, bimodal with a slow tail, exact small values).
func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() time.Duration{
		"lognormal": func() time.Duration { return time.Duration(math.Exp(rng.NormFloat64()*0.8 + math.Log(250_000))) },
		"bimodal": func() time.Duration {
			if rng.IntN(100) < 3 {
				return time.Duration(40e6 + rng.Float64()*60e6)
			}
			return time.Duration(80_000 + rng.Float64()*40_000)
		},
		"small":   func() time.Duration { return time.Duration(rng.IntN(300)) },
		"uniform": func() time.Duration { return time.Duration(rng.Int64N(int64(10 * time.Second))) },
	}
	for name, draw := range dists {
		t.Run(name, func(t *testing.T) {
			for _, n := range []int{1, 2, 7, 1000, 200_000} {
				var h Histogram
				samples := make([]time.Duration, n)
				for i := range samples {
					samples[i] = draw()
					h.Record(samples[i])
				}
				slices.Sort(samples)
				if h.Count() != int64(n) || h.Min() != samples[0] || h.Max() != samples[n-1] {
					t.Fatalf("n=%d: count %d min %v max %v; want %d %v %v", n, h.Count(), h.Min(), h.Max(), n, samples[0], samples[n-1])
				}
				for _, q := range []float64{0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1} {
					got, want := h.Quantile(q), nearestRank(samples, q)
					if rel := math.Abs(float64(got-want)) / max(float64(want), 1); rel > 0.005 && got != want {
						t.Errorf("n=%d q=%v: %v, want %v (off by %.2f%%)", n, q, got, want, 100*rel)
					}
				}
			}
		})
	}
}

// TestHistogramMerge: merging per-worker histograms equals recording every
// sample in one.
func TestHistogramMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var all Histogram
	parts := make([]Histogram, 4)
	for i := range 50_000 {
		d := time.Duration(rng.Int64N(int64(time.Second)))
		all.Record(d)
		parts[i%4].Record(d)
	}
	var merged Histogram
	for i := range parts {
		merged.Merge(&parts[i])
	}
	merged.Merge(&Histogram{}) // an empty one changes nothing
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		if a, b := all.Quantile(q), merged.Quantile(q); a != b {
			t.Errorf("q=%v: merged %v, recorded in one %v", q, b, a)
		}
	}
	if all.Count() != merged.Count() || all.Min() != merged.Min() || all.Max() != merged.Max() || all.Mean() != merged.Mean() {
		t.Errorf("merged count/min/max/mean differ: %d %v %v %v vs %d %v %v %v",
			merged.Count(), merged.Min(), merged.Max(), merged.Mean(), all.Count(), all.Min(), all.Max(), all.Mean())
	}
}

// TestHistogramBuckets: buckets tile the values without gaps or overlaps.
func TestHistogramBuckets(t *testing.T) {
	prevEnd := int64(0)
	for i := range bucketOf(1<<40) + 1 {
		low, width := bucketRange(i)
		if low != prevEnd {
			t.Fatalf("bucket %d starts at %d, the previous ended at %d", i, low, prevEnd)
		}
		if bucketOf(low) != i || bucketOf(low+width-1) != i {
			t.Fatalf("bucket %d [%d, %d) maps its ends to %d and %d", i, low, low+width, bucketOf(low), bucketOf(low+width-1))
		}
		prevEnd = low + width
	}
	var h Histogram
	h.Record(-5)
	h.Record(math.MaxInt64)
	if h.Min() != 0 || h.Max() != math.MaxInt64 || h.Quantile(0.5) != 0 {
		t.Errorf("extremes: min %v max %v p50 %v", h.Min(), h.Max(), h.Quantile(0.5))
	}
	var empty Histogram
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 {
		t.Error("an empty histogram should answer 0")
	}
}
