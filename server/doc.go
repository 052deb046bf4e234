// Package server binds the gnet event loops to the codec, the engine and
// the store: it is MetricStream's HTTP/1.1 front.
//
// Each event loop accepts its own connections (one SO_REUSEPORT listener
// per loop), owns a loopState (decoders, scratch buffers, counters) and the
// connections it accepted; nothing a loop owns is locked. A request is
// parsed in place from the connection's buffered input (codec.Parser) and
// checked against the route table (routes.go: path, methods, what each
// needs, handler) by one function, check, whether it arrives whole or
// announces its body with Expect: 100-continue. A refusal names its reason
// (one table maps reasons to statuses and statistics names) and goes out
// through refuse. An ingest is rate-limited (engine), decoded into a
// reusable Batch, encoded as storage lines into a pooled buffer and
// appended to the loop's own storage.Stream (the loop's share of the
// store: its segment stream and its writer, its own io_uring on Linux).
// With -ack queued the answer goes out at once; with written or synced the
// connection queues a pending answer. The first append of a poll round
// makes the stream ask for its group commit, a task on the same loop (gnet
// EventLoop.Execute, run at the end of the next poll round): the stream
// writes everything the round appended as one submission and acknowledges
// it there, on the loop, counting each batch then; the loop then sends
// every acknowledged answer in request order. When an io_uring completion
// outlasts the stream's bounded wait, the ring's waiter goroutine queues
// the same task again once it has arrived.
//
// gnet has no timers: OnTick, on gnet's ticker goroutine, asks each loop to
// scan its connections (EventLoop.Execute) for idle and read timeouts,
// clients that stopped reading their answers, and lingering closes; a loop
// has at most one scan queued.
//
// Life: New opens the store; Start binds and starts the loops once;
// Shutdown, callable any number of times and without Start, drains and
// closes everything once, bounded by its context (see Server.Shutdown).
//
// Locks: none on the request path (storage's queue bound is one atomic
// counter shared by the loops). loopsMu guards the growth of the loop list (once per loop); the
// databaseSet mutex is taken the first time a database name is seen; the
// logLimiter mutex only on error paths; life by Start and Shutdown. None is
// taken while another is held.
package server
