//go:build !race

package server

import (
	"runtime"
	"testing"
	"time"
)

// TestRequestPathAllocs asserts the request path allocates nothing in
// steady state (the race detector allocates, hence the build tag).
func TestRequestPathAllocs(t *testing.T) {
	s, c, fc := newPathServer(t)
	req := benchRequest()
	now := time.Now()
	for range 100 { // warm up pools, scratch buffers and the client table
		fc.in = req
		c.process(now)
	}
	// AllocsPerRun runs on one P, where the loop could queue thousands of
	// batches before the writer ran and drain the buffer pool; a real loop
	// waits for its acknowledgements. So each request waits for the writer,
	// which is the steady state of a server whose writer keeps up.
	allocs := testing.AllocsPerRun(1000, func() {
		fc.in = req
		c.process(now)
		for s.store.Stats().QueueBytes > 0 {
			runtime.Gosched()
		}
	})
	if allocs != 0 {
		t.Fatalf("request path: %v allocs per request; want 0", allocs)
	}
	if got := c.ls.counters.batches.Load(); got < 1100 {
		t.Fatalf("batches processed %d; want every request accepted", got)
	}
}
