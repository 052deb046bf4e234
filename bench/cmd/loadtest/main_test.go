//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"

	"metricstream/bench/loadtest"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	good := options{duration: 10 * time.Second, warmup: time.Second, rounds: 2, conns: 64, threads: 1, idleConns: 10000, forwardEven: true, pin: "auto"}
	cases := []struct {
		name   string
		change func(*options)
		ok     bool
	}{
		{"defaults", func(*options) {}, true},
		{"no warm-up", func(o *options) { o.warmup = 0 }, true},
		{"sub-second duration", func(o *options) { o.duration = 1500 * time.Millisecond }, false},
		{"zero duration", func(o *options) { o.duration = 0 }, false},
		{"negative warm-up", func(o *options) { o.warmup = -time.Second }, false},
		{"no rounds", func(o *options) { o.rounds = 0 }, false},
		{"no connections", func(o *options) { o.conns = 0 }, false},
		{"more threads than connections", func(o *options) { o.threads = 65 }, false},
		{"negative idle connections", func(o *options) { o.idleConns = -1 }, false},
		{"no even forwarding", func(o *options) { o.forwardEven = false }, true},
		{"bad pinning", func(o *options) { o.pin = "maybe" }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := good
			c.change(&o)
			err := o.validate(flag.NewFlagSet("t", flag.ContinueOnError))
			if (err == nil) != c.ok {
				t.Errorf("validate = %v; want ok %v", err, c.ok)
			}
		})
	}
}

func TestSelectSystems(t *testing.T) {
	o := options{binDir: "bin"}
	all := o.systemList(inventory{vmBin: "/usr/bin/victoria-metrics", forward: true})
	names := func(ss []system) string {
		var n []string
		for _, s := range ss {
			n = append(n, s.name)
		}
		return strings.Join(n, ",")
	}
	cases := []struct {
		name, filter string
		want         string
		err          bool
	}{
		{"all", "", "gnetnop,metricstream/written/auto,metricstream/written/file,metricstream/written/auto -cache-bytes 0,metricstream/queued/auto," +
			"metricstream/synced/auto,metricstream/written/auto (line),nethttpbase,fasthttpbase," +
			"victoria-metrics (line),metricstream/written/auto +forward", false},
		{"two, in run order", "metricstream/synced/auto, gnetnop", "gnetnop,metricstream/synced/auto", false},
		{"unknown", "gnetnop,nginx", "", true},
		{"only commas", ",,", "gnetnop,metricstream/written/auto,metricstream/written/file,metricstream/written/auto -cache-bytes 0,metricstream/queued/auto," +
			"metricstream/synced/auto,metricstream/written/auto (line),nethttpbase,fasthttpbase," +
			"victoria-metrics (line),metricstream/written/auto +forward", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o.systems = c.filter
			got, err := o.selectSystems(all)
			if (err != nil) != c.err || names(got) != c.want {
				t.Errorf("got %q, %v; want %q, error %v", names(got), err, c.want, c.err)
			}
		})
	}
}

func TestSystemList(t *testing.T) {
	cases := []struct {
		name        string
		inv         inventory
		forwardEven bool
		want        []string // present systems among the optional ones
	}{
		{"nothing optional", inventory{}, true, nil},
		{"VictoriaMetrics, no -forward", inventory{vmBin: "vm"}, true, []string{sysVM}},
		{"-forward without VictoriaMetrics", inventory{forward: true}, true, nil},
		{"both", inventory{vmBin: "vm", forward: true}, true, []string{sysVM, sysForward, sysForwardEven}},
		{"both, -forward-even=false", inventory{vmBin: "vm", forward: true}, false, []string{sysVM, sysForward}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := options{binDir: "bin", forwardEven: c.forwardEven}
			all := o.systemList(c.inv)
			if len(all) != 9+len(c.want) {
				t.Fatalf("got %d systems; want %d", len(all), 9+len(c.want))
			}
			for _, name := range c.want {
				if find(all, name) == nil {
					t.Errorf("%s missing", name)
				}
			}
		})
	}
	o := options{binDir: "bin", forwardEven: true}
	all := o.systemList(inventory{vmBin: "vm", forward: true})
	args := func(name string) string {
		return strings.Join(find(all, name).args("127.0.0.1:1", "/d", "127.0.0.1:2"), " ")
	}
	for name, want := range map[string]string{
		sysWritten: "-addr 127.0.0.1:1 -data-dir /d -ack written -writer auto -rate 1000000000 -stats-interval 0",
		sysFile:    "-addr 127.0.0.1:1 -data-dir /d -ack written -writer file -rate 1000000000 -stats-interval 0",
		sysSynced:  "-addr 127.0.0.1:1 -data-dir /d -ack synced -writer auto -rate 1000000000 -stats-interval 0",
		sysKernelPC: "-addr 127.0.0.1:1 -data-dir /d -ack written -writer auto -rate 1000000000 -stats-interval 0 " +
			"-cache-bytes 0",
		sysForward: "-addr 127.0.0.1:1 -data-dir /d -ack written -writer auto -rate 1000000000 -stats-interval 0 " +
			"-forward http://127.0.0.1:2/api/v1/write",
		sysForwardEven: "-addr 127.0.0.1:1 -data-dir /d -ack written -writer auto -rate 1000000000 -stats-interval 0 " +
			"-forward http://127.0.0.1:2/api/v1/write -forward-nice 0",
		sysCeiling: "-addr 127.0.0.1:1",
		sysNetHTTP: "-addr 127.0.0.1:1 -data-dir /d -rate 1000000000",
	} {
		if got := args(name); got != want {
			t.Errorf("%s: args %q; want %q", name, got, want)
		}
	}
	for _, name := range []string{sysForward, sysForwardEven} {
		if s := find(all, name); s.sink == nil || s.sink.name != sysVM || !s.metricstream {
			t.Errorf("forwarding system %s: sink %v, metricstream %v", name, s.sink, s.metricstream)
		}
	}
	if s := find(all, sysLine); s.script != lineScript || s.target != lineTarget {
		t.Errorf("line-protocol twin = %+v", s)
	}
	if s := find(all, sysVM); s.script != lineScript || s.metricstream {
		t.Errorf("VictoriaMetrics = %+v", s)
	}
}

func TestForwardFlag(t *testing.T) {
	for help, want := range map[string]bool{
		"Usage of metricstream:\n  -addr string\n  -forward value\n    \tsink URL\n": true,
		"  -forward-rate float\n":                                                      false,
		"Usage of metricstream:\n  -addr string\n  -ack string\n":                      false,
		"  -writer string\n    \tauto, file or io_uring; see -forward in the README\n": false,
	} {
		if got := forwardFlag.MatchString(help); got != want {
			t.Errorf("forwardFlag on %q = %v; want %v", help, got, want)
		}
	}
}

func TestComputeRatios(t *testing.T) {
	rows := []loadtest.Row{
		{System: sysCeiling, ReqPerSec: 100000},
		{System: sysWritten, ReqPerSec: 80000},
		{System: sysFile, ReqPerSec: 64000},
		{System: sysSynced, ReqPerSec: 40000},
		{System: sysVM, ReqPerSec: 20000},
		{System: sysLine, ReqPerSec: 90000},
	}
	got := computeRatios(rows, map[string]string{sysWritten: "io_uring"})
	want := map[string]float64{
		"MetricStream -ack written over the gnet ceiling":                          0.8,
		"default writer (io_uring) over the file writer, -ack written":             1.25,
		"-ack synced over -ack written":                                            0.5,
		"MetricStream JSON over VictoriaMetrics line protocol, samples/s":          4,
		"MetricStream line protocol over VictoriaMetrics line protocol, samples/s": 4.5,
	}
	if len(got) != len(want) {
		t.Errorf("got %d ratios; want %d (those whose systems both ran): %+v", len(got), len(want), got)
	}
	for _, r := range got {
		if w, ok := want[r.Label]; !ok || r.Value != w {
			t.Errorf("ratio %q = %v; want %v (known %v)", r.Label, r.Value, w, ok)
		}
	}
}

func TestTailWriter(t *testing.T) {
	w := &tailWriter{max: 8}
	for _, s := range []string{"abc", "defgh", "ijklmnopq", "r"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := w.String(); got != "klmnopqr" {
		t.Errorf("tail = %q; want %q", got, "klmnopqr")
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{1: "1 round", 2: "2 rounds", 0: "0 rounds"} {
		if got := plural(n, "round"); got != want {
			t.Errorf("plural(%d) = %q; want %q", n, got, want)
		}
	}
}

// TestRunWritesChart runs the whole command for one short round against
// gnetnop (built here) and, when METRICSTREAM_BIN names the binary,
// MetricStream's reference and line-protocol systems too, and checks the
// report, the JSON and the SVG chart, which must name every system run.
func TestRunWritesChart(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk not installed (Debian package wrk)")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "gnetnop"), "metricstream/bench/cmd/gnetnop")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build gnetnop: %v\n%s", err, out)
	}
	systems := []string{sysCeiling}
	if ms := os.Getenv("METRICSTREAM_BIN"); ms != "" {
		if err := os.Symlink(ms, filepath.Join(dir, "metricstream")); err != nil {
			t.Fatal(err)
		}
		systems = append(systems, sysWritten, sysLine)
	} else {
		t.Log("METRICSTREAM_BIN not set: gnetnop only")
	}
	svg, js, md := filepath.Join(dir, "chart.svg"), filepath.Join(dir, "results.json"), filepath.Join(dir, "report.md")
	var stdout, stderr strings.Builder
	code := run([]string{"-d", "1s", "-warmup", "0", "-rounds", "1", "-idle-conns", "0", "-bin", dir,
		"-scripts", filepath.Join("..", "..", "wrk"), "-victoria-metrics", "", "-systems", strings.Join(systems, ","),
		"-svg", svg, "-json", js, "-md", md}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if report, err := os.ReadFile(md); err != nil || string(report) != stdout.String() {
		t.Errorf("-md file differs from stdout (%v)", err)
	}
	chart, err := os.ReadFile(svg)
	if err != nil {
		t.Fatalf("no chart: %v", err)
	}
	var rep report
	if data, err := os.ReadFile(js); err != nil || json.Unmarshal(data, &rep) != nil {
		t.Fatalf("JSON results: %v", err)
	}
	if len(rep.Rows) != len(systems) {
		t.Fatalf("%d rows for %d systems:\n%s", len(rep.Rows), len(systems), stdout.String())
	}
	for _, row := range rep.Rows {
		if row.ReqPerSec <= 0 || len(row.Percentiles) != len(loadtest.CurvePercentiles) {
			t.Errorf("%s: %v req/s, %d percentiles", row.System, row.ReqPerSec, len(row.Percentiles))
		}
	}
	for _, name := range systems {
		if !bytes.Contains(chart, []byte(">"+name+"</text>")) {
			t.Errorf("chart does not name %s", name)
		}
		if !strings.Contains(stdout.String(), "| "+name+" |") {
			t.Errorf("report has no row for %s", name)
		}
	}
	if len(systems) > 1 && rep.Writers[sysWritten] == "" {
		t.Errorf("the writer of %s is not reported", sysWritten)
	}
	if !strings.Contains(stdout.String(), "![req/s per system and latency percentile curves]("+svg+")") {
		t.Errorf("report does not embed the chart:\n%s", stdout.String())
	}
}

func TestMsStatsForwarded(t *testing.T) {
	cases := []struct {
		body     string
		reported bool
		samples  int64
	}{
		{`{"writer":"file"}`, false, 0},
		{`{"writer":"file","forward":[]}`, true, 0},
		{`{"writer":"io_uring","forward":[{"sink":"a","samples":5},{"sink":"b","samples":7}]}`, true, 12},
	}
	for _, c := range cases {
		var st msStats
		if err := json.Unmarshal([]byte(c.body), &st); err != nil {
			t.Fatal(err)
		}
		if (st.Forward != nil) != c.reported || st.forwarded() != c.samples {
			t.Errorf("%s: reported %v, forwarded %d; want %v, %d", c.body, st.Forward != nil, st.forwarded(), c.reported, c.samples)
		}
	}
}
