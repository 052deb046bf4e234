package main

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// TestHostileInventedClientIDs sends a million batches, each under a client id
// never seen before, over 64 connections that pipeline 125 requests a write
// and read those answers before the next write, against
// -max-clients 10000. Bounds: it finishes within 60 s; every batch is
// answered 200; afterwards GET /metrics reports clients ≤ 10000 and
// clients + clients_evicted = 1000000 (every invented id was tracked, then
// evicted to make room); the server's RSS grows by less than
// max-clients × 1 KiB + 96 MiB (the engine documents under 200 bytes per
// tracked client; the slack covers the writer's queue, segment buffers,
// per-connection state and the Go heap's headroom for the garbage of a
// million evicted clients: measured 41.5 MiB at the peak). Writing without
// reading would measure gnet's inbound buffering instead: on a loaded
// machine up to one request bound (-max-body-bytes) per connection.
func TestHostileInventedClientIDs(t *testing.T) {
	const (
		maxClients = 10000
		conns      = 64
		perConn    = 15625 // conns × perConn = 1000000 distinct ids
		batchReqs  = 125   // requests per write
		timeLimit  = 60 * time.Second
		maxGrowth  = maxClients<<10 + 96<<20
	)
	p := startProc(t, t.TempDir(), "-max-clients", fmt.Sprint(maxClients))
	base := hostileRSS(t, p.cmd.Process.Pid)
	peak := hostileRSSWatch(t, p.cmd.Process.Pid)
	body := `{"metrics":[{"name":"invented","value":1}]}`
	deadline := time.Now().Add(timeLimit)
	start := time.Now()
	var wg sync.WaitGroup
	defer wg.Wait() // after the deferred closes below, on an early failure
	errs := make(chan error, conns)
	for ci := range conns {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(deadline)
		wg.Add(1)
		// One goroutine per connection writes batchReqs pipelined requests,
		// then reads their answers (every one must be 200) before the next
		// write: the ids are the hostile part here, not the pipelining, so the
		// server's unread input stays one write deep and the RSS bound is
		// about clients (unread pipelined input is bounded and tested apart).
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, batchReqs*160)
			br := bufio.NewReaderSize(c, 64<<10)
			for i := 0; i < perConn; {
				buf = buf[:0]
				n := 0
				for ; n < batchReqs && i < perConn; n, i = n+1, i+1 {
					buf = fmt.Appendf(buf, "POST /metrics HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer id-%02d-%05d\r\nContent-Length: %d\r\n\r\n%s",
						ci, i, len(body), body)
				}
				if _, err := c.Write(buf); err != nil {
					errs <- fmt.Errorf("connection %d write: %v", ci, err)
					return
				}
				for k := 0; k < n; k++ {
					r, err := hostileReadResp(br)
					if err != nil {
						errs <- fmt.Errorf("connection %d answer %d: %v", ci, i-n+k, err)
						return
					}
					if r.status != 200 {
						errs <- fmt.Errorf("connection %d answer %d: status %d %s", ci, i-n+k, r.status, r.body)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	growth := peak() - base
	s := hostileStats(t, p.addr, "")
	t.Logf("%d batches under distinct ids in %v (%.0f/s): clients %d, clients_evicted %d, RSS %s, peak growth %s",
		conns*perConn, elapsed, float64(conns*perConn)/elapsed.Seconds(), s.Clients, s.ClientsEvicted, hostileMiB(base), hostileMiB(growth))
	if s.Clients > maxClients {
		t.Errorf("clients %d; want ≤ %d", s.Clients, maxClients)
	}
	if got := uint64(s.Clients) + s.ClientsEvicted; got != conns*perConn {
		t.Errorf("clients + clients_evicted = %d; want %d", got, conns*perConn)
	}
	if s.ClientsEvicted == 0 {
		t.Errorf("clients_evicted 0; want > 0")
	}
	if growth >= maxGrowth {
		t.Errorf("server RSS grew by %s; want < %s", hostileMiB(growth), hostileMiB(maxGrowth))
	}
}
