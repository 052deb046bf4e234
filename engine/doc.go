// Package engine rate-limits clients with lock-free token buckets and
// aggregates every decision into per-client totals.
//
// # Shape
//
//	Admit(id, now) ─▶ shard = xxhash(id) % shards
//	                    │ table lookup: atomic loads only
//	                    │ token bucket: one CompareAndSwap on one int64
//	Record(c, …)   ─▶ c's shard ring: one CompareAndSwap on the ring's tail
//	                    ▼
//	monitor goroutine: Drain every MonitorInterval ─▶ totals ─▶ ranking
//	                   EvictIdle every ClientTTL/8             │ atomic pointer
//	Top(n)         ─▶ a prefix of the published ranking: no lock, no sort
//
// # Token bucket representation
//
// A client's bucket is a single int64 word z, the instant (in nanoseconds of
// the caller's clock) at which the bucket was or will be empty. With
// interval = 1e9/Rate nanoseconds per token and span = Burst × interval, the
// tokens available at time now are
//
//	tokens(now) = min(Burst, (now − z) / interval)
//
// Refill needs no write: the passing of time raises the count. Admit clamps z
// to at least now − span (a bucket holds at most Burst tokens), refuses when
// now − z < interval (less than one token; retryAfter = z + interval − now)
// and otherwise installs z + interval with one CompareAndSwap, retrying only
// if another goroutine changed the word in between. A refusal writes nothing.
// This is the token bucket in its "theoretical arrival time" form (GCRA):
// tokens and last refill time are one number, so no packing and no torn
// update can arise. A new client starts full: z = now − span.
//
// Precision: one nanosecond of time, that is 1/interval of a token. interval
// is rounded to whole nanoseconds, so the enforced rate is within a relative
// Rate/2e9 of Rate (5e-6 at the default 10 000/s); hence MaxRate = 1e9. New
// refuses a Burst × interval over 2^60 ns (36 years) so no arithmetic on the
// word can overflow.
//
// # Client tables
//
// Each shard holds at most MaxClients/Shards clients in an open-addressing
// table (linear probing, load factor at most 1/2) of atomic.Pointer[Client],
// itself published through an atomic pointer. Lookups compare the 64-bit
// hash, then the bytes, and never lock. A per-shard mutex serialises the slow
// path (a client not found): it looks again, and inserts by storing into a nil
// slot of the current table. Slots are never cleared in place, so no
// tombstones are needed. The identifier is copied when the client is
// created; the caller's slice is never retained.
//
// Growth and eviction are passes, done a little at a time. A pass publishes
// a new table whose prev is the old one; each insert of a new client then
// moves one window of 32 old slots into the new table, evicting on the way
// the clients last seen before the pass's cutoff. Until the pass ends,
// lookups that miss in the new table look in the old one (skipping the
// evicted). So one request, even from a client inventing a new id every
// time, does O(32) slots of work, plus, when it starts a pass, the
// sampling of 64 last-seen times described below; no request rebuilds a table. The new table is the shard's
// spare, which the monitor allocated off the request path (the request
// allocates it only when the monitor has not caught up, or for growth). The
// monitor also ends passes left unfinished after each drain.
//
//   - Growth: a table about to pass half full gets a pass into one twice its
//     size, which evicts nobody; it ends long before the new table is half
//     full.
//   - A full shard gets a pass into a table of the same size whose cutoff
//     is the TTL's or, when later, the time below which about an eighth of
//     the shard's clients were last seen, estimated from 64 of them (exact
//     in shards of at most 64). An insert whose window evicted nobody while
//     the shard is full evicts the least recently seen client of a window,
//     so the bound always holds. A pass visits each client once
//     and evicts about an eighth of the shard: amortised O(1) per insert.
//     The eviction is approximately least-recently-seen.
//   - The monitor sweeps TTL-expired clients (EvictIdle) with a pass of its
//     own, moving 1024 slots per hold of the mutex, and then shrinks a
//     mostly empty table with another.
//
// Last-seen times are refreshed at most once a millisecond per client, so
// refused requests stay read-only.
//
// Memory, measured by TestClientMemory on amd64 with 14-byte identifiers:
// about 100 bytes per tracked client (the 64-byte Client, its identifier
// copy, table slots), plus about 90 bytes for its entry in the monitor's
// totals: under 200 bytes per client in all, so 20 MB at the default
// MaxClients. Once the monitor runs, each shard also keeps a spare table
// for its next pass (8 bytes a slot, about 20 bytes per client of a full
// shard). Each ring takes 24 bytes per event, RingSize × Shards in all
// (1.5 MiB per shard at the default RingSize; 20 bytes per event on 32-bit
// platforms), allocated by New.
//
// # Decision rings
//
// Each shard has a bounded multi-producer single-consumer ring of decision
// events {*Client, time, allowed, metrics}: Dmitry Vyukov's bounded MPMC queue
// (sequence-numbered slots) with a single consumer. Every slot carries a
// sequence number; for the position pos that maps to it, seq == pos means the
// slot is free for pos, seq == pos+1 that the event of pos is published, and
// the consumer frees the slot for the next lap by storing pos+size.
//
// A producer loads the tail, and when the slot's seq equals the tail it claims
// the position with a CompareAndSwap on the tail, writes the payload with
// plain stores, then stores seq = pos+1. If the slot still carries the
// previous lap's event (seq < pos) the ring is full: the event is dropped and
// counted, so Record never waits. The consumer reads seq, and when it equals
// head+1 reads the payload, clears the pointer and stores seq = head+size.
//
// Producers are lock-free; the consumer is not: a producer descheduled
// between its claim and its publish holds the consumer at that slot until it
// runs again, while the other producers go on and, if it lasts long enough to
// fill the ring, have their events dropped. Nothing is lost silently, and a
// slot is never read before it is published.
//
// Memory ordering: Go's sync/atomic operations are sequentially consistent,
// and an atomic load that observes an atomic store is synchronised after it
// (the Go memory model), which gives the acquire/release pairs the algorithm
// needs and more. The producer's payload stores happen before its seq store,
// which the consumer's seq load observes before it reads the payload; the
// consumer's payload reads happen before its freeing seq store, which the
// next lap's producer observes before it writes. The tail CAS hands each
// position to exactly one producer. So payload fields need no atomics and the
// race detector sees no race. Sequence numbers are 32 bits, compared as signed
// differences, exact while they stay within 2^31 of each other; a ring spans
// at most MaxRingSize positions.
//
// # Ownership
//
//   - Engine configuration and the limiter: immutable after New.
//   - Client.hash, Client.id, Client.shard: immutable. Client.bucket and
//     Client.lastSeen: atomics written by any Admit. Client.evicted: set once
//     under the shard's mutex. Client.tot: the monitor's (Engine.drainMu).
//   - shard.tab: published under the shard's mutex, loaded by anyone; a
//     table's slots and prev are written only under that mutex, slots only
//     while the table is current. The pass in progress, the client count
//     and the table's load: the shard's mutex.
//   - ring tail and dropped: shared by producers (any goroutine calling
//     Record). ring head and reading of slots: the single consumer, whoever
//     holds Engine.drainMu (the monitor, Drain, Stop).
//   - Per-client totals: Engine.drainMu. The totals are keyed by identifier
//     and bounded by MaxClients: past it, the entries of evicted clients and
//     then those with the fewest requests are dropped.
//   - The ranking: after each drain that moved events, the holder of drainMu
//     ranks the best max(MinRankDepth, largest n asked) totals (a heap pass
//     over the totals and a sort of the heap) into a new immutable slice and
//     publishes it with one atomic pointer store. Top loads the pointer and
//     returns a prefix, so an event loop serving GET /clients or the
//     Prometheus output never waits for a drain and never sorts.
//
// Lock order: drainMu and a shard's mutex are never held together.
//
// Hot words are padded: each shard starts with a cache line of padding and
// keeps its table pointer, ring tail, drop counter and consumer head on
// separate lines; each Client is exactly one 64-byte line on every platform
// (padded on 32-bit ones), and its 64-bit atomics are atomic.Int64 fields,
// which are 8-byte aligned on 32-bit platforms too.
package engine
