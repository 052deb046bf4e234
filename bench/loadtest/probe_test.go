package loadtest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// healthServer answers 200 on /health and 404 elsewhere, and counts the
// connections it has seen become active.
func healthServer(t *testing.T) (*httptest.Server, func() int) {
	t.Helper()
	var mu sync.Mutex
	seen := make(map[net.Conn]bool)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"status":"healthy"}`))
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateActive {
			mu.Lock()
			seen[c] = true
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
}

func TestWaitReady(t *testing.T) {
	srv, _ := healthServer(t)
	addr := srv.Listener.Addr().String()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := WaitReady(ctx, addr, "/health"); err != nil {
		t.Fatalf("WaitReady on a ready server: %v", err)
	}

	// One probe names what was wrong; a generous deadline keeps a loaded
	// machine from turning it into a timeout.
	pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer pcancel()
	if err := probe(pctx, addr, "/nope"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("probe of a wrong path = %v; want an error mentioning 404", err)
	}
	// WaitReady keeps probing until its deadline, then says why it gave up.
	cases := []struct {
		name, addr, path string
	}{
		{"wrong path", addr, "/nope"},
		{"nothing listening", closedAddr(t), "/health"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err := WaitReady(ctx, c.addr, c.path)
			if err == nil || !strings.Contains(err.Error(), "not ready") || !strings.Contains(err.Error(), "last probe") {
				t.Errorf("WaitReady = %v; want a not-ready error naming the last probe", err)
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestOpenIdle(t *testing.T) {
	srv, active := healthServer(t)
	addr := srv.Listener.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	const n = 50
	ic, err := OpenIdle(ctx, addr, "/health", n, 8)
	if err != nil {
		t.Fatal(err)
	}
	if ic.Len() != n {
		t.Errorf("Len = %d; want %d", ic.Len(), n)
	}
	if got := active(); got != n {
		t.Errorf("server saw %d active connections; want %d", got, n)
	}
	// Each connection is still usable: the server kept it alive.
	for _, c := range ic.conns[:3] {
		if err := get(c, addr, "/health", true); err != nil {
			t.Errorf("second request on an idle connection: %v", err)
		}
	}
	ic.Close()
	ic.Close()
	if ic.Len() != 0 {
		t.Errorf("Len after Close = %d; want 0", ic.Len())
	}

	cases := []struct {
		name, addr, path string
		n                int
	}{
		{"wrong path", addr, "/nope", 5},
		{"nothing listening", closedAddr(t), "/health", 5},
		{"negative", addr, "/health", -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ic, err := OpenIdle(ctx, c.addr, c.path, c.n, 2)
			if err == nil {
				ic.Close()
				t.Fatal("OpenIdle succeeded")
			}
		})
	}

	empty, err := OpenIdle(ctx, addr, "/health", 0, 4)
	if err != nil || empty.Len() != 0 {
		t.Errorf("OpenIdle of 0 = %v, %v; want an empty set", empty, err)
	}
}
