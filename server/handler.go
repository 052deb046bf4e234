package server

import (
	"context"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// handler binds gnet's callbacks to the server. Every callback but OnTick
// runs on the connection's event-loop goroutine and must never block.
type handler struct {
	gnet.BuiltinEventEngine
	srv *Server
}

// OnBoot records the engine and the bound address, then lets Start return.
func (h *handler) OnBoot(eng gnet.Engine) gnet.Action {
	s := h.srv
	s.eng = eng
	addr, err := boundAddr(eng)
	if err != nil {
		s.log.Error("cannot read listener address", "err", err)
		addr = s.cfg.Addr
	}
	s.addr = addr
	close(s.ready)
	return gnet.None
}

// OnOpen admits a connection unless -max-conns is reached or the server is
// draining. A refused connection gets its answer and is closed before
// OnOpen returns (gnet closes on gnet.Close from OnOpen at once, and with
// one listener per loop the next connection is accepted only after that),
// so no socket is held waiting for a decision.
func (h *handler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := h.srv
	ls := s.loopFor(gc.EventLoop())
	if s.draining.Load() {
		return nil, gnet.Close
	}
	if s.openConns.Add(1) > int64(s.cfg.MaxConns) {
		s.openConns.Add(-1)
		ls.counters.errors[reasonTooManyConns].Add(1)
		s.logs.warn("connection refused: -max-conns reached", "max_conns", s.cfg.MaxConns)
		out := appendAnswer(nil, ls.date.header(time.Now()), &answer{
			status: reasons[reasonTooManyConns].status, ctype: ctypeJSON, close: true, retryAfter: 1,
			body: appendErrorBody(nil, "too many connections"),
		})
		return out, gnet.Close
	}
	ls.counters.connsTotal.Add(1)
	ls.counters.connsOpen.Add(1)
	c := newConn(ls, gc)
	gc.SetContext(c)
	ls.conns[c] = struct{}{}
	return nil, gnet.None
}

// OnClose forgets the connection. Answers still waiting for storage are
// dropped when they arrive; their batches are still written.
func (h *handler) OnClose(gc gnet.Conn, _ error) gnet.Action {
	c, ok := gc.Context().(*conn)
	if !ok || c == nil {
		return gnet.None
	}
	c.closed.Store(true)
	delete(c.ls.conns, c)
	c.ls.counters.connsOpen.Add(-1)
	h.srv.openConns.Add(-1)
	c.release()
	return gnet.None
}

// OnTraffic reads and answers whatever complete requests the connection
// has buffered, and sends answers whose batches storage has acknowledged.
func (h *handler) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*conn)
	if !ok || c == nil {
		return gnet.Close
	}
	return c.process(time.Now())
}

// OnTick runs on gnet's ticker goroutine: it asks every loop to scan its
// connections for timeouts, stalls and lingering closes, on the loop's own
// goroutine, unless a scan is still queued there.
func (h *handler) OnTick() (time.Duration, gnet.Action) {
	s := h.srv
	s.ticks.Add(1)
	for _, ls := range s.loops() {
		if !ls.scanQueued.CompareAndSwap(false, true) {
			continue // the loop has not run the last one yet
		}
		if err := ls.el.Execute(context.Background(), ls.scanner); err != nil {
			ls.scanQueued.Store(false) // the engine is stopping
		}
	}
	return s.tickInterval(), gnet.None
}

// tickInterval is how often connections are scanned: often enough that a
// timeout fires within a tenth of its length, at most every 250 ms.
func (s *Server) tickInterval() time.Duration {
	d := min(s.cfg.IdleTimeout, s.cfg.ReadTimeout, s.cfg.Linger) / 10
	return min(max(d, 5*time.Millisecond), 250*time.Millisecond)
}
