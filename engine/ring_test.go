package engine

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestRingSequential(t *testing.T) {
	var r ring
	r.init(4)
	c := &Client{}
	for lap := range 3 {
		for i := range 4 {
			if !r.push(c, int64(lap*10+i), uint32(i)) {
				t.Fatalf("lap %d: push %d refused", lap, i)
			}
		}
		if r.push(c, 99, 99) {
			t.Fatalf("lap %d: push into a full ring accepted", lap)
		}
		for i := range 4 {
			gc, now, meta, ok := r.pop()
			if !ok || gc != c || now != int64(lap*10+i) || meta != uint32(i) {
				t.Fatalf("lap %d: pop %d: got (%p, %d, %d, %v); want (%p, %d, %d, true)",
					lap, i, gc, now, meta, ok, c, lap*10+i, i)
			}
		}
		if _, _, _, ok := r.pop(); ok {
			t.Fatalf("lap %d: pop from an empty ring succeeded", lap)
		}
	}
	if got := r.dropped.Load(); got != 3 {
		t.Fatalf("dropped: got %d; want 3", got)
	}
	for i := range r.slots {
		if r.slots[i].c != nil {
			t.Fatalf("slot %d still points at a consumed client", i)
		}
	}
}

// TestRingConcurrent runs several producers against one consumer. Each
// producer numbers its events; the consumer checks that no event is seen
// twice or out of a producer's order, and at the end produced = consumed +
// dropped exactly. With a ring larger than all events, nothing may be dropped.
func TestRingConcurrent(t *testing.T) {
	cases := []struct {
		name      string
		size      int
		producers int
		each      int
		consume   bool  // run the consumer while producers push
		dropped   int64 // drops expected; -1: any number
	}{
		{name: "roomy", size: 1 << 15, producers: 4, each: 5000, consume: true, dropped: 0},
		{name: "roomy no concurrent consumer", size: 1 << 15, producers: 4, each: 5000, dropped: 0},
		{name: "tiny", size: 8, producers: 4, each: 20000, consume: true, dropped: -1},
		{name: "full", size: 64, producers: 6, each: 1000, dropped: 6*1000 - 64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r ring
			r.init(tc.size)
			clients := make([]*Client, tc.producers)
			index := make(map[*Client]int)
			for i := range clients {
				clients[i] = &Client{}
				index[clients[i]] = i
			}
			next := make([]int64, tc.producers) // consumer-owned
			var consumed int64
			consume := func() bool {
				c, now, meta, ok := r.pop()
				if !ok {
					return false
				}
				p := index[c]
				if now < next[p] {
					t.Errorf("producer %d: event %d after %d", p, now, next[p]-1)
				}
				if meta != uint32(now)|allowedBit {
					t.Errorf("producer %d: event %d carries meta %#x", p, now, meta)
				}
				next[p] = now + 1
				consumed++
				return true
			}
			var accepted atomic.Int64
			var producing sync.WaitGroup
			for p := range tc.producers {
				producing.Go(func() {
					for i := range tc.each {
						if r.push(clients[p], int64(i), uint32(i)|allowedBit) {
							accepted.Add(1)
						}
					}
				})
			}
			if tc.consume {
				done := make(chan struct{})
				go func() { producing.Wait(); close(done) }()
			loop:
				for {
					select {
					case <-done:
						break loop
					default:
						consume()
					}
				}
			}
			producing.Wait()
			for consume() {
			}
			produced := int64(tc.producers * tc.each)
			dropped := int64(r.dropped.Load())
			if consumed+dropped != produced {
				t.Fatalf("consumed %d + dropped %d = %d; want produced %d", consumed, dropped, consumed+dropped, produced)
			}
			if consumed != accepted.Load() {
				t.Fatalf("consumed %d; want %d accepted pushes", consumed, accepted.Load())
			}
			if tc.dropped >= 0 && dropped != tc.dropped {
				t.Fatalf("dropped %d; want %d", dropped, tc.dropped)
			}
			if tc.dropped == 0 {
				for p, n := range next {
					if n != int64(tc.each) {
						t.Fatalf("producer %d: last event %d; want %d", p, n-1, tc.each-1)
					}
				}
			}
		})
	}
}
