package loadtest

import (
	"strings"
	"testing"
	"time"
)

func TestFormatCount(t *testing.T) {
	f := func(in float64, want string) {
		t.Helper()
		if got := FormatCount(in); got != want {
			t.Errorf("FormatCount(%v) = %q; want %q", in, got, want)
		}
	}
	f(0, "0")
	f(7, "7")
	f(999.4, "999")
	f(999.5, "1 000")
	f(54767.62, "54 768")
	f(547676.2, "547 676")
	f(1234567, "1 234 567")
	f(-1234, "-1 234")
}

func TestFormatLatency(t *testing.T) {
	f := func(in time.Duration, want string) {
		t.Helper()
		if got := FormatLatency(in); got != want {
			t.Errorf("FormatLatency(%v) = %q; want %q", in, got, want)
		}
	}
	f(0, "0 µs")
	f(573*time.Microsecond, "573 µs")
	f(1220*time.Microsecond, "1.22 ms")
	f(9996*time.Microsecond, "10.0 ms")
	f(32300*time.Microsecond, "32.3 ms")
	f(164420*time.Microsecond, "164 ms")
	f(1020*time.Millisecond, "1.02 s")
	f(90*time.Second, "90.0 s")
}

func TestFormatBytesAndRatio(t *testing.T) {
	cases := []struct {
		got, want string
	}{
		{FormatBytes(0), "0.0 MiB"},
		{FormatBytes(36132 << 10), "35.3 MiB"},
		{FormatBytes(3 << 30), "3072.0 MiB"},
		{formatSmallBytes(3900), "3.8 KiB"},
		{FormatRatio(0), "–"},
		{FormatRatio(1), "1.00×"},
		{FormatRatio(0.3456), "0.35×"},
		{FormatRatio(2.5), "2.50×"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q; want %q", c.got, c.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	rows := []Row{
		{System: "metricstream/written/io_uring", Rounds: 2, ReqPerSec: 41234.4, MetricsPerSec: 412344,
			P50: 1220 * time.Microsecond, P99: 4560 * time.Microsecond, PeakRSS: 36132 << 10, Ratio: 1,
			Percentiles: []Percentile{{99.9, 7 * time.Millisecond}, {99.99, 12300 * time.Microsecond}}},
		{System: "nethttpbase", Rounds: 2, ReqPerSec: 15000.6, MetricsPerSec: 150006,
			P50: 3400 * time.Microsecond, P99: 15400 * time.Microsecond, Errors: 1234, PeakRSS: 20 << 20, Ratio: 15000.6 / 41234.4},
		{System: "gnetnop", Rounds: 2, ReqPerSec: 73700, MetricsPerSec: 737000,
			P50: 650 * time.Microsecond, P99: 164420 * time.Microsecond, PeakRSS: 9 << 20, Ratio: 73700 / 41234.4},
	}
	var b strings.Builder
	if err := WriteTable(&b, rows, "metricstream/written/io_uring"); err != nil {
		t.Fatal(err)
	}
	want := `| system | req/s | metrics/s | p50 | p99 | p99.9 | p99.99 | errors | peak RSS | vs metricstream/written/io_uring |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| metricstream/written/io_uring | 41 234 | 412 344 | 1.22 ms | 4.56 ms | 7.00 ms | 12.3 ms | 0 | 35.3 MiB | 1.00× |
| nethttpbase | 15 001 | 150 006 | 3.40 ms | 15.4 ms | – | – | 1 234 | 20.0 MiB | 0.36× |
| gnetnop | 73 700 | 737 000 | 650 µs | 164 ms | – | – | 0 | 9.0 MiB | 1.79× |
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	b.Reset()
	rows[0].Ratio, rows[1].Ratio, rows[2].Ratio = 0, 0, 0
	if err := WriteTable(&b, rows[1:2], "metricstream/written/file"); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.HasSuffix(got, "| 20.0 MiB | – |\n") || !strings.Contains(got, "| vs metricstream/written/file |") {
		t.Errorf("table without a reference:\n%s", got)
	}
}

func TestWriteRounds(t *testing.T) {
	r := run("gnetnop", 2, 54767.62, 573*time.Microsecond, 164420*time.Microsecond, 9<<20, 8<<20)
	r.Wrk.Requests = 113429
	r.Wrk.Non2xx = 13429
	r.Wrk.P75 = 1220 * time.Microsecond
	r.Wrk.P90 = 32300 * time.Microsecond
	r.Wrk.Read, r.Wrk.Write = 7, 3
	r.Wrk.Percentiles = []Percentile{{99.9, 185300 * time.Microsecond}}
	var b strings.Builder
	if err := WriteRounds(&b, []Run{r}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines; want 3:\n%s", len(lines), b.String())
	}
	// 54767.62 × 100000/113429 = 48283.6
	want := "| 2 | gnetnop | 54767.62 | 48 284 | 573 µs | 1.22 ms | 32.3 ms | 164 ms | 185 ms | – | 13 429 | 10 | 9.0 MiB | 8.0 MiB |"
	if lines[2] != want {
		t.Errorf("got\n%s\nwant\n%s", lines[2], want)
	}
}

func TestWriteIdle(t *testing.T) {
	m := IdleMemory{
		System: "metricstream/written/io_uring", Conns: 10000,
		Before:    Memory{RSS: 10 << 20, HWM: 10 << 20},
		Idle:      Memory{RSS: 10<<20 + 10000*4096, HWM: 50 << 20},
		LoadConns: 64, LoadRSS: 30 << 20, LoadPeak: 35 << 20,
	}
	if got := m.PerConn(); got != 4096 {
		t.Errorf("PerConn = %d; want 4096", got)
	}
	if got := (IdleMemory{}).PerConn(); got != 0 {
		t.Errorf("PerConn of nothing = %d; want 0", got)
	}
	var b strings.Builder
	if err := WriteIdle(&b, m); err != nil {
		t.Fatal(err)
	}
	want := "metricstream/written/io_uring memory: RSS 49.1 MiB with 10 000 idle keep-alive connections " +
		"(10.0 MiB before they were opened, 4.0 KiB per connection); RSS 30.0 MiB with 64 connections " +
		"under load at the end of a run (median), peak 35.0 MiB\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}
