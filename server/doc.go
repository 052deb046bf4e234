// Package server binds the gnet event loops to the codec, the engine and
// the store: it is MetricStream's HTTP/1.1 front.
//
// Each event loop owns a loopState (decoders, scratch buffers, counters,
// its storage.Stream) and the connections gnet assigned to it; nothing a
// loop owns is locked. A request is parsed in place from the connection's
// buffered input (codec.Parser), routed, rate-limited (engine), decoded
// into a reusable Batch, encoded as storage lines into a pooled buffer and
// appended to the loop's own stream. With -ack queued the answer goes out
// at once; with written or synced the connection queues a pending answer.
// The first append of a poll round makes the stream ask for its group
// commit, a task on the same loop (gnet EventLoop.Execute, run at the end
// of the next poll round): the stream writes everything the round appended
// as one submission and acknowledges it there, on the loop, which then
// sends every acknowledged answer in request order. When an io_uring
// completion outlasts the stream's bounded wait, the ring's waiter
// goroutine queues the same task again once it has arrived.
//
// gnet has no timers: OnTick, on gnet's ticker goroutine, asks each loop to
// scan its connections (EventLoop.Execute) for idle and read timeouts,
// clients that stopped reading their answers, and lingering closes.
//
// Locks: none on the request path (storage's queue bound is one atomic
// counter shared by the loops). loopsMu guards only the growth of the loop
// list (once per loop); logLimiter's mutex is taken only on error paths.
package server
