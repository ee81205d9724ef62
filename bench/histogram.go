package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records durations in logarithmic buckets, in the manner of
// HdrHistogram: values below 2^subBits ns are kept exactly, larger ones in
// buckets 2^-subBits of their magnitude wide, so a quantile is reported
// within 0.4 % of the true sample (the bucket's midpoint, clamped to the
// exact minimum and maximum). Recording is a few instructions and never
// allocates once the histogram has grown to the largest value seen; merging
// adds counts. A Histogram is not safe for concurrent use: the load generator
// gives every worker its own and merges them at the end.
type Histogram struct {
	counts   []uint64
	n        uint64
	min, max int64
	sum      float64
}

// subBits is the precision: 2^subBits buckets per power of two.
const subBits = 7

// bucketOf returns the bucket index of v ≥ 0.
func bucketOf(v int64) int {
	if v < 1<<subBits {
		return int(v)
	}
	p := bits.Len64(uint64(v)) - 1 // position of the top bit, ≥ subBits
	m := v >> (p - subBits)        // the top subBits+1 bits: [2^subBits, 2^(subBits+1))
	return (p-subBits+1)<<subBits + int(m-1<<subBits)
}

// bucketRange returns the smallest value of bucket i and the bucket's width.
func bucketRange(i int) (low, width int64) {
	if i < 1<<subBits {
		return int64(i), 1
	}
	p := i>>subBits + subBits - 1
	m := int64(i&(1<<subBits-1)) + 1<<subBits
	shift := p - subBits
	return m << shift, 1 << shift
}

// Record adds one duration; negative durations count as 0.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	i := bucketOf(v)
	if i >= len(h.counts) {
		grown := make([]uint64, max(i+1, 2*len(h.counts), 1<<(subBits+3)))
		copy(grown, h.counts)
		h.counts = grown
	}
	h.counts[i]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds o's samples to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if len(o.counts) > len(h.counts) {
		grown := make([]uint64, len(o.counts))
		copy(grown, h.counts)
		h.counts = grown
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of samples.
func (h *Histogram) Count() int64 { return int64(h.n) }

// Min returns the smallest sample (exact), 0 when empty.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max returns the largest sample (exact), 0 when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the mean of the samples, 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the nearest-rank q-quantile (0 < q ≤ 1): the sample of
// rank ⌈q·n⌉ in sorted order, within the bucket precision. Quantile(1) is
// the maximum; an empty histogram answers 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return time.Duration(h.max)
	}
	if rank == 1 {
		return time.Duration(h.min)
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := bucketRange(i)
			v := low + (width-1)/2
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
