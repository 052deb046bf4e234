package main

// Helpers of the hostile-client tests (TestHostile*): raw HTTP/1.1 over
// TCP, so that every byte the server sees is the one the test meant, the
// server's resident memory from /proc, and its JSON statistics.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hostileResp is one response read off the wire.
type hostileResp struct {
	status int
	header map[string]string // lower-case names; the last value wins
	body   []byte
}

// hostileReadResp reads one response (status line, headers, a
// Content-Length body) from br. Interim 1xx answers are returned like any
// other. It is deliberately minimal: the server always sends
// Content-Length, except on 204 and 1xx, which have no body.
func hostileReadResp(br *bufio.Reader) (hostileResp, error) {
	var r hostileResp
	line, err := br.ReadString('\n')
	if err != nil {
		return r, err
	}
	f := strings.SplitN(strings.TrimRight(line, "\r\n"), " ", 3)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
		return r, fmt.Errorf("bad status line %q", line)
	}
	if r.status, err = strconv.Atoi(f[1]); err != nil {
		return r, fmt.Errorf("bad status line %q", line)
	}
	r.header = map[string]string{}
	for {
		line, err = br.ReadString('\n')
		if err != nil {
			return r, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return r, fmt.Errorf("bad header line %q", line)
		}
		r.header[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	if cl, ok := r.header["content-length"]; ok {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 {
			return r, fmt.Errorf("bad content-length %q", cl)
		}
		r.body = make([]byte, n)
		if _, err := io.ReadFull(br, r.body); err != nil {
			return r, err
		}
	}
	return r, nil
}

// hostileClosed reports whether the peer ends the connection (EOF or
// reset) within d, and returns whatever it sent before that.
func hostileClosed(c net.Conn, br *bufio.Reader, d time.Duration) (closed bool, extra []byte) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	var buf [4096]byte
	for {
		n, err := br.Read(buf[:])
		extra = append(extra, buf[:n]...)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return false, extra
			}
			return true, extra // io.EOF or a reset: either way closed
		}
	}
}

// hostileExchange dials addr, sends req whole, and reads one response
// within d. The connection is returned open for the caller's checks; the
// test's cleanup closes it.
func hostileExchange(t *testing.T, addr, req string, d time.Duration) (hostileResp, net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, d)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("write %.60q: %v", req, err)
	}
	br := bufio.NewReader(c)
	r, err := hostileReadResp(br)
	if err != nil {
		t.Fatalf("response to %.60q: %v", req, err)
	}
	return r, c, br
}

// hostileDo sends req on an open connection and reads one response within d.
func hostileDo(c net.Conn, br *bufio.Reader, req string, d time.Duration) (hostileResp, error) {
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, req); err != nil {
		return hostileResp{}, err
	}
	return hostileReadResp(br)
}

// hostileHealth answers GET /health on a fresh connection and reports the
// time the whole exchange took, dial included.
func hostileHealth(addr string, d time.Duration) (time.Duration, error) {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, d)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	r, err := hostileDo(c, bufio.NewReader(c), "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", d)
	if err != nil {
		return 0, err
	}
	if r.status != 200 {
		return 0, fmt.Errorf("GET /health: status %d %s", r.status, r.body)
	}
	return time.Since(start), nil
}

// hostileSnapshot is the part of GET /metrics the hostile tests read.
type hostileSnapshot struct {
	ConnectionsOpen  int64             `json:"connections_open"`
	ConnectionsTotal uint64            `json:"connections_total"`
	RequestsTotal    uint64            `json:"requests_total"`
	BatchesProcessed uint64            `json:"batches_processed"`
	Clients          int               `json:"clients"`
	ClientsEvicted   uint64            `json:"clients_evicted"`
	Errors           map[string]uint64 `json:"errors"`
}

// hostileStats reads GET /metrics over a fresh connection (which itself
// counts as one open connection), with token when not empty.
func hostileStats(t *testing.T, addr, token string) hostileSnapshot {
	t.Helper()
	req := "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
	if token != "" {
		req += "Authorization: Bearer " + token + "\r\n"
	}
	r, c, _ := hostileExchange(t, addr, req+"\r\n", 5*time.Second)
	c.Close()
	if r.status != 200 {
		t.Fatalf("GET /metrics: status %d %s", r.status, r.body)
	}
	var s hostileSnapshot
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("GET /metrics: %v in %s", err, r.body)
	}
	return s
}

// hostileEventually polls cond every 10 ms until it holds or d passes.
func hostileEventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond) // polling an external process, no event to wait on
	}
}

// hostileRSS returns the resident set size of process pid in bytes, from
// the VmRSS line of /proc/<pid>/status.
func hostileRSS(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("read process status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// hostileRSSWatch samples the resident set size of pid every 20 ms until
// stop is called, which returns the largest sample.
func hostileRSSWatch(t *testing.T, pid int) (stop func() int64) {
	t.Helper()
	var peak atomic.Int64
	peak.Store(hostileRSS(t, pid))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
			if err != nil {
				continue
			}
			i := bytes.Index(data, []byte("VmRSS:"))
			if i < 0 {
				continue
			}
			f := bytes.Fields(data[i+len("VmRSS:"):])
			if len(f) == 0 {
				continue
			}
			kb, err := strconv.ParseInt(string(f[0]), 10, 64)
			if err != nil {
				continue
			}
			for {
				old := peak.Load()
				if kb<<10 <= old || peak.CompareAndSwap(old, kb<<10) {
					break
				}
			}
		}
	}()
	var once sync.Once
	stop = func() int64 {
		once.Do(func() { close(done); wg.Wait() })
		return peak.Load()
	}
	t.Cleanup(func() { stop() })
	return stop
}

// hostilePercentile returns the p-th percentile (0 < p ≤ 100) of ds.
func hostilePercentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// hostileMiB formats a byte count in MiB for messages.
func hostileMiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
