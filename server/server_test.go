package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"metricstream/storage"
)

const sampleBatch = `{"metrics":[{"name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"},"timestamp":1764172800123},{"name":"requests","value":3,"type":"counter"}]}`

func TestIngestStoresLines(t *testing.T) {
	forEachWriter(t, testIngestStoresLines)
}

func testIngestStoresLines(t *testing.T, writer string) {
	for _, ack := range []storage.AckMode{storage.AckQueued, storage.AckWritten, storage.AckSynced} {
		t.Run(ack.String(), func(t *testing.T) {
			dir := t.TempDir()
			s := startServer(t, func(c *Config) { c.Ack = ack; c.DataDir = dir; c.Writer = writer })
			rc := dial(t, s)
			rc.send(postMetrics(sampleBatch, "Authorization: Bearer client-1"))
			resp := rc.response("POST")
			if got := body(t, resp); resp.StatusCode != 200 || got != `{"success":true,"metrics_processed":2}` {
				t.Fatalf("got %d %q", resp.StatusCode, got)
			}
			for _, h := range []string{"Content-Length", "Content-Type", "Date"} {
				if resp.Header.Get(h) == "" {
					t.Errorf("answer lacks %s", h)
				}
			}
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			lines := readSegments(t, dir)
			want := `{"timestamp":"2025-11-26T16:00:00.123Z","client":"client-1","name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"}}`
			if len(lines) != 2 || lines[0] != want {
				t.Fatalf("stored lines:\n%s\nwant first:\n%s", strings.Join(lines, "\n"), want)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(lines[1]), &m); err != nil || m["client"] != "client-1" || m["type"] != "counter" {
				t.Fatalf("second line %q: %v", lines[1], err)
			}
		})
	}
}

func TestAnswers(t *testing.T) {
	s := startServer(t, nil)
	cases := []struct {
		name       string
		req        string
		method     string
		status     int
		bodyHas    string
		header     string // "Name: value" expected
		closesConn bool
	}{
		{"health", "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 200, `{"status":"healthy","service":"ingestion"}`, "", false},
		{"head health", "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD", 200, "", "Content-Type: application/json", false},
		{"not found", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 404, `"error"`, "", false},
		{"method", "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "DELETE", 405, `"error"`, "Allow: GET, HEAD, POST", false},
		{"write needs post", "GET /write HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 405, `"error"`, "Allow: POST", false},
		{"empty batch", postMetrics(`{"metrics":[]}`), "POST", 400, `Batch cannot be empty`, "", false},
		{"bad json", postMetrics(`{"metrics":[}`), "POST", 400, `invalid JSON at byte`, "", false},
		{"empty name", postMetrics(`{"metrics":[{"name":"","value":1}]}`), "POST", 400, `metric 0: name is empty`, "", false},
		{"gzip unknown", postMetrics(sampleBatch, "Content-Encoding: br"), "POST", 415, `Content-Encoding`, "", false},
		{"malformed", "GARBAGE\r\n\r\n", "GET", 400, `"error"`, "Connection: close", true},
		{"http2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "GET", 505, `"error"`, "", true},
		{"version", "GET /health HTTP/1.2\r\n\r\n", "GET", 505, `"error"`, "", true},
		{"smuggling", "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "POST", 400, `"error"`, "", true},
		{"unknown coding", "POST /metrics HTTP/1.1\r\nTransfer-Encoding: zstd\r\n\r\n", "POST", 501, `"error"`, "", true},
		{"header too large", "GET /health HTTP/1.1\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n", "GET", 431, `"error"`, "", true},
		{"body too large", "POST /metrics HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", "POST", 413, `"error"`, "", true},
		{"http/1.0 closes", "GET /health HTTP/1.0\r\n\r\n", "GET", 200, "healthy", "", true},
		{"connection close", "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n", "GET", 200, "healthy", "Connection: close", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := dial(t, s)
			rc.send(tc.req)
			resp := rc.response(tc.method)
			got := body(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d; want %d (body %q)", resp.StatusCode, tc.status, got)
			}
			if !strings.Contains(got, tc.bodyHas) {
				t.Fatalf("body %q lacks %q", got, tc.bodyHas)
			}
			if tc.method == "HEAD" && got != "" {
				t.Fatalf("HEAD answer has a body %q", got)
			}
			if tc.header != "" {
				k, v, _ := strings.Cut(tc.header, ": ")
				if resp.Header.Get(k) != v && !(k == "Connection" && resp.Close) {
					t.Fatalf("header %s = %q; want %q", k, resp.Header.Get(k), v)
				}
			}
			if resp.Header.Get("Date") == "" || resp.Header.Get("Content-Type") == "" {
				t.Fatalf("answer lacks Date or Content-Type: %v", resp.Header)
			}
			if tc.closesConn {
				rc.expectClosed(5 * time.Second)
			} else {
				// the connection stays usable
				rc.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
				if r := rc.response("GET"); r.StatusCode != 200 {
					t.Fatalf("follow-up status %d", r.StatusCode)
				}
			}
		})
	}
}

func TestPipelinedAnswersInOrder(t *testing.T) {
	forEachWriter(t, testPipelinedAnswersInOrder)
}

func testPipelinedAnswersInOrder(t *testing.T, writer string) {
	for _, ack := range []storage.AckMode{storage.AckQueued, storage.AckWritten} {
		t.Run(ack.String(), func(t *testing.T) {
			s := startServer(t, func(c *Config) { c.Ack = ack; c.Writer = writer })
			rc := dial(t, s)
			var all strings.Builder
			var want []int
			for i := range 30 {
				switch i % 3 {
				case 0:
					all.WriteString(postMetrics(fmt.Sprintf(`{"metrics":[{"name":"m%d","value":%d}]}`, i, i)))
					want = append(want, 200)
				case 1:
					all.WriteString("GET /nope HTTP/1.1\r\n\r\n")
					want = append(want, 404)
				case 2:
					all.WriteString("GET /health HTTP/1.1\r\n\r\n")
					want = append(want, 200)
				}
			}
			rc.send(all.String())
			for i, w := range want {
				resp := rc.response("GET")
				b := body(t, resp)
				if resp.StatusCode != w {
					t.Fatalf("answer %d: status %d; want %d (%s)", i, resp.StatusCode, w, b)
				}
				if i%3 == 0 && b != `{"success":true,"metrics_processed":1}` {
					t.Fatalf("answer %d: %s", i, b)
				}
			}
		})
	}
}

func TestRequestSplitAtEveryByte(t *testing.T) {
	s := startServer(t, nil)
	req := postMetrics(sampleBatch, "Authorization: Bearer split")
	chunked := "POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
		fmt.Sprintf("%x;ext=1\r\n%s\r\n", 20, sampleBatch[:20]) +
		fmt.Sprintf("%x\r\n%s\r\n", len(sampleBatch)-20, sampleBatch[20:]) +
		"0\r\nX-Trailer: yes\r\n\r\n"
	for _, tc := range []struct{ name, req string }{{"content-length", req}, {"chunked", chunked}} {
		t.Run(tc.name, func(t *testing.T) {
			for cut := 1; cut < len(tc.req); cut += 7 {
				rc := dial(t, s)
				rc.send(tc.req[:cut])
				rc.send(tc.req[cut:])
				resp := rc.response("POST")
				if b := body(t, resp); resp.StatusCode != 200 {
					t.Fatalf("cut %d: %d %s", cut, resp.StatusCode, b)
				}
				rc.c.Close()
			}
			// one byte at a time, with the writes flushed separately
			rc := dial(t, s)
			for i := 0; i < len(tc.req); i++ {
				rc.send(tc.req[i : i+1])
			}
			if resp := rc.response("POST"); resp.StatusCode != 200 {
				t.Fatalf("byte at a time: %d %s", resp.StatusCode, body(t, resp))
			}
		})
	}
}

func TestExpectContinue(t *testing.T) {
	s := startServer(t, func(c *Config) { c.Rate, c.Burst = 1, 1 })
	rc := dial(t, s)
	head := fmt.Sprintf("POST /metrics HTTP/1.1\r\nAuthorization: Bearer exp\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", len(sampleBatch))
	rc.send(head)
	if resp := rc.response("POST"); resp.StatusCode != 100 {
		t.Fatalf("got %d; want 100 Continue", resp.StatusCode)
	}
	rc.send(sampleBatch)
	if resp := rc.response("POST"); resp.StatusCode != 200 {
		t.Fatalf("got %d; want 200", resp.StatusCode)
	}
	// The bucket is empty now: the refusal comes instead of 100 Continue.
	rc.send(head)
	resp := rc.response("POST")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("got %d Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if b := body(t, resp); b != `{"error":"Rate limit exceeded"}` {
		t.Fatalf("body %q", b)
	}
}

func TestRateLimit(t *testing.T) {
	s := startServer(t, func(c *Config) { c.Rate, c.Burst = 1, 2 })
	rc := dial(t, s)
	codes := []int{}
	for range 4 {
		rc.send(postMetrics(sampleBatch, "Authorization: Bearer limited"))
		resp := rc.response("POST")
		body(t, resp)
		codes = append(codes, resp.StatusCode)
	}
	if fmt.Sprint(codes) != "[200 200 429 429]" {
		t.Fatalf("codes %v; want [200 200 429 429]", codes)
	}
	// another client has its own bucket
	rc.send(postMetrics(sampleBatch, "Authorization: Bearer other"))
	if resp := rc.response("POST"); resp.StatusCode != 200 {
		t.Fatalf("other client: %d", resp.StatusCode)
	}
	if st := s.Stats(); st.RateLimited != 2 {
		t.Fatalf("rate_limited_requests = %d; want 2", st.RateLimited)
	}
}

func TestNetHTTPClient(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MonitorInterval = 10 * time.Millisecond })
	base := "http://" + s.Addr()
	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				req, _ := http.NewRequest("POST", base+"/metrics", strings.NewReader(sampleBatch))
				req.Header.Set("Authorization", fmt.Sprintf("Bearer client-%d", g))
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("post %d: %v", i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("post %d: status %d", i, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()

	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var stats map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, k := range []string{"metrics_received", "batches_processed", "validation_errors", "rate_limited_requests",
		"overloaded_requests", "connections_open", "connections_total", "bytes_written", "segments", "queue_bytes",
		"ring_events_dropped", "writer", "ack", "uptime_seconds"} {
		if _, ok := stats[k]; !ok {
			t.Errorf("statistics lack %q", k)
		}
	}
	if stats["metrics_received"].(float64) != 8*20*2 || stats["batches_processed"].(float64) != 160 {
		t.Errorf("metrics_received %v batches %v; want 320 and 160", stats["metrics_received"], stats["batches_processed"])
	}
	if stats["writer"] != "file" || stats["ack"] != "written" {
		t.Errorf("writer %v ack %v", stats["writer"], stats["ack"])
	}

	eventually(t, 5*time.Second, "clients listed", func() bool {
		resp, err := client.Get(base + "/clients")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var cl struct {
			Clients []struct {
				Client          string `json:"client"`
				Requests        uint64 `json:"requests"`
				MetricsAccepted uint64 `json:"metrics_accepted"`
			} `json:"clients"`
		}
		if json.NewDecoder(resp.Body).Decode(&cl) != nil || len(cl.Clients) != 8 {
			return false
		}
		for _, c := range cl.Clients {
			if c.Requests != 20 || c.MetricsAccepted != 40 {
				return false
			}
		}
		return true
	})
}

func TestPrometheusOutput(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MonitorInterval = 10 * time.Millisecond })
	rc := dial(t, s)
	rc.send(postMetrics(sampleBatch, `Authorization: Bearer we"ird\client`))
	body(t, rc.response("POST"))
	eventually(t, 5*time.Second, "decision drained", func() bool { return len(s.engine.Top(10)) == 1 })
	for _, tc := range []struct{ name, req string }{
		{"query", "GET /metrics?format=prometheus HTTP/1.1\r\n\r\n"},
		{"accept", "GET /metrics HTTP/1.1\r\nAccept: text/plain;version=0.0.4, */*\r\n\r\n"},
		{"openmetrics", "GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text; version=1.0.0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc.send(tc.req)
			resp := rc.response("GET")
			text := body(t, resp)
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
			}
			if !strings.Contains(text, "metricstream_metrics_received_total 2\n") ||
				!strings.Contains(text, `metricstream_client_requests_total{client="we\"ird\\client",decision="allowed"} 1`) {
				t.Fatalf("prometheus text lacks samples:\n%s", text)
			}
			promtool, err := exec.LookPath("promtool")
			if err != nil {
				t.Skip("promtool not installed (Debian package prometheus)")
			}
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = strings.NewReader(text)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("promtool check metrics: %v\n%s", err, out)
			}
		})
	}
	rc.send("GET /metrics HTTP/1.1\r\nAccept: application/json\r\n\r\n")
	if resp := rc.response("GET"); resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON by default; got %q", resp.Header.Get("Content-Type"))
	}
}

func TestTimeouts(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.IdleTimeout = 150 * time.Millisecond
		c.ReadTimeout = 150 * time.Millisecond
		c.Linger = 100 * time.Millisecond
	})
	t.Run("idle new connection", func(t *testing.T) {
		rc := dial(t, s)
		start := time.Now()
		// Closed by the 150 ms idle timeout, not the 60 s default; the wide
		// upper bound leaves room for a loaded machine running -race, and the
		// lower one for the server's clock starting at accept, before start.
		rc.expectClosed(5 * time.Second)
		if d := time.Since(start); d < 100*time.Millisecond || d > 4*time.Second {
			t.Fatalf("closed after %v; want the 150 ms idle timeout", d)
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		rc := dial(t, s)
		rc.send("GET /health HTTP/1.1\r\n\r\n")
		body(t, rc.response("GET"))
		rc.expectClosed(3 * time.Second)
	})
	t.Run("slow request", func(t *testing.T) {
		rc := dial(t, s)
		rc.send("POST /metrics HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
		resp := rc.response("POST")
		if resp.StatusCode != 408 {
			t.Fatalf("status %d; want 408", resp.StatusCode)
		}
		rc.expectClosed(3 * time.Second)
	})
}

func TestMaxConns(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MaxConns = 2 })
	a, b := dial(t, s), dial(t, s)
	for _, rc := range []*rawConn{a, b} {
		rc.send("GET /health HTTP/1.1\r\n\r\n")
		body(t, rc.response("GET"))
	}
	c := dial(t, s)
	resp := c.response("GET")
	if resp.StatusCode != 503 {
		t.Fatalf("third connection: %d; want 503", resp.StatusCode)
	}
	c.expectClosed(3 * time.Second)
	a.c.Close()
	eventually(t, 5*time.Second, "slot freed", func() bool { return s.openConns.Load() == 1 })
	d := dial(t, s)
	d.send("GET /health HTTP/1.1\r\n\r\n")
	if resp := d.response("GET"); resp.StatusCode != 200 {
		t.Fatalf("after a close: %d", resp.StatusCode)
	}
}

// A client that pipelines requests and never reads its answers is stopped
// being read and closed; the server's memory for it stays bounded.
func TestClientNotReading(t *testing.T) {
	const (
		maxOut   = 64 << 10
		maxBody  = 256 << 10
		pushed   = 64 << 20 // what the client tries to send
		heapRoom = 32 << 20 // bound on the server's heap growth meanwhile
	)
	s := startServer(t, func(c *Config) {
		c.MaxOutbound = maxOut
		c.MaxBodyBytes = maxBody
		c.ReadTimeout = 300 * time.Millisecond
		c.Linger = 100 * time.Millisecond
	})
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rc := dial(t, s)
	req := strings.Repeat("GET /metrics HTTP/1.1\r\n\r\n", 100)
	var sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sent.Load() < pushed {
			rc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			n, err := io.WriteString(rc.c, req)
			sent.Add(int64(n))
			if err != nil {
				return // the server closed the connection
			}
		}
	}()
	var peak uint64
	eventually(t, 20*time.Second, "connection closed by the server", func() bool {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapAlloc)
		return s.openConns.Load() == 0
	})
	<-done
	if grew := int64(peak) - int64(before.HeapAlloc); grew > heapRoom {
		t.Fatalf("heap grew by %d bytes (bound %d) while the client pushed %d bytes", grew, heapRoom, sent.Load())
	}
	t.Logf("client pushed %d bytes before the close; peak heap growth %d bytes", sent.Load(), int64(peak)-int64(before.HeapAlloc))
}

func TestGzipBody(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MaxBodyBytes = 64 << 10 })
	var small bytes.Buffer
	gzipWrite(t, &small, []byte(sampleBatch))
	var bomb bytes.Buffer
	gzipWrite(t, &bomb, make([]byte, 10<<20))
	cases := []struct {
		name   string
		body   []byte
		status int
	}{
		{"ok", small.Bytes(), 200},
		{"bomb", bomb.Bytes(), 413},
		{"corrupt", []byte("\x1f\x8b not gzip"), 400},
	}
	rc := dial(t, s)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc.send(postMetrics(string(tc.body), "Content-Encoding: gzip"))
			resp := rc.response("POST")
			if b := body(t, resp); resp.StatusCode != tc.status {
				t.Fatalf("status %d; want %d (%s)", resp.StatusCode, tc.status, b)
			}
		})
	}
}

func TestShutdownDrains(t *testing.T) {
	forEachWriter(t, testShutdownDrains)
}

func testShutdownDrains(t *testing.T, writer string) {
	dir := t.TempDir()
	s := startServer(t, func(c *Config) { c.DataDir = dir; c.Ack = storage.AckWritten; c.Writer = writer })
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("g%d_%d", g, i)
				resp, err := client.Post("http://"+s.Addr()+"/metrics", "application/json",
					strings.NewReader(fmt.Sprintf(`{"metrics":[{"name":%q,"value":1}]}`, name)))
				if err != nil {
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acked[name] = true
					mu.Unlock()
				}
			}
		}()
	}
	eventually(t, 10*time.Second, "some batches acknowledged", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) > 50
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	stored := map[string]bool{}
	for _, l := range readSegments(t, dir) {
		var m struct{ Name string }
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad line %q: %v", l, err)
		}
		stored[m.Name] = true
	}
	for name := range acked {
		if !stored[name] {
			t.Fatalf("acknowledged %s not stored", name)
		}
	}
}

func TestAuthFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens")
	if err := os.WriteFile(file, []byte("# comment\n\nsecret-1 client-a\nsecret-2 client-b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	s := startServer(t, func(c *Config) { c.AuthFile = file; c.AuthStats = true; c.DataDir = data })
	rc := dial(t, s)
	cases := []struct {
		name, auth string
		status     int
	}{
		{"none", "", 401},
		{"wrong", "Authorization: Bearer nope", 401},
		{"bearer", "Authorization: Bearer secret-1", 200},
		{"token scheme", "Authorization: Token secret-2", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var extra []string
			if tc.auth != "" {
				extra = append(extra, tc.auth)
			}
			rc.send(postMetrics(sampleBatch, extra...))
			resp := rc.response("POST")
			b := body(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d; want %d", resp.StatusCode, tc.status)
			}
			if tc.status == 401 && (resp.Header.Get("WWW-Authenticate") == "" || strings.Contains(b, "secret")) {
				t.Fatalf("401 without WWW-Authenticate or echoing a token: %v %s", resp.Header, b)
			}
		})
	}
	rc.send("GET /metrics HTTP/1.1\r\n\r\n")
	if resp := rc.response("GET"); resp.StatusCode != 401 {
		t.Fatalf("stats without token: %d", resp.StatusCode)
	}
	rc.send("GET /health HTTP/1.1\r\n\r\n")
	if resp := rc.response("GET"); resp.StatusCode != 200 {
		t.Fatalf("health needs no token: %d", resp.StatusCode)
	}
	// reload: secret-1 revoked, secret-3 added; the connection stays open
	if err := os.WriteFile(file, []byte("secret-3 client-c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.ReloadAuth(); err != nil {
		t.Fatal(err)
	}
	rc.send(postMetrics(sampleBatch, "Authorization: Bearer secret-1"))
	if resp := rc.response("POST"); resp.StatusCode != 401 {
		t.Fatalf("revoked token: %d", resp.StatusCode)
	}
	rc.send(postMetrics(sampleBatch, "Authorization: Bearer secret-3"))
	if resp := rc.response("POST"); resp.StatusCode != 200 {
		t.Fatalf("new token: %d", resp.StatusCode)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	clients := map[string]bool{}
	for _, l := range readSegments(t, data) {
		var m struct{ Client string }
		json.Unmarshal([]byte(l), &m)
		clients[m.Client] = true
	}
	if fmt.Sprint(clients) != "map[client-a:true client-b:true client-c:true]" {
		t.Fatalf("stored client ids %v", clients)
	}
}
