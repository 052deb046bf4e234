package main

// Hostile framing, bodies, floods of bad requests and tokens, against the
// real binary on loopback.

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestHostileFraming sends requests whose framing could smuggle a second
// request past a proxy (RFC 9112 §6.1, §6.3, §5.2, §2.2, §7.1). Each must
// get the status RFC 9112 asks for, with Connection: close, nothing
// after it — in particular no answer to a request hidden in the body —
// and the end of the connection within 1 s (the server shuts its write
// side at once and lingers only for the client's input); a request on a
// new connection then works.
func TestHostileFraming(t *testing.T) {
	const smuggled = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n"
	cases := []struct {
		name   string
		req    string
		status int
	}{
		// §6.1: a sender MUST NOT send Content-Length with Transfer-Encoding;
		// §6.3: such a message may be an attempt at smuggling: refuse it.
		{"CL and TE", "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
		{"TE and CL", "POST /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggled, 400},
		// §6.3 item 5: differing Content-Length values are unrecoverable.
		{"duplicate differing CL", "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}" + smuggled, 400},
		{"differing CL list", "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 2, 40\r\n\r\n{}" + smuggled, 400},
		{"negative CL", "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n" + smuggled, 400},
		{"signed CL", "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: +2\r\n\r\n{}" + smuggled, 400},
		{"hex CL", "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0x2\r\n\r\n{}" + smuggled, 400},
		{"overflowing CL", "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 18446744073709551617\r\n\r\n" + smuggled, 400},
		// §7.1: a chunk size that overflows is a framing error.
		{"chunk size overflow", "POST /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000002\r\n{}\r\n0\r\n\r\n" + smuggled, 400},
		{"chunk size not hex", "POST /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n" + smuggled, 400},
		{"chunk size negative", "POST /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n" + smuggled, 400},
		// Bare LF is tolerated in the head (§2.2) but never in chunk framing,
		// where lenient line endings are a known smuggling vector.
		{"bare LF in chunk size line", "POST /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\n{}\r\n0\r\n\r\n" + smuggled, 400},
		{"bare LF after chunk data", "POST /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\n0\r\n\r\n" + smuggled, 400},
		{"bare CR in head", "GET /health HTTP/1.1\rHost: t\r\n\r\n" + smuggled, 400},
		// §5.1, §5.5: NUL in a field value; whitespace before the colon.
		{"NUL in header", "GET /health HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n" + smuggled, 400},
		{"space before colon", "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length : 2\r\n\r\n{}" + smuggled, 400},
		// §5.2: obs-fold in a request → 400 (or replace with SP; we refuse).
		{"obs-fold", "GET /health HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n" + smuggled, 400},
		{"obs-fold of TE", "POST /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 2\r\n\r\n{}" + smuggled, 400},
		// §6.3 item 4: chunked present but not the final coding: the length
		// cannot be determined; the server MUST answer 400 and close.
		{"TE chunked, gzip", "POST /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n" + smuggled, 400},
		{"TE chunked twice", "POST /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n0\r\n\r\n" + smuggled, 400},
		// §6.1: a coding the server does not understand, chunked last → 501.
		{"TE gzip, chunked", "POST /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled, 501},
		// §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
		{"TE in HTTP/1.0", "POST /metrics HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n0\r\n\r\n" + smuggled, 400},
		{"duplicate Host", "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + smuggled, 400},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
	}
	p := startProc(t, t.TempDir(), "-rate", "0")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, c, br := hostileExchange(t, p.addr, tc.req, 2*time.Second)
			if r.status != tc.status {
				t.Errorf("status %d %s; want %d", r.status, r.body, tc.status)
			}
			if r.header["connection"] != "close" {
				t.Errorf("Connection %q; want close", r.header["connection"])
			}
			closed, extra := hostileClosed(c, br, time.Second)
			if !closed {
				t.Errorf("connection not closed within 1 s")
			}
			if len(extra) > 0 {
				t.Errorf("%d bytes after the refusal: %.80q", len(extra), extra)
			}
			if _, err := hostileHealth(p.addr, 2*time.Second); err != nil {
				t.Errorf("new connection after the refusal: %v", err)
			}
		})
	}
	// Bare LF line endings in the head are accepted (RFC 9112 §2.2) and
	// keep the connection: the next request on it is answered.
	t.Run("bare LF head accepted", func(t *testing.T) {
		r, c, br := hostileExchange(t, p.addr, "GET /health HTTP/1.1\nHost: t\n\n", 2*time.Second)
		if r.status != 200 {
			t.Fatalf("status %d; want 200", r.status)
		}
		if r, err := hostileDo(c, br, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 2*time.Second); err != nil || r.status != 200 {
			t.Fatalf("next request on the connection: %v %d", err, r.status)
		}
	})
}

// TestHostileJSONBodies sends, with -max-body-bytes 8 MiB, 4 MiB of '[' in
// an unknown field, and one batch with a 3 MiB unknown string and a
// 100000-element unknown array. Bounds: each is answered within 2 s (400
// for the nesting, 200 for the big valid batch), and the server stays
// healthy and under 64 MiB of RSS growth.
func TestHostileJSONBodies(t *testing.T) {
	const (
		maxAnswer = 2 * time.Second
		maxGrowth = 64 << 20
	)
	metric := `"metrics":[{"name":"hostile","value":1}]`
	var arr strings.Builder
	arr.WriteString("[0")
	for i := 1; i < 100000; i++ {
		fmt.Fprintf(&arr, ",%d", i%1000)
	}
	arr.WriteString("]")
	cases := []struct {
		name   string
		body   string
		status int
	}{
		{"4 MiB of [", `{` + metric + `,"x":` + strings.Repeat("[", 4<<20) + `}`, 400},
		{"4 MiB of {\"a\":", `{` + metric + `,"x":` + strings.Repeat(`{"a":`, 4<<20/5) + `1}`, 400},
		{"3 MiB string and 100k array", `{"s":"` + strings.Repeat("a", 3<<20) + `","arr":` + arr.String() + `,` + metric + `}`, 200},
	}
	p := startProc(t, t.TempDir(), "-max-body-bytes", fmt.Sprint(8<<20), "-rate", "0")
	base := hostileRSS(t, p.cmd.Process.Pid)
	peak := hostileRSSWatch(t, p.cmd.Process.Pid)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			req := fmt.Sprintf("POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s", len(tc.body), tc.body)
			r, _, _ := hostileExchange(t, p.addr, req, 10*time.Second)
			took := time.Since(start)
			t.Logf("%d %.100s in %v", r.status, r.body, took)
			if r.status != tc.status {
				t.Errorf("status %d %s; want %d", r.status, r.body, tc.status)
			}
			if took > maxAnswer {
				t.Errorf("answered in %v; want < %v", took, maxAnswer)
			}
			if _, err := hostileHealth(p.addr, 2*time.Second); err != nil {
				t.Fatalf("after it: %v", err)
			}
		})
	}
	growth := peak() - base
	t.Logf("server RSS %s, peak growth %s", hostileMiB(base), hostileMiB(growth))
	if growth >= maxGrowth {
		t.Errorf("server RSS grew by %s; want < %s", hostileMiB(growth), hostileMiB(maxGrowth))
	}
}

// TestHostileBadRequestFlood sends 5000 malformed requests from 16
// clients. Bounds: the log has at most (whole seconds touched) × 10
// "client error" lines — the server logs at most 10 client-caused lines
// a second — and errors.bad_request counts all 5000.
func TestHostileBadRequestFlood(t *testing.T) {
	const total, workers = 5000, 16
	p := startProc(t, t.TempDir())
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= total {
				if err := hostileBadOne(p.addr); err != nil {
					if failed.Add(1) <= 5 {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d malformed requests not refused with 400", n, total)
	}
	s := hostileStats(t, p.addr, "")
	// Windows are calendar seconds: a run of e seconds touches at most
	// ceil(e)+1 of them, each allowed 10 lines.
	windows := int(elapsed/time.Second) + 2
	lines := strings.Count(p.logs.String(), "msg=\"client error\"")
	t.Logf("%d malformed requests in %v: %d \"client error\" lines, errors.bad_request %d", total, elapsed, lines, s.Errors["bad_request"])
	if lines > windows*10 {
		t.Errorf("%d \"client error\" log lines in %v; want ≤ %d", lines, elapsed, windows*10)
	}
	if lines == 0 {
		t.Errorf("no \"client error\" line logged at all")
	}
	if got := s.Errors["bad_request"]; got != total {
		t.Errorf("errors.bad_request %d; want %d", got, total)
	}
}

// hostileBadOne sends one request with a NUL byte in a header and wants
// 400 and the end of the connection.
func hostileBadOne(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := hostileDo(c, bufio.NewReader(c), "GET /health HTTP/1.1\r\nHost: t\r\nX-Bad: \x00\r\n\r\n", 5*time.Second)
	if err != nil {
		return err
	}
	if r.status != 400 {
		return fmt.Errorf("status %d; want 400", r.status)
	}
	return nil
}

// TestHostileAuthReload runs with -auth-file, replaces the token, and
// sends SIGHUP. Bounds: one kept-alive connection carries requests before
// and after the reload without being dropped; the old token is refused
// (401) and the new one accepted within 5 s of the signal; no token ever
// appears in the log or in any answer (headers or body).
func TestHostileAuthReload(t *testing.T) {
	const (
		oldToken = "tok-old-7f3a9c2e51d84b06"
		newToken = "tok-new-c41e08d9a2b7f365"
		badToken = "tok-bad-0d9e8f7a6b5c4d3e"
	)
	dir := t.TempDir()
	authFile := filepath.Join(dir, "tokens")
	if err := os.WriteFile(authFile, []byte("# tokens\n"+oldToken+" client-alpha\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, filepath.Join(dir, "data"), "-auth-file", authFile, "-log-level", "debug")
	var seen bytes.Buffer // every answer, head and body
	do := func(c net.Conn, br *bufio.Reader, req string) hostileResp {
		t.Helper()
		r, err := hostileDo(c, br, req, 5*time.Second)
		if err != nil {
			t.Fatalf("%.40q: %v", req, err)
		}
		for k, v := range r.header {
			fmt.Fprintf(&seen, "%s: %s\n", k, v)
		}
		seen.Write(r.body)
		return r
	}
	ingest := func(token string) string {
		body := `{"metrics":[{"name":"auth","value":1}]}`
		return fmt.Sprintf("POST /metrics HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s", token, len(body), body)
	}
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	steps := []struct {
		name   string
		req    string
		status int
	}{
		{"old token", ingest(oldToken), 200},
		{"bad token", ingest(badToken), 401},
		{"InfluxDB Token scheme", strings.Replace(ingest(oldToken), "Bearer", "Token", 1), 200},
		{"stats without token", "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 401},
		{"stats with token", "GET /metrics HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + oldToken + "\r\n\r\n", 200},
		{"clients with token", "GET /clients HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + oldToken + "\r\n\r\n", 200},
	}
	for _, s := range steps {
		if r := do(c, br, s.req); r.status != s.status {
			t.Fatalf("before reload, %s: status %d %s; want %d", s.name, r.status, r.body, s.status)
		}
	}

	if err := os.WriteFile(authFile, []byte(newToken+" client-beta\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	hostileEventually(t, 5*time.Second, "auth file reloaded", func() bool {
		return strings.Contains(p.logs.String(), "auth file reloaded")
	})
	after := []struct {
		name   string
		req    string
		status int
	}{
		{"old token", ingest(oldToken), 401},
		{"new token", ingest(newToken), 200},
		{"bad token", ingest(badToken), 401},
		{"clients with new token", "GET /clients HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + newToken + "\r\n\r\n", 200},
		{"health without token", "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 200},
	}
	for _, s := range after {
		r := do(c, br, s.req)
		if r.status != s.status {
			t.Fatalf("after reload, on the same connection, %s: status %d %s; want %d", s.name, r.status, r.body, s.status)
		}
	}
	// The monitor drains decisions every second: poll, on the same
	// connection, until both clients of the file show under their ids.
	hostileEventually(t, 5*time.Second, "GET /clients lists client-alpha and client-beta", func() bool {
		r := do(c, br, "GET /clients HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer "+newToken+"\r\n\r\n")
		return r.status == 200 && bytes.Contains(r.body, []byte(`"client-alpha"`)) && bytes.Contains(r.body, []byte(`"client-beta"`))
	})
	if st := hostileStats(t, p.addr, newToken); st.BatchesProcessed != 3 {
		t.Errorf("batches_processed %d; want 3", st.BatchesProcessed)
	}
	// The same connection carried every request: it was never dropped.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	logs := p.logs.String()
	for _, tok := range []string{oldToken, newToken, badToken} {
		if strings.Contains(logs, tok) {
			t.Errorf("token %s appears in the log", tok)
		}
		if bytes.Contains(seen.Bytes(), []byte(tok)) {
			t.Errorf("token %s appears in an answer", tok)
		}
	}
}
