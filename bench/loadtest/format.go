package loadtest

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// WriteTable writes rows as a markdown table: system, 2xx requests/s,
// metrics/s, p50, p99, p99.9, p99.99 (a dash when the row lacks them),
// errors, peak RSS, and the ratio of the system's requests/s to
// reference's (a dash when there is no reference).
func WriteTable(w io.Writer, rows []Row, reference string) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "| system | req/s | metrics/s | p50 | p99 | p99.9 | p99.99 | errors | peak RSS | vs %s |\n", reference)
	fmt.Fprintln(bw, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.System, FormatCount(r.ReqPerSec), FormatCount(r.MetricsPerSec),
			FormatLatency(r.P50), FormatLatency(r.P99), rowLatency(r, 99.9), rowLatency(r, 99.99),
			FormatCount(float64(r.Errors)), FormatBytes(r.PeakRSS), FormatRatio(r.Ratio))
	}
	return bw.Flush()
}

// runLatency formats x's latency at percentile q, or a dash.
func runLatency(x WrkResult, q float64) string {
	if d, ok := x.At(q); ok {
		return FormatLatency(d)
	}
	return "–"
}

// rowLatency formats r's latency at percentile q, or a dash.
func rowLatency(r Row, q float64) string {
	if d, ok := r.At(q); ok {
		return FormatLatency(d)
	}
	return "–"
}

// WriteRounds writes every run as a row of a markdown table, in the order
// given: wrk's own Requests/sec (every status), the 2xx rate, the
// percentiles (p99.9 and p99.99 a dash when the script printed none), the
// error counts, and the memory at the end of the run.
func WriteRounds(w io.Writer, runs []Run) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "| round | system | wrk req/s | 2xx req/s | p50 | p75 | p90 | p99 | p99.9 | p99.99 | non-2xx | socket errors | peak RSS | end RSS |")
	fmt.Fprintln(bw, "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range runs {
		x := r.Wrk
		fmt.Fprintf(bw, "| %d | %s | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Round, r.System, x.ReqPerSec, FormatCount(x.OKPerSec()),
			FormatLatency(x.P50), FormatLatency(x.P75), FormatLatency(x.P90), FormatLatency(x.P99),
			runLatency(x, 99.9), runLatency(x, 99.99),
			FormatCount(float64(x.Non2xx)), FormatCount(float64(x.SocketErrors())),
			FormatBytes(r.Memory.HWM), FormatBytes(r.Memory.RSS))
	}
	return bw.Flush()
}

// IdleMemory is one server's memory while it holds many idle keep-alive
// connections, next to its memory under load.
type IdleMemory struct {
	System string `json:"system"`
	// Conns is the number of idle connections held.
	Conns int `json:"idle_conns"`
	// Before is read after the server became ready, before any
	// connection; Idle with the Conns connections open.
	Before Memory `json:"before"`
	Idle   Memory `json:"idle"`
	// LoadConns is the number of connections of the load runs, and
	// LoadRSS, LoadPeak the same system's [Row.EndRSS] and [Row.PeakRSS].
	LoadConns int   `json:"load_conns"`
	LoadRSS   int64 `json:"load_end_rss_bytes"`
	LoadPeak  int64 `json:"load_peak_rss_bytes"`
}

// PerConn is the growth of the resident set per idle connection.
func (m IdleMemory) PerConn() int64 {
	if m.Conns <= 0 {
		return 0
	}
	return (m.Idle.RSS - m.Before.RSS) / int64(m.Conns)
}

// WriteIdle writes m as one line of text.
func WriteIdle(w io.Writer, m IdleMemory) error {
	_, err := fmt.Fprintf(w, "%s memory: RSS %s with %s idle keep-alive connections (%s before they were opened, %s per connection); "+
		"RSS %s with %d connections under load at the end of a run (median), peak %s\n",
		m.System, FormatBytes(m.Idle.RSS), FormatCount(float64(m.Conns)), FormatBytes(m.Before.RSS),
		formatSmallBytes(m.PerConn()), FormatBytes(m.LoadRSS), m.LoadConns, FormatBytes(m.LoadPeak))
	return err
}

// FormatCount rounds v to an integer and groups its digits by three with
// spaces: 54767.6 is "54 768".
func FormatCount(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	n := int64(math.Round(v))
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	s := strconv.FormatInt(n, 10)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ' ')
		}
		out = append(out, s[i])
	}
	return sign + string(out)
}

// FormatLatency prints d with three significant digits in µs, ms or s:
// "573 µs", "1.22 ms", "32.3 ms", "164 ms", "1.02 s".
func FormatLatency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return threeDigits(float64(d)/float64(time.Millisecond)) + " ms"
	default:
		return threeDigits(float64(d)/float64(time.Second)) + " s"
	}
}

// threeDigits prints v (at least 1) with three significant digits, or
// with none after the point from 100 on.
func threeDigits(v float64) string {
	switch {
	case v < 9.995:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 99.95:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
}

// FormatBytes prints a memory size in MiB with one decimal: "35.2 MiB".
func FormatBytes(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

// formatSmallBytes prints a per-connection size in KiB with one decimal.
func formatSmallBytes(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
}

// FormatRatio prints r with two decimals and a multiplication sign, or a
// dash for zero (no reference).
func FormatRatio(r float64) string {
	if r == 0 {
		return "–"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "×"
}
