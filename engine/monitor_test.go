package engine

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type event struct {
	id      string
	at      int64 // seconds after base
	allowed bool
	metrics int
}

func record(e *Engine, evs []event) {
	for _, ev := range evs {
		now := base + ev.at*int64(time.Second)
		c, _, _ := e.Admit([]byte(ev.id), now)
		e.Record(c, now, ev.allowed, ev.metrics)
	}
}

func at(sec int64) time.Time { return time.Unix(0, base+sec*int64(time.Second)).UTC() }

func TestDrainTop(t *testing.T) {
	evs := []event{
		{"b", 1, true, 10}, {"a", 2, true, 5}, {"b", 3, false, 0}, {"c", 4, true, 1},
		{"a", 9, false, 0}, {"d", 5, true, 3}, {"b", 2, true, 7}, {"e", 1, false, 0},
		{"big", 1, true, math.MaxInt}, // clamped to 2^31−1 (on 64-bit platforms)
	}
	all := []ClientTotals{
		{ID: "b", Allowed: 2, Denied: 1, Metrics: 17, LastSeen: at(3)},
		{ID: "a", Allowed: 1, Denied: 1, Metrics: 5, LastSeen: at(9)},
		{ID: "big", Allowed: 1, Metrics: 1<<31 - 1, LastSeen: at(1)},
		{ID: "c", Allowed: 1, Metrics: 1, LastSeen: at(4)},
		{ID: "d", Allowed: 1, Metrics: 3, LastSeen: at(5)},
		{ID: "e", Denied: 1, LastSeen: at(1)},
	}
	cases := []struct {
		n    int
		want []ClientTotals
	}{
		{-1, nil}, {0, nil}, {1, all[:1]}, {3, all[:3]}, {6, all}, {100, all},
	}
	e := newEngine(t, Config{Shards: 3, Rate: 0, RingSize: 64})
	record(e, evs)
	if got := e.Top(10); len(got) != 0 {
		t.Fatalf("Top before Drain: got %v; want nothing", got)
	}
	e.Drain()
	for _, tc := range cases {
		if got := e.Top(tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("Top(%d):\n got %v\nwant %v", tc.n, got, tc.want)
		}
	}
	if st := e.Stats(); st.RingEvents != uint64(len(evs)) || st.RingDropped != 0 {
		t.Errorf("Stats: got %+v; want %d ring events, none dropped", st, len(evs))
	}
}

// TestDrainConcurrent records from many goroutines while others drain and
// read Top, then checks that every event is either in the totals or counted
// as dropped.
func TestDrainConcurrent(t *testing.T) {
	const (
		producers = 4
		each      = 3000
		ids       = 50
	)
	e := newEngine(t, Config{Shards: 2, Rate: 100, Burst: 10, RingSize: 256})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				e.Drain()
				e.Top(5)
			}
		})
	}
	var producing sync.WaitGroup
	for p := range producers {
		producing.Go(func() {
			for i := range each {
				now := base + int64(i)*int64(time.Millisecond)
				c, ok, _ := e.Admit([]byte("id-"+strconv.Itoa((i+p)%ids)), now)
				e.Record(c, now, ok, 2)
			}
		})
	}
	producing.Wait()
	close(stop)
	wg.Wait()
	e.Drain()
	var requests, metrics uint64
	for _, ct := range e.Top(ids) {
		requests += ct.Allowed + ct.Denied
		metrics += ct.Metrics
	}
	st := e.Stats()
	if requests != st.RingEvents || metrics != 2*st.RingEvents {
		t.Fatalf("totals hold %d requests, %d metrics; want %d and %d", requests, metrics, st.RingEvents, 2*st.RingEvents)
	}
	if got, want := st.RingEvents+st.RingDropped, uint64(producers*each); got != want {
		t.Fatalf("drained %d + dropped %d = %d; want %d recorded", st.RingEvents, st.RingDropped, got, want)
	}
}

// TestTotalsBounded floods the totals with identifiers and checks that the
// map stays within MaxClients and that a heavy client keeps its history.
func TestTotalsBounded(t *testing.T) {
	const maxClients = 16
	e := newEngine(t, Config{Shards: 2, Rate: 0, MaxClients: maxClients, RingSize: 1024})
	heavy := []event{}
	for i := range 50 {
		heavy = append(heavy, event{"heavy", int64(i), true, 1})
	}
	record(e, heavy)
	e.Drain()
	for round := range 20 {
		var evs []event
		for i := range 10 {
			evs = append(evs, event{fmt.Sprintf("r%d-%d", round, i), 100 + int64(round), true, 1})
		}
		evs = append(evs, event{"heavy", 100 + int64(round), true, 1})
		record(e, evs)
		e.Drain()
		e.drainMu.Lock()
		n := len(e.totals)
		e.drainMu.Unlock()
		if n > maxClients {
			t.Fatalf("round %d: %d totals; want at most %d", round, n, maxClients)
		}
	}
	top := e.Top(1)
	if len(top) != 1 || top[0].ID != "heavy" || top[0].Allowed != 70 {
		t.Fatalf("Top(1): got %v; want heavy with 70 allowed", top)
	}
}

// TestTotalsSurviveEviction checks that a client evicted and seen again keeps
// adding to the same totals, and that events of the evicted Client queued
// before its eviction still count.
func TestTotalsSurviveEviction(t *testing.T) {
	e := newEngine(t, Config{Shards: 1, Rate: 0, MaxClients: 4, ClientTTL: time.Second, RingSize: 64})
	record(e, []event{{"a", 1, true, 1}, {"b", 1, true, 1}})
	e.Drain()
	record(e, []event{{"a", 2, true, 1}, {"b", 5, true, 1}})
	if n := e.EvictIdle(base + 5*int64(time.Second)); n != 1 {
		t.Fatalf("EvictIdle: evicted %d; want 1 (a)", n)
	}
	record(e, []event{{"a", 6, true, 1}, {"a", 7, false, 0}})
	e.Drain()
	want := []ClientTotals{
		{ID: "a", Allowed: 3, Denied: 1, Metrics: 3, LastSeen: at(7)},
		{ID: "b", Allowed: 2, Metrics: 2, LastSeen: at(5)},
	}
	if got := e.Top(10); !slices.Equal(got, want) {
		t.Fatalf("Top:\n got %v\nwant %v", got, want)
	}
	if st := e.Stats(); st.Evicted != 1 || st.Clients != 2 {
		t.Fatalf("Stats: got %+v; want 1 evicted, 2 clients", st)
	}
}

func TestMonitor(t *testing.T) {
	var clock atomic.Int64
	clock.Store(base)
	e := newEngine(t, Config{
		Shards: 2, Rate: 10, ClientTTL: 8 * time.Millisecond, MonitorInterval: time.Millisecond,
		RingSize: 64, Now: clock.Load,
	})
	e.Start()
	e.Start() // no effect
	record(e, []event{{"a", 0, true, 3}, {"b", 0, false, 0}})
	waitFor(t, "the monitor to drain", func() bool { return len(e.Top(10)) == 2 })
	if st := e.Stats(); st.Clients != 2 {
		t.Fatalf("Stats.Clients before the sweep: got %d; want 2", st.Clients)
	}
	clock.Add(int64(time.Second))
	waitFor(t, "the monitor to sweep idle clients", func() bool { return e.Stats().Clients == 0 })

	// Events recorded just before Stop are drained by it.
	record(e, []event{{"a", 0, true, 3}})
	e.Stop()
	select {
	case <-e.done:
	default:
		t.Fatal("monitor still running after Stop")
	}
	if got := e.Top(1); len(got) != 1 || got[0].Allowed != 2 {
		t.Fatalf("Top(1) after Stop: got %v; want a with 2 allowed", got)
	}
	e.Stop()  // idempotent
	e.Start() // no effect after Stop
	select {
	case <-e.stop:
	default:
		t.Fatal("stop channel reopened")
	}
}

func TestStopWithoutStart(t *testing.T) {
	e := newEngine(t, Config{Shards: 1, RingSize: 16})
	record(e, []event{{"a", 0, true, 1}})
	e.Stop()
	if got := e.Top(1); len(got) != 1 {
		t.Fatalf("Top after Stop: got %v; want the drained event", got)
	}
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestTopRanking checks the published ranking: a result stays as it was after
// later drains, and a Top deeper than MinRankDepth is served in full from the
// next drain on, even one that moved no events.
func TestTopRanking(t *testing.T) {
	const n = MinRankDepth + 100
	e := newEngine(t, Config{Shards: 2, Rate: 0, RingSize: 4096})
	var evs []event
	for i := range n {
		evs = append(evs, event{fmt.Sprintf("c%05d", i), 1, true, 1})
	}
	record(e, evs)
	e.Drain()
	held := slices.Clone(e.Top(3))
	first := e.Top(3)
	record(e, []event{{"c00002", 2, true, 1}, {"c00002", 2, true, 1}})
	e.Drain()
	if !slices.Equal(first, held) {
		t.Fatalf("a Top result changed after a drain: got %v; want %v", first, held)
	}
	if got := e.Top(1); len(got) != 1 || got[0].ID != "c00002" || got[0].Allowed != 3 {
		t.Fatalf("Top(1) after the drain: got %v; want c00002 with 3 allowed", got)
	}
	if got := e.Top(n); len(got) != MinRankDepth {
		t.Fatalf("Top(%d) before a deeper ranking: got %d clients; want the %d ranked", n, len(got), MinRankDepth)
	}
	e.Drain() // no events: ranks deeper because Top asked for more
	got := e.Top(n + 5)
	if len(got) != n {
		t.Fatalf("Top(%d) after a drain: got %d clients; want all %d", n+5, len(got), n)
	}
	if got[0].ID != "c00002" || got[1].ID != "c00000" || got[n-1].ID != fmt.Sprintf("c%05d", n-1) {
		t.Fatalf("Top order: got %s, %s, …, %s; want c00002, c00000, …, c%05d", got[0].ID, got[1].ID, got[n-1].ID, n-1)
	}
}
