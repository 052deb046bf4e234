package loadtest

import (
	"slices"
	"time"
)

// Run is one measured wrk run against one system.
type Run struct {
	// System names the system under test ("metricstream/written/io_uring").
	System string `json:"system"`
	// Round is the 1-based round the run belongs to.
	Round int `json:"round"`
	// Wrk is wrk's report of the run.
	Wrk WrkResult `json:"wrk"`
	// Memory is the server's memory right after the run, before it was
	// stopped; HWM covers the warm-up run too.
	Memory Memory `json:"memory"`
}

// Row summarises the runs of one system.
type Row struct {
	System string `json:"system"`
	// Rounds is the number of runs summarised.
	Rounds int `json:"rounds"`
	// ReqPerSec is the median over the runs of the 2xx answers per second
	// ([WrkResult.OKPerSec]).
	ReqPerSec float64 `json:"requests_per_sec"`
	// MetricsPerSec is ReqPerSec times the metrics in one request.
	MetricsPerSec float64 `json:"metrics_per_sec"`
	// P50 and P99 are the medians over the runs of wrk's percentiles.
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	// Percentiles holds, for each of CurvePercentiles that every run
	// reported, the median over the runs of its latency.
	Percentiles []Percentile `json:"percentiles,omitempty"`
	// Errors sums [WrkResult.Errors] over the runs.
	Errors int64 `json:"errors"`
	// PeakRSS is the largest VmHWM of the runs; EndRSS the median VmRSS
	// at the end of a run.
	PeakRSS int64 `json:"peak_rss_bytes"`
	EndRSS  int64 `json:"end_rss_bytes"`
	// Ratio is ReqPerSec over the reference system's ReqPerSec; zero when
	// there is no reference row or its rate is zero.
	Ratio float64 `json:"ratio"`
}

// CurvePercentiles are the points of a latency curve, p50 to p99.99: the
// percentiles the wrk scripts' done() prints.
var CurvePercentiles = []float64{50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99}

// At returns the row's latency at percentile q, and whether it has one.
func (r Row) At(q float64) (time.Duration, bool) {
	for _, p := range r.Percentiles {
		if p.Q == q {
			return p.Latency, true
		}
	}
	return 0, false
}

// Summarize builds one Row per system, in the order systems first appear
// in runs. metricsPerRequest scales requests to metrics; reference names
// the system whose rate is the denominator of every Ratio.
func Summarize(runs []Run, metricsPerRequest int, reference string) []Row {
	var order []string
	bySystem := make(map[string][]Run)
	for _, r := range runs {
		if _, seen := bySystem[r.System]; !seen {
			order = append(order, r.System)
		}
		bySystem[r.System] = append(bySystem[r.System], r)
	}
	rows := make([]Row, 0, len(order))
	for _, name := range order {
		rs := bySystem[name]
		rates := make([]float64, len(rs))
		p50 := make([]float64, len(rs))
		p99 := make([]float64, len(rs))
		ends := make([]float64, len(rs))
		row := Row{System: name, Rounds: len(rs)}
		for i, r := range rs {
			rates[i] = r.Wrk.OKPerSec()
			p50[i] = float64(r.Wrk.P50)
			p99[i] = float64(r.Wrk.P99)
			ends[i] = float64(r.Memory.RSS)
			row.Errors += r.Wrk.Errors()
			row.PeakRSS = max(row.PeakRSS, r.Memory.HWM)
		}
		row.ReqPerSec = Median(rates)
		row.MetricsPerSec = row.ReqPerSec * float64(metricsPerRequest)
		row.P50 = time.Duration(Median(p50) + 0.5)
		row.P99 = time.Duration(Median(p99) + 0.5)
		row.EndRSS = int64(Median(ends) + 0.5)
		row.Percentiles = medianCurve(rs)
		rows = append(rows, row)
	}
	var ref float64
	for _, row := range rows {
		if row.System == reference {
			ref = row.ReqPerSec
		}
	}
	if ref > 0 {
		for i := range rows {
			rows[i].Ratio = rows[i].ReqPerSec / ref
		}
	}
	return rows
}

// medianCurve is the median latency at each of CurvePercentiles over rs,
// leaving out a percentile that some run lacks.
func medianCurve(rs []Run) []Percentile {
	var out []Percentile
	for _, q := range CurvePercentiles {
		ds := make([]float64, 0, len(rs))
		for _, r := range rs {
			if d, ok := r.Wrk.At(q); ok {
				ds = append(ds, float64(d))
			}
		}
		if len(ds) == len(rs) && len(ds) > 0 {
			out = append(out, Percentile{Q: q, Latency: time.Duration(Median(ds) + 0.5)})
		}
	}
	return out
}

// Median is the middle value of vs, or the mean of the two middle values
// when len(vs) is even; zero for no values. vs is not modified.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
