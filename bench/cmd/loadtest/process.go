//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"metricstream/bench/loadtest"
)

// server is one running system process. It is owned by the goroutine that
// started it; the wait goroutine only sets waitErr and closes done.
type server struct {
	name    string
	cmd     *exec.Cmd
	dataDir string
	stderr  *tailWriter
	done    chan struct{} // closed when cmd.Wait returned
	waitErr error         // valid once done is closed
	stopped bool
}

// startSystem starts s on a free loopback port with a new data directory,
// behind the prefix (taskset or nothing), and waits until it answers its
// health probe. sinkAddr is passed to s.args.
func startSystem(ctx context.Context, s system, prefix []string, sinkAddr string) (*server, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "loadtest-"+strings.NewReplacer("/", "-", " ", "", "(", "", ")", "").Replace(s.name)+"-")
	if err != nil {
		return nil, "", err
	}
	args := append(append(slices.Clone(prefix), s.bin), s.args(addr, dir, sinkAddr)...)
	srv := &server{name: s.name, dataDir: dir, stderr: &tailWriter{max: stderrTail}, done: make(chan struct{})}
	srv.cmd = exec.Command(args[0], args[1:]...)
	srv.cmd.Stdout, srv.cmd.Stderr = srv.stderr, srv.stderr
	srv.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("start %s: %w", s.name, err)
	}
	go func() {
		srv.waitErr = srv.cmd.Wait()
		close(srv.done)
	}()

	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	go func() {
		select {
		case <-srv.done:
			cancel()
		case <-rctx.Done():
		}
	}()
	err = loadtest.WaitReady(rctx, addr, s.health)
	cancel()
	if err == nil {
		return srv, addr, nil
	}
	select {
	case <-srv.done:
		srv.stopped = true
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("%s exited at start: %v%s", s.name, srv.waitErr, srv.tail())
	default:
		srv.cleanup()
		return nil, "", fmt.Errorf("%s: %w%s", s.name, err, srv.tail())
	}
}

// pid is the server's process id (taskset execs the server in place).
func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM, waits up to stopTimeout (then kills), removes the
// data directory, and reports an exit other than status 0.
func (s *server) stop() error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	defer os.RemoveAll(s.dataDir)
	s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
		s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("%s did not exit within %v of SIGTERM; killed%s", s.name, stopTimeout, s.tail())
	}
	if s.waitErr != nil {
		return fmt.Errorf("%s exited after SIGTERM: %v%s", s.name, s.waitErr, s.tail())
	}
	return nil
}

// cleanup stops the server if stop has not run, ignoring its exit status.
func (s *server) cleanup() {
	if !s.stopped {
		s.stop()
	}
}

// tail formats the last line of the server's output for an error message.
func (s *server) tail() string {
	t := strings.TrimSpace(s.stderr.String())
	if t == "" {
		return ""
	}
	if i := strings.LastIndexByte(t, '\n'); i >= 0 {
		t = t[i+1:]
	}
	return "; last output: " + t
}

// tailWriter keeps the last max bytes written to it. The exec package
// copies the process's output to it from its own goroutine.
type tailWriter struct {
	mu  sync.Mutex // guards buf
	buf []byte
	max int
}

// Write keeps the tail of p; it never fails.
func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept tail.
func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// freeAddr finds a free loopback port. The port is free when the function
// returns; another process could take it before the server binds it, which
// shows up as a start failure.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// raiseNoFile raises this process's open-files limit to at least want, the
// hard limit too when allowed (as root), else the soft limit to the hard
// one. It returns the soft limit in force afterwards.
func raiseNoFile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= want {
		// Set it anyway, so that children inherit it rather than the
		// limit Go found at start-up.
		return lim.Cur, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if lim.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return want, nil
		}
		lim.Cur = lim.Max
	} else {
		lim.Cur = want
	}
	return lim.Cur, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// msStats is what the load test reads from a MetricStream's statistics.
type msStats struct {
	// Writer is the writer it runs ("io_uring", "file").
	Writer string `json:"writer"`
	// Forward holds one entry per -forward sink.
	Forward []struct {
		Sink    string `json:"sink"`
		Samples int64  `json:"samples"` // acknowledged by the sink
	} `json:"forward"`
}

// forwarded is the samples every sink acknowledged.
func (s msStats) forwarded() int64 {
	var n int64
	for _, f := range s.Forward {
		n += f.Samples
	}
	return n
}

// statsOf asks a running MetricStream for its statistics (GET /metrics).
func statsOf(ctx context.Context, addr string) (msStats, error) {
	var stats msStats
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return stats, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return stats, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		return stats, fmt.Errorf("statistics: %w", err)
	}
	if resp.StatusCode != http.StatusOK || stats.Writer == "" {
		return stats, fmt.Errorf("statistics: status %d, writer %q", resp.StatusCode, stats.Writer)
	}
	return stats, nil
}
