package engine

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// totals accumulates the drained decisions of one client identifier. Owned by
// Engine.drainMu. Entries are keyed by identifier, not by Client, so a client
// evicted and later seen again keeps its history while its entry survives.
type totals struct {
	id              string // shares the bytes of the first Client's id
	allowed, denied uint64
	metrics         uint64
	lastSeen        int64
	// client is a Client that reported under id, the live one when there
	// is one; pruning drops the entries of evicted clients first.
	client *Client
	// dropped is set when pruning removes the entry from the map; Clients
	// still pointing at it then look their identifier up again.
	dropped bool
}

func (t *totals) requests() uint64 { return t.allowed + t.denied }

// ClientTotals is one client's drained decisions.
type ClientTotals struct {
	ID       string    // client identifier
	Allowed  uint64    // requests allowed
	Denied   uint64    // requests refused by the rate limit
	Metrics  uint64    // metrics accepted
	LastSeen time.Time // time of the latest drained event, UTC
}

// idString returns c's identifier as a string sharing the Client's bytes,
// which are never modified after the Client is created. This is the package's
// only unsafe byte-to-string conversion.
func idString(c *Client) string {
	if len(c.id) == 0 {
		return ""
	}
	return unsafe.String(&c.id[0], len(c.id))
}

// Drain moves every published event of every ring into the per-client totals
// and, if it moved any or Top asked for a deeper ranking, publishes a new
// ranking of them for Top. The monitor
// calls it every MonitorInterval; tests and shutdown call it directly. It consumes at most one ring's worth of events per shard, so it
// returns even while producers keep pushing. Safe from any goroutine: callers
// take turns as the rings' single consumer.
func (e *Engine) Drain() {
	e.drainMu.Lock()
	defer e.drainMu.Unlock()
	var n uint64
	for i := range e.shards {
		r := &e.shards[i].ring
		for range len(r.slots) {
			c, now, meta, ok := r.pop()
			if !ok {
				break
			}
			e.addLocked(c, now, meta)
			n++
		}
	}
	e.ringEvents.Add(n)
	if n > 0 || e.rankStaleLocked() {
		e.publishLocked()
	}
}

// addLocked adds one event to its client's totals. The caller holds drainMu.
func (e *Engine) addLocked(c *Client, now int64, meta uint32) {
	t := c.tot
	if t == nil || t.dropped {
		t = e.totals[idString(c)]
		if t == nil {
			t = &totals{id: idString(c), client: c}
			e.totals[t.id] = t
			if len(e.totals) > e.maxTotals {
				e.pruneLocked(t)
			}
		}
		// At most one Client per identifier is live at a time: prefer it.
		if t.client.evicted.Load() {
			t.client = c
		}
		c.tot = t
	}
	if meta&allowedBit != 0 {
		t.allowed++
	} else {
		t.denied++
	}
	t.metrics += uint64(meta &^ allowedBit)
	t.lastSeen = max(t.lastSeen, now)
}

// pruneLocked shrinks the totals map to 7/8 of MaxClients, dropping first the
// entries of evicted clients, then the entries with the fewest requests: the
// ones least likely to matter to Top. It keeps fresh, the entry being created.
// Each call removes at least an eighth of the map, so its O(n log n) cost is
// amortised to O(log n) per new identifier. A client whose entry was dropped
// starts a new one at its next event. The caller holds drainMu.
func (e *Engine) pruneLocked(fresh *totals) {
	type candidate struct {
		t       *totals
		evicted bool // read once: shards set it concurrently
	}
	list := make([]candidate, 0, len(e.totals))
	for _, t := range e.totals {
		if t != fresh {
			list = append(list, candidate{t: t, evicted: t.client.evicted.Load()})
		}
	}
	slices.SortFunc(list, func(a, b candidate) int {
		if a.evicted != b.evicted {
			if a.evicted {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(a.t.requests(), b.t.requests()); c != 0 {
			return c
		}
		// Among equals, drop the identifier Top would rank last.
		return strings.Compare(b.t.id, a.t.id)
	})
	drop := len(e.totals) - (e.maxTotals - e.maxTotals/8)
	for _, x := range list[:min(drop, len(list))] {
		delete(e.totals, x.t.id)
		x.t.dropped = true
	}
}

// MinRankDepth is how many clients the monitor ranks for Top at least; it
// ranks deeper once Top has been asked for more.
const MinRankDepth = 1024

// ranking is an immutable view of the best-ranked totals, sorted as Top
// returns them: more requests first, then the smaller identifier. The holder
// of drainMu publishes a new one after each drain that moved events; nobody
// writes a published one.
type ranking struct {
	clients []ClientTotals
	// truncated reports that more identifiers had totals than were ranked.
	truncated bool
}

// better reports whether a ranks before b in Top: more requests, then the
// smaller identifier.
func better(a, b *totals) bool {
	ra, rb := a.requests(), b.requests()
	if ra != rb {
		return ra > rb
	}
	return a.id < b.id
}

// publishLocked replaces the published ranking with the best depth entries
// of the totals, depth being the larger of MinRankDepth and the largest n
// Top was asked for. One pass over the n tracked identifiers with a heap of
// depth entries (most entries are turned away by one comparison with its
// root), then a sort of the heap: O(n + depth log depth) for the usual case,
// on whoever drains (the monitor, Drain, Stop), never on the request path.
// The caller holds drainMu, which orders the publications of concurrent
// drains.
func (e *Engine) publishLocked() {
	depth := int(max(MinRankDepth, e.rankWant.Load()))
	// h is a heap whose root is the worst of the best entries seen so far.
	h := make([]*totals, 0, min(depth, len(e.totals)))
	for _, t := range e.totals {
		switch {
		case len(h) < depth:
			h = append(h, t)
			siftUp(h, len(h)-1)
		case better(t, h[0]):
			h[0] = t
			siftDown(h, 0)
		}
	}
	slices.SortFunc(h, func(a, b *totals) int {
		if better(a, b) {
			return -1
		}
		return 1
	})
	out := make([]ClientTotals, len(h))
	for i, t := range h {
		out[i] = ClientTotals{
			ID:       t.id,
			Allowed:  t.allowed,
			Denied:   t.denied,
			Metrics:  t.metrics,
			LastSeen: time.Unix(0, t.lastSeen).UTC(),
		}
	}
	e.ranking.Store(&ranking{clients: out, truncated: len(e.totals) > len(out)})
}

// siftUp restores the heap order of h (worst entry at the root) after h[i]
// was appended.
func siftUp(h []*totals, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

// siftDown restores the heap order of h after h[i] was replaced.
func siftDown(h []*totals, i int) {
	for {
		w, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && better(h[w], h[l]) {
			w = l
		}
		if r < len(h) && better(h[w], h[r]) {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// Top returns up to n clients with the most requests (allowed plus denied),
// ties by identifier, as of the last drain that moved events. It takes no
// lock and does not sort: it loads the ranking the monitor published and
// returns a prefix of it, so an event loop may call it. The result is shared
// with other callers and must not be modified; it stays valid after later
// drains, which publish new rankings rather than change this one.
//
// The ranking holds the best MinRankDepth clients, or as many as the largest
// n asked for: the first call with an n above both may get fewer clients
// than are tracked, and the next drain (within MonitorInterval) ranks deep
// enough for it.
func (e *Engine) Top(n int) []ClientTotals {
	if n <= 0 {
		return nil
	}
	for want := e.rankWant.Load(); int64(n) > want; want = e.rankWant.Load() {
		if e.rankWant.CompareAndSwap(want, int64(n)) {
			break
		}
	}
	r := e.ranking.Load()
	if r == nil {
		return nil
	}
	n = min(n, len(r.clients))
	return r.clients[:n:n]
}

// rankStaleLocked reports whether Top has been asked for more clients than
// the published ranking holds while more have totals. The caller holds
// drainMu.
func (e *Engine) rankStaleLocked() bool {
	r := e.ranking.Load()
	return r != nil && r.truncated && e.rankWant.Load() > int64(len(r.clients))
}

// Start starts the monitor goroutine, which drains the rings and ends the
// table passes in progress every MonitorInterval, and sweeps idle clients
// every eighth of ClientTTL. Calling
// Start again, or after Stop, does nothing.
func (e *Engine) Start() {
	e.life.Lock()
	defer e.life.Unlock()
	if e.started || e.stopped {
		return
	}
	e.started = true
	go e.monitor()
}

// Stop stops the monitor, waits for it to return, and drains the rings a
// last time. It is idempotent, and returns only once the monitor is gone.
func (e *Engine) Stop() {
	e.life.Lock()
	defer e.life.Unlock()
	if e.stopped {
		return
	}
	e.stopped = true
	close(e.stop)
	if e.started {
		<-e.done
	}
	e.Drain()
}

// monitor is the monitor goroutine's loop. Lock order: it takes drainMu (in
// Drain) and each shard's mu (in finishPasses and EvictIdle) one at a time,
// never nested. Between ticks it allocates the spare tables passes ask for.
func (e *Engine) monitor() {
	defer close(e.done)
	tick := time.NewTicker(e.interval)
	defer tick.Stop()
	for n := 1; ; {
		select {
		case <-e.stop:
			return
		case <-e.spareWanted:
			e.makeSpares()
			continue
		case <-tick.C:
		}
		e.Drain()
		e.finishPasses()
		if n%e.sweepTicks == 0 {
			e.EvictIdle(e.now())
		}
		n++
	}
}
