package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{0, "0ns"},
		{999, "999ns"},
		{1500, "1.50µs"},
		{842 * time.Microsecond, "842µs"},
		{1240 * time.Microsecond, "1.24ms"},
		{12300 * time.Millisecond, "12.3s"},
	}
	for _, c := range cases {
		if got := FormatDuration(c.d); got != c.want {
			t.Errorf("FormatDuration(%d) = %q; want %q", c.d, got, c.want)
		}
	}
}

func sampleReport() *Report {
	return &Report{
		URL: "http://127.0.0.1:8080/metrics", Format: "json", Conns: 64, Metrics: 10, Clients: 100,
		TargetRate: 20000, BodyBytes: 1489, Elapsed: 2 * time.Second,
		Requests: 40000, Succeeded: 39000, RequestsPerSec: 20000, MetricsPerSec: 195000, SuccessRate: 0.975,
		Status: map[int]uint64{429: 900, 200: 39000}, TransportErrors: 100,
		Errors: map[string]uint64{ErrKindTimeout: 40, ErrKindConnect: 60}, Unsent: 7,
		Latency: Latency{P50: 800 * time.Microsecond, P90: 1200 * time.Microsecond, P99: 3 * time.Millisecond,
			P999: 9 * time.Millisecond, Max: 15 * time.Millisecond, Mean: 900 * time.Microsecond},
		ScheduleLag: &Latency{P50: 20 * time.Microsecond, Max: time.Millisecond},
	}
}

func TestReportText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `target       http://127.0.0.1:8080/metrics
workload     json, 10 metrics/request (1489 B), 64 connections, 100 client ids, open loop at 20000 req/s
elapsed      2.00s
requests     40000 (39000 2xx)
throughput   20000 req/s, 195000 metrics/s
success      97.50 %
status       200: 39000, 429: 900
errors       connect: 60, timeout: 40
unsent       7
latency      p50 800µs  p90 1.20ms  p99 3.00ms  p99.9 9.00ms  max 15.0ms  mean 900µs
send lag     p50 20.0µs  p90 0ns  p99 0ns  p99.9 0ns  max 1.00ms  mean 0ns
`
	if got := b.String(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}

	closed := sampleReport()
	closed.TargetRate, closed.ScheduleLag, closed.Errors = 0, nil, map[string]uint64{}
	b.Reset()
	if err := closed.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"closed loop", "errors       none"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("closed-loop report lacks %q:\n%s", s, b.String())
		}
	}
	for _, s := range []string{"unsent", "send lag"} {
		if strings.Contains(b.String(), s) {
			t.Errorf("closed-loop report has %q:\n%s", s, b.String())
		}
	}
}

func TestReportJSON(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("report JSON does not decode: %v\n%s", err, b.String())
	}
	checks := map[string]any{
		"requests":         40000.0,
		"elapsed_seconds":  2.0,
		"mode":             "open loop at 20000 req/s",
		"success_rate":     0.975,
		"transport_errors": 100.0,
		"unsent":           7.0,
	}
	for k, want := range checks {
		if got[k] != want {
			t.Errorf("%s = %v; want %v", k, got[k], want)
		}
	}
	lat := got["latency_us"].(map[string]any)
	if lat["p99"] != 3000.0 || lat["p99_9"] != 9000.0 {
		t.Errorf("latency_us = %v; want p99 3000, p99_9 9000", lat)
	}
	if st := got["status"].(map[string]any); st["429"] != 900.0 {
		t.Errorf("status = %v; want 429: 900", st)
	}
}
