package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"metricstream/storage"
)

// returnsWithin runs f and fails the test if it has not returned within d.
func returnsWithin(t *testing.T, d time.Duration, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
		return nil
	}
}

// Shutdown follows net/http's contract: it returns after a missing or
// failed Start, a second call returns the first call's result, and the
// store is closed by it (a later Start is refused).
func TestShutdownLifecycle(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cases := []struct {
		name  string
		addr  string
		start bool
	}{
		{"never started", "127.0.0.1:0", false},
		{"start failed", taken.Addr().String(), true},
		{"started", "127.0.0.1:0", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, func(c *Config) { c.Addr = tc.addr })
			if tc.start {
				err := s.Start()
				if (err != nil) != (tc.addr == taken.Addr().String()) {
					t.Fatalf("Start: %v", err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for i := range 2 {
				if err := returnsWithin(t, 6*time.Second, "Shutdown", func() error { return s.Shutdown(ctx) }); err != nil {
					t.Fatalf("Shutdown call %d: %v", i+1, err)
				}
			}
			if err := s.Start(); err == nil {
				t.Fatal("Start after Shutdown succeeded")
			}
			buf := storage.GetBuffer()
			defer storage.PutBuffer(buf)
			buf.B = append(buf.B, "{}\n"...)
			if err := s.Store().Stream(0).Append(buf, 1, nil); !errors.Is(err, storage.ErrClosed) {
				t.Fatalf("store after Shutdown: Append = %v; want ErrClosed", err)
			}
		})
	}
}

// blockingStats is an Extra statistics appender that holds the event loop
// rendering GET /metrics until released: a stand-in for a loop that is
// stuck.
type blockingStats struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingStats) AppendJSON(dst []byte) []byte {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return append(dst, `,"blocking":1`...)
}

func (b *blockingStats) AppendPrometheus(dst []byte) []byte { return dst }

// The wait of Shutdown after a successful Start is bounded by its context,
// even when an event loop does not answer.
func TestShutdownBoundedByContext(t *testing.T) {
	b := &blockingStats{entered: make(chan struct{}), release: make(chan struct{})}
	s := newServer(t, func(c *Config) { c.Loops = 1; c.Extra = []StatsAppender{b} })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer close(b.release) // lets the loop, and so the engine, finish stopping
	go func() {
		client := &http.Client{Timeout: 10 * time.Second}
		if resp, err := client.Get("http://" + s.Addr() + "/metrics"); err == nil {
			resp.Body.Close()
		}
	}()
	<-b.entered
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := returnsWithin(t, 3*time.Second, "Shutdown with a stuck loop", func() error { return s.Shutdown(ctx) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v; want the context's deadline error", err)
	}
}

// A loop that falls behind has at most one connection scan queued: when
// it resumes it runs that one, not one per tick it missed.
func TestScansDoNotPileUp(t *testing.T) {
	b := &blockingStats{entered: make(chan struct{}), release: make(chan struct{})}
	s := startServer(t, func(c *Config) {
		c.Loops = 1
		c.Linger = 50 * time.Millisecond // a tick every 5 ms
		c.Extra = []StatsAppender{b}
	})
	released := false
	defer func() {
		if !released {
			close(b.release)
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		client := &http.Client{Timeout: 10 * time.Second}
		if resp, err := client.Get("http://" + s.Addr() + "/metrics"); err == nil {
			resp.Body.Close()
		}
	}()
	<-b.entered
	ls := s.loops()[0]
	before := ls.scans.Load()
	ticks := s.ticks.Load()
	eventually(t, 5*time.Second, "40 ticks while the loop is held", func() bool { return s.ticks.Load() >= ticks+40 })
	close(b.release)
	released = true
	<-done
	// Every task queued before this one has run when it returns.
	if err := s.forEachLoop(context.Background(), func(*loopState) {}); err != nil {
		t.Fatal(err)
	}
	if ran := ls.scans.Load() - before; ran > 5 {
		t.Fatalf("%d scans ran after the loop resumed; want at most a few (one queued, plus ticks since)", ran)
	}
}
