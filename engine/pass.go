package engine

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// pass is the incremental move of a shard's clients from its previous table
// (from) into the current one, evicting on the way every client last seen
// before cutoff. Growth, making room in a full shard and the TTL sweep are
// all passes; they differ in the new table's size and in the cutoff.
//
// Growth moves every client (its cutoff is math.MinInt64): only full shards
// and the sweep evict.
//
// A pass never does all its work at once: each insert of a new client moves
// one window of passWindow source slots, and the monitor's sweep moves
// sweepChunk slots per hold of the mutex, so one request pays O(passWindow)
// however many clients the shard holds. A full pass visits every client once,
// and a pass that makes room evicts about an eighth of the shard, so its cost
// is amortised O(1) per insert.
//
// Owned by the shard's mu. While from is set, s.tab.Load().prev == from.
type pass struct {
	from   *table // the table being emptied; nil when no pass runs
	next   int    // next slot of from to move
	cutoff int64  // clients last seen before it are evicted, not moved
}

// makeRoomLocked prepares shard s for one more client, with bounded work:
// one window of the pass in progress; when the shard is full, a pass that
// evicts (started if none runs) stepped until a client is gone; when the
// current table would pass half full, a pass into a table twice its size.
// The caller holds s.mu.
func (e *Engine) makeRoomLocked(s *shard, now int64) {
	steps := 0
	if s.pass.from != nil {
		e.stepLocked(s, passWindow, false)
		steps++
	}
	for s.count >= e.perShard {
		if s.pass.from == nil {
			e.startPassLocked(s, len(s.tab.Load().slots), e.evictionCutoff(s, now))
		}
		e.stepLocked(s, passWindow, true)
		steps++
	}
	if t := s.tab.Load(); 2*(s.inTab+1) > len(t.slots) {
		// A growth pass ends long before its table is half full, and an
		// eviction pass keeps the size of a table sized for a full shard.
		// Only the sweep's passes, into tables sized for the clients they
		// started with, can be outgrown by new clients while they run:
		// finish it then, at O(table) once.
		for s.pass.from != nil {
			e.stepLocked(s, passWindow, false)
			steps++
		}
		e.startPassLocked(s, 2*len(t.slots), math.MinInt64)
	}
	s.maxSteps = max(s.maxSteps, steps)
}

// startPassLocked publishes an empty table of size slots whose prev is the
// current one, and starts the pass that moves the current clients into it.
// The table is the shard's spare when it has the size, so that the caller,
// often an event loop, does not allocate and zero it; otherwise it is
// allocated here. No pass may be running. The caller holds s.mu.
func (e *Engine) startPassLocked(s *shard, size int, cutoff int64) {
	old := s.tab.Load()
	nt := s.spare.Swap(nil)
	if nt == nil || len(nt.slots) != size {
		nt = newTable(size)
	}
	nt.prev.Store(old)
	s.tab.Store(nt)
	s.pass = pass{from: old, cutoff: cutoff}
	s.inTab = 0
	s.passes++
	// Ask the monitor for the next spare only now: makeSpares sizes it by
	// the published table, and a wake-up sent before the Store could let it
	// size the spare by the table this pass replaces.
	select {
	case e.spareWanted <- struct{}{}:
	default:
	}
}

// stepLocked moves the next window slots of the pass in progress: clients
// last seen before the cutoff are evicted, the others put into the current
// table. When needRoom is set and nobody in the window was below the
// cutoff, the least recently seen client of the window is evicted. The last
// step ends the pass. It returns how many clients it evicted. The caller
// holds s.mu.
func (e *Engine) stepLocked(s *shard, window int, needRoom bool) int {
	p := &s.pass
	end := min(p.next+window, len(p.from.slots))
	evicted := 0
	var oldest *Client
	oldestSeen := int64(math.MaxInt64)
	// Every client of from is live when the pass starts and is visited by
	// exactly one step, so none is evicted yet.
	for i := p.next; i < end; i++ {
		c := p.from.slots[i].Load()
		if c == nil {
			continue
		}
		switch seen := c.lastSeen.Load(); {
		case seen < p.cutoff:
			e.evictOneLocked(s, c)
			evicted++
		case seen < oldestSeen:
			oldest, oldestSeen = c, seen
		}
	}
	if needRoom && evicted == 0 && oldest != nil {
		e.evictOneLocked(s, oldest)
		evicted++
	}
	to := s.tab.Load()
	for i := p.next; i < end; i++ {
		if c := p.from.slots[i].Load(); c != nil && !c.evicted.Load() {
			to.put(c)
			s.inTab++
		}
	}
	p.next = end
	if end == len(p.from.slots) {
		e.endPassLocked(s, to)
	}
	return evicted
}

// endPassLocked ends the pass into table to, which now holds every client of
// the shard. The caller holds s.mu.
func (e *Engine) endPassLocked(s *shard, to *table) {
	to.prev.Store(nil)
	s.pass = pass{}
	if s.inTab != s.count {
		panic(fmt.Sprintf("BUG: engine: shard table holds %d clients after a pass; count says %d", s.inTab, s.count))
	}
	if invariants {
		n := 0
		for i := range to.slots {
			if to.slots[i].Load() != nil {
				n++
			}
		}
		if n != s.count {
			panic(fmt.Sprintf("BUG: engine: shard table has %d clients in its slots; count says %d", n, s.count))
		}
	}
}

// evictOneLocked removes c, a client of s not yet moved by the pass, from
// the shard. The caller holds s.mu.
func (e *Engine) evictOneLocked(s *shard, c *Client) {
	c.evicted.Store(true)
	s.count--
	s.clients.Store(int64(s.count))
	e.evicted.Add(1)
}

// evictionCutoff returns the cutoff of a pass that makes room in the full
// shard s: the last-seen time below which about evictBatch of its clients
// lie, or, when later, the TTL's (every idle client goes). The time is
// estimated from the clients of up to sampleSize consecutive slots from a
// random point of the table; slot order is the hash's, unrelated to
// last-seen times. A shard of at most sampleSize clients is sampled whole,
// and the cutoff is then exact. No pass may be running. The caller holds
// s.mu.
func (e *Engine) evictionCutoff(s *shard, now int64) int64 {
	t := s.tab.Load()
	var buf [sampleSize]int64
	sample := buf[:0]
	start := rand.IntN(len(t.slots))
	for i := 0; i < len(t.slots) && len(sample) < sampleSize; i++ {
		if c := t.slots[(start+i)&int(t.mask)].Load(); c != nil {
			sample = append(sample, c.lastSeen.Load())
		}
	}
	slices.Sort(sample)
	// k of the sampled clients stand for the evictBatch of the shard.
	k := max(1, len(sample)*e.evictBatch/max(1, s.count))
	cutoff := int64(math.MaxInt64)
	if k < len(sample) {
		cutoff = sample[k]
	}
	return max(cutoff, now-e.ttl)
}

// EvictIdle removes every client last seen before nowNanos − ClientTTL from
// every shard and returns how many it removed itself (inserts stepping the
// same passes meanwhile may remove some; Stats.Evicted counts all). The
// monitor calls it
// periodically. Each shard is swept by a pass of its own, then shrunk by
// another if mostly empty; the sweep moves sweepChunk slots per hold of the
// shard's mu, so a loop inserting a new client meanwhile waits for one chunk
// at most.
func (e *Engine) EvictIdle(nowNanos int64) int {
	n := 0
	for i := range e.shards {
		n += e.sweep(&e.shards[i], nowNanos-e.ttl)
	}
	return n
}

// sweep evicts the clients of s last seen before cutoff and returns how
// many it evicted.
func (e *Engine) sweep(s *shard, cutoff int64) int {
	if !hasIdle(s.tab.Load(), cutoff) {
		return 0
	}
	s.mu.Lock()
	// A pass an insert started ends first, evicting the idle clients it has
	// not moved yet; the sweep's own pass then sees every client.
	s.pass.cutoff = max(s.pass.cutoff, cutoff)
	n := e.finishLocked(s)
	e.startPassLocked(s, len(s.tab.Load().slots), cutoff)
	n += e.finishLocked(s)
	if t := s.tab.Load(); s.pass.from == nil && len(t.slots) > minSlots && 8*s.count < len(t.slots) {
		// Mostly emptied (a sweep after a burst of invented ids): shrink.
		// The count is exact here, so the moves fit; new clients arriving
		// during the pass are checked by makeRoomLocked.
		e.startPassLocked(s, max(minSlots, 1<<bits.Len(uint(4*s.count))), cutoff)
		n += e.finishLocked(s)
	}
	s.mu.Unlock()
	return n
}

// finishLocked steps the pass in progress to its end, sweepChunk slots per
// hold of s.mu, releasing it between chunks. It returns how many clients it
// evicted. The caller holds s.mu, and holds it again on return.
func (e *Engine) finishLocked(s *shard) int {
	n := 0
	for s.pass.from != nil {
		n += e.stepLocked(s, sweepChunk, false)
		s.mu.Unlock()
		s.mu.Lock()
	}
	return n
}

// finishPasses ends the passes in progress, so that lookups stop probing two
// tables when no new client comes to step them. The monitor calls it after
// every drain; it holds each shard's mu for sweepChunk slots at a time.
func (e *Engine) finishPasses() {
	for i := range e.shards {
		s := &e.shards[i]
		if s.tab.Load().prev.Load() == nil {
			continue
		}
		s.mu.Lock()
		e.finishLocked(s)
		s.mu.Unlock()
	}
}

// makeSpares gives every shard without one a spare table of its current
// table's size, the size of its next eviction or sweep pass. The monitor
// calls it when a pass took a spare.
func (e *Engine) makeSpares() {
	for i := range e.shards {
		s := &e.shards[i]
		size := len(s.tab.Load().slots)
		if sp := s.spare.Load(); sp == nil || len(sp.slots) != size {
			s.spare.Store(newTable(size))
		}
	}
}

// hasIdle reports whether t holds a client last seen before cutoff. It reads
// without locking: most sweeps find nothing to do.
func hasIdle(t *table, cutoff int64) bool {
	for _, tt := range []*table{t, t.prev.Load()} {
		if tt == nil {
			continue
		}
		for i := range tt.slots {
			if c := tt.slots[i].Load(); c != nil && !c.evicted.Load() && c.lastSeen.Load() < cutoff {
				return true
			}
		}
	}
	return false
}
