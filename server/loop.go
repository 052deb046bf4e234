package server

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"metricstream/codec"
	"metricstream/storage"
)

// loopState is what one event loop owns. Only that loop's goroutine touches
// its fields, except counters (atomic, read by Stats) — so nothing here is
// locked. Requests are handled one at a time on a loop, which is why the
// decoders and scratch buffers can be shared by all its connections.
type loopState struct {
	srv *Server
	el  gnet.EventLoop

	conns    map[*conn]struct{} // open connections of this loop
	counters counters
	date     dateCache

	json  codec.JSONDecoder
	lp    codec.LineProtocolDecoder
	batch codec.Batch
	gzip  *codec.GzipDecoder // taken from the pool on first gzip body

	out  []byte // answers of the current OnTraffic, written once at its end
	body []byte // scratch for rendering answer bodies
	// Scratch for the request being handled: the user name and the
	// password or token decoded from its credentials (never kept past the
	// request), and unescaped query values.
	user    []byte
	secret  []byte
	scratch []byte

	scanner gnet.Runnable // ls.scan as a Runnable, built once
	// scanQueued is set while a scan task is queued on the loop (set by
	// OnTick, cleared by the task as it starts), so that a loop that falls
	// behind has at most one scan waiting. scans counts the scans run.
	scanQueued atomic.Bool
	scans      atomic.Uint64

	// stream is this loop's share of the store: its segment stream, the
	// batches it accepted and its writer (its own io_uring on Linux). Only
	// this loop appends to it and runs its Flush.
	stream *storage.Stream
	// acked are the connections whose answers storage acknowledged during
	// the current Flush (pushed by pending.Ack, on this loop); listed on a
	// connection keeps it here at most once. flusher is the round's task.
	acked   []*conn
	flusher gnet.Runnable
}

func newLoopState(s *Server, el gnet.EventLoop) *loopState {
	ls := &loopState{srv: s, el: el, conns: make(map[*conn]struct{})}
	ls.scanner = gnet.RunnableFunc(func(context.Context) error {
		ls.scanQueued.Store(false)
		ls.scan()
		return nil
	})
	ls.flusher = gnet.RunnableFunc(func(context.Context) error {
		ls.stream.Flush()
		ls.answerAcked()
		return nil
	})
	return ls
}

// answerAcked sends the answers acknowledged by the Flush that just ran,
// in request order per connection.
func (ls *loopState) answerAcked() {
	if len(ls.acked) == 0 {
		return
	}
	now := time.Now()
	for i, c := range ls.acked {
		ls.acked[i] = nil
		c.listed = false
		if !c.closed.Load() {
			c.process(now)
		}
	}
	ls.acked = ls.acked[:0]
}

// scan enforces the connection timers of this loop: idle and read
// timeouts, lingering closes, and clients that stopped reading their
// answers. It runs on the loop's goroutine (via EventLoop.Execute).
func (ls *loopState) scan() {
	s := ls.srv
	now := time.Now()
	nowNs := now.UnixNano()
	ls.scans.Add(1)
	for c := range ls.conns {
		switch {
		case c.lingerUntil != 0:
			if nowNs >= c.lingerUntil {
				_ = c.gc.Close()
			}
		case c.shutdownPending:
			c.finishClose(nowNs)
		case c.stalledSince != 0:
			if c.gc.OutboundBuffered() <= s.cfg.MaxOutbound/2 {
				c.stalledSince = 0
				c.process(now)
			} else if nowNs-c.stalledSince >= int64(s.cfg.ReadTimeout) {
				s.logs.warn("closing connection: client does not read its answers",
					"remote", c.remote(), "unsent_bytes", c.gc.OutboundBuffered())
				_ = c.gc.Close()
			}
		case c.reqStart != 0:
			if nowNs-c.reqStart >= int64(s.cfg.ReadTimeout) {
				c.failNow(now, 408, "request not received in full within -read-timeout")
			}
		case len(c.queue) == 0 && (s.draining.Load() || nowNs-c.lastActive >= int64(s.cfg.IdleTimeout)):
			_ = c.gc.Close()
		}
	}
}
