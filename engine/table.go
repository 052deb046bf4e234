package engine

import (
	"bytes"
	"fmt"
	"math/bits"
	"sync/atomic"
)

// minSlots is the size of a shard's first table.
const minSlots = 16

// Bounds on the work of one pass step (see pass).
const (
	// passWindow is the number of source slots an insert moves: the share
	// of a pass one new client pays for.
	passWindow = 32
	// sweepChunk is the number of source slots the monitor's sweep moves
	// per hold of the shard's mutex.
	sweepChunk = 1024
	// sampleSize is the number of clients whose last-seen times estimate
	// the cutoff of a pass that makes room in a full shard.
	sampleSize = 64
)

// fibMul spreads a hash over the table index (Fibonacci hashing). The shard
// is chosen by hash % shards, so the table must not index by the same low bits.
const fibMul = 0x9E3779B97F4A7C15

// table is an open-addressing hash set of clients with linear probing,
// published through shard.tab.
//
// Readers (Admit) load slots atomically and never lock. The only writer is
// the holder of the shard's mu, and it only ever fills a nil slot of the
// current table; it never clears a slot. Removal (eviction) and growth
// publish a fresh table whose prev is the old one, and a pass then moves the
// old table's clients over a window at a time (see pass); the old table is
// never written again, so a reader still probing it sees a consistent, merely
// stale, set. Without in-place deletion there are no tombstones, and a probe
// ends at the first nil slot. The load factor is kept at most 1/2, so that
// nil slot is near.
type table struct {
	slots []atomic.Pointer[Client]
	shift uint // 64 − log2(len(slots))
	mask  uint64
	// prev is the table a pass is moving clients from into this one, nil
	// when none is. Stored before this table is published and set to nil
	// once, by the pass's last step, under the shard's mu.
	prev atomic.Pointer[table]
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

// lookup returns the live client with hash h and identifier id: from t, or
// from the table a pass is emptying into t when t does not hold it yet. A
// client the pass evicted is skipped there, as it is gone from the shard.
// Lock-free; a client moved at the very instant a pass ends may be missed,
// which only sends the caller to the slow path, which looks again under the
// shard's mu.
func (t *table) lookup(h uint64, id []byte) *Client {
	if c := t.find(h, id); c != nil {
		return c
	}
	if p := t.prev.Load(); p != nil {
		if c := p.find(h, id); c != nil && !c.evicted.Load() {
			return c
		}
	}
	return nil
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

// admitSlow finds or inserts the client id in shard s. This is the slow path
// of Admit, for a client the lock-free lookup did not find: it takes s.mu
// (lookups never do), looks again, makes room (a bounded share of a pass, see
// makeRoomLocked) and inserts a new client into the current table.
func (e *Engine) admitSlow(s *shard, idx uint32, h uint64, id []byte, now int64) *Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.tab.Load().lookup(h, id); c != nil {
		// Inserted by another goroutine since our lookup.
		return c
	}
	e.makeRoomLocked(s, now)
	c := &Client{clientCore: clientCore{hash: h, id: bytes.Clone(id)}, shard: idx}
	c.bucket.Store(e.lim.full(now))
	c.lastSeen.Store(now)
	s.tab.Load().put(c)
	s.inTab++
	s.count++
	s.clients.Store(int64(s.count))
	if s.count > e.perShard {
		panic(fmt.Sprintf("BUG: engine: shard holds %d clients; want at most %d", s.count, e.perShard))
	}
	return c
}
