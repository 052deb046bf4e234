package main

// Helpers shared by the ecosystem tests (InfluxDB client, Prometheus, README
// examples, systemd unit). Every name starts with "eco" so that these tests
// can live beside other integration tests of the package without clashes.

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ecoStoredLine is one storage line (SPEC §9) decoded for comparison.
type ecoStoredLine struct {
	Timestamp string            `json:"timestamp"`
	Client    string            `json:"client"`
	Name      string            `json:"name"`
	Value     float64           `json:"value"`
	Type      string            `json:"type"`
	Tags      map[string]string `json:"tags"`
}

// ecoSegmentLines returns every stored line of dir, segments in sequence
// order and lines in file order, without their newlines. The caller reads
// only after the server acknowledged with -ack written or stronger, so
// every line it gets is complete.
func ecoSegmentLines(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "metrics-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files) // zero-padded sequence numbers sort as text
	var lines []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.SplitSeq(string(data), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	return lines
}

// ecoDecodeLines decodes storage lines, failing the test on one that is not
// a JSON object.
func ecoDecodeLines(t *testing.T, lines []string) []ecoStoredLine {
	t.Helper()
	out := make([]ecoStoredLine, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &out[i]); err != nil {
			t.Fatalf("stored line %d is not JSON: %v: %s", i+1, err, l)
		}
	}
	return out
}

// ecoPost sends one request with a body to the server at addr and returns
// the status and the body of the answer. header is applied as given.
func ecoPost(t *testing.T, addr, path string, header http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the answer: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// ecoGet fetches url and returns the status and body; a transport error is
// returned rather than fatal so that callers can poll a starting service.
func ecoGet(url string) (int, []byte, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// ecoFreePort returns a loopback host:port that was free a moment ago, for programs that must
// be told their port up front. It draws from below the kernel's ephemeral range (32768 and up
// by default), where neither listeners on port 0 nor outgoing connections of the load tests
// running in parallel take ports, so that the port is still free when the program binds it; it
// falls back to a port from the kernel when none of its draws is free.
func ecoFreePort(t *testing.T) string {
	t.Helper()
	lo, hi := ecoPortRange()
	for range 64 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(lo+rand.IntN(hi-lo)))
		if ln, err := net.Listen("tcp", addr); err == nil {
			if err := ln.Close(); err != nil {
				t.Fatal(err)
			}
			return addr
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// ecoPortRange is where ecoFreePort draws ports: from 20000 up to the start of the kernel's
// ephemeral range (net.ipv4.ip_local_port_range), or 20000 to 32768 when that cannot be read
// or leaves too little room.
func ecoPortRange() (lo, hi int) {
	lo, hi = 20000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return lo, hi
	}
	if first, err := strconv.Atoi(f[0]); err == nil && first-lo >= 4096 {
		hi = first
	}
	return lo, hi
}

// ecoStop sends SIGTERM to p and waits up to grace for it to exit, then
// kills it. done must deliver cmd.Wait's result; it is drained exactly once
// here, so the caller must not read it afterwards.
func ecoStop(t *testing.T, cmd *exec.Cmd, done <-chan error, grace time.Duration) error {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		// Already gone: collect the exit status.
		return <-done
	}
	select {
	case err := <-done:
		return err
	case <-time.After(grace):
		t.Errorf("%s did not exit within %v of SIGTERM; killing it", filepath.Base(cmd.Path), grace)
		cmd.Process.Kill()
		return <-done
	}
}

// ecoStopProc stops a server started by startProc with SIGTERM and fails
// the test unless it exits cleanly. startProc's cleanup then finds the
// process state set and does nothing more.
func ecoStopProc(t *testing.T, p *proc) {
	t.Helper()
	if err := ecoStop(t, p.cmd, p.done, 30*time.Second); err != nil {
		t.Errorf("server exit: %v\n%s", err, p.logs.String())
	}
}
