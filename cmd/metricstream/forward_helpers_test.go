package main

// Helpers of the forwarding tests (SPEC §11): a real VictoriaMetrics started on a free loopback
// port, a load that posts metrics with names, tags and timestamps that exercise the mapping, the
// expected form of every stored line in each sink, and the forwarder's summary log line. Every
// name starts with "fw".

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fwVM is a running victoria-metrics single node.
type fwVM struct {
	addr, dir string
	cmd       *exec.Cmd
	done      chan error
	logs      *syncBuffer
	stopped   bool
}

// fwStartVM starts victoria-metrics with its data in dir on addr ("" picks a free port) and
// waits until it answers /health. It is stopped at the end of the test.
func fwStartVM(t *testing.T, dir, addr string) *fwVM {
	t.Helper()
	bin, err := exec.LookPath("victoria-metrics")
	if err != nil {
		t.Skip("victoria-metrics is not installed (Debian package victoria-metrics); skipping")
	}
	fresh := addr == ""
	for attempt := 1; ; attempt++ {
		if fresh {
			addr = ecoFreePort(t)
		}
		v, err := fwTryVM(t, bin, dir, addr)
		if err == nil {
			return v
		}
		// Another process may bind the port between the check and VictoriaMetrics' bind; a
		// restart must keep its port (the forwarder is told it), so it waits for it instead.
		if !strings.Contains(err.Error(), "address already in use") || attempt == 5 {
			t.Fatal(err)
		}
		t.Logf("victoria-metrics could not bind %s (attempt %d); trying again", addr, attempt)
		if !fresh {
			time.Sleep(time.Second) // waiting for the port to be released
		}
	}
}

// fwTryVM starts VictoriaMetrics on addr and waits until it is healthy; it returns an error,
// with its log, when it exits first.
func fwTryVM(t *testing.T, bin, dir, addr string) (*fwVM, error) {
	t.Helper()
	v := &fwVM{addr: addr, dir: dir, done: make(chan error, 1), logs: &syncBuffer{}}
	v.cmd = exec.Command(bin, "-storageDataPath", dir, "-httpListenAddr", addr, "-influxSkipSingleField",
		"-search.latencyOffset", "0s", "-loggerLevel", "ERROR")
	v.cmd.Stdout, v.cmd.Stderr = v.logs, v.logs
	if err := v.cmd.Start(); err != nil {
		t.Fatalf("start victoria-metrics: %v", err)
	}
	go func() { v.done <- v.cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if status, _, err := ecoGet("http://" + addr + "/health"); err == nil && status == 200 {
			t.Cleanup(func() { v.stop(t) })
			return v, nil
		}
		select {
		case err := <-v.done:
			v.stopped = true
			return nil, fmt.Errorf("victoria-metrics exited: %v\n%s", err, v.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			v.stop(t)
			t.Fatalf("victoria-metrics not healthy within 20s\n%s", v.logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a starting server
	}
}

// stop ends victoria-metrics with SIGTERM (it flushes its data) once.
func (v *fwVM) stop(t *testing.T) {
	if v.stopped {
		return
	}
	v.stopped = true
	if err := ecoStop(t, v.cmd, v.done, 20*time.Second); err != nil {
		t.Logf("victoria-metrics exit: %v", err)
	}
}

// fwExported is one series of /api/v1/export.
type fwExported struct {
	Metric     map[string]string `json:"metric"`
	Values     []float64         `json:"values"`
	Timestamps []int64           `json:"timestamps"`
}

// export returns every sample matching the series selector, as keys (see fwKey). It first
// makes VictoriaMetrics flush its in-memory buffers: without that, new series show up in
// searches only after several seconds.
func (v *fwVM) export(t *testing.T, match string) []string {
	t.Helper()
	if status, _, err := ecoGet("http://" + v.addr + "/internal/force_flush"); err != nil || status != 200 {
		t.Fatalf("force_flush: %d %v", status, err)
	}
	resp, err := http.PostForm("http://"+v.addr+"/api/v1/export", url.Values{"match[]": {match}})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	defer resp.Body.Close()
	var keys []string
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var s fwExported
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("export: %v", err)
		}
		for i := range s.Values {
			keys = append(keys, fwKey(s.Metric, s.Values[i], s.Timestamps[i]))
		}
	}
	sort.Strings(keys)
	return keys
}

// fwKey renders one sample as `name{k="v",…} value@ts`, labels sorted.
func fwKey(labels map[string]string, value float64, ts int64) string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		if k != "__name__" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(labels["__name__"])
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	fmt.Fprintf(&b, "} %s@%d", strconv.FormatFloat(value, 'g', -1, 64), ts)
	return b.String()
}

// fwSanitize applies the Prometheus name rules as the README states them.
func fwSanitize(s string, colon bool) string {
	var b strings.Builder
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		b.WriteByte('_')
	}
	for _, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || (colon && r == ':')
		if ok {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if !colon && strings.HasPrefix(out, "__") {
		out = "tag" + out
	}
	return out
}

// fwExpected maps every stored line of dir to the key the sink should hold: format
// "remote-write" sanitises names, "influx" keeps them; extra labels are added to each.
func fwExpected(t *testing.T, dir, format string, extra map[string]string) []string {
	t.Helper()
	var keys []string
	for _, l := range ecoDecodeLines(t, ecoSegmentLines(t, dir)) {
		labels := map[string]string{}
		tagKeys := make([]string, 0, len(l.Tags))
		for k := range l.Tags {
			tagKeys = append(tagKeys, k)
		}
		sort.Strings(tagKeys)
		for _, k := range tagKeys {
			if l.Tags[k] == "" || k == "" {
				continue
			}
			name := k
			if format == "remote-write" {
				name = fwSanitize(k, false)
			}
			if _, taken := labels[name]; !taken {
				labels[name] = l.Tags[k]
			}
		}
		labels["client"] = l.Client
		labels["__name__"] = l.Name
		if format == "remote-write" {
			labels["__name__"] = fwSanitize(l.Name, true)
		}
		for k, v := range extra {
			labels[k] = v
		}
		ts, err := time.Parse(time.RFC3339Nano, l.Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, fwKey(labels, l.Value, ts.UnixMilli()))
	}
	sort.Strings(keys)
	return keys
}

// fwDiff compares two sorted key lists and fails with the first differences.
func fwDiff(t *testing.T, what string, got, want []string) {
	t.Helper()
	if msg := fwDiffMsg(what, got, want); msg != "" {
		t.Fatal(msg)
	}
}

// fwDiffMsg compares two sorted key lists and describes the first differences, or returns ""
// when they are equal.
func fwDiffMsg(what string, got, want []string) string {
	if len(got) == len(want) {
		same := true
		for i := range got {
			if got[i] != want[i] {
				same = false
				break
			}
		}
		if same {
			return ""
		}
	}
	wantSet := map[string]int{}
	for _, k := range want {
		wantSet[k]++
	}
	var missing, extra []string
	for _, k := range got {
		if wantSet[k] > 0 {
			wantSet[k]--
		} else {
			extra = append(extra, k)
		}
	}
	for k, n := range wantSet {
		for range n {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	return fmt.Sprintf("%s: %d samples, want %d; %d missing, e.g. %q; %d unexpected, e.g. %q", what, len(got), len(want),
		len(missing), fwHead(missing), len(extra), fwHead(extra))
}

func fwHead(s []string) []string { return s[:min(len(s), 3)] }

// fwBatch returns the body of batch i of a load: names that need sanitising, tags with odd keys,
// a unicode value, integer, negative and fractional values, explicit millisecond timestamps.
func fwBatch(conn, i int, baseMs int64) []byte {
	var b bytes.Buffer
	b.WriteString(`{"metrics":[`)
	names := []string{"fw.cpu-usage", "fw_reqs", "9fw_lat:p99"}
	for j, n := range names {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":%q,"value":%s,"type":"gauge","timestamp":%d,"tags":{"conn":"%d","host.name":"h-%d","__x":"y","zone":"é"}}`,
			n, strconv.FormatFloat(float64(i)*1.5-float64(j), 'g', -1, 64), baseMs+int64(i), conn, j)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// fwLoad posts batches from conns connections until stop is closed (or max batches per
// connection were sent, 0: no limit), and counts the acknowledged batches.
func fwLoad(t *testing.T, addr string, conns, maxPerConn int, stop <-chan struct{}, acks *atomic.Int64) {
	t.Helper()
	fwLoadEvery(t, addr, conns, maxPerConn, 0, stop, acks)
}

// fwLoadEvery is fwLoad with each connection sending at most one batch every interval, as a
// client that reports on a schedule does (0: as fast as the server answers).
func fwLoadEvery(t *testing.T, addr string, conns, maxPerConn int, every time.Duration, stop <-chan struct{}, acks *atomic.Int64) {
	t.Helper()
	baseMs := time.Now().Add(-time.Minute).UnixMilli()
	var wg sync.WaitGroup
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Its own transport: one connection per load goroutine, so that each goroutine's
			// series stay on one event loop (a shared pool would mix them).
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			client := &http.Client{Timeout: 10 * time.Second, Transport: tr}
			var tick <-chan time.Time
			if every > 0 {
				ticker := time.NewTicker(every)
				defer ticker.Stop()
				tick = ticker.C
			}
			for i := 0; maxPerConn == 0 || i < maxPerConn; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if tick != nil {
					select {
					case <-stop:
						return
					case <-tick:
					}
				}
				resp, err := client.Post("http://"+addr+"/metrics", "application/json", bytes.NewReader(fwBatch(c, i, baseMs)))
				if err != nil {
					return // the server was killed
				}
				io.Copy(io.Discard, resp.Body) // read to the end, so the connection is reused
				resp.Body.Close()
				if resp.StatusCode == 200 {
					acks.Add(1)
				}
			}
		}()
	}
	wg.Wait()
}

// fwSummaryRE matches the forwarder's summary line of one sink.
var fwSummaryRE = regexp.MustCompile(`msg="forward summary" sink=(\S+) samples=(\d+) bytes=\d+ requests_ok=(\d+) requests_failed=(\d+) retries=(\d+) dropped_rejected=(\d+) dropped_retention=(\d+) dropped_invalid=(\d+) resent_samples=(\d+) resent_requests=(\d+) nats_duplicates=(\d+) lag_bytes=(\d+)`)

// fwSummary is the last summary line logged for sink.
type fwSummary struct {
	samples, ok, failed, retries, rejected, retention, invalid, resentSamples, resentRequests, natsDuplicates, lagBytes int64
}

// fwLastSummary returns the last summary of sink in logs, and whether there is one.
func fwLastSummary(logs, sink string) (fwSummary, bool) {
	var s fwSummary
	found := false
	for _, m := range fwSummaryRE.FindAllStringSubmatch(logs, -1) {
		if m[1] != sink {
			continue
		}
		n := make([]int64, 0, 12)
		for _, f := range m[2:] {
			v, _ := strconv.ParseInt(f, 10, 64)
			n = append(n, v)
		}
		s = fwSummary{n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8], n[9], n[10]}
		found = true
	}
	return s, found
}

// fwPoll polls cond every 50 ms until it holds or d passes.
func fwPoll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond) // polling servers' progress
	}
}

// fwCheckStats checks the forwarder's statistics in GET /metrics: the JSON "forward" entries
// have every sink's acknowledged samples and no lag, and the Prometheus form has the same
// counters and passes promtool check metrics (when promtool is installed).
func fwCheckStats(t *testing.T, addr string, want map[string]int) {
	t.Helper()
	fwPoll(t, 5*time.Second, "the lag at 0 in the statistics", func() bool {
		_, body, err := ecoGet("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		var stats struct {
			Forward []struct {
				Sink     string `json:"sink"`
				Samples  int    `json:"samples"`
				LagBytes int    `json:"lag_bytes"`
			} `json:"forward"`
		}
		if err := json.Unmarshal(body, &stats); err != nil {
			t.Fatalf("GET /metrics: %v\n%s", err, body)
		}
		ok := len(stats.Forward) == len(want)
		for _, f := range stats.Forward {
			ok = ok && f.Samples == want[f.Sink] && f.LagBytes == 0
		}
		return ok
	})
	_, prom, err := ecoGet("http://" + addr + "/metrics?format=prometheus")
	if err != nil {
		t.Fatal(err)
	}
	for sink, n := range want {
		line := fmt.Sprintf("metricstream_forward_samples_total{sink=%q} %d\n", sink, n)
		if !strings.Contains(string(prom), line) {
			t.Errorf("Prometheus output lacks %q", line)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(prom)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
