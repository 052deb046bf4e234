package bench

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestHistogramBucketsCoverValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(v time.Duration) {
		t.Helper()
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d; want in [0, %d)", v, i, numBuckets)
		}
		if hi := bucketHigh(i); hi < v {
			t.Fatalf("bucketHigh(bucketOf(%d)) = %d; want >= value", v, hi)
		}
		if i > 0 && bucketHigh(i-1) >= v {
			t.Fatalf("bucketHigh(%d) = %d; want < %d", i-1, bucketHigh(i-1), v)
		}
		if v > 0 {
			if rel := float64(bucketHigh(i)-v) / float64(v); rel > 1.0/halfSubCount {
				t.Fatalf("value %d reported as %d: relative error %.4f; want <= %.4f", v, bucketHigh(i), rel, 1.0/halfSubCount)
			}
		}
	}
	for v := range time.Duration(4096) {
		check(v)
	}
	for range 100000 {
		check(time.Duration(rng.Int64N(int64(maxTrackable))))
	}
	check(maxTrackable)
	if got := bucketOf(maxTrackable); got != numBuckets-1 {
		t.Fatalf("bucketOf(max) = %d; want last bucket %d", got, numBuckets-1)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	// 1µs, 2µs, … 10000µs: the rank-k value is k µs.
	perm := rand.New(rand.NewPCG(3, 4)).Perm(10000)
	for _, p := range perm {
		h.Record(time.Duration(p+1) * time.Microsecond)
	}
	cases := []struct {
		q    float64
		want time.Duration
	}{
		{0, time.Microsecond},
		{0.5, 5000 * time.Microsecond},
		{0.9, 9000 * time.Microsecond},
		{0.99, 9900 * time.Microsecond},
		{0.999, 9990 * time.Microsecond},
		{1, 10000 * time.Microsecond},
	}
	for _, c := range cases {
		got := h.Quantile(c.q)
		if got < c.want || float64(got-c.want) > float64(c.want)/halfSubCount {
			t.Errorf("Quantile(%v) = %v; want %v (+0.8%%)", c.q, got, c.want)
		}
	}
	if got, want := h.Count(), uint64(10000); got != want {
		t.Errorf("Count() = %d; want %d", got, want)
	}
	if got, want := h.Max(), 10*time.Millisecond; got != want {
		t.Errorf("Max() = %v; want %v", got, want)
	}
	if got, want := h.Min(), time.Microsecond; got != want {
		t.Errorf("Min() = %v; want %v", got, want)
	}
	if got, want := h.Mean(), 5000500*time.Nanosecond; got != want {
		t.Errorf("Mean() = %v; want %v", got, want)
	}
}

func TestHistogramExactSmallValues(t *testing.T) {
	var h Histogram
	for _, v := range []time.Duration{3, 3, 7, 100, 200} {
		h.Record(v)
	}
	cases := []struct {
		q    float64
		want time.Duration
	}{{0.2, 3}, {0.4, 3}, {0.6, 7}, {0.8, 100}, {0.9, 200}, {1, 200}}
	for _, c := range cases {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %v; want %v", c.q, got, c.want)
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatalf("empty histogram: got q50 %v max %v mean %v; want zeros", h.Quantile(0.5), h.Max(), h.Mean())
	}
	h.Record(-5)
	if got := h.Quantile(1); got != 0 {
		t.Errorf("negative value recorded as %v; want 0", got)
	}
	huge := 2 * maxTrackable
	h.Record(huge)
	if got := h.Max(); got != huge {
		t.Errorf("Max() = %v; want exact %v", got, huge)
	}
	if got := h.Quantile(0.99); got < maxTrackable-maxTrackable/halfSubCount {
		t.Errorf("Quantile(0.99) = %v; want about MaxTrackable", got)
	}
	h.Reset()
	if h.Count() != 0 {
		t.Errorf("Count() after Reset = %d; want 0", h.Count())
	}
}

func TestHistogramMerge(t *testing.T) {
	var a, b, all Histogram
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 5000 {
		v := time.Duration(rng.ExpFloat64() * float64(time.Millisecond))
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	var empty Histogram
	a.Merge(&empty)
	a.Merge(&b)
	if a != all {
		for _, q := range []float64{0, 0.5, 0.99, 1} {
			t.Logf("q %v: merged %v, direct %v", q, a.Quantile(q), all.Quantile(q))
		}
		t.Fatal("merged histogram differs from one that recorded everything")
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	h := new(Histogram)
	allocs := testing.AllocsPerRun(1000, func() { h.Record(1234567) })
	if allocs != 0 {
		t.Fatalf("Record allocates %v times; want 0", allocs)
	}
}
