package engine

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/cpu"
)

// Event metadata packing: the low 31 bits hold the metric count, the top bit
// whether the request was allowed.
const (
	allowedBit = uint32(1) << 31
	maxMetrics = allowedBit - 1
)

// slot is one cell of a ring: a sequence number and the event it carries.
//
// seq says whose turn the slot is. For the position pos that maps to it:
// seq == uint32(pos) means free for the producer of pos, seq == uint32(pos+1)
// means the event of pos is published for the consumer, and the consumer hands
// the slot to the next lap by storing uint32(pos+size). Sequence numbers are
// compared as int32 differences, which is exact while fewer than 2^31
// positions separate them; a ring never spans more than size ≤ MaxRingSize.
//
// The payload fields are plain: the producer that won pos writes them before
// its seq store, the consumer reads them after its seq load and before its own
// seq store (see doc.go for the ordering argument).
type slot struct {
	seq  atomic.Uint32
	meta uint32 // metric count | allowedBit
	c    *Client
	now  int64
}

// ring is a bounded multi-producer single-consumer queue of decision events:
// Dmitry Vyukov's bounded MPMC queue with its consumer side specialised to one
// consumer. Producers never wait: when the slot at the tail still holds an
// unconsumed event from the previous lap the event is dropped and counted.
//
// Ownership: slots and mask are fixed at New. tail and dropped are shared by
// every producer (any goroutine calling Record). head is owned by the consumer,
// which is whoever holds Engine.drainMu.
type ring struct {
	// Read-only after New.
	slots []slot
	mask  uint64

	_ cpu.CacheLinePad
	// tail is the next position to claim; producers CAS it forward.
	tail atomic.Uint64

	_ cpu.CacheLinePad
	// dropped counts events refused because the ring was full. Written only
	// under overload, kept off the tail's line so drops do not slow claims.
	dropped atomic.Uint64

	_ cpu.CacheLinePad
	// head is the next position to consume. Consumer-owned (Engine.drainMu).
	head uint64
}

// init allocates the slots of a ring of size events; size is a power of two
// of at least 2.
func (r *ring) init(size int) {
	r.slots = make([]slot, size)
	r.mask = uint64(size - 1)
	for i := range r.slots {
		r.slots[i].seq.Store(uint32(i))
	}
}

// push appends an event. It never blocks: it returns false, and counts a
// drop, when the ring is full. Safe for any number of concurrent callers.
func (r *ring) push(c *Client, now int64, meta uint32) bool {
	pos := r.tail.Load()
	for {
		s := &r.slots[pos&r.mask]
		d := int32(s.seq.Load() - uint32(pos))
		switch {
		case d == 0:
			// The slot is free for pos: claim pos, then fill and publish.
			if r.tail.CompareAndSwap(pos, pos+1) {
				s.meta, s.c, s.now = meta, c, now
				s.seq.Store(uint32(pos + 1))
				return true
			}
			pos = r.tail.Load()
		case d < 0:
			// The slot still holds the event of pos−size: the consumer is a
			// full lap behind.
			r.dropped.Add(1)
			return false
		default:
			// Another producer claimed pos after our tail load.
			pos = r.tail.Load()
		}
	}
}

// pop removes the oldest published event. It reports false when the ring is
// empty or the oldest claimed position is not yet published (its producer is
// between its CAS and its seq store); a later pop returns it. Only the
// consumer (holder of Engine.drainMu) may call pop.
func (r *ring) pop() (c *Client, now int64, meta uint32, ok bool) {
	s := &r.slots[r.head&r.mask]
	d := int32(s.seq.Load() - uint32(r.head+1))
	if d < 0 {
		return nil, 0, 0, false
	}
	if invariants && d != 0 {
		panic(fmt.Sprintf("BUG: engine: ring slot %d has seq %d; want %d (two consumers?)",
			r.head&r.mask, s.seq.Load(), uint32(r.head+1)))
	}
	c, now, meta = s.c, s.now, s.meta
	// Clear the pointer so the slot does not keep an evicted client alive.
	s.c = nil
	s.seq.Store(uint32(r.head + r.mask + 1))
	r.head++
	return c, now, meta, true
}
