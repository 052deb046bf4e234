package server

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"metricstream/codec"
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

	lastYield int64 // UnixNano of the loop's last yield to the writer

	// ready is a stack of connections with newly acknowledged answers,
	// pushed by the storage writer goroutine (the only pusher) and taken
	// whole by the loop; readyScheduled is set while a task to take it is
	// queued on the loop. One group commit thus costs each loop one task,
	// however many connections it answers.
	ready          atomic.Pointer[conn]
	readyScheduled atomic.Bool
	readyRunner    gnet.Runnable
}

func newLoopState(s *Server, el gnet.EventLoop) *loopState {
	ls := &loopState{srv: s, el: el, conns: make(map[*conn]struct{})}
	ls.scanner = gnet.RunnableFunc(func(context.Context) error {
		ls.scanQueued.Store(false)
		ls.scan()
		return nil
	})
	ls.readyRunner = gnet.RunnableFunc(func(context.Context) error {
		ls.runReady()
		return nil
	})
	return ls
}

// pushReady puts c on the ready list and makes sure a task will take it.
// Called on the storage writer goroutine with c.wakeArmed just set.
func (ls *loopState) pushReady(c *conn) {
	for {
		head := ls.ready.Load()
		c.nextReady = head
		if ls.ready.CompareAndSwap(head, c) {
			break
		}
	}
	if ls.readyScheduled.CompareAndSwap(false, true) {
		if err := ls.el.Execute(context.Background(), ls.readyRunner); err != nil {
			ls.readyScheduled.Store(false) // the engine is stopping
		}
	}
}

// runReady sends the answers that became ready, on the loop goroutine.
func (ls *loopState) runReady() {
	// Clear the flag before taking the list: a push after the Swap then
	// schedules a new task, so no connection is left waiting.
	ls.readyScheduled.Store(false)
	now := time.Now()
	c := ls.ready.Swap(nil)
	for c != nil {
		next := c.nextReady
		c.nextReady = nil
		c.wakeArmed.Store(false)
		if !c.closed.Load() {
			c.process(now)
		}
		c = next
	}
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

// Pacing of a busy loop against the storage writer. Under load gnet's poller
// never blocks, so with fewer processors than busy goroutines (one CPU:
// GOMAXPROCS=1) the writer would only run when the scheduler preempts the
// loop, every 10 ms: batches would wait that long for their acknowledgement
// and, with -ack queued, the queue would fill. So a loop yields its
// processor, at most every minYieldGap, when the writer has not taken
// backlogYield bytes or more, or (file writer) has left a backlog untaken
// for writerStarved. The io_uring writer parks while the kernel writes, so
// yielding to it on time alone only delays the loop: measured, it raised
// p99 latency at -ack written from 3 ms to 20 ms, while the file writer,
// which holds its processor inside pwritev, went from 14 ms to 5 ms.
const (
	writerStarved = 200 * time.Microsecond
	backlogYield  = 1 << 20
	minYieldGap   = int64(50 * time.Microsecond)
)

// yieldToWriter gives the processor to the storage writer when it starves.
func (ls *loopState) yieldToWriter(nowNs int64) {
	if nowNs-ls.lastYield < minYieldGap {
		return
	}
	backlog, since := ls.srv.store.Backlog(nowNs)
	if backlog == 0 || (backlog < backlogYield && (!ls.srv.paceOnTime || since < writerStarved)) {
		return
	}
	ls.lastYield = nowNs
	runtime.Gosched()
}
