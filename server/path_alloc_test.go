//go:build !race

package server

import (
	"testing"
	"time"
)

// TestRequestPathAllocs asserts the request path allocates nothing in
// steady state (the race detector allocates, hence the build tag), for a
// JSON batch and for InfluxDB v1 writes with Basic credentials or u and p.
func TestRequestPathAllocs(t *testing.T) {
	lp := "cpu,host=a usage=1.5,idle=98.5 1764172800123\nmem,host=a used=1024i 1764172800123"
	v1 := func(target, header string) []byte {
		return []byte("POST " + target + " HTTP/1.1\r\nHost: x\r\n" + header + "Content-Length: " + itoa(len(lp)) + "\r\n\r\n" + lp)
	}
	cases := []struct {
		name string
		req  []byte
	}{
		{"json, bearer", benchRequest()},
		{"line protocol, basic", v1("/write?db=edge&precision=ms", basic("gw-1:pw")+"\r\n")},
		{"line protocol, u and p", v1("/write?db=edge&u=gw%2D1&p=pw&precision=ms", "")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, fc := newPathServer(t)
			now := time.Now()
			for range 100 { // warm up pools, scratch buffers and the client table
				fc.in = tc.req
				c.process(now)
				endRound(c.ls)
			}
			// Each request is a poll round of its own: the round's group
			// commit (the loop's stream Flush, then the acknowledged
			// answers) follows it.
			allocs := testing.AllocsPerRun(1000, func() {
				fc.in = tc.req
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
		})
	}
}
