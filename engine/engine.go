package engine

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/sys/cpu"
)

// Defaults for the zero values of Config.
const (
	// DefaultMaxClients is the bound on tracked clients when Config.MaxClients is zero.
	DefaultMaxClients = 100000
	// DefaultClientTTL is the idle time after which a client is evicted when
	// Config.ClientTTL is zero.
	DefaultClientTTL = 10 * time.Minute
	// DefaultRingSize is the number of events per shard ring when Config.RingSize is zero.
	DefaultRingSize = 65536
	// DefaultMonitorInterval is the drain period when Config.MonitorInterval is zero.
	DefaultMonitorInterval = time.Second
)

// Upper bounds on Config fields; larger values are refused by New.
const (
	// MaxShards bounds Config.Shards.
	MaxShards = 4096
	// MaxRingSize bounds Config.RingSize (24 bytes per event, per shard).
	MaxRingSize = 1 << 24
)

// seenGranularity is how far a client's clock must move before Admit rewrites
// its last-seen time. Eviction works at this resolution; skipping the store
// keeps refused requests, which otherwise only read the client, from writing
// its cache line.
const seenGranularity = int64(time.Millisecond)

// Errors returned by New, wrapped with the offending value.
var (
	ErrInvalidRate     = errors.New("engine: rate must be a finite number from 0 to 1e9")
	ErrInvalidBurst    = errors.New("engine: burst is too large for the rate (refill time over 36 years)")
	ErrInvalidRingSize = errors.New("engine: ring size must be a power of two from 2 to 16777216")
	ErrInvalidShards   = errors.New("engine: shards must be at most 4096")
)

// Config sets up an Engine. The zero value of every field selects a default;
// no field can switch off the memory bounds.
type Config struct {
	// Shards is the number of shards clients are spread over by xxhash of
	// their id. Zero or negative selects runtime.GOMAXPROCS(0), one per event
	// loop. It is lowered to MaxClients when larger, so that every shard may
	// hold at least one client.
	Shards int
	// Rate is the tokens (requests) per second each client earns. Zero
	// disables limiting: Admit always allows, clients are still tracked and
	// their decisions recorded. At most MaxRate.
	Rate float64
	// Burst is the bucket size, the requests a client may send at once after
	// being idle. Zero or negative selects max(1, ceil(Rate)).
	Burst int
	// MaxClients bounds the clients tracked across all shards; each shard
	// holds at most MaxClients/Shards of them. It bounds the per-client
	// totals the monitor keeps as well. Zero or negative selects
	// DefaultMaxClients; it never disables the bound.
	MaxClients int
	// ClientTTL is the idle time after which a client is evicted, by the
	// monitor's periodic sweep or by a full shard making room. Zero or
	// negative selects DefaultClientTTL.
	ClientTTL time.Duration
	// RingSize is the number of decision events each shard's ring holds, a
	// power of two of at least 2. Zero or negative selects DefaultRingSize.
	// Each event takes 24 bytes.
	RingSize int
	// MonitorInterval is how often the monitor drains the rings. Zero or
	// negative selects DefaultMonitorInterval.
	MonitorInterval time.Duration
	// Now is the clock of the monitor's TTL sweep, in nanoseconds. It must
	// be the clock the caller passes to Admit. Nil selects Unix time
	// (time.Now().UnixNano()).
	Now func() int64
}

// Client is one tracked client: its identifier and its token bucket.
//
// A Client is created by Admit and stays valid for the life of the engine
// even after eviction; an evicted client is simply no longer found by Admit,
// which creates a fresh one on the next request with that identifier.
//
// Layout: exactly one clientLine (64 bytes) on every platform, checked at
// compile time. The fields take the whole line on 64-bit platforms; on 32-bit
// ones (shorter slice header and pointer) explicit padding fills it. Objects
// of 64 bytes come from the Go allocator's 64-byte size class, whose slots
// are 64-byte aligned, so two clients never share a line and the bucket word
// bounces only between the loops serving that one client. On CPUs with
// 128-byte lines neighbours may share one.
//
// The two atomic.Int64 fields are 8-byte aligned on 32-bit platforms too, as
// the atomic types guarantee (a plain int64 would not be).
type Client struct {
	clientCore
	_ [clientPad]byte

	shard uint32 // index of the owning shard; immutable
	// evicted is set once, under the shard's mu, when the client is removed
	// from its shard.
	evicted atomic.Bool
}

// clientCore holds the fields of Client that precede its padding.
type clientCore struct {
	hash uint64 // xxhash of id; immutable
	id   []byte // private copy of the identifier; immutable

	// bucket is the token bucket in one word (see limiter). Updated by CAS
	// from any goroutine.
	bucket atomic.Int64
	// lastSeen is the clock of the latest Admit, to seenGranularity; the
	// key of eviction. Stored from any goroutine.
	lastSeen atomic.Int64

	// tot is this client's entry in the monitor's totals, or nil until the
	// first event is drained. Owned by Engine.drainMu.
	tot *totals
}

// clientLine is the size of a Client: the cache line of amd64 and of most
// arm64 cores, and a size class of the Go allocator.
const clientLine = 64

// clientPad fills a Client up to clientLine: zero on 64-bit platforms, where
// clientCore is 56 bytes, 8 on 32-bit ones (clientCore 48 bytes with its
// alignment). A core grown past 56 bytes makes it negative, which does not
// compile.
const clientPad = clientLine - unsafe.Sizeof(clientCore{}) - unsafe.Sizeof(uint32(0)) - unsafe.Sizeof(atomic.Bool{})

// Compile-time check that Client is exactly one clientLine, on every
// platform: the index is out of range otherwise.
var _ = [1]struct{}{}[unsafe.Sizeof(Client{})^clientLine]

// ID returns the client's identifier. The slice is the client's own copy,
// shared by every caller: do not modify it.
func (c *Client) ID() []byte { return c.id }

// shardNopad is a shard without its trailing padding; see shard.
type shardNopad struct {
	_ cpu.CacheLinePad

	// tab is the client table, loaded by every Admit; replaced under mu.
	tab atomic.Pointer[table]
	// spare is an empty table for the next pass, allocated by the monitor
	// off the request path, taken under mu by the pass that starts.
	spare atomic.Pointer[table]

	// ring carries the decision events of this shard's clients; its
	// producer and consumer fields sit on lines of their own.
	ring ring

	// mu serialises the slow path: inserting a client, and the passes that
	// grow the table and evict. Lookups never take it. It guards the fields
	// below.
	mu       sync.Mutex
	count    int          // live clients: in tab, or in pass.from not yet moved
	inTab    int          // clients in tab (its load)
	pass     pass         // the pass in progress, if any
	clients  atomic.Int64 // count, for Stats without mu
	passes   int          // passes started since New, for tests of amortisation
	maxSteps int          // most pass windows one insert stepped, for tests
}

// shard owns a share of the clients (a lock-free table) and their ring of
// decisions. Shards sit in one array; each starts with a full line of padding
// and is padded to a whole number of lines, so no hot word (the table
// pointer, the ring's tail) shares a line with another shard's, whatever the
// array's alignment.
type shard struct {
	shardNopad
	_ [cacheLine - unsafe.Sizeof(shardNopad{})%cacheLine]byte
}

const cacheLine = unsafe.Sizeof(cpu.CacheLinePad{})

// Engine rate-limits clients and aggregates their decisions. All methods are
// safe for concurrent use. Admit and Record are the request path: they never
// block on a lock held by another request for a known client.
type Engine struct {
	shards     []shard
	nshards    uint64
	lim        limiter
	perShard   int   // clients per shard
	evictBatch int   // clients evicted at once by a full shard
	maxTotals  int   // bound on the totals map (MaxClients)
	ttl        int64 // nanoseconds
	interval   time.Duration
	sweepTicks int // monitor ticks between TTL sweeps
	now        func() int64

	evicted    atomic.Uint64
	ringEvents atomic.Uint64 // events drained, for Stats

	// drainMu makes its holder the single consumer of every ring, and
	// guards the totals and each Client.tot.
	drainMu sync.Mutex
	totals  map[string]*totals

	// ranking is the best totals sorted for Top, published by the holder of
	// drainMu after each drain that moved events; read by anyone, never
	// written once published. Nil until the first such drain.
	ranking atomic.Pointer[ranking]
	// rankWant is the largest n Top was asked for: raised by Top, read by
	// publishLocked to size the ranking.
	rankWant atomic.Int64

	// spareWanted wakes the monitor to allocate spare tables; sent to
	// without blocking by a pass that starts.
	spareWanted chan struct{} // buffered, one wake-up

	// life guards the monitor's lifecycle fields below.
	life    sync.Mutex
	started bool
	stopped bool
	stop    chan struct{} // closed by Stop
	done    chan struct{} // closed by the monitor when it returns
}

// New validates cfg, fills in its defaults and returns an engine with its
// monitor not yet started.
func New(cfg Config) (*Engine, error) {
	if math.IsNaN(cfg.Rate) || cfg.Rate < 0 || cfg.Rate > MaxRate {
		return nil, fmt.Errorf("%w (got %v)", ErrInvalidRate, cfg.Rate)
	}
	if cfg.Shards > MaxShards {
		return nil, fmt.Errorf("%w (got %d)", ErrInvalidShards, cfg.Shards)
	}
	if cfg.Shards <= 0 {
		cfg.Shards = runtime.GOMAXPROCS(0)
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst(cfg.Rate)
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.ClientTTL <= 0 {
		cfg.ClientTTL = DefaultClientTTL
	}
	if cfg.RingSize <= 0 {
		cfg.RingSize = DefaultRingSize
	}
	if cfg.RingSize < 2 || cfg.RingSize > MaxRingSize || cfg.RingSize&(cfg.RingSize-1) != 0 {
		return nil, fmt.Errorf("%w (got %d)", ErrInvalidRingSize, cfg.RingSize)
	}
	if cfg.MonitorInterval <= 0 {
		cfg.MonitorInterval = DefaultMonitorInterval
	}
	if cfg.Now == nil {
		cfg.Now = func() int64 { return time.Now().UnixNano() }
	}
	lim, ok := newLimiter(cfg.Rate, cfg.Burst)
	if !ok {
		return nil, fmt.Errorf("%w (got burst %d at rate %v)", ErrInvalidBurst, cfg.Burst, cfg.Rate)
	}
	cfg.Shards = min(cfg.Shards, cfg.MaxClients)

	perShard := cfg.MaxClients / cfg.Shards
	// Sweep every eighth of the TTL (an idle client lives at most 9/8 TTL),
	// but no more often than the drain.
	sweepTicks := max(1, int(cfg.ClientTTL/8/cfg.MonitorInterval))
	e := &Engine{
		shards:      make([]shard, cfg.Shards),
		nshards:     uint64(cfg.Shards),
		lim:         lim,
		perShard:    perShard,
		evictBatch:  max(1, perShard/8),
		maxTotals:   cfg.MaxClients,
		ttl:         int64(cfg.ClientTTL),
		interval:    cfg.MonitorInterval,
		sweepTicks:  sweepTicks,
		now:         cfg.Now,
		totals:      make(map[string]*totals),
		stop:        make(chan struct{}),
		spareWanted: make(chan struct{}, 1),
		done:        make(chan struct{}),
	}
	for i := range e.shards {
		s := &e.shards[i]
		s.tab.Store(newTable(minSlots))
		s.ring.init(cfg.RingSize)
	}
	return e, nil
}

// Admit decides one request of the client id at time nowNanos (the clock of
// Config.Now) and returns the client, for Record. When refused, retryAfter is
// the time until the bucket holds one token; the caller rounds it up to whole
// seconds for Retry-After.
//
// id may be a view into a network buffer: Admit does not retain it, and
// copies it when it creates a client.
//
// Fast path, for a known client: hash, an atomic table load and probe (two
// probes while a pass moves the shard's clients), one CompareAndSwap when
// allowed (none when refused); no lock, no allocation. Slow path, for a new
// client: the shard's mutex, an allocation, and a bounded share of a table
// pass: 32 slots moved, or the start of a pass (see the package doc).
//
// A request that races with the eviction of its own client is decided on the
// evicted client's bucket; eviction picks idle or least recently seen clients,
// so this is rare and at worst grants the client a fresh bucket on its next
// request.
func (e *Engine) Admit(id []byte, nowNanos int64) (c *Client, allowed bool, retryAfter time.Duration) {
	h := xxhash.Sum64(id)
	idx := h % e.nshards
	s := &e.shards[idx]
	c = s.tab.Load().lookup(h, id)
	if c == nil {
		c = e.admitSlow(s, uint32(idx), h, id, nowNanos)
	} else if nowNanos-c.lastSeen.Load() >= seenGranularity {
		c.lastSeen.Store(nowNanos)
	}
	allowed, retryAfter = e.lim.take(&c.bucket, nowNanos)
	return c, allowed, retryAfter
}

// Record pushes a decision event for c, a client returned by Admit on e, onto
// its shard's ring: the time of the request, whether it was allowed, and the
// metrics it carried (0 when refused; values beyond 2^31−1 are clamped). It
// never blocks and never allocates: when the ring is full the event is dropped
// and counted in Stats.RingDropped.
func (e *Engine) Record(c *Client, nowNanos int64, allowed bool, metrics int) {
	meta := uint32(min(max(metrics, 0), int(maxMetrics)))
	if allowed {
		meta |= allowedBit
	}
	e.shards[c.shard].ring.push(c, nowNanos, meta)
}

// Stats is a snapshot of the engine's counters.
type Stats struct {
	Clients     int    // clients tracked now, across all shards
	Evicted     uint64 // clients evicted since New (TTL or room for new ones)
	RingDropped uint64 // decision events dropped because a ring was full
	RingEvents  uint64 // decision events drained into the totals
	Shards      int    // number of shards
}

// Stats returns the engine's counters. Each is read atomically; together they
// are not one instant's snapshot.
func (e *Engine) Stats() Stats {
	st := Stats{
		Evicted:    e.evicted.Load(),
		RingEvents: e.ringEvents.Load(),
		Shards:     len(e.shards),
	}
	for i := range e.shards {
		s := &e.shards[i]
		st.Clients += int(s.clients.Load())
		st.RingDropped += s.ring.dropped.Load()
	}
	return st
}
