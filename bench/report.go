package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Latency summarizes a [Histogram]. In JSON every value is in
// microseconds.
type Latency struct {
	P50  time.Duration
	P90  time.Duration
	P99  time.Duration
	P999 time.Duration
	Max  time.Duration
	Mean time.Duration
}

func summarize(h *Histogram) Latency {
	return Latency{
		P50:  h.Quantile(0.50),
		P90:  h.Quantile(0.90),
		P99:  h.Quantile(0.99),
		P999: h.Quantile(0.999),
		Max:  h.Max(),
		Mean: h.Mean(),
	}
}

// MarshalJSON encodes the percentiles as microseconds.
func (l Latency) MarshalJSON() ([]byte, error) {
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	return json.Marshal(struct {
		P50  float64 `json:"p50"`
		P90  float64 `json:"p90"`
		P99  float64 `json:"p99"`
		P999 float64 `json:"p99_9"`
		Max  float64 `json:"max"`
		Mean float64 `json:"mean"`
	}{us(l.P50), us(l.P90), us(l.P99), us(l.P999), us(l.Max), us(l.Mean)})
}

// Report is the result of one [Run].
type Report struct {
	// Target and workload.
	URL        string  `json:"url"`
	Format     string  `json:"format"`
	Gzip       bool    `json:"gzip"`
	Conns      int     `json:"connections"`
	Metrics    int     `json:"metrics_per_request"`
	Clients    int     `json:"clients"`
	TargetRate float64 `json:"target_rate"` // 0: closed loop
	BodyBytes  int     `json:"mean_body_bytes"`

	// Elapsed is the wall time from start until the last request ended.
	Elapsed time.Duration `json:"-"`
	// Requests counts requests that ended, answered or not.
	Requests uint64 `json:"requests"`
	// Succeeded counts 2xx answers.
	Succeeded uint64 `json:"succeeded"`
	// RequestsPerSec is Requests / Elapsed.
	RequestsPerSec float64 `json:"requests_per_sec"`
	// MetricsPerSec counts metrics in 2xx answers per second.
	MetricsPerSec float64 `json:"metrics_per_sec"`
	// SuccessRate is Succeeded / Requests (0 when nothing ended).
	SuccessRate float64 `json:"success_rate"`
	// Status counts answers by status code.
	Status map[int]uint64 `json:"status"`
	// TransportErrors counts requests without an answer; Errors splits
	// them by kind (ErrKindConnect, ErrKindTimeout, …).
	TransportErrors uint64            `json:"transport_errors"`
	Errors          map[string]uint64 `json:"errors"`
	// Unsent counts open-loop requests that were due before the end of
	// the run but never started because every connection was busy; their
	// latency is not in Latency.
	Unsent uint64 `json:"unsent"`
	// Latency of answered requests; in an open loop measured from each
	// request's due time.
	Latency Latency `json:"latency_us"`
	// ScheduleLag (open loop only) is how late requests were sent after
	// their due time: queueing behind busy connections plus the
	// generator's own timer and scheduling delay.
	ScheduleLag *Latency `json:"schedule_lag_us,omitempty"`
}

// MarshalJSON adds elapsed_seconds to the encoded fields.
func (rep *Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		*plain
		ElapsedSeconds float64 `json:"elapsed_seconds"`
		Mode           string  `json:"mode"`
	}{(*plain)(rep), rep.Elapsed.Seconds(), rep.Mode()})
}

// WriteJSON writes the report as one indented JSON object.
func (rep *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encode report: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("bench: write report: %w", err)
	}
	return nil
}

// WriteText writes the report as aligned human-readable lines.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	gz := ""
	if rep.Gzip {
		gz = ", gzip"
	}
	fmt.Fprintf(&b, "target       %s\n", rep.URL)
	fmt.Fprintf(&b, "workload     %s%s, %d metrics/request (%d B), %d connections, %d client ids, %s\n",
		rep.Format, gz, rep.Metrics, rep.BodyBytes, rep.Conns, rep.Clients, rep.Mode())
	fmt.Fprintf(&b, "elapsed      %.2fs\n", rep.Elapsed.Seconds())
	fmt.Fprintf(&b, "requests     %d (%d 2xx)\n", rep.Requests, rep.Succeeded)
	fmt.Fprintf(&b, "throughput   %.0f req/s, %.0f metrics/s\n", rep.RequestsPerSec, rep.MetricsPerSec)
	fmt.Fprintf(&b, "success      %.2f %%\n", 100*rep.SuccessRate)
	fmt.Fprintf(&b, "status       %s\n", formatStatus(rep.Status))
	fmt.Fprintf(&b, "errors       %s\n", formatErrors(rep.Errors))
	if rep.TargetRate > 0 {
		fmt.Fprintf(&b, "unsent       %d\n", rep.Unsent)
	}
	fmt.Fprintf(&b, "latency      %s\n", formatLatency(rep.Latency))
	if rep.ScheduleLag != nil {
		fmt.Fprintf(&b, "send lag     %s\n", formatLatency(*rep.ScheduleLag))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("bench: write report: %w", err)
	}
	return nil
}

func formatStatus(m map[int]uint64) string {
	if len(m) == 0 {
		return "none"
	}
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = strconv.Itoa(c) + ": " + strconv.FormatUint(m[c], 10)
	}
	return strings.Join(parts, ", ")
}

func formatErrors(m map[string]uint64) string {
	var kinds []string
	for k, n := range m {
		if n > 0 {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return "none"
	}
	slices.Sort(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = k + ": " + strconv.FormatUint(m[k], 10)
	}
	return strings.Join(parts, ", ")
}

func formatLatency(l Latency) string {
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s",
		FormatDuration(l.P50), FormatDuration(l.P90), FormatDuration(l.P99),
		FormatDuration(l.P999), FormatDuration(l.Max), FormatDuration(l.Mean))
}

// FormatDuration prints d with three significant digits in µs, ms or s,
// e.g. "842µs", "1.24ms", "12.3s".
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return sig3(float64(d)/1e3) + "µs"
	case d < time.Second:
		return sig3(float64(d)/1e6) + "ms"
	default:
		return sig3(float64(d)/1e9) + "s"
	}
}

// sig3 formats v (>= 1) with three significant digits.
func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
