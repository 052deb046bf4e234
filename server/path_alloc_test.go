//go:build !race

package server

import (
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
		endRound(c.ls)
	}
	// Each request is a poll round of its own: the round's group commit
	// (the loop's stream Flush, then the acknowledged answers) follows it.
	allocs := testing.AllocsPerRun(1000, func() {
		fc.in = req
		c.process(now)
		endRound(c.ls)
	})
	if q := s.store.Stats().QueueBytes; q != 0 {
		t.Fatalf("%d bytes still queued after the rounds", q)
	}
	if allocs != 0 {
		t.Fatalf("request path: %v allocs per request; want 0", allocs)
	}
	if got := c.ls.counters.batches.Load(); got < 1100 {
		t.Fatalf("batches processed %d; want every request accepted", got)
	}
}
