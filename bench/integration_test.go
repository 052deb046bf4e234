package bench_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"metricstream/bench"
	"metricstream/bench/baseline/fasthttpbase"
	"metricstream/bench/baseline/gnetnop"
	"metricstream/bench/baseline/ingest"
	"metricstream/bench/baseline/nethttpbase"
)

// runFor bounds every load run of these tests.
const runFor = time.Second

func startGnetnop(t *testing.T) string {
	t.Helper()
	s, err := gnetnop.Start(gnetnop.Config{Addr: "127.0.0.1:0", Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("gnetnop shutdown: %v", err)
		}
	})
	return "http://" + s.Addr().String() + "/metrics"
}

func startNethttp(t *testing.T, rate float64) (url, dataDir string) {
	t.Helper()
	dataDir = t.TempDir()
	s, err := nethttpbase.Start(nethttpbase.Config{Addr: "127.0.0.1:0", DataDir: dataDir, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("nethttpbase shutdown: %v", err)
		}
	})
	return "http://" + s.Addr().String() + "/metrics", dataDir
}

func mustRun(t *testing.T, cfg bench.Config) *bench.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if testing.Verbose() {
		rep.WriteText(os.Stderr)
	}
	return rep
}

func checkAllOK(t *testing.T, rep *bench.Report) {
	t.Helper()
	if rep.Requests == 0 || rep.Succeeded != rep.Requests || rep.TransportErrors != 0 || len(rep.Status) != 1 {
		t.Fatalf("got %d requests, %d 2xx, status %v, errors %v; want all 200", rep.Requests, rep.Succeeded, rep.Status, rep.Errors)
	}
	if rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.P99 || rep.Latency.P99 > rep.Latency.Max {
		t.Fatalf("implausible latency %+v", rep.Latency)
	}
}

func TestLoadAgainstGnetnop(t *testing.T) {
	url := startGnetnop(t)
	rep := mustRun(t, bench.Config{URL: url, Conns: 8, Duration: runFor})
	checkAllOK(t, rep)
	if rep.Elapsed < runFor || rep.Elapsed > runFor+5*time.Second {
		t.Fatalf("elapsed %v; want about %v", rep.Elapsed, runFor)
	}
	if want := float64(rep.Succeeded*10) / rep.Elapsed.Seconds(); rep.MetricsPerSec != want {
		t.Fatalf("metrics/s %v; want %v", rep.MetricsPerSec, want)
	}
}

func TestOpenLoopKeepsSchedule(t *testing.T) {
	url := startGnetnop(t)
	const rate = 500
	rep := mustRun(t, bench.Config{URL: url, Conns: 4, Duration: runFor, Rate: rate})
	checkAllOK(t, rep)
	due := uint64(rate * runFor.Seconds())
	if rep.Requests+rep.Unsent != due {
		t.Fatalf("sent %d + unsent %d; want the %d requests due in %v", rep.Requests, rep.Unsent, due, runFor)
	}
	// A nop server on loopback keeps up with 500 req/s even under the
	// race detector: nearly every request goes out on time.
	if rep.Requests < due*9/10 {
		t.Fatalf("sent %d of %d due requests", rep.Requests, due)
	}
	if rep.ScheduleLag == nil || rep.ScheduleLag.P50 > 20*time.Millisecond {
		t.Fatalf("schedule lag %+v; want p50 under 20ms", rep.ScheduleLag)
	}
}

func TestLoadAgainstNethttp(t *testing.T) {
	url, dir := startNethttp(t, 0)
	rep := mustRun(t, bench.Config{URL: url, Conns: 8, Clients: 3, Metrics: 5, Duration: runFor})
	checkAllOK(t, rep)

	// Every acknowledged metric is in the data file (written before the
	// 200), attributed to one of the rotating client ids.
	f, err := os.Open(filepath.Join(dir, ingest.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	clients := map[string]int{}
	lines := uint64(0)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec struct {
			Client string `json:"client"`
			Name   string `json:"name"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Name == "" {
			t.Fatalf("line %d is not a stored metric: %v: %s", lines, err, sc.Bytes())
		}
		clients[rec.Client]++
		lines++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if lines != rep.Succeeded*5 {
		t.Fatalf("data file holds %d metrics; want %d acknowledged", lines, rep.Succeeded*5)
	}
	if len(clients) != 3 || clients["client-1"] == 0 || clients["client-3"] == 0 {
		t.Fatalf("metrics by client %v; want client-1..client-3", clients)
	}
}

func TestRequestBudgetAndRateLimit(t *testing.T) {
	url, _ := startNethttp(t, 10) // 10 req/s, burst 10, one client
	rep := mustRun(t, bench.Config{URL: url, Conns: 4, Requests: 200})
	if rep.Requests != 200 {
		t.Fatalf("sent %d requests; want exactly 200", rep.Requests)
	}
	if rep.Status[429] == 0 || rep.Status[200] < 10 || rep.Status[200]+rep.Status[429] != 200 {
		t.Fatalf("status %v; want 200s then 429s", rep.Status)
	}
	if rep.SuccessRate != float64(rep.Status[200])/200 {
		t.Fatalf("success rate %v; want %v", rep.SuccessRate, float64(rep.Status[200])/200)
	}
}

func TestLoadAgainstFasthttp(t *testing.T) {
	s, err := fasthttpbase.Start(fasthttpbase.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("fasthttpbase shutdown: %v", err)
		}
	}()
	for _, gz := range []bool{false, true} {
		rep := mustRun(t, bench.Config{URL: "http://" + s.Addr().String() + "/metrics", Conns: 4, Requests: 300, Gzip: gz})
		checkAllOK(t, rep)
		if rep.Requests != 300 {
			t.Fatalf("gzip %v: sent %d requests; want 300", gz, rep.Requests)
		}
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, cfg := range []bench.Config{
		{URL: "https://127.0.0.1:1/metrics"},
		{URL: "http:///metrics"},
		{URL: "http://127.0.0.1:1/metrics", Rate: -1},
		{URL: "http://127.0.0.1:1/metrics", Conns: -1},
		{URL: "http://127.0.0.1:1/metrics", Format: bench.Format(7)},
	} {
		if _, err := bench.Run(context.Background(), cfg); err == nil {
			t.Errorf("Run(%+v) succeeded; want ErrInvalidConfig", cfg)
		}
	}
}
