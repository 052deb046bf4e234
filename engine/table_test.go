package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// lookup reports whether id is tracked, without creating it.
func lookup(e *Engine, id string) *Client {
	b := []byte(id)
	for i := range e.shards {
		if c := e.shards[i].tab.Load().find(xxhashSum(b), b); c != nil {
			return c
		}
	}
	return nil
}

func TestEvictWhenFull(t *testing.T) {
	sec := int64(time.Second)
	cases := []struct {
		name       string
		maxClients int
		ttl        time.Duration
		seen       []int64 // last-seen offset of client-i, in seconds
		newAt      int64   // when the new client arrives, in seconds
		wantGone   []int   // clients evicted to make room
	}{
		{
			// perShard 16, batch 2: the two least recently seen go.
			name: "least recently seen", maxClients: 16, ttl: time.Hour,
			seen:     []int64{5, 3, 9, 1, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19},
			newAt:    20,
			wantGone: []int{3, 1},
		},
		{
			// Idle beyond the TTL go first, all of them, even beyond the batch.
			name: "expired first", maxClients: 16, ttl: 10 * time.Second,
			seen:     []int64{35, 3, 39, 1, 37, 38, 40, 41, 42, 43, 44, 36, 35, 36, 37, 2},
			newAt:    45,
			wantGone: []int{1, 3, 15},
		},
		{
			name: "one per shard", maxClients: 1, ttl: time.Hour,
			seen:     []int64{1},
			newAt:    2,
			wantGone: []int{0},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, Config{Shards: 1, Rate: 1, MaxClients: tc.maxClients, ClientTTL: tc.ttl, RingSize: 16})
			for i, s := range tc.seen {
				e.Admit([]byte("client-"+strconv.Itoa(i)), base+s*sec)
			}
			e.Admit([]byte("newcomer"), base+tc.newAt*sec)
			for i := range tc.seen {
				id := "client-" + strconv.Itoa(i)
				if gone := lookup(e, id) == nil; gone != slices.Contains(tc.wantGone, i) {
					t.Errorf("%s (seen at %ds): evicted %v; want %v", id, tc.seen[i], gone, !gone)
				}
			}
			if lookup(e, "newcomer") == nil {
				t.Errorf("newcomer not tracked")
			}
			st := e.Stats()
			if want := len(tc.seen) - len(tc.wantGone) + 1; st.Clients != want {
				t.Errorf("Stats.Clients: got %d; want %d", st.Clients, want)
			}
			if st.Evicted != uint64(len(tc.wantGone)) {
				t.Errorf("Stats.Evicted: got %d; want %d", st.Evicted, len(tc.wantGone))
			}
		})
	}
}

// TestEvictedClientRecreated checks that an evicted client is marked and that
// its next request gets a fresh client with a full bucket.
func TestEvictedClientRecreated(t *testing.T) {
	e := newEngine(t, Config{Shards: 1, Rate: 1, Burst: 1, MaxClients: 1, RingSize: 16})
	a, ok, _ := e.Admit([]byte("a"), base)
	if !ok {
		t.Fatal("a: first request refused")
	}
	e.Admit([]byte("b"), base+1)
	if !a.evicted.Load() {
		t.Fatal("a not marked evicted")
	}
	a2, ok, _ := e.Admit([]byte("a"), base+2)
	if a2 == a || !ok {
		t.Fatalf("a again: got (%p, %v); want a new client, allowed", a2, ok)
	}
}

func TestEvictIdle(t *testing.T) {
	sec := int64(time.Second)
	e := newEngine(t, Config{Shards: 3, Rate: 10, ClientTTL: time.Minute, RingSize: 16})
	for i := range 300 {
		e.Admit([]byte("c"+strconv.Itoa(i)), base+int64(i)*sec)
	}
	if n := e.EvictIdle(base + 59*sec); n != 0 {
		t.Fatalf("EvictIdle with none idle: evicted %d; want 0", n)
	}
	// Idle beyond one minute at 299s: seen before 239s, that is c0..c238.
	if n := e.EvictIdle(base + 299*sec); n != 239 {
		t.Fatalf("EvictIdle at 299s: evicted %d; want 239", n)
	}
	if n := e.EvictIdle(base + 299*sec); n != 0 {
		t.Fatalf("EvictIdle repeated: evicted %d; want 0", n)
	}
	if n := e.EvictIdle(base + 299*sec + int64(time.Minute)); n != 60 {
		t.Fatalf("EvictIdle a minute later: evicted %d; want 60", n)
	}
	if lookup(e, "c299") == nil || lookup(e, "c298") != nil {
		t.Fatal("EvictIdle kept the wrong clients")
	}
	if st := e.Stats(); st.Clients != 1 || st.Evicted != 299 {
		t.Fatalf("Stats: got %+v; want 1 client, 299 evicted", st)
	}
	// The shards shrank, and still admit.
	for i := range e.shards {
		if n := len(e.shards[i].tab.Load().slots); n != minSlots {
			t.Errorf("shard %d: %d slots after the sweep; want %d", i, n, minSlots)
		}
	}
	if _, ok, _ := e.Admit([]byte("c5"), base+400*sec); !ok {
		t.Fatal("re-created client refused")
	}
}

// TestMaxClientsBound floods the engine with invented identifiers from many
// goroutines and checks the bound at every step, and that eviction is
// amortised: one table rebuild per batch of inserts, plus the growth steps.
func TestMaxClientsBound(t *testing.T) {
	const (
		maxClients = 1000
		workers    = 4
		perWorker  = 5000
	)
	e := newEngine(t, Config{Shards: 4, Rate: 100, MaxClients: maxClients, RingSize: 16})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var buf []byte
			for i := range perWorker {
				buf = fmt.Appendf(buf[:0], "w%d-%d", w, i)
				e.Admit(buf, base+int64(i))
				if i%97 == 0 {
					if n := e.Stats().Clients; n > maxClients {
						t.Errorf("Stats.Clients: got %d; want at most %d", n, maxClients)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	st := e.Stats()
	if st.Clients > maxClients || st.Clients < maxClients*3/4 {
		t.Fatalf("Stats.Clients: got %d; want between %d and %d", st.Clients, maxClients*3/4, maxClients)
	}
	if got, want := uint64(st.Clients)+st.Evicted, uint64(workers*perWorker); got != want {
		t.Fatalf("clients + evicted: got %d; want %d inserted", got, want)
	}
	inserts := make([]int, len(e.shards))
	for w := range workers {
		for i := range perWorker {
			inserts[xxhashSum(fmt.Appendf(nil, "w%d-%d", w, i))%uint64(len(e.shards))]++
		}
	}
	for i := range e.shards {
		s := &e.shards[i]
		s.mu.Lock()
		rebuilds := s.rebuilds
		s.mu.Unlock()
		evictions := rebuilds - 5 // 16 → 512 slots for 250 clients: 5 growths
		if limit := (inserts[i]-e.perShard)/e.evictBatch + 1; evictions > limit {
			t.Errorf("shard %d: %d eviction rebuilds for %d inserts; want at most %d", i, evictions, inserts[i], limit)
		}
	}
}

func TestSelectOldest(t *testing.T) {
	gen := map[string]func(n int) []int64{
		"random":   func(n int) []int64 { return randSeen(n, 1<<40) },
		"few keys": func(n int) []int64 { return randSeen(n, 3) },
		"all equal": func(n int) []int64 {
			return make([]int64, n)
		},
		"sorted": func(n int) []int64 {
			s := make([]int64, n)
			for i := range s {
				s[i] = int64(i)
			}
			return s
		},
		"reversed": func(n int) []int64 {
			s := make([]int64, n)
			for i := range s {
				s[i] = int64(n - i)
			}
			return s
		},
	}
	for name, g := range gen {
		for _, n := range []int{1, 2, 7, 100, 1000} {
			for _, k := range []int{0, 1, n / 8, n / 2, n - 1, n} {
				seen := g(n)
				a := make([]victim, n)
				for i, s := range seen {
					a[i] = victim{seen: s}
				}
				selectOldest(a, k)
				slices.Sort(seen)
				got := make([]int64, 0, k)
				for _, v := range a[:k] {
					got = append(got, v.seen)
				}
				slices.Sort(got)
				if !slices.Equal(got, seen[:k]) {
					t.Fatalf("%s n=%d k=%d: a[:k] = %v; want %v", name, n, k, got, seen[:k])
				}
			}
		}
	}
}

func randSeen(n int, span int64) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = rand.Int64N(span)
	}
	return s
}
