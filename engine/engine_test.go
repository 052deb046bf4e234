package engine

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// base is an arbitrary start for injected clocks, far from zero so that
// negative bucket words are exercised.
const base = int64(1_764_172_800_000_000_000)

func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(e.Stop)
	return e
}

func TestNew(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		wantErr error
		check   func(t *testing.T, e *Engine)
	}{
		{name: "defaults", cfg: Config{Rate: 10000}, check: func(t *testing.T, e *Engine) {
			if got, want := len(e.shards), runtime.GOMAXPROCS(0); got != want {
				t.Errorf("shards: got %d; want %d", got, want)
			}
			if got, want := e.lim.span, int64(10000)*e.lim.interval; got != want {
				t.Errorf("span: got %d; want %d (burst = rate)", got, want)
			}
			if got, want := e.perShard*len(e.shards), DefaultMaxClients; got > want {
				t.Errorf("clients bound: got %d; want at most %d", got, want)
			}
			if got, want := len(e.shards[0].ring.slots), DefaultRingSize; got != want {
				t.Errorf("ring size: got %d; want %d", got, want)
			}
			if got, want := e.ttl, int64(DefaultClientTTL); got != want {
				t.Errorf("ttl: got %d; want %d", got, want)
			}
			if got, want := e.interval, DefaultMonitorInterval; got != want {
				t.Errorf("interval: got %v; want %v", got, want)
			}
		}},
		{name: "fractional rate burst rounds up", cfg: Config{Rate: 2.5}, check: func(t *testing.T, e *Engine) {
			if got, want := e.lim.span, 3*e.lim.interval; got != want {
				t.Errorf("span: got %d; want %d", got, want)
			}
		}},
		{name: "slow rate burst at least one", cfg: Config{Rate: 0.1}, check: func(t *testing.T, e *Engine) {
			if got, want := e.lim.interval, int64(10*time.Second); got != want {
				t.Errorf("interval: got %d; want %d", got, want)
			}
			if got, want := e.lim.span, e.lim.interval; got != want {
				t.Errorf("span: got %d; want %d", got, want)
			}
		}},
		{name: "rate zero", cfg: Config{}, check: func(t *testing.T, e *Engine) {
			if e.lim.interval != 0 {
				t.Errorf("interval: got %d; want 0", e.lim.interval)
			}
		}},
		{name: "shards above max clients", cfg: Config{Shards: 8, MaxClients: 3}, check: func(t *testing.T, e *Engine) {
			if got, want := len(e.shards), 3; got != want {
				t.Errorf("shards: got %d; want %d", got, want)
			}
			if got, want := e.perShard, 1; got != want {
				t.Errorf("per shard: got %d; want %d", got, want)
			}
		}},
		{name: "explicit", cfg: Config{Shards: 3, Rate: 100, Burst: 7, MaxClients: 30, RingSize: 16}, check: func(t *testing.T, e *Engine) {
			if len(e.shards) != 3 || e.perShard != 10 || e.evictBatch != 1 || len(e.shards[2].ring.slots) != 16 {
				t.Errorf("got shards %d, per shard %d, batch %d, ring %d; want 3, 10, 1, 16",
					len(e.shards), e.perShard, e.evictBatch, len(e.shards[2].ring.slots))
			}
			if got, want := e.lim.span, 7*int64(10*time.Millisecond); got != want {
				t.Errorf("span: got %d; want %d", got, want)
			}
		}},
		{name: "negative rate", cfg: Config{Rate: -1}, wantErr: ErrInvalidRate},
		{name: "NaN rate", cfg: Config{Rate: nan()}, wantErr: ErrInvalidRate},
		{name: "rate above max", cfg: Config{Rate: 2e9}, wantErr: ErrInvalidRate},
		{name: "ring not power of two", cfg: Config{RingSize: 100}, wantErr: ErrInvalidRingSize},
		{name: "ring of one", cfg: Config{RingSize: 1}, wantErr: ErrInvalidRingSize},
		{name: "ring too large", cfg: Config{RingSize: MaxRingSize * 2}, wantErr: ErrInvalidRingSize},
		{name: "too many shards", cfg: Config{Shards: MaxShards + 1}, wantErr: ErrInvalidShards},
		{name: "refill time overflows", cfg: Config{Rate: 1e-10, Burst: 1}, wantErr: ErrInvalidBurst},
		// 2^31−1 tokens of a second each: 68 years to refill, over the 2^60 ns bound.
		{name: "burst overflows", cfg: Config{Rate: 1, Burst: math.MaxInt32}, wantErr: ErrInvalidBurst},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(tc.cfg)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("New: got error %v; want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer e.Stop()
			tc.check(t, e)
		})
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}

// TestAdmitSequence replays single-goroutine request sequences against an
// injected clock.
func TestAdmitSequence(t *testing.T) {
	type step struct {
		at    time.Duration // since base
		ok    bool
		retry time.Duration
	}
	ms := time.Millisecond
	cases := []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{name: "burst then refusal", rate: 10, burst: 3, steps: []step{
			{0, true, 0}, {0, true, 0}, {0, true, 0},
			{0, false, 100 * ms},
			{40 * ms, false, 60 * ms},
			{100 * ms, true, 0},
			{100 * ms, false, 100 * ms},
		}},
		{name: "refill caps at burst", rate: 10, burst: 2, steps: []step{
			{0, true, 0}, {0, true, 0},
			{10 * time.Second, true, 0}, {10 * time.Second, true, 0},
			{10 * time.Second, false, 100 * ms},
		}},
		{name: "steady rate", rate: 1000, burst: 1, steps: []step{
			{0, true, 0}, {ms, true, 0}, {2 * ms, true, 0},
			{2*ms + 500*time.Microsecond, false, 500 * time.Microsecond},
			{3 * ms, true, 0},
		}},
		{name: "clock behind the bucket", rate: 1, burst: 1, steps: []step{
			{5 * time.Second, true, 0},
			{4 * time.Second, false, 2 * time.Second},
			{6 * time.Second, true, 0},
		}},
		{name: "fractional rate", rate: 0.5, burst: 1, steps: []step{
			{0, true, 0},
			{time.Second, false, time.Second},
			{2 * time.Second, true, 0},
		}},
		{name: "limiting off", rate: 0, burst: 0, steps: []step{
			{0, true, 0}, {0, true, 0}, {0, true, 0}, {0, true, 0},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, Config{Shards: 1, Rate: tc.rate, Burst: tc.burst, RingSize: 16})
			for i, s := range tc.steps {
				_, ok, retry := e.Admit([]byte("c"), base+int64(s.at))
				if ok != s.ok || retry != s.retry {
					t.Fatalf("step %d at %v: got (%v, %v); want (%v, %v)", i, s.at, ok, retry, s.ok, s.retry)
				}
			}
		})
	}
}

// TestAdmitConcurrent hammers one bucket from many goroutines with an
// injected clock and checks the admitted count against the supply:
// admitted ≤ burst + rate×elapsed + 1, and, when demand exceeds supply,
// admitted ≥ burst + rate×elapsed − 1.
func TestAdmitConcurrent(t *testing.T) {
	cases := []struct {
		name    string
		rate    float64
		burst   int
		workers int
		steps   int
		dt      time.Duration
		perStep int           // requests per worker per step
		skew    time.Duration // worker w runs its clock w×skew ahead
	}{
		{name: "excess demand", rate: 1000, burst: 50, workers: 8, steps: 100, dt: 7 * time.Millisecond, perStep: 4},
		{name: "fractional rate", rate: 3, burst: 2, workers: 6, steps: 60, dt: 170 * time.Millisecond, perStep: 2},
		{name: "demand below supply", rate: 10000, burst: 100, workers: 4, steps: 50, dt: 10 * time.Millisecond, perStep: 5},
		{name: "skewed clocks", rate: 500, burst: 20, workers: 8, steps: 80, dt: 5 * time.Millisecond, perStep: 6, skew: 300 * time.Microsecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, Config{Shards: 2, Rate: tc.rate, Burst: tc.burst, RingSize: 16})
			id := []byte("hot-client")
			var allowed atomic.Int64
			for step := range tc.steps {
				now := base + int64(step)*int64(tc.dt)
				var wg sync.WaitGroup
				for w := range tc.workers {
					wg.Go(func() {
						for range tc.perStep {
							if _, ok, _ := e.Admit(id, now+int64(w)*int64(tc.skew)); ok {
								allowed.Add(1)
							}
						}
					})
				}
				wg.Wait()
			}
			maxSkew := time.Duration(tc.workers-1) * tc.skew
			elapsed := time.Duration(tc.steps-1)*tc.dt + maxSkew
			supply := float64(tc.burst) + tc.rate*elapsed.Seconds()
			demand := float64(tc.workers * tc.perStep * tc.steps)
			got := float64(allowed.Load())
			if got > supply+1 {
				t.Errorf("admitted %v; want at most burst + rate×elapsed + 1 = %v", got, supply+1)
			}
			// With skew the bound loosens by rate×maxSkew twice: the bucket
			// may be created by a worker up to maxSkew ahead of base, and the
			// last refusal may come from a worker up to maxSkew behind the
			// latest clock.
			low := min(demand, supply-2*tc.rate*maxSkew.Seconds()) - 1
			if got < low {
				t.Errorf("admitted %v; want at least %v (demand %v, supply %v)", got, low, demand, supply)
			}
		})
	}
}

// TestAdmitFreeRunning lets every goroutine advance a shared clock as it
// goes, so Admit sees clocks that disagree and interleave arbitrarily.
func TestAdmitFreeRunning(t *testing.T) {
	const (
		rate, burst = 2000.0, 25
		workers     = 8
		perWorker   = 3000
		tick        = int64(100 * time.Microsecond) // 5 requests per token
	)
	e := newEngine(t, Config{Shards: 4, Rate: rate, Burst: burst, RingSize: 16})
	var clock atomic.Int64
	clock.Store(base)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				if _, ok, _ := e.Admit([]byte("shared"), clock.Add(tick)); ok {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Duration(clock.Load() - base)
	supply := burst + rate*elapsed.Seconds()
	if got := float64(allowed.Load()); got > supply+1 {
		t.Errorf("admitted %v; want at most %v", got, supply+1)
	}
	if got, low := float64(allowed.Load()), supply/2; got < low {
		t.Errorf("admitted %v of a supply of %v; want at least half", got, supply)
	}
}

func TestAdmitCopiesID(t *testing.T) {
	e := newEngine(t, Config{Shards: 2, Rate: 1, Burst: 1, RingSize: 16})
	buf := []byte("client-a")
	c, ok, _ := e.Admit(buf, base)
	if !ok {
		t.Fatal("first request refused")
	}
	copy(buf, "client-b")
	if got := string(c.ID()); got != "client-a" {
		t.Fatalf("ID after the caller's buffer changed: got %q; want %q", got, "client-a")
	}
	b, ok, _ := e.Admit(buf, base)
	if !ok || b == c {
		t.Fatalf("client-b: got (%p, %v); want a new client, allowed", b, ok)
	}
	a, ok, _ := e.Admit([]byte("client-a"), base)
	if ok || a != c {
		t.Fatalf("client-a again: got (%p, %v); want (%p, false)", a, ok, c)
	}
	if got := e.Stats().Clients; got != 2 {
		t.Fatalf("Stats.Clients: got %d; want 2", got)
	}
}

// TestAdmitNewClientRace creates the same clients from many goroutines at
// once: each identifier must end up as exactly one Client.
func TestAdmitNewClientRace(t *testing.T) {
	const workers, ids = 8, 500
	e := newEngine(t, Config{Shards: 3, Rate: 1e6, RingSize: 16})
	got := make([][]*Client, workers)
	var wg sync.WaitGroup
	for w := range workers {
		got[w] = make([]*Client, ids)
		wg.Go(func() {
			var buf []byte
			for i := range ids {
				j := (i + w*37) % ids
				buf = fmt.Appendf(buf[:0], "id-%d", j)
				got[w][j], _, _ = e.Admit(buf, base)
			}
		})
	}
	wg.Wait()
	for i := range ids {
		for w := 1; w < workers; w++ {
			if got[w][i] != got[0][i] {
				t.Fatalf("id-%d: worker %d got client %p; worker 0 got %p", i, w, got[w][i], got[0][i])
			}
		}
	}
	if st := e.Stats(); st.Clients != ids {
		t.Fatalf("Stats.Clients: got %d; want %d", st.Clients, ids)
	}
}

func TestLimiterTokens(t *testing.T) {
	l, ok := newLimiter(4, 8)
	if !ok {
		t.Fatal("newLimiter(4, 8) refused")
	}
	z := l.full(base)
	cases := []struct {
		z, now int64
		want   float64
	}{
		{z, base, 8},
		{z, base + int64(time.Hour), 8},
		{base, base, 0},
		{base, base + int64(500*time.Millisecond), 2},
		{base + int64(time.Second), base, -4},
	}
	for _, tc := range cases {
		if got := l.tokens(tc.z, tc.now); got != tc.want {
			t.Errorf("tokens(z=%d, now=%d): got %v; want %v", tc.z-base, tc.now-base, got, tc.want)
		}
	}
}
