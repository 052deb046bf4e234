package forward

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// sinkRunner moves one sink's data: a reader goroutine cuts batches from the segments, at most
// Inflight workers deliver them, and an acker goroutine advances and persists the cursor over
// the contiguous prefix of finished batches of each stream.
//
// In-flight bound: the reader takes a slot before it cuts a batch, and the acker gives the slot
// back only once the cursor that covers the batch is on disk. So at most Inflight batches are
// ever sent and not covered by the persisted cursor: that is all a crash can make a restart
// send twice.
type sinkRunner struct {
	name, url string
	cfg       SinkConfig
	dir       string
	kind      sinkKind
	stats     *Stats
	log       *slog.Logger
	limiter   *rate.Limiter // nil: no -forward-rate
	poll      time.Duration
	readChunk int64 // bytes read at a time when cutting a batch

	slots chan struct{} // capacity Inflight: taken by the reader, given back by the acker
	work  chan *batch   // reader → workers
	done  chan *batch   // workers → acker
	pool  sync.Pool     // *batch, recycled by the acker

	// mu guards the shared half of every stream's state (streamShared) and streams' membership.
	// Held briefly by the reader, the acker, retention (Needed, Dropping) and the lag updater.
	mu      sync.Mutex
	streams map[int]*stream

	sent   *sentFile   // owned by the reader goroutine
	bg     *background // the Forwarder's: the reader cuts batches on it
	cutJob bgJob       // owned by the reader goroutine
}

// stream is one loop's stream as one sink sees it.
type stream struct {
	loop int

	// Owned by the reader goroutine.
	pos       Position // next byte to read
	rd        segmentReader
	lineBytes int64 // mean bytes of a line in the last batch cut (0: none yet), to size the next read
	// replay lists the ends of the batches an earlier run sent beyond the cursor (from the .sent
	// file), in order: the reader cuts the same batches again, so that a resend carries the same
	// lines under the same NATS message ids. hwm is the last of them, for counting resends.
	replay   []Position
	hwm      Position
	hasHWM   bool
	sentEnds []Position      // ends of the batches sent and not yet covered by the persisted cursor
	prevSent <-chan struct{} // released by the last batch dispatched (closedTurn before the first)

	// Guarded by sinkRunner.mu: appended by the reader, popped by the acker.
	inflight []*batch // dispatched batches in dispatch order

	// Guarded by sinkRunner.mu.
	shared streamShared
}

// streamShared is the part of a stream that other goroutines read.
type streamShared struct {
	acked     Position // everything before it is acknowledged (or dropped)
	hasAcked  bool     // false until a cursor was loaded or a batch acknowledged
	persisted Position // the acknowledged position last saved in the cursor file
	read      Position // the reader's position
	skipTo    Position // retention deleted everything before it (Seq 0: nothing)
}

// run starts the goroutines; they stop when readCtx is cancelled (reader) and the workers and
// acker have drained, or sendCtx is cancelled (everything at once). wg counts them.
func (s *sinkRunner) run(readCtx, sendCtx context.Context, src Source, wg *sync.WaitGroup) {
	var workers sync.WaitGroup
	for range s.cfg.Inflight {
		workers.Add(1)
		d := s.kind.newWorker(readCtx.Done())
		go func() {
			defer workers.Done()
			for b := range s.work {
				err := d.deliver(sendCtx, b)
				b.release()
				if err != nil {
					return // shutting down: the batch stays unacknowledged and is sent again next run
				}
				s.done <- b
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.readLoop(readCtx, src)
		close(s.work)
		workers.Wait()
		close(s.done)
	}()
	go func() {
		defer wg.Done()
		s.ackLoop(sendCtx)
	}()
}

// readLoop cuts and dispatches batches until ctx is cancelled, polling the frontier.
func (s *sinkRunner) readLoop(ctx context.Context, src Source) {
	defer s.closeReaders()
	var front []Position
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		front = src.Frontier(front[:0])
		progressed := false
		for _, f := range front {
			sent, err := s.dispatchOne(ctx, f)
			if err != nil {
				return
			}
			progressed = progressed || sent
		}
		if progressed {
			continue
		}
		timer.Reset(s.poll)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// dispatchOne cuts at most one batch from the stream of f and hands it to a worker. It reports
// whether it did; err is ctx's error when the forwarder stops.
func (s *sinkRunner) dispatchOne(ctx context.Context, f Position) (bool, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	st := s.streamFor(f.Loop)
	b := s.pool.Get().(*batch)
	var ok bool
	s.cutJob.run = func() { ok = s.cut(st, f, b) }
	s.bg.do(&s.cutJob)
	if !ok {
		s.pool.Put(b)
		<-s.slots
		return false, nil
	}
	if s.limiter != nil {
		if err := s.limiter.WaitN(ctx, max(1, min(b.lines, s.limiter.Burst()))); err != nil {
			return false, ctx.Err()
		}
	}
	s.noteSent(st, b)
	b.turn, b.sent, b.released = st.prevSent, make(chan struct{}), false
	st.prevSent = b.sent
	s.mu.Lock()
	st.inflight = append(st.inflight, b)
	s.mu.Unlock()
	select {
	case s.work <- b:
		return true, nil
	case <-ctx.Done():
		s.mu.Lock()
		st.inflight = st.inflight[:len(st.inflight)-1] // never handed out: the last one
		s.mu.Unlock()
		return false, ctx.Err()
	}
}

// noteSent counts a batch's resends and records it in the .sent file before it goes out.
func (s *sinkRunner) noteSent(st *stream, b *batch) {
	if b.resent > 0 {
		s.stats.resentSamples.Add(uint64(b.resent))
		s.stats.resentRequests.Add(1)
	}
	st.sentEnds = append(st.sentEnds, b.end)
	var pos []Position
	s.mu.Lock()
	for _, o := range s.streams {
		kept := o.sentEnds[:0]
		for _, e := range o.sentEnds {
			if posBefore(o.shared.persisted, e) {
				kept = append(kept, e)
			}
		}
		o.sentEnds = kept
		pos = append(pos, kept...)
	}
	s.mu.Unlock()
	if err := s.sent.write(s.name, pos); err != nil {
		s.log.Warn("forward: cannot record what was sent; resends after a crash may be undercounted",
			"sink", s.name, "err", err)
	}
}

// streamFor returns the stream of loop, creating it at the oldest segment when it is new.
func (s *sinkRunner) streamFor(loop int) *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.streams[loop]; ok {
		return st
	}
	st := &stream{loop: loop, pos: Position{Loop: loop}, prevSent: closedTurn}
	s.streams[loop] = st
	return st
}

// closeReaders closes the reader's open segment files.
func (s *sinkRunner) closeReaders() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.streams {
		st.rd.close()
	}
}

// ackLoop receives finished batches, advances each stream's acknowledged position over the
// contiguous prefix of finished batches, persists the cursor, then frees their slots.
func (s *sinkRunner) ackLoop(ctx context.Context) {
	path := filepath.Join(s.dir, cursorFileName(s.name, "cursor"))
	var released []*batch
	var buf []byte
	for b := range s.done {
		released = s.finish(b, released[:0])
		for drained := false; !drained; {
			select {
			case more, ok := <-s.done:
				if !ok {
					drained = true
					break
				}
				released = s.finish(more, released)
			default:
				drained = true
			}
		}
		if len(released) == 0 {
			continue
		}
		buf = s.persist(ctx, path, buf)
		for _, r := range released {
			r.data, r.done, r.dropped = r.data[:0], false, false
			s.pool.Put(r)
			<-s.slots
		}
	}
}

// finish marks b done and appends to released the batches that now form a finished prefix of
// their stream, moving the stream's acknowledged position to the end of the last one.
func (s *sinkRunner) finish(b *batch, released []*batch) []*batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	b.done = true
	st := s.streams[b.loop]
	n := 0
	for n < len(st.inflight) && st.inflight[n].done {
		n++
	}
	if n == 0 {
		return released
	}
	end := st.inflight[n-1].end
	released = append(released, st.inflight[:n]...)
	st.inflight = append(st.inflight[:0], st.inflight[n:]...)
	if !st.shared.hasAcked || posBefore(st.shared.acked, end) {
		st.shared.acked, st.shared.hasAcked = end, true
	}
	return released
}

// persist writes the cursor of every stream, retrying (with backoff) until it succeeds or ctx
// ends: the slots stay taken meanwhile, so reading stops rather than outrun the cursor.
func (s *sinkRunner) persist(ctx context.Context, path string, buf []byte) []byte {
	pos := s.ackedPositions()
	buf = encodeCursor(buf[:0], s.name, pos)
	bo := backoff{min: 100 * time.Millisecond, max: 10 * time.Second}
	for {
		err := saveCursorAtomic(path, buf)
		if err == nil {
			s.stats.cursor.Store(&pos)
			s.mu.Lock()
			for _, p := range pos {
				s.streams[p.Loop].shared.persisted = p
			}
			s.mu.Unlock()
			return buf
		}
		s.log.Error("forward: cannot save the cursor; holding back until it can be saved", "sink", s.name, "err", err)
		select {
		case <-ctx.Done():
			return buf
		case <-time.After(bo.next(0)):
		}
	}
}

// ackedPositions returns the acknowledged position of every stream that has one.
func (s *sinkRunner) ackedPositions() []Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	pos := make([]Position, 0, len(s.streams))
	for _, st := range s.streams {
		if st.shared.hasAcked {
			pos = append(pos, st.shared.acked)
		}
	}
	slices.SortFunc(pos, func(a, b Position) int { return a.Loop - b.Loop })
	return pos
}
