package loadtest

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseWrkCaptured(t *testing.T) {
	cases := []struct {
		file string
		want WrkResult
	}{
		{"wrk_ok.txt", WrkResult{
			Requests: 113429, Duration: 2070 * time.Millisecond, ReqPerSec: 54767.62,
			P50: 573 * time.Microsecond, P75: 1220 * time.Microsecond,
			P90: 32300 * time.Microsecond, P99: 164420 * time.Microsecond,
		}},
		{"wrk_non2xx.txt", WrkResult{
			Requests: 15490, Duration: 2010 * time.Millisecond, ReqPerSec: 7717.24,
			P50: 2010 * time.Microsecond, P75: 42700 * time.Microsecond,
			P90: 262970 * time.Microsecond, P99: 520030 * time.Microsecond,
			Non2xx: 13450,
		}},
		{"wrk_socket_errors.txt", WrkResult{
			Requests: 41473, Duration: 3300 * time.Millisecond, ReqPerSec: 12550.49,
			P50: 563 * time.Microsecond, P75: 825 * time.Microsecond,
			P90: 1180 * time.Microsecond, P99: 123350 * time.Microsecond,
			Read: 107, Write: 18377,
		}},
		{"wrk_percentiles.txt", WrkResult{
			Requests: 113429, Duration: 2070 * time.Millisecond, ReqPerSec: 54767.62,
			P50: 573 * time.Microsecond, P75: 1220 * time.Microsecond,
			P90: 32300 * time.Microsecond, P99: 164420 * time.Microsecond,
			Percentiles: []Percentile{
				{50, 573 * time.Microsecond}, {75, 1220 * time.Microsecond}, {90, 32301 * time.Microsecond},
				{95, 80112 * time.Microsecond}, {99, 164420 * time.Microsecond}, {99.5, 170001 * time.Microsecond},
				{99.9, 185300 * time.Microsecond}, {99.95, 188000 * time.Microsecond}, {99.99, 190180 * time.Microsecond},
			},
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			out, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseWrk(out)
			if err != nil {
				t.Fatalf("ParseWrk: %v", err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v; want %+v", got, c.want)
			}
		})
	}
}

func TestWrkResultAt(t *testing.T) {
	r := WrkResult{P50: 1, P75: 2, P90: 3, P99: 4, Percentiles: []Percentile{{99, 40}, {99.9, 50}}}
	for _, c := range []struct {
		q    float64
		want time.Duration
		ok   bool
	}{{50, 1, true}, {75, 2, true}, {90, 3, true}, {99, 40, true}, {99.9, 50, true}, {99.99, 0, false}} {
		if got, ok := r.At(c.q); got != c.want || ok != c.ok {
			t.Errorf("At(%v) = %v, %v; want %v, %v", c.q, got, ok, c.want, c.ok)
		}
	}
}

func TestWrkResultDerived(t *testing.T) {
	cases := []struct {
		name       string
		r          WrkResult
		okPerSec   float64
		socketErrs int64
		errs       int64
	}{
		{"clean", WrkResult{Requests: 1000, ReqPerSec: 500}, 500, 0, 0},
		{"quarter refused", WrkResult{Requests: 1000, ReqPerSec: 500, Non2xx: 250}, 375, 0, 250},
		{"all refused", WrkResult{Requests: 10, ReqPerSec: 5, Non2xx: 10}, 0, 0, 10},
		{"socket errors only", WrkResult{Requests: 100, ReqPerSec: 50, Connect: 1, Read: 2, Write: 3, Timeout: 4}, 50, 10, 10},
		{"both", WrkResult{Requests: 100, ReqPerSec: 50, Non2xx: 50, Timeout: 4}, 25, 4, 54},
		{"nothing completed", WrkResult{Connect: 64}, 0, 64, 64},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.r.OKPerSec(); math.Abs(got-c.okPerSec) > 1e-9 {
				t.Errorf("OKPerSec = %v; want %v", got, c.okPerSec)
			}
			if got := c.r.SocketErrors(); got != c.socketErrs {
				t.Errorf("SocketErrors = %d; want %d", got, c.socketErrs)
			}
			if got := c.r.Errors(); got != c.errs {
				t.Errorf("Errors = %d; want %d", got, c.errs)
			}
		})
	}
}

func TestParseWrkDuration(t *testing.T) {
	f := func(in string, want time.Duration, wantErr bool) {
		t.Helper()
		got, err := ParseWrkDuration(in)
		if (err != nil) != wantErr || got != want {
			t.Errorf("ParseWrkDuration(%q) = %v, %v; want %v, error %v", in, got, err, want, wantErr)
		}
	}
	f("573.00us", 573*time.Microsecond, false)
	f("0.00us", 0, false)
	f("1.22ms", 1220*time.Microsecond, false)
	f("164.42ms", 164420*time.Microsecond, false)
	f("2.07s", 2070*time.Millisecond, false)
	f("10.00s", 10*time.Second, false)
	f("1.50m", 90*time.Second, false)
	f("2.00h", 2*time.Hour, false)
	f("12", 0, true)
	f("ms", 0, true)
	f("-1.00ms", 0, true)
	f("1.2.3ms", 0, true)
	f("5.00ns", 0, true)
	f("", 0, true)
}

func TestParseWrkRejects(t *testing.T) {
	ok, err := os.ReadFile(filepath.Join("testdata", "wrk_ok.txt"))
	if err != nil {
		t.Fatal(err)
	}
	full := string(ok)
	drop := func(prefix string) string {
		var b strings.Builder
		for line := range strings.SplitAfterSeq(full, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), prefix) {
				b.WriteString(line)
			}
		}
		return b.String()
	}
	cases := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"no requests line", drop("113429 requests")},
		{"no rate", drop("Requests/sec")},
		{"no latency distribution", drop("Latency Distribution")},
		{"bad rate", strings.Replace(full, "54767.62", "fast", 1)},
		{"bad percentile", strings.Replace(full, "573.00us", "573.00xs", 1)},
		{"bad requests count", strings.Replace(full, "113429 requests", "many requests", 1)},
		{"bad socket errors", strings.Replace(full, "Transfer/sec", "  Socket errors: connect x, read 0\nTransfer/sec", 1)},
		{"unknown socket error", strings.Replace(full, "Transfer/sec", "  Socket errors: bogus 1\nTransfer/sec", 1)},
		{"bad non-2xx", strings.Replace(full, "Transfer/sec", "  Non-2xx or 3xx responses: lots\nTransfer/sec", 1)},
		{"bad script percentile", full + "latency percentile 99.9: many us\n"},
		{"script percentile of 100", full + "latency percentile 100: 5 us\n"},
		{"script percentile without unit", full + "latency percentile 99: 5\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ParseWrk([]byte(c.in))
			if !errors.Is(err, ErrWrkOutput) {
				t.Errorf("ParseWrk = %+v, %v; want an error wrapping ErrWrkOutput", r, err)
			}
		})
	}
}

func TestParseWrkIgnoresScriptLines(t *testing.T) {
	in := "Running 1s test @ http://127.0.0.1:1/metrics\n" +
		"  Latency Distribution\n     50%    1.00ms\n     99%    2.00ms\n" +
		"  10 requests in 1.00s, 1.00KB read\n" +
		"some script output: 12%\n" +
		"Requests/sec:     10.00\n" +
		"errors: non-2xx/3xx 0, connect 0, read 0, write 0, timeout 0\n"
	got, err := ParseWrk([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := WrkResult{Requests: 10, Duration: time.Second, ReqPerSec: 10, P50: time.Millisecond, P99: 2 * time.Millisecond}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v; want %+v", got, want)
	}
}
