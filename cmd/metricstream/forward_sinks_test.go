package main

// Forwarding through the real binary to a real Prometheus 2.42 (remote-write receiver), and to
// sinks that refuse (400) or throttle (503 with Retry-After).

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"metricstream/storage"
)

// TestForwardPrometheus: every stored sample can be queried back from a Prometheus that
// received it by remote write.
func TestForwardPrometheus(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian package prometheus); skipping")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := ecoFreePort(t)
	cmd := exec.Command(promBin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--web.enable-remote-write-receiver", "--log.level=warn")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer ecoStop(t, cmd, done, 15*time.Second)
	fwPoll(t, 20*time.Second, "prometheus ready", func() bool {
		status, _, err := ecoGet("http://" + promAddr + "/-/ready")
		return err == nil && status == 200
	})

	data := t.TempDir()
	p := startProc(t, data, "-ack", "written", "-rate", "0", "-forward", "http://"+promAddr+"/api/v1/write")
	var acks atomic.Int64
	fwLoad(t, p.addr, 2, 20, nil, &acks)
	want := fwExpected(t, data, "remote-write", nil)
	// Each series holds one sample per batch; query every sample back by its series and time.
	lines := ecoDecodeLines(t, ecoSegmentLines(t, data))
	var got []string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("metricstream log:\n%s", p.logs.String())
		}
	})
	fwPoll(t, 20*time.Second, "every sample in prometheus", func() bool {
		got = got[:0]
		for _, l := range lines {
			ts, _ := time.Parse(time.RFC3339Nano, l.Timestamp)
			q := fmt.Sprintf(`%s{conn=%q,host_name=%q}`, fwSanitize(l.Name, true), l.Tags["conn"], l.Tags["host.name"])
			res, err := ecoPromQueryAt(promAddr, q, ts)
			if err != nil || len(res) != 1 {
				return false
			}
			v, err := ecoSampleValue(res[0])
			if err != nil {
				return false
			}
			got = append(got, fwKey(res[0].Metric, v, ts.UnixMilli()))
		}
		return slices.Equal(fwSorted(got), want) // until the last request arrived
	})
	fwDiff(t, "prometheus", fwSorted(got), want)
	ecoStopProc(t, p)
	if s, _ := fwLastSummary(p.logs.String(), fwSinkName("http://"+promAddr+"/api/v1/write")); s.samples != int64(len(want)) {
		t.Errorf("summary %+v; want %d samples", s, len(want))
	}
}

// ecoPromQueryAt runs an instant query at time ts.
func ecoPromQueryAt(promAddr, query string, ts time.Time) ([]ecoPromSample, error) {
	return ecoPromQuery(promAddr, query+fmt.Sprintf(`@%d.%03d`, ts.Unix(), ts.Nanosecond()/1e6))
}

// fwSorted returns keys sorted.
func fwSorted(keys []string) []string {
	out := append([]string(nil), keys...)
	sort.Strings(out)
	return out
}

// fwSinkName is the name the binary gives a sink URL without a #fragment.
func fwSinkName(u string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// fwScriptedSink is an HTTP sink whose answers the test scripts.
type fwScriptedSink struct {
	answer func(n int, w http.ResponseWriter) // n counts requests from 0
	mu     sync.Mutex
	times  []time.Time
	bodies int
}

func (s *fwScriptedSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	n := len(s.times)
	s.times = append(s.times, time.Now())
	s.mu.Unlock()
	s.answer(n, w)
}

func (s *fwScriptedSink) requests() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

// TestForwardRefusedAndThrottled: a sink answering 400 has each request dropped, counted and
// logged with its answer, and the cursor moves to the end; a sink answering 503 with
// Retry-After: 2 is tried again after 2 s and then gets everything.
func TestForwardRefusedAndThrottled(t *testing.T) {
	t.Run("400", func(t *testing.T) {
		sink := &fwScriptedSink{answer: func(_ int, w http.ResponseWriter) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "out of order sample")
		}}
		srv := httptest.NewServer(sink)
		defer srv.Close()
		dir := t.TempDir()
		p := startProc(t, dir, "-ack", "written", "-forward", srv.URL+"/api/v1/write#refuser", "-forward-batch", "3")
		var acks atomic.Int64
		fwLoad(t, p.addr, 1, 4, nil, &acks)
		fwPoll(t, 10*time.Second, "4 refused requests", func() bool { return len(sink.requests()) >= 4 })
		ecoStopProc(t, p)
		s, _ := fwLastSummary(p.logs.String(), "refuser")
		if s.rejected != 12 || s.samples != 0 || s.retries != 0 {
			t.Errorf("summary %+v; want 12 samples dropped as rejected, none sent, no retry", s)
		}
		if !strings.Contains(p.logs.String(), `msg="forward: sink refused a request; its samples are dropped" sink=refuser status=400 answer="out of order sample"`) {
			t.Errorf("the refusal is not logged with the answer:\n%s", p.logs.String())
		}
		cursor, err := os.ReadFile(filepath.Join(dir, "forward-refuser.cursor"))
		segs, lerr := storage.ListSegments(dir)
		if err != nil || lerr != nil {
			t.Fatalf("cursor: %v; segments: %v", err, lerr)
		}
		// One stream per event loop: the cursor is at the end of each loop's last segment.
		for i, seg := range segs {
			if (i+1 < len(segs) && segs[i+1].Ref.Loop == seg.Ref.Loop) || seg.Size == 0 {
				continue // not the stream's last segment, or a loop that stored nothing
			}
			want := fmt.Sprintf("loop %d seq %d off %d\n", seg.Ref.Loop, seg.Ref.Seq, seg.Size)
			if !strings.Contains(string(cursor), want) {
				t.Errorf("cursor %q; want it at the end of loop %d's stream, %q", cursor, seg.Ref.Loop, want)
			}
		}
	})
	t.Run("503 Retry-After", func(t *testing.T) {
		sink := &fwScriptedSink{answer: func(n int, w http.ResponseWriter) {
			if n == 0 {
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}}
		srv := httptest.NewServer(sink)
		defer srv.Close()
		dir := t.TempDir()
		p := startProc(t, dir, "-ack", "written", "-forward", srv.URL+"/api/v1/write#throttled",
			"-forward-batch", "1000", "-forward-inflight", "1")
		var acks atomic.Int64
		fwLoad(t, p.addr, 1, 4, nil, &acks)
		fwPoll(t, 10*time.Second, "the retry", func() bool { return len(sink.requests()) >= 2 })
		ecoStopProc(t, p)
		times := sink.requests()
		if gap := times[1].Sub(times[0]); gap < 1900*time.Millisecond {
			t.Errorf("retried after %v; Retry-After asked for 2s", gap)
		}
		s, _ := fwLastSummary(p.logs.String(), "throttled")
		if s.samples != 12 || s.retries < 1 || s.rejected != 0 {
			t.Errorf("summary %+v; want all 12 samples sent after a retry", s)
		}
	})
}

// TestForwardDiskLimit: with -max-disk-bytes small and the sink down, retention must delete
// segments the sink has not sent: each drop is counted (samples and bytes) and logged, and once
// the sink is back, the rest arrives.
func TestForwardDiskLimit(t *testing.T) {
	var up atomic.Bool
	sink := &fwScriptedSink{answer: func(_ int, w http.ResponseWriter) {
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	dir := t.TempDir()
	p := startProc(t, dir, "-ack", "written", "-rate", "0", "-segment-bytes", "4096", "-max-disk-bytes", "16384",
		"-stats-interval", "200ms", "-forward", srv.URL+"/api/v1/write#edge", "-forward-batch", "20")
	var acks atomic.Int64
	fwLoad(t, p.addr, 2, 100, nil, &acks) // about 100 KB: six times the limit
	fwPoll(t, 10*time.Second, "a counted drop", func() bool {
		s, _ := fwLastSummary(p.logs.String(), "edge")
		return s.retention > 0
	})
	if !strings.Contains(p.logs.String(), "-max-disk-bytes deletes data this sink has not sent") {
		t.Errorf("the drop is not logged:\n%s", p.logs.String())
	}
	up.Store(true)
	fwPoll(t, 20*time.Second, "the rest sent", func() bool {
		s, _ := fwLastSummary(p.logs.String(), "edge")
		return s.lagBytes == 0 && s.samples > 0
	})
	ecoStopProc(t, p)
	s, _ := fwLastSummary(p.logs.String(), "edge")
	total := int64(600) // 2 connections × 100 batches × 3 metrics
	if s.samples+s.retention != total || s.retention == 0 {
		t.Errorf("%d samples sent and %d dropped by retention; want %d in all, some dropped", s.samples, s.retention, total)
	}
	t.Logf("%d samples sent, %d dropped by -max-disk-bytes (counted and logged)", s.samples, s.retention)
}
