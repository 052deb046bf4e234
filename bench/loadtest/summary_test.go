package loadtest

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	f := func(in []float64, want float64) {
		t.Helper()
		orig := append([]float64(nil), in...)
		if got := Median(in); got != want {
			t.Errorf("Median(%v) = %v; want %v", in, got, want)
		}
		for i := range in {
			if in[i] != orig[i] {
				t.Errorf("Median modified its input: %v; was %v", in, orig)
				break
			}
		}
	}
	f(nil, 0)
	f([]float64{7}, 7)
	f([]float64{3, 1}, 2)
	f([]float64{5, 1, 3}, 3)
	f([]float64{4, 1, 3, 2}, 2.5)
}

// run builds a Run with a clean wrk result.
func run(system string, round int, rate float64, p50, p99 time.Duration, hwm, rss int64) Run {
	return Run{
		System: system, Round: round,
		Wrk:    WrkResult{Requests: int64(rate) * 10, Duration: 10 * time.Second, ReqPerSec: rate, P50: p50, P99: p99},
		Memory: Memory{HWM: hwm, RSS: rss},
	}
}

func TestSummarize(t *testing.T) {
	const ms = time.Millisecond
	refused := run("b", 2, 2000, 2*ms, 8*ms, 40<<20, 30<<20)
	refused.Wrk.Non2xx = refused.Wrk.Requests / 2 // half refused: 1000 ok/s
	refused.Wrk.Timeout = 3
	runs := []Run{
		run("a", 1, 1000, 1*ms, 4*ms, 20<<20, 10<<20),
		run("b", 1, 1500, 3*ms, 6*ms, 50<<20, 20<<20),
		run("c", 1, 4000, 500*time.Microsecond, 2*ms, 8<<20, 8<<20),
		run("a", 2, 3000, 2*ms, 6*ms, 30<<20, 12<<20),
		refused,
		run("c", 2, 4000, 700*time.Microsecond, 3*ms, 9<<20, 7<<20),
	}
	// p99.9 only where every run of the system has it: both runs of a,
	// one run of b.
	runs[0].Wrk.Percentiles = []Percentile{{99.9, 8 * ms}}
	runs[3].Wrk.Percentiles = []Percentile{{99.9, 10 * ms}}
	runs[1].Wrk.Percentiles = []Percentile{{99.9, 10 * ms}}
	got := Summarize(runs, 10, "a")
	want := []Row{
		{System: "a", Rounds: 2, ReqPerSec: 2000, MetricsPerSec: 20000, P50: 1500 * time.Microsecond, P99: 5 * ms,
			Percentiles: []Percentile{{50, 1500 * time.Microsecond}, {99, 5 * ms}, {99.9, 9 * ms}},
			PeakRSS:     30 << 20, EndRSS: 11 << 20, Ratio: 1},
		{System: "b", Rounds: 2, ReqPerSec: 1250, MetricsPerSec: 12500, P50: 2500 * time.Microsecond, P99: 7 * ms,
			Percentiles: []Percentile{{50, 2500 * time.Microsecond}, {99, 7 * ms}},
			Errors:      refused.Wrk.Non2xx + 3, PeakRSS: 50 << 20, EndRSS: 25 << 20, Ratio: 0.625},
		{System: "c", Rounds: 2, ReqPerSec: 4000, MetricsPerSec: 40000, P50: 600 * time.Microsecond, P99: 2500 * time.Microsecond,
			Percentiles: []Percentile{{50, 600 * time.Microsecond}, {99, 2500 * time.Microsecond}},
			PeakRSS:     9 << 20, EndRSS: 15 << 19, Ratio: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows; want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if math.Abs(g.ReqPerSec-w.ReqPerSec) > 1e-6 || math.Abs(g.MetricsPerSec-w.MetricsPerSec) > 1e-5 ||
			math.Abs(g.Ratio-w.Ratio) > 1e-9 {
			t.Errorf("row %d rates: got %+v; want %+v", i, g, w)
		}
		g.ReqPerSec, g.MetricsPerSec, g.Ratio = w.ReqPerSec, w.MetricsPerSec, w.Ratio
		if !reflect.DeepEqual(g, w) {
			t.Errorf("row %d: got %+v; want %+v", i, got[i], w)
		}
	}
}

func TestSummarizeReference(t *testing.T) {
	runs := []Run{run("a", 1, 1000, 0, 0, 0, 0), run("z", 1, 0, 0, 0, 0, 0)}
	cases := []struct {
		name      string
		runs      []Run
		reference string
		ratios    []float64
	}{
		{"reference present", runs[:1], "a", []float64{1}},
		{"reference absent", runs[:1], "missing", []float64{0}},
		{"reference with zero rate", runs, "z", []float64{0, 0}},
		{"no runs", nil, "a", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows := Summarize(c.runs, 10, c.reference)
			if len(rows) != len(c.ratios) {
				t.Fatalf("got %d rows; want %d", len(rows), len(c.ratios))
			}
			for i, r := range rows {
				if r.Ratio != c.ratios[i] {
					t.Errorf("row %s ratio = %v; want %v", r.System, r.Ratio, c.ratios[i])
				}
			}
		})
	}
}
