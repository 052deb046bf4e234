package loadtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors of the package.
var (
	// ErrWrkOutput reports wrk output without a line the parser needs;
	// the wrapping error names the line.
	ErrWrkOutput = errors.New("loadtest: unrecognised wrk output")
	// ErrProcStatus reports a /proc/<pid>/status without VmHWM or VmRSS.
	ErrProcStatus = errors.New("loadtest: no memory lines in process status")
)

// WrkResult is what one wrk run reported. Latencies are wrk's, measured per
// request from send to answer on a closed loop; wrk prints them with two
// decimals in the unit it chose, so they are exact to that precision only.
type WrkResult struct {
	// Requests counts completed requests, whatever their status.
	Requests int64 `json:"requests"`
	// Duration is the run's wall time as wrk printed it (two decimals).
	Duration time.Duration `json:"duration_ns"`
	// ReqPerSec is wrk's Requests/sec line: Requests over the exact run
	// time, every status included.
	ReqPerSec float64 `json:"requests_per_sec"`
	// P50 … P99 are the --latency distribution; zero without --latency.
	P50 time.Duration `json:"p50_ns"`
	P75 time.Duration `json:"p75_ns"`
	P90 time.Duration `json:"p90_ns"`
	P99 time.Duration `json:"p99_ns"`
	// Percentiles is the finer distribution the scripts' done() prints
	// (bench/wrk/common.lua), p50 to p99.99 in whole microseconds, in the
	// order printed; empty when the script prints none.
	Percentiles []Percentile `json:"percentiles,omitempty"`
	// Non2xx counts answers wrk counted as errors ("Non-2xx or 3xx
	// responses": status 400 and above).
	Non2xx int64 `json:"non_2xx"`
	// Socket errors by kind. wrk omits the line when all are zero.
	Connect int64 `json:"socket_connect"`
	Read    int64 `json:"socket_read"`
	Write   int64 `json:"socket_write"`
	Timeout int64 `json:"socket_timeout"`
}

// Percentile is one point of a latency distribution: Latency is the
// latency at or under which Q percent of the requests were answered.
type Percentile struct {
	Q       float64       `json:"q"`
	Latency time.Duration `json:"latency_ns"`
}

// At returns the latency at percentile q from Percentiles, or from the
// --latency distribution for 50, 75, 90 and 99 when Percentiles lacks it;
// ok is false when neither has it.
func (r WrkResult) At(q float64) (d time.Duration, ok bool) {
	for _, p := range r.Percentiles {
		if p.Q == q {
			return p.Latency, true
		}
	}
	switch q {
	case 50:
		return r.P50, r.P50 > 0
	case 75:
		return r.P75, r.P75 > 0
	case 90:
		return r.P90, r.P90 > 0
	case 99:
		return r.P99, r.P99 > 0
	}
	return 0, false
}

// SocketErrors is the sum of the socket errors of every kind.
func (r WrkResult) SocketErrors() int64 { return r.Connect + r.Read + r.Write + r.Timeout }

// Errors is Non2xx plus SocketErrors: every request that did not get a
// successful answer.
func (r WrkResult) Errors() int64 { return r.Non2xx + r.SocketErrors() }

// OKPerSec is the rate of 2xx (and 3xx) answers: ReqPerSec scaled by the
// share of completed requests that were not Non2xx. Socket errors are not
// completed requests, so they are already outside ReqPerSec.
func (r WrkResult) OKPerSec() float64 {
	if r.Requests <= 0 {
		return 0
	}
	ok := r.Requests - r.Non2xx
	if ok < 0 {
		ok = 0
	}
	return r.ReqPerSec * float64(ok) / float64(r.Requests)
}

// ParseWrk parses the report wrk (4.x) prints on stdout:
//
//	  Latency Distribution
//	     50%  573.00us
//	     ...
//	  113429 requests in 2.07s, 15.90MB read
//	  Socket errors: connect 0, read 107, write 18377, timeout 0
//	  Non-2xx or 3xx responses: 13450
//	Requests/sec:  54767.62
//
// The "requests in" and "Requests/sec" lines are required; the latency
// distribution (printed with --latency) is required too, because the
// comparison reports p50 and p99. The lines the scripts' done() prints for
// the finer distribution,
//
//	latency percentile 99.99: 4123 us
//
// fill Percentiles. Other lines are skipped.
func ParseWrk(out []byte) (WrkResult, error) {
	var r WrkResult
	var haveRequests, haveRate, inDist bool
	percentiles := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if inDist {
			if q, d, ok, err := parsePercentileLine(line); ok {
				if err != nil {
					return r, err
				}
				switch q {
				case "50":
					r.P50 = d
				case "75":
					r.P75 = d
				case "90":
					r.P90 = d
				case "99":
					r.P99 = d
				}
				percentiles++
				continue
			}
			inDist = false
		}
		switch {
		case line == "Latency Distribution":
			inDist = true
		case strings.HasPrefix(line, percentilePrefix):
			p, err := parseScriptPercentile(line)
			if err != nil {
				return r, err
			}
			r.Percentiles = append(r.Percentiles, p)
		case strings.Contains(line, " requests in "):
			if err := parseRequestsLine(line, &r); err != nil {
				return r, err
			}
			haveRequests = true
		case strings.HasPrefix(line, "Requests/sec:"):
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, "Requests/sec:")), 64)
			if err != nil {
				return r, fmt.Errorf("%w: Requests/sec %q: %w", ErrWrkOutput, line, err)
			}
			r.ReqPerSec = v
			haveRate = true
		case strings.HasPrefix(line, "Socket errors:"):
			if err := parseSocketErrors(strings.TrimPrefix(line, "Socket errors:"), &r); err != nil {
				return r, err
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			v, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "Non-2xx or 3xx responses:")), 10, 64)
			if err != nil {
				return r, fmt.Errorf("%w: %q: %w", ErrWrkOutput, line, err)
			}
			r.Non2xx = v
		}
	}
	if err := sc.Err(); err != nil {
		return r, fmt.Errorf("loadtest: read wrk output: %w", err)
	}
	switch {
	case !haveRequests:
		return r, fmt.Errorf("%w: no \"N requests in T\" line", ErrWrkOutput)
	case !haveRate:
		return r, fmt.Errorf("%w: no Requests/sec line", ErrWrkOutput)
	case percentiles == 0:
		return r, fmt.Errorf("%w: no latency distribution (run wrk with --latency)", ErrWrkOutput)
	}
	return r, nil
}

// parsePercentileLine parses "50%  573.00us". ok is false when the line is
// not a percentile line at all (the distribution has ended).
func parsePercentileLine(line string) (q string, d time.Duration, ok bool, err error) {
	fields := strings.Fields(line)
	if len(fields) != 2 || !strings.HasSuffix(fields[0], "%") {
		return "", 0, false, nil
	}
	q = strings.TrimSuffix(fields[0], "%")
	if _, perr := strconv.ParseFloat(q, 64); perr != nil {
		return "", 0, false, nil
	}
	d, err = ParseWrkDuration(fields[1])
	if err != nil {
		return q, 0, true, fmt.Errorf("%w: percentile line %q: %w", ErrWrkOutput, line, err)
	}
	return q, d, true, nil
}

// percentilePrefix starts a percentile line of the scripts' done().
const percentilePrefix = "latency percentile "

// parseScriptPercentile parses "latency percentile 99.99: 4123 us".
func parseScriptPercentile(line string) (Percentile, error) {
	q, us, ok := strings.Cut(strings.TrimPrefix(line, percentilePrefix), ":")
	us, unit := strings.CutSuffix(strings.TrimSpace(us), " us")
	qv, qerr := strconv.ParseFloat(q, 64)
	n, nerr := strconv.ParseInt(us, 10, 64)
	if !ok || !unit || qerr != nil || nerr != nil || qv <= 0 || qv >= 100 || n < 0 {
		return Percentile{}, fmt.Errorf("%w: percentile line %q", ErrWrkOutput, line)
	}
	return Percentile{Q: qv, Latency: time.Duration(n) * time.Microsecond}, nil
}

// parseRequestsLine parses "113429 requests in 2.07s, 15.90MB read".
func parseRequestsLine(line string, r *WrkResult) error {
	fields := strings.Fields(strings.ReplaceAll(line, ",", " "))
	if len(fields) < 4 || fields[1] != "requests" || fields[2] != "in" {
		return fmt.Errorf("%w: requests line %q", ErrWrkOutput, line)
	}
	n, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return fmt.Errorf("%w: requests line %q: %w", ErrWrkOutput, line, err)
	}
	d, err := ParseWrkDuration(fields[3])
	if err != nil {
		return fmt.Errorf("%w: requests line %q: %w", ErrWrkOutput, line, err)
	}
	r.Requests, r.Duration = n, d
	return nil
}

// parseSocketErrors parses " connect 0, read 107, write 18377, timeout 0".
func parseSocketErrors(s string, r *WrkResult) error {
	for part := range strings.SplitSeq(s, ",") {
		kv := strings.Fields(part)
		if len(kv) != 2 {
			return fmt.Errorf("%w: socket errors %q", ErrWrkOutput, s)
		}
		n, err := strconv.ParseInt(kv[1], 10, 64)
		if err != nil {
			return fmt.Errorf("%w: socket errors %q: %w", ErrWrkOutput, s, err)
		}
		switch kv[0] {
		case "connect":
			r.Connect = n
		case "read":
			r.Read = n
		case "write":
			r.Write = n
		case "timeout":
			r.Timeout = n
		default:
			return fmt.Errorf("%w: socket error kind %q", ErrWrkOutput, kv[0])
		}
	}
	return nil
}

// wrkUnits are the time units wrk prints: microseconds to milliseconds to
// seconds by 1000, then minutes and hours by 60.
var wrkUnits = []struct {
	suffix string
	unit   time.Duration
}{
	// Longest suffix first: "ms" and "us" before "s".
	{"us", time.Microsecond},
	{"ms", time.Millisecond},
	{"s", time.Second},
	{"m", time.Minute},
	{"h", time.Hour},
}

// ParseWrkDuration parses a time as wrk prints it: a decimal number and one
// of the units us, ms, s, m or h ("573.00us", "1.22ms", "2.07s", "1.50m").
func ParseWrkDuration(s string) (time.Duration, error) {
	for _, u := range wrkUnits {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v < 0 || v > 1e6 {
			return 0, fmt.Errorf("loadtest: bad wrk time %q", s)
		}
		return time.Duration(v*float64(u.unit) + 0.5), nil
	}
	return 0, fmt.Errorf("loadtest: bad wrk time %q: unknown unit", s)
}
