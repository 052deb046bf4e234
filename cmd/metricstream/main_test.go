package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// binPath is the server binary under test: $METRICSTREAM_BIN (make test
// builds bin/metricstream and sets it), or a plain
// build made by TestMain.
var binPath string

func TestMain(m *testing.M) {
	binPath = os.Getenv("METRICSTREAM_BIN")
	var tmp string
	if binPath == "" {
		var err error
		tmp, err = os.MkdirTemp("", "metricstream-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		binPath = filepath.Join(tmp, "metricstream")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

func TestFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-rate", "-1"}, "-rate must not be negative"},
		{[]string{"-writer", "fast"}, "-writer must be auto, io_uring or file"},
		{[]string{"-ack", "never"}, "-ack"},
		{[]string{"-log-format", "xml"}, "-log-format must be text or json"},
		{[]string{"-max-header-bytes", "10"}, "-max-header-bytes must be at least 256"},
		{[]string{"-cache-bytes", "-1"}, "-cache-bytes must not be negative"},
		{[]string{"-idle-timeout", "soon"}, "invalid value"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := exec.Command(binPath, tc.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit %v; want status 2 (stderr %q)", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q lacks %q", stderr.String(), tc.want)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	out, err := exec.Command(binPath, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v", err)
	}
	for _, f := range []string{"-addr", "-loops", "-shards", "-rate", "-burst", "-max-clients", "-client-ttl", "-data-dir",
		"-writer", "-ack", "-queue-bytes", "-segment-bytes", "-max-disk-bytes", "-cache-bytes", "-max-body-bytes", "-max-header-bytes",
		"-max-batch", "-max-conns", "-idle-timeout", "-read-timeout", "-monitor-interval", "-top-clients", "-auth-file",
		"-auth-stats", "-log-level", "-log-format", "-stats-interval", "-version"} {
		if !strings.Contains(string(out), "  "+f) {
			t.Errorf("-h lacks %s", f)
		}
	}
	out, err = exec.Command(binPath, "-version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "metricstream ") {
		t.Fatalf("-version: %v %q", err, out)
	}
}

// proc is a running server binary.
type proc struct {
	cmd  *exec.Cmd
	addr string
	dir  string
	logs *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listenRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startProc starts the binary on a free loopback port and waits until it
// listens.
func startProc(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	return startCommand(t, dir, serverCommand, args...)
}

// serverCommand runs the binary under test with args.
func serverCommand(args ...string) *exec.Cmd { return exec.Command(binPath, args...) }

// startCommand is startProc with the command built by command.
func startCommand(t *testing.T, dir string, command func(args ...string) *exec.Cmd, args ...string) *proc {
	t.Helper()
	p := &proc{dir: dir, logs: &syncBuffer{}, done: make(chan error, 1)}
	args = append([]string{"-addr", "127.0.0.1:0", "-data-dir", dir, "-stats-interval", "0"}, args...)
	p.cmd = command(args...)
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		err := p.cmd.Wait()
		pw.Close()
		<-scanned // every log line is in p.logs before done fires
		p.done <- err
	}()
	found := make(chan string, 1)
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			if m := listenRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr) // a line too long for the scanner must not block the server
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.addr = <-found:
	case err := <-p.done:
		t.Fatalf("server exited before listening: %v\n%s", err, p.logs.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("server did not listen within 15s\n%s", p.logs.String())
	}
	return p
}

// load sends batches with unique metric names from conns connections until
// stop is closed or the server goes away, and returns the acknowledged names.
func load(p *proc, conns int, stop <-chan struct{}, acks *atomic.Int64) map[string]bool {
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for g := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var names []string
				var b strings.Builder
				b.WriteString(`{"metrics":[`)
				for j := range 5 {
					name := fmt.Sprintf("c%d_r%d_m%d", g, i, j)
					names = append(names, name)
					if j > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, `{"name":%q,"value":%d,"tags":{"conn":"%d"}}`, name, i, g)
				}
				b.WriteString(`]}`)
				req := fmt.Sprintf("POST /metrics HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer client-%d\r\nContent-Length: %d\r\n\r\n%s", g, b.Len(), b.String())
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(c, req); err != nil {
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					for _, n := range names {
						acked[n] = true
					}
					mu.Unlock()
					acks.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return acked
}

// storedNames reads every stored line of dir, failing on a line that is not
// valid JSON except a torn last line, which start-up repair would cut.
func storedNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "metrics-*.jsonl"))
	names := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for i, l := range lines {
			if l == "" {
				continue
			}
			var m struct{ Name string }
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				if i == len(lines)-1 {
					continue // torn tail after kill -9: never acknowledged
				}
				t.Fatalf("%s line %d not JSON: %v", f, i+1, err)
			}
			names[m.Name] = true
		}
	}
	return names
}

// writers lists the writers the binary can run here: file always, io_uring
// when the kernel allows it.
func writers(t *testing.T) []string {
	t.Helper()
	ws := []string{"file"}
	cmd := exec.Command(binPath, "-writer", "io_uring", "-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-stats-interval", "0")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-done:
			t.Logf("io_uring writer not available: %s", strings.TrimSpace(stderr.String()))
			return ws
		case <-deadline:
			cmd.Process.Kill()
			<-done
			t.Fatalf("probe of -writer io_uring neither listened nor exited")
		case <-time.After(10 * time.Millisecond):
			if strings.Contains(stderr.String(), "msg=listening") {
				cmd.Process.Signal(syscall.SIGTERM)
				<-done
				return append(ws, "io_uring")
			}
		}
	}
}

// loadThenSignal loads p from conns connections until minAcks batches were
// acknowledged (or 20 s passed), sends sig mid-stream, waits for the exit
// (30 s at most) and returns the acknowledged metric names.
func loadThenSignal(t *testing.T, p *proc, conns int, minAcks int64, sig os.Signal, exitErr *error) map[string]bool {
	t.Helper()
	stop := make(chan struct{})
	var acks atomic.Int64
	result := make(chan map[string]bool, 1)
	go func() { result <- load(p, conns, stop, &acks) }()
	deadline := time.Now().Add(20 * time.Second)
	for acks.Load() < minAcks && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling the load's progress
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case *exitErr = <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit within 30s of %v\n%s", sig, p.logs.String())
	}
	close(stop)
	return <-result
}

// TestKill9LosesNoAcknowledgedMetric: under 32 connections, kill -9 loses
// no acknowledged metric, for each writer at -ack written and synced.
func TestKill9LosesNoAcknowledgedMetric(t *testing.T) {
	for _, w := range writers(t) {
		for _, ack := range []string{"written", "synced"} {
			t.Run(w+"/"+ack, func(t *testing.T) { testKill9(t, w, ack) })
		}
	}
}

func testKill9(t *testing.T, w, ack string) {
	dir := t.TempDir()
	p := startProc(t, dir, "-writer", w, "-ack", ack, "-rate", "0", "-loops", "2")
	if w == "io_uring" {
		if n := uringFDs(t, p.cmd.Process.Pid); n < 2 {
			t.Fatalf("process holds %d io_uring descriptors; want one per loop (2)", n)
		}
	}
	var exitErr error
	acked := loadThenSignal(t, p, 32, 1500, syscall.SIGKILL, &exitErr)
	if len(acked) == 0 {
		t.Fatalf("nothing acknowledged before the kill\n%s", p.logs.String())
	}
	stored := storedNames(t, dir)
	missing := 0
	for n := range acked {
		if !stored[n] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged metrics missing after kill -9", missing, len(acked))
	}
	t.Logf("%s/%s: %d acknowledged metrics all on disk (%d stored)", w, ack, len(acked), len(stored))

	// A restart repairs whatever tail the kill tore and serves again.
	p2 := startProc(t, dir, "-writer", w)
	resp, err := http.Get("http://" + p2.addr + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after restart: %v %v", err, resp)
	}
	resp.Body.Close()
	p2.cmd.Process.Signal(syscall.SIGTERM)
	<-p2.done
}

// uringFDs counts the io_uring descriptors process pid holds.
func uringFDs(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && link == "anon_inode:[io_uring]" {
			n++
		}
	}
	return n
}

func TestSIGTERMDrainsUnderLoad(t *testing.T) {
	for _, w := range writers(t) {
		t.Run(w, func(t *testing.T) {
			dir := t.TempDir()
			p := startProc(t, dir, "-writer", w, "-ack", "written", "-rate", "0")
			var exitErr error
			acked := loadThenSignal(t, p, 16, 1000, syscall.SIGTERM, &exitErr)
			if exitErr != nil {
				t.Fatalf("exit: %v\n%s", exitErr, p.logs.String())
			}
			stored := storedNames(t, dir)
			for n := range acked {
				if !stored[n] {
					t.Fatalf("acknowledged %s missing after SIGTERM", n)
				}
			}
			if !strings.Contains(p.logs.String(), "msg=stopped") {
				t.Fatalf("no clean stop in the logs:\n%s", p.logs.String())
			}
			t.Logf("%s: %d acknowledged metrics all on disk", w, len(acked))
		})
	}
}

// TestStartupAndSummaryLines checks the operator's log: a start-up line
// with the effective configuration (defaults filled in) and, every
// -stats-interval, a one-line summary with rates, errors by reason, queue
// depth and bytes written.
func TestStartupAndSummaryLines(t *testing.T) {
	p := startProc(t, t.TempDir(), "-stats-interval", "100ms", "-rate", "5")
	for range 3 {
		resp, err := http.Post("http://"+p.addr+"/metrics", "application/json",
			strings.NewReader(`{"metrics":[{"name":"m","value":1}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get("http://" + p.addr + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	startup := regexp.MustCompile(`msg=starting .*shards=\d+ rate=5 burst=5 .*writer=auto ack=written`)
	summary := regexp.MustCompile(`msg=summary requests_per_s=[0-9.]+ metrics_per_s=[0-9.]+ queue_bytes=\d+ bytes_written=\d+ connections_open=\d+ .*errors_not_found=1 .*errors=\d+`)
	deadline := time.Now().Add(10 * time.Second)
	for !(startup.MatchString(p.logs.String()) && summary.MatchString(p.logs.String())) {
		if time.Now().After(deadline) {
			t.Fatalf("start-up or summary line missing:\n%s", p.logs.String())
		}
		time.Sleep(10 * time.Millisecond) // polling the server's log
	}
}
