package engine

import (
	"bytes"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
)

// minSlots is the size of a shard's first table.
const minSlots = 16

// fibMul spreads a hash over the table index (Fibonacci hashing). The shard
// is chosen by hash % shards, so the table must not index by the same low bits.
const fibMul = 0x9E3779B97F4A7C15

// table is an open-addressing hash set of clients with linear probing,
// published through shard.tab.
//
// Readers (Admit) load slots atomically and never lock. The only writer is
// the holder of the shard's mu, and it only ever fills a nil slot of the
// current table; it never clears or moves a slot. Removal (eviction) and
// growth build a fresh table and publish it with one pointer store, after
// which the old table is never written again, so a reader still probing it
// sees a consistent, merely stale, set. Without in-place deletion there are no
// tombstones, and a probe ends at the first nil slot. The load factor is kept
// at most 1/2, so that nil slot is near.
type table struct {
	slots []atomic.Pointer[Client]
	shift uint // 64 − log2(len(slots))
	mask  uint64
}

func newTable(size int) *table {
	return &table{
		slots: make([]atomic.Pointer[Client], size),
		shift: uint(64 - bits.TrailingZeros(uint(size))),
		mask:  uint64(size - 1),
	}
}

// find returns the client with hash h and identifier id, or nil.
// It does not allocate or lock.
func (t *table) find(h uint64, id []byte) *Client {
	for i := (h * fibMul) >> t.shift; ; i = (i + 1) & t.mask {
		c := t.slots[i].Load()
		if c == nil {
			return nil
		}
		if c.hash == h && bytes.Equal(c.id, id) {
			return c
		}
	}
}

// put stores c in the first nil slot of its probe sequence. The caller holds
// the owning shard's mu (or owns t exclusively, before publishing it) and has
// made sure the table has a nil slot.
func (t *table) put(c *Client) {
	for i := (c.hash * fibMul) >> t.shift; ; i = (i + 1) & t.mask {
		if t.slots[i].Load() == nil {
			t.slots[i].Store(c)
			return
		}
	}
}

// victim is a client considered for eviction with the last-seen time read
// once at the start of the rebuild, so that selection works on stable keys
// while Admit keeps updating the clients.
type victim struct {
	c    *Client
	seen int64
}

// selectOldest reorders a so that a[:k] holds the k entries with the smallest
// seen (ties broken arbitrarily). Quickselect with a random pivot and a
// three-way partition, so runs of equal times (a coarse clock) stay linear:
// expected O(len(a)).
func selectOldest(a []victim, k int) {
	lo, hi := 0, len(a)
	for hi-lo > 1 {
		p := a[lo+rand.IntN(hi-lo)].seen
		lt, i, gt := lo, lo, hi
		for i < gt {
			switch s := a[i].seen; {
			case s < p:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case s > p:
				gt--
				a[i], a[gt] = a[gt], a[i]
			default:
				i++
			}
		}
		// a[lo:lt] < p, a[lt:gt] == p, a[gt:hi] > p.
		switch {
		case k < lt:
			hi = lt
		case k <= gt:
			return
		default:
			lo = gt
		}
	}
}

// admitSlow finds or inserts the client id in shard s. This is the slow path
// of Admit, for a client the lock-free lookup did not find: it takes s.mu
// (lookups never do), looks again, and inserts a new client, first making
// room by growing the table or, when the shard holds its share of MaxClients,
// by evicting a batch of clients.
func (e *Engine) admitSlow(s *shard, idx uint32, h uint64, id []byte, now int64) *Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tab.Load()
	if c := t.find(h, id); c != nil {
		// Inserted by another goroutine since our lookup.
		return c
	}
	switch {
	case s.count >= e.perShard:
		// Full: evict the idle, then the least recently seen, an eighth of
		// the shard at once, so the O(count) rebuild is paid once per
		// evictBatch inserts.
		e.evictLocked(s, now, e.evictBatch)
		t = s.tab.Load()
	case 2*(s.count+1) > len(t.slots):
		t = s.rebuildLocked(nil, 2*len(t.slots))
	}
	c := &Client{clientCore: clientCore{hash: h, id: bytes.Clone(id)}, shard: idx}
	c.bucket.Store(e.lim.full(now))
	c.lastSeen.Store(now)
	t.put(c)
	s.count++
	s.clients.Store(int64(s.count))
	if s.count > e.perShard {
		panic(fmt.Sprintf("BUG: engine: shard holds %d clients; want at most %d", s.count, e.perShard))
	}
	return c
}

// evictLocked removes from shard s every client last seen before now − TTL
// and, if that is fewer than want, the least recently seen others up to want
// in all. It returns how many it removed; with nothing to remove it leaves the
// table as it is. O(count) expected. The caller holds s.mu.
func (e *Engine) evictLocked(s *shard, now int64, want int) int {
	t := s.tab.Load()
	cutoff := now - e.ttl
	if want == 0 {
		// A sweep: most often nothing has expired, so look before
		// allocating.
		found := false
		for i := range t.slots {
			if c := t.slots[i].Load(); c != nil && c.lastSeen.Load() < cutoff {
				found = true
				break
			}
		}
		if !found {
			return 0
		}
	}
	cand := make([]victim, 0, s.count)
	expired := 0
	for i := range t.slots {
		if c := t.slots[i].Load(); c != nil {
			v := victim{c: c, seen: c.lastSeen.Load()}
			if v.seen < cutoff {
				expired++
			}
			cand = append(cand, v)
		}
	}
	if invariants && len(cand) != s.count {
		panic(fmt.Sprintf("BUG: engine: shard table holds %d clients; count says %d", len(cand), s.count))
	}
	k := min(max(expired, want), len(cand))
	if k == 0 {
		return 0
	}
	selectOldest(cand, k)
	for _, v := range cand[:k] {
		v.c.evicted.Store(true)
	}
	keep := cand[k:]
	size := len(t.slots)
	if 8*len(keep) < size {
		// Mostly emptied (a TTL sweep after a burst of invented ids): shrink.
		size = max(minSlots, 1<<bits.Len(uint(4*len(keep))))
	}
	s.rebuildLocked(keep, size)
	s.count = len(keep)
	s.clients.Store(int64(s.count))
	e.evicted.Add(uint64(k))
	return k
}

// rebuildLocked publishes a new table of size slots holding keep, or, when
// keep is nil, every client of the current table. The caller holds s.mu.
func (s *shard) rebuildLocked(keep []victim, size int) *table {
	nt := newTable(size)
	if keep == nil {
		old := s.tab.Load()
		for i := range old.slots {
			if c := old.slots[i].Load(); c != nil {
				nt.put(c)
			}
		}
	} else {
		for _, v := range keep {
			nt.put(v.c)
		}
	}
	s.tab.Store(nt)
	s.rebuilds++
	return nt
}

// EvictIdle removes every client last seen before nowNanos − ClientTTL from
// every shard and returns how many it removed. The monitor calls it
// periodically; it takes each shard's mu in turn, for a scan of that shard.
func (e *Engine) EvictIdle(nowNanos int64) int {
	n := 0
	for i := range e.shards {
		s := &e.shards[i]
		s.mu.Lock()
		n += e.evictLocked(s, nowNanos, 0)
		s.mu.Unlock()
	}
	return n
}
