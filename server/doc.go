// Package server binds the gnet event loops to the codec, the engine and
// the store: it is MetricStream's HTTP/1.1 front.
//
// Each event loop owns a loopState (decoders, scratch buffers, counters)
// and the connections gnet assigned to it; nothing a loop owns is locked.
// A request is parsed in place from the connection's buffered input
// (codec.Parser), routed, rate-limited (engine), decoded into a reusable
// Batch, encoded as storage lines into a pooled buffer and appended to the
// store's queue. With -ack queued the answer goes out at once; with written
// or synced the connection queues a pending answer that the storage writer
// acknowledges from its own goroutine. The acknowledgement puts the
// connection on its loop's ready list and, once per group commit, queues a
// task on the loop (gnet EventLoop.Execute), which sends every ready answer
// in request order.
//
// gnet has no timers: OnTick, on gnet's ticker goroutine, asks each loop to
// scan its connections (EventLoop.Execute) for idle and read timeouts,
// clients that stopped reading their answers, and lingering closes.
//
// Lock order: none on the request path. loopsMu guards only the growth of
// the loop list (once per loop); logLimiter's mutex is taken only on error
// paths.
package server
