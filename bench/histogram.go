package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram layout (log-linear, in the manner of HdrHistogram):
//
//   - values below 2^subBits nanoseconds have one bucket each (exact);
//   - every further power-of-two range [2^k, 2^(k+1)) is split into
//     2^(subBits-1) equal buckets, so a bucket is at most 1/2^(subBits-1)
//     of its values wide: the relative error of a reported value is below
//     1/128 (0.8 %).
//
// Values are clamped to [0, MaxTrackable]; the exact maximum is kept apart.
const (
	subBits      = 8
	subCount     = 1 << subBits // buckets below the first octave
	halfSubCount = subCount / 2 // buckets per octave
	maxBits      = 40           // 2^40 ns ≈ 18 minutes
	numBuckets   = subCount + (maxBits-subBits)*halfSubCount
	maxTrackable = time.Duration(1)<<maxBits - 1
)

// MaxTrackable is the largest latency a [Histogram] resolves; larger values
// are counted in its last bucket (the exact maximum is still reported).
const MaxTrackable = maxTrackable

// Histogram counts durations in fixed log-linear buckets with a relative
// precision better than 1 %. Recording never allocates.
//
// A Histogram is not safe for concurrent use: each load worker owns one and
// the results are combined with [Histogram.Merge] once the workers stopped.
// The zero value is an empty histogram ready for use.
type Histogram struct {
	counts [numBuckets]uint64
	total  uint64
	sum    int64 // nanoseconds, of clamped values
	min    time.Duration
	max    time.Duration
}

// bucketOf returns the bucket index of v, which must be in [0, maxTrackable].
func bucketOf(v time.Duration) int {
	u := uint64(v)
	if u < subCount {
		return int(u)
	}
	msb := bits.Len64(u) - 1 // >= subBits
	shift := msb - (subBits - 1)
	return subCount + (shift-1)*halfSubCount + int(u>>uint(shift)) - halfSubCount
}

// bucketHigh returns the largest value that falls into bucket i.
func bucketHigh(i int) time.Duration {
	if i < subCount {
		return time.Duration(i)
	}
	shift := (i-subCount)/halfSubCount + 1
	sub := (i-subCount)%halfSubCount + halfSubCount
	return time.Duration((uint64(sub+1) << uint(shift)) - 1)
}

// Record adds one observation. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	if h.total == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	if d > maxTrackable {
		d = maxTrackable
	}
	h.counts[bucketOf(d)]++
	h.total++
	h.sum += int64(d)
}

// Merge adds every observation of o to h. o is not modified.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.total += o.total
	h.sum += o.sum
}

// Reset empties the histogram.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count returns the number of observations.
func (h *Histogram) Count() uint64 { return h.total }

// Min returns the smallest observation, or 0 when empty.
func (h *Histogram) Min() time.Duration { return h.min }

// Max returns the largest observation (exact, not bucketed), or 0 when empty.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the mean of the observations, or 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / int64(h.total))
}

// Quantile returns the value below or at which a fraction q (0..1) of the
// observations lie: the highest value of the bucket holding the observation
// of rank ceil(q*Count), capped at Max. Quantile(1) is Max, Quantile(0) is
// Min, and an empty histogram yields 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	if q <= 0 || math.IsNaN(q) {
		return h.min
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := bucketHigh(i)
			if v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return v
		}
	}
	return h.max
}
