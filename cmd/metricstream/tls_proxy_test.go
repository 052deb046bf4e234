package main

// The TLS recipes of deploy/ against the real proxies (Debian packages
// haproxy and nginx): each terminates TLS with a throwaway self-signed
// certificate in front of the binary and must carry plain, gzip and
// chunked bodies, over HTTP/1.1 and HTTP/2, on keep-alive connections to
// the server, and refuse a body over -max-body-bytes.

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tlsCert makes a self-signed certificate for 127.0.0.1 in dir and returns
// the paths of the certificate and of the key.
func tlsCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	cert, key = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
		"-subj", "/CN=metricstream-test", "-addext", "subjectAltName=IP:127.0.0.1",
		"-keyout", key, "-out", cert).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	return cert, key
}

// deployConfig reads deploy/name and applies the replacements, each of
// which must match: a config that no longer has what the test replaces
// must fail the test, not test something else.
func deployConfig(t *testing.T, name string, repl ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(repl); i += 2 {
		if !strings.Contains(s, repl[i]) {
			t.Fatalf("deploy/%s no longer contains %q", name, repl[i])
		}
		s = strings.ReplaceAll(s, repl[i], repl[i+1])
	}
	return s
}

// startProxy runs a proxy in the foreground until the test ends and waits
// until addr accepts connections.
func startProxy(t *testing.T, addr string, name string, args ...string) {
	t.Helper()
	var logs syncBuffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-done:
			t.Fatalf("%s exited: %v\n%s", name, err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s: %v\n%s", name, addr, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

func TestTLSHAProxy(t *testing.T) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Skip("haproxy is not installed (Debian package haproxy)")
	}
	dir := t.TempDir()
	cert, key := tlsCert(t, dir)
	pem := filepath.Join(dir, "tls.pem")
	c, _ := os.ReadFile(cert)
	k, _ := os.ReadFile(key)
	if err := os.WriteFile(pem, append(c, k...), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, t.TempDir(), "-ack", "written")
	front := ecoFreePort(t)
	cfg := filepath.Join(dir, "haproxy.cfg")
	conf := deployConfig(t, "haproxy.cfg",
		"bind :8443", "bind "+front,
		"/etc/metricstream/tls.pem", pem,
		"127.0.0.1:8080", p.addr,
		"maxconn 20000", "maxconn 200") // the test's open-files limit may be low
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("haproxy", "-c", "-q", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c rejects deploy/haproxy.cfg: %v\n%s", err, out)
	}
	startProxy(t, front, "haproxy", "-db", "-f", cfg)
	ingestThroughTLS(t, p, front, cert)
}

func TestTLSNginx(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("nginx is not installed (Debian package nginx)")
	}
	dir := t.TempDir()
	cert, key := tlsCert(t, dir)
	p := startProc(t, t.TempDir(), "-ack", "written")
	front := ecoFreePort(t)
	temps := "access_log off;\n"
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		temps += fmt.Sprintf("    %s_temp_path %s;\n", d, filepath.Join(dir, d))
	}
	runAs := ""
	if os.Geteuid() == 0 { // workers would drop to an account that cannot read the test's files
		if u, err := user.Current(); err == nil {
			runAs = "user " + u.Username + ";\n"
		}
	}
	conf := deployConfig(t, "nginx.conf",
		"listen 8443", "listen "+front,
		"/etc/metricstream/tls.crt", cert,
		"/etc/metricstream/tls.key", key,
		"127.0.0.1:8080", p.addr,
		"/run/nginx-metricstream.pid", filepath.Join(dir, "nginx.pid"),
		"worker_processes auto;", runAs+"worker_processes 1;",
		"worker_connections 4096;", "worker_connections 256;",
		"access_log off;\n", temps)
	cfg := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", dir, "-e", "stderr", "-c", cfg}
	if out, err := exec.Command("nginx", append(args, "-t", "-q")...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejects deploy/nginx.conf: %v\n%s", err, out)
	}
	startProxy(t, front, "nginx", append(args, "-g", "daemon off;")...)
	ingestThroughTLS(t, p, front, cert)
}

// ingestThroughTLS sends batches through the proxy at front and checks
// what the server behind it stored and how many connections it saw.
func ingestThroughTLS(t *testing.T, p *proc, front, certFile string) {
	t.Helper()
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"metrics":[{"name":"tls_gzip","value":1}]}`))
	zw.Close()
	const rounds = 20
	sent := 0
	for _, h2 := range []bool{false, true} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2, ExpectContinueTimeout: 5 * time.Second}
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		for i := range rounds {
			cases := []struct {
				name string
				path string
				body io.Reader
				size int64 // -1: chunked
				enc  string
			}{
				{"plain", "/metrics", strings.NewReader(fmt.Sprintf(`{"metrics":[{"name":"tls_plain","value":%d}]}`, i)), -2, ""},
				{"gzip", "/metrics", bytes.NewReader(gz.Bytes()), -2, "gzip"},
				{"chunked", "/metrics", io.MultiReader(strings.NewReader(`{"metrics":[{"name":"tls_chunked",`), strings.NewReader(`"value":2}]}`)), -1, ""},
				{"line protocol", "/write?db=edge", strings.NewReader("tls_lp value=3"), -2, ""},
			}
			for _, tc := range cases {
				req, _ := http.NewRequest(http.MethodPost, "https://"+front+tc.path, tc.body)
				if tc.size == -1 {
					req.ContentLength = -1 // Transfer-Encoding: chunked (HTTP/1.1), DATA frames (HTTP/2)
				}
				if tc.enc != "" {
					req.Header.Set("Content-Encoding", tc.enc)
				}
				req.Header.Set("Authorization", "Bearer tls-client")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s (h2 %v): %v", tc.name, h2, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 204 {
					t.Fatalf("%s (h2 %v): %d %s", tc.name, h2, resp.StatusCode, b)
				}
				if want := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != want {
					t.Fatalf("%s: the proxy answered over HTTP/%d; want HTTP/%d", tc.name, resp.ProtoMajor, want)
				}
				sent++
			}
		}
		// Announced with Expect: 100-continue, as curl does for large
		// bodies: the proxy refuses it before the body is sent (otherwise
		// the client may see its write cut off rather than the answer).
		big, _ := http.NewRequest(http.MethodPost, "https://"+front+"/metrics", bytes.NewReader(make([]byte, 5<<20)))
		big.Header.Set("Expect", "100-continue")
		if resp, err := client.Do(big); err != nil || resp.StatusCode != 413 {
			t.Fatalf("5 MiB body (h2 %v): %v %v; want 413", h2, err, resp)
		} else {
			resp.Body.Close()
		}
		tr.CloseIdleConnections()
	}
	_, body, err := ecoGet("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		BatchesProcessed uint64 `json:"batches_processed"`
		ConnectionsTotal uint64 `json:"connections_total"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	lines := ecoDecodeLines(t, ecoSegmentLines(t, p.dir))
	if st.BatchesProcessed != uint64(sent) || len(lines) != sent {
		t.Fatalf("%d batches sent; the server processed %d and stored %d lines", sent, st.BatchesProcessed, len(lines))
	}
	for _, l := range lines {
		if l.Client != "tls-client" {
			t.Fatalf("stored client %q; want tls-client", l.Client)
		}
	}
	// Keep-alive upstream: far fewer server connections than requests.
	if st.ConnectionsTotal > uint64(sent)/4 {
		t.Errorf("%d requests reached the server over %d connections; want keep-alive reuse", sent, st.ConnectionsTotal)
	}
	t.Logf("%d batches through TLS over %d server connections", sent, st.ConnectionsTotal)
	ecoStopProc(t, p)
}
