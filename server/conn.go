package server

import (
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"metricstream/codec"
	"metricstream/engine"
)

// conn is one client connection. Every field is owned by the connection's
// event-loop goroutine, storage's acknowledgements included (the loop's
// stream calls Ack inside its Flush).
type conn struct {
	ls     *loopState
	gc     gnet.Conn
	parser *codec.Parser

	// queue holds the answers not yet sent, in request order. An answer
	// waiting for storage blocks every answer behind it, which keeps
	// pipelined answers in order. queueBuf is its reusable backing array.
	queue    []*pending
	queueBuf []*pending
	free     []*pending // recycled pendings, never ones storage still holds

	lastActive   int64 // UnixNano of the last input; drives -idle-timeout
	reqStart     int64 // UnixNano of the first byte of the request in progress, 0 if none
	stalledSince int64 // UnixNano since the client stopped reading its answers, 0 if not

	closing         bool  // read no more requests; close once queue is empty
	shutdownPending bool  // closing, queue empty, output not yet flushed
	lingerUntil     int64 // write side shut: discard input until then (UnixNano)

	// The request being handled, set by check: its route (nil if none),
	// its client id (valid until the next request) and, for an admitted
	// ingest, its engine client. client is also set between a head
	// admitted with Expect: 100-continue and its body.
	route    *route
	clientID []byte
	client   *engine.Client

	// listed is set while the connection is on its loop's acked list, so
	// that one Flush that acknowledges several of its batches lists it once.
	listed bool
	closed atomic.Bool // set in OnClose; read by the loop's later tasks and Acks
}

func newConn(ls *loopState, gc gnet.Conn) *conn {
	s := ls.srv
	c := &conn{
		ls:         ls,
		gc:         gc,
		parser:     codec.NewParser(s.cfg.MaxHeaderBytes, s.cfg.MaxBodyBytes),
		lastActive: time.Now().UnixNano(),
	}
	c.queueBuf = make([]*pending, 0, 8)
	c.queue = c.queueBuf
	return c
}

// pending is one answer in a connection's queue. For a batch handed to
// storage (stored), the loop's stream calls Ack once, inside its Flush on
// the same loop; so everything here is loop-owned.
type pending struct {
	conn    *conn
	stored  bool   // waiting for storage's Ack
	buf     []byte // rendered answer, for answers that were ready at once
	metrics int    // batch size, for the success body
	lp      bool   // line-protocol write: answer 204
	head    bool
	close   bool
	keep10  bool // HTTP/1.0 keep-alive: say so in the answer

	ready bool  // set by Ack
	err   error // set by Ack
}

// Ack implements storage.Acker. It runs on the connection's loop, inside
// its stream's Flush (or in the store's Close once the loops stopped).
// The batch is counted here, as processed or as refused by storage,
// whether or not its client is still there to read the answer.
func (p *pending) Ack(err error) {
	c := p.conn
	if err == nil {
		c.ls.counters.countStored(p.metrics)
	} else {
		c.ls.counters.errors[reasonUnavailable].Add(1)
	}
	p.err = err
	p.ready = true
	c.ls.srv.inflight.Add(-1)
	if !c.closed.Load() && !c.listed {
		c.listed = true
		c.ls.acked = append(c.ls.acked, c)
	}
}

func (c *conn) newPending() *pending {
	if n := len(c.free); n > 0 {
		p := c.free[n-1]
		c.free = c.free[:n-1]
		return p
	}
	return &pending{conn: c}
}

func (c *conn) recycle(p *pending) {
	p.stored, p.lp, p.head, p.close, p.keep10 = false, false, false, false, false
	p.buf = p.buf[:0]
	p.err = nil
	p.ready = false
	c.free = append(c.free, p)
}

// release drops the connection's loop-owned state after it closed. Answers
// storage still holds are left to it; their Ack finds the connection closed.
func (c *conn) release() {
	clear(c.queue)
	c.queue = nil
	c.queueBuf = nil
	c.free = nil
}

func (c *conn) remote() string {
	if a := c.gc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// process sends the answers that became ready, reads every complete request
// buffered, and writes all resulting answers with one write. It runs on the
// loop goroutine: from OnTraffic (input or a wake-up) and from scan.
func (c *conn) process(now time.Time) gnet.Action {
	ls := c.ls
	nowNs := now.UnixNano()
	if c.gc.InboundBuffered() > 0 {
		c.lastActive = nowNs
	}
	out := c.flushReady(ls.out[:0], now)
	switch {
	case c.lingerUntil != 0 || c.shutdownPending || c.closing:
		// No more requests are read: drop whatever the client sends.
		_, _ = c.gc.Discard(c.gc.InboundBuffered())
	default:
		out = c.readRequests(out, now)
	}
	if len(out) > 0 {
		_, _ = c.gc.Write(out) // an error closes the connection in gnet
	}
	ls.out = out[:0]
	if c.closed.Load() {
		return gnet.None // closed by a failed write: its descriptor may be reused
	}
	if c.closing && len(c.queue) == 0 && c.lingerUntil == 0 {
		c.finishClose(nowNs)
	}
	return gnet.None
}

// readRequests parses and handles every complete request buffered, within
// the connection's pipeline and output bounds.
func (c *conn) readRequests(out []byte, now time.Time) []byte {
	gc := c.gc
	// Check the bounds before peeking: gnet's Peek copies the whole unread
	// backlog when part of it sits in its ring, so peeking on every read of
	// a stalled connection would cost time and memory quadratic in it.
	if c.stalled(out, now) {
		c.boundUnread()
		return out
	}
	avail := gc.InboundBuffered()
	if avail == 0 || avail < c.parser.Need() {
		return out
	}
	buf, _ := gc.Peek(-1)
	off := 0
	for !c.closing && !c.stalled(out, now) {
		rest := buf[off:]
		if len(rest) == 0 || len(rest) < c.parser.Need() {
			break
		}
		n, st, err := c.parser.Parse(rest)
		off += n
		if err != nil {
			out = c.protocolError(out, now, err)
			break
		}
		if st == codec.NeedMore {
			if c.parser.InRequest() && c.reqStart == 0 {
				c.reqStart = now.UnixNano()
			}
			break
		}
		if st == codec.HeadReady {
			if c.reqStart == 0 {
				c.reqStart = now.UnixNano()
			}
			out = c.onHead(out, now, c.parser.Request())
			continue
		}
		c.reqStart = 0
		c.ls.counters.requests.Add(1)
		out = c.onRequest(out, now, c.parser.Request())
	}
	if off > 0 {
		_, _ = gc.Discard(off) // Discard(0) would drop everything buffered
	}
	c.boundUnread()
	return out
}

// stalled reports whether the connection must not be read further for now:
// too many answers outstanding (resumed by the next acknowledgement's
// wake-up) or too many answer bytes unsent (resumed or closed by scan).
func (c *conn) stalled(out []byte, now time.Time) bool {
	cfg := &c.ls.srv.cfg
	if len(c.queue) >= cfg.MaxPipeline {
		return true
	}
	if c.gc.OutboundBuffered()+len(out) > cfg.MaxOutbound {
		if c.stalledSince == 0 {
			c.stalledSince = now.UnixNano()
		}
		return true
	}
	return false
}

// boundUnread closes a connection whose unread input passed one request of
// the largest size: input kept unread because answers are not going out
// must not grow without bound.
func (c *conn) boundUnread() {
	cfg := &c.ls.srv.cfg
	if limit := cfg.MaxHeaderBytes + cfg.MaxBodyBytes + 64<<10; !c.closing && c.gc.InboundBuffered() > limit {
		c.ls.srv.logs.warn("closing connection: unread input over bound", "remote", c.remote(), "bytes", c.gc.InboundBuffered())
		c.closing = true // nothing more is parsed or answered
		_ = c.gc.Close()
	}
}

// protocolError answers a malformed or refused request and closes the
// connection lingeringly.
func (c *conn) protocolError(out []byte, now time.Time, err error) []byte {
	status, msg := 400, err.Error()
	if pe, ok := err.(*codec.Error); ok {
		status, msg = pe.Status, pe.Msg
	}
	return c.fail(out, now, status, msg)
}

// fail answers a request the parser refused (status, msg), then closes the
// connection once every earlier answer went out.
func (c *conn) fail(out []byte, now time.Time, status int, msg string) []byte {
	c.route = nil
	return c.refuse(out, now, nil, refuse(reasonForStatus(status), msg))
}

// failNow is fail for callers outside process (the scan): it writes the
// answer itself.
func (c *conn) failNow(now time.Time, status int, msg string) {
	out := c.fail(c.ls.out[:0], now, status, msg)
	if len(out) > 0 {
		_, _ = c.gc.Write(out)
	}
	c.ls.out = out[:0]
	if len(c.queue) == 0 {
		c.finishClose(now.UnixNano())
	}
}

// respond queues or sends answer a. While earlier answers wait for storage
// it is rendered into a pending entry behind them; otherwise straight into out.
func (c *conn) respond(out []byte, now time.Time, a *answer) []byte {
	if a.close {
		c.closing = true
	}
	date := c.ls.date.header(now)
	if len(c.queue) == 0 {
		return appendAnswer(out, date, a)
	}
	p := c.newPending()
	p.buf = appendAnswer(p.buf[:0], date, a)
	c.queue = append(c.queue, p)
	return out
}

// flushReady renders the answers at the head of the queue that are ready.
func (c *conn) flushReady(out []byte, now time.Time) []byte {
	for len(c.queue) > 0 {
		p := c.queue[0]
		if p.stored {
			if !p.ready {
				break
			}
			out = c.renderStored(out, now, p)
		} else {
			out = append(out, p.buf...)
		}
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.recycle(p)
	}
	if len(c.queue) == 0 {
		// Back to the start of the array. If appends outgrew it, keep the
		// larger one, so that a pipelining client stops causing growth.
		if cap(c.queue) > cap(c.queueBuf) {
			c.queueBuf = c.queue[:0:cap(c.queue)]
		}
		c.queue = c.queueBuf[:0]
	}
	return out
}

// renderStored renders the answer of an acknowledged batch.
func (c *conn) renderStored(out []byte, now time.Time, p *pending) []byte {
	ls := c.ls
	a := answer{ctype: ctypeJSON, head: p.head, close: p.close, keepAlive: p.keep10}
	if p.err != nil { // counted by Ack
		ls.srv.logs.warn("batch not stored", "error", p.err)
		a.status, a.retryAfter = 503, 1
		ls.body = appendErrorBody(ls.body[:0], "storage write failed; batch not stored, retry later")
	} else {
		if p.lp {
			a.status = 204
			ls.body = ls.body[:0]
		} else {
			a.status = 200
			ls.body = appendSuccessBody(ls.body[:0], p.metrics)
		}
	}
	a.body = ls.body
	return appendAnswer(out, ls.date.header(now), &a)
}

// finishClose shuts down the write side once the answers are flushed, then
// lingers: input is discarded until the client closes or Linger passes,
// so that the client reads the last answer rather than a reset.
func (c *conn) finishClose(nowNs int64) {
	if c.closed.Load() {
		return
	}
	if c.gc.OutboundBuffered() > 0 {
		c.shutdownPending = true // scan retries
		return
	}
	c.shutdownPending = false
	c.closing = true
	_ = unix.Shutdown(c.gc.Fd(), unix.SHUT_WR)
	c.lingerUntil = nowNs + int64(c.ls.srv.cfg.Linger)
	_, _ = c.gc.Discard(c.gc.InboundBuffered())
}
