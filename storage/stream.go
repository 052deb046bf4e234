package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/valyala/bytebufferpool"
)

// probeBytes is the size of the block a failing stream writes (then truncates away) to find out
// whether writing works again. Larger than a page so that slack in the segment's last page cannot
// make a full disk look writable.
const probeBytes = 64 << 10

// probeBlock is the probe's content: zeros, which the torn-tail repair cuts off should the process
// die between the probe's write and its truncation. Read-only.
var probeBlock = make([]byte, probeBytes)

// Stream is one event loop's share of the store: its segment stream, the batches it has accepted
// and not yet completed, and its backend (its own io_uring, or the file writer). Append and Flush
// are called only by the goroutine that owns the stream (the loop; Close once the loops stopped),
// so the fields marked "owner" are not locked.
type Stream struct {
	s    *Store
	loop int
	be   backend

	// scheduled is set by whoever calls Config.Wake for this stream and cleared when Flush
	// starts, so that one round queues one task however many batches it appends.
	scheduled atomic.Bool
	// probeDue is set by the probe timer, read and cleared by Flush.
	probeDue atomic.Bool
	// health is nil while this stream writes; otherwise the reason. Written by the owner, read by
	// Store.Health.
	health atomic.Pointer[error]
	front  frontier // published by the owner after each completed write

	cur     *segment // owner: the segment appended to; nil after a failed rotation
	lastSeq uint64   // owner: highest segment sequence number used or seen
	acc     []batch  // owner: accepted, not yet submitted, in append order
	fly     []batch  // owner: the outstanding submission's batches
	iov     [][]byte // owner: the outstanding submission's remaining buffers
	run     run      // owner: the outstanding submission's place
	busy    bool     // owner: a submission is outstanding (its completion is awaited)

	failure    error       // owner: non-nil while writing fails; mirrored in health
	failedAt   time.Time   // owner: when failure went from nil to non-nil
	probeTimer *time.Timer // fires probeDue and a wake-up while failing
}

// run is where the outstanding submission writes: it started at start, its remaining buffers go
// at off, and it holds size bytes in all.
type run struct {
	start, off, size int64
	sync             bool
}

// segment is a stream's current segment. Owned by the stream's owner.
type segment struct {
	ref SegmentRef
	f   *os.File
	// off is the end of the last batch written completely: the next write goes there. Every byte
	// before off belongs to a whole batch; the file may extend past off only while a submission
	// is outstanding or dirty is set.
	off int64
	// synced is the offset up to which an fdatasync has succeeded.
	synced int64
	// dirty: a write failed and truncating back to off failed too; truncate before writing again.
	dirty bool
	// broken: an fdatasync of this file failed. What the page cache holds for it can no longer
	// be trusted to reach the disk, so it is never written again: after truncation to off it is
	// closed and writing continues in a new segment.
	broken bool
}

// frontier is a stream's (segment, offset) of completed writes, published as a sequence lock:
// the owner makes ver odd, stores, makes it even; readers retry while it is odd or changed.
type frontier struct {
	ver atomic.Uint64
	seq atomic.Uint64
	off atomic.Int64
}

func (f *frontier) store(seq uint64, off int64) {
	f.ver.Add(1)
	f.seq.Store(seq)
	f.off.Store(off)
	f.ver.Add(1)
}

func (f *frontier) load(loop int) Position {
	for {
		v := f.ver.Load()
		seq, off := f.seq.Load(), f.off.Load()
		if v&1 == 0 && f.ver.Load() == v {
			return Position{Loop: loop, Seq: seq, Off: off}
		}
	}
}

func newStream(s *Store, loop int) (*Stream, error) {
	st := &Stream{s: s, loop: loop}
	be, err := newBackend(s.cfg, s.writerName, st.wake)
	if err != nil {
		return nil, err
	}
	st.be = be
	st.probeTimer = time.AfterFunc(time.Hour, func() {
		st.probeDue.Store(true)
		st.wake()
	})
	st.probeTimer.Stop()
	return st, nil
}

// wake asks the owner to run Flush, once until Flush starts.
func (st *Stream) wake() {
	if st.scheduled.CompareAndSwap(false, true) && st.s.cfg.Wake != nil {
		st.s.cfg.Wake(st.loop)
	}
}

// Append accepts buf (whole lines, ending with '\n') for this stream's next group commit and
// makes sure a Flush is scheduled. On success the Store owns buf and returns it to the pool after
// writing; a is called once the batch is written (or synced, or failed). In AckQueued mode a may
// be nil and the caller answers right away. Append never blocks and takes no lock: one atomic
// add on the shared queue bound and a slice append.
//
// Errors: ErrQueueFull, ErrUnavailable, ErrClosed, ErrNotLines. On error the caller still owns buf
// and a is never called.
func (st *Stream) Append(buf *bytebufferpool.ByteBuffer, metrics int, a Acker) error {
	s := st.s
	n := int64(len(buf.B))
	if n > 0 && buf.B[n-1] != '\n' {
		return ErrNotLines
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if s.failing.Load() > 0 {
		return ErrUnavailable
	}
	if s.queueBytes.Add(n) > s.cfg.QueueBytes {
		s.queueBytes.Add(-n)
		return ErrQueueFull
	}
	st.acc = append(st.acc, batch{buf: buf, metrics: metrics, acker: a})
	st.wake()
	return nil
}

// Flush is the stream's group commit, run by its owner once per poll round (the task Wake asks
// for): it collects the outstanding submission when it has completed, then submits everything
// accepted since as one gathered write (one per segment) and waits for it a bounded time. Acks
// are delivered inside Flush. When a submission is still outstanding, new batches wait for the
// next Flush, which the backend's wake-up schedules.
func (st *Stream) Flush() {
	st.scheduled.Store(false)
	if st.busy {
		r, done := st.be.poll()
		if !done {
			return
		}
		st.complete(r)
		if st.busy {
			return
		}
	}
	if st.failure != nil {
		if st.probeDue.Swap(false) {
			st.recover()
		}
		if st.failure != nil {
			st.failAccepted()
			return
		}
	}
	for len(st.acc) > 0 && !st.busy && st.failure == nil {
		st.submitNext()
	}
}

// failAccepted fails the batches accepted just before the stream turned unhealthy (AckWritten,
// AckSynced) rather than make their clients wait for a recovery; AckQueued keeps them.
func (st *Stream) failAccepted() {
	if st.s.cfg.Ack != AckQueued && len(st.acc) > 0 {
		st.ack(st.acc, st.failure)
		st.acc = st.acc[:0]
	}
}

// submitNext submits the longest prefix of acc that fits the current segment (rotating first when
// nothing fits), up to maxIovecs buffers.
func (st *Stream) submitNext() {
	if st.cur == nil {
		if err := st.openSegment(st.lastSeq+1, true); err != nil {
			st.fail(err)
			return
		}
	}
	c, limit := st.cur, st.s.cfg.SegmentBytes
	j, size := 0, int64(0)
	for ; j < len(st.acc) && j < maxIovecs; j++ {
		n := int64(len(st.acc[j].buf.B))
		if c.off+size > 0 && c.off+size+n > limit {
			break
		}
		size += n
	}
	if j == 0 {
		if err := st.rotate(); err != nil {
			st.fail(err)
		}
		return
	}
	st.fly = append(st.fly[:0], st.acc[:j]...)
	k := copy(st.acc, st.acc[j:])
	clear(st.acc[k:])
	st.acc = st.acc[:k]
	st.iov = st.iov[:0]
	for i := range st.fly {
		if b := st.fly[i].buf.B; len(b) > 0 {
			st.iov = append(st.iov, b)
		}
	}
	st.run = run{start: c.off, off: c.off, size: size, sync: st.s.cfg.Ack == AckSynced}
	st.issue()
}

// issue submits the outstanding run's remaining buffers and completes it when the backend
// finished within its bounded wait.
func (st *Stream) issue() {
	if len(st.iov) == 0 { // only empty batches
		st.complete(result{})
		return
	}
	r, done := st.be.start(st.cur.f, st.iov, st.run.off, st.run.sync)
	st.s.stats.submissions.Add(1)
	if !done {
		st.busy = true
		st.s.stats.late.Add(1)
		return
	}
	st.complete(r)
}

// complete handles the result of the outstanding submission: a short write is resubmitted from
// where it stopped; a failure truncates the segment back to where the run started; success
// publishes the frontier and acks the run's batches in order.
func (st *Stream) complete(r result) {
	st.busy = false
	c := st.cur
	want := iovecBytes(st.iov)
	if r.n < 0 || r.n > want {
		panic(fmt.Sprintf("BUG: storage: backend wrote %d bytes of %d", r.n, want))
	}
	st.run.off += int64(r.n)
	switch {
	case r.err != nil:
		st.abortRun(false, fmt.Errorf("storage: write segment %s at offset %d: %w", c.ref, st.run.off, r.err))
		return
	case r.n < want && r.n == 0:
		st.abortRun(false, fmt.Errorf("storage: write segment %s at offset %d: %w", c.ref, st.run.off, io.ErrShortWrite))
		return
	case r.n < want:
		st.iov = advance(st.iov, r.n)
		st.issue()
		return
	case st.run.sync && len(st.iov) > 0 && r.syncErr != nil:
		st.abortRun(true, fmt.Errorf("storage: fdatasync segment %s: %w", c.ref, r.syncErr))
		return
	}
	if st.run.off-st.run.start != st.run.size {
		panic(fmt.Sprintf("BUG: storage: run wrote %d bytes; want %d", st.run.off-st.run.start, st.run.size))
	}
	c.off = st.run.off
	if st.run.sync {
		c.synced = c.off
		if len(st.iov) > 0 {
			st.s.stats.syncs.Add(1)
		}
	}
	clear(st.iov)
	st.front.store(c.ref.Seq, c.off)
	st.s.stats.bytesWritten.Add(uint64(st.run.size))
	st.ack(st.fly, nil)
	st.fly = st.fly[:0]
}

// advance drops the first n bytes from iov (which has more than n bytes). It rewrites iov's
// elements: iov is the stream's scratch list, the buffers themselves are not touched.
func advance(iov [][]byte, n int) [][]byte {
	for n > 0 {
		if n >= len(iov[0]) {
			n -= len(iov[0])
			iov = iov[1:]
			continue
		}
		iov[0] = iov[0][n:]
		n = 0
	}
	return iov
}

// abortRun truncates the current segment back to where the failed run started (a failed
// fdatasync also retires the segment) and records the failure.
func (st *Stream) abortRun(syncFailed bool, err error) {
	c := st.cur
	c.off = st.run.start
	clear(st.iov)
	if syncFailed {
		c.broken = true
	}
	if terr := c.f.Truncate(c.off); terr != nil {
		c.dirty = true
		err = errors.Join(err, fmt.Errorf("storage: truncate segment %s to %d: %w", c.ref, c.off, terr))
	}
	st.fail(err)
}

// fail records a failure: the stream turns unhealthy; the outstanding run and the batches behind
// it are failed (AckWritten, AckSynced) or kept, in order, for the write after recovery
// (AckQueued).
func (st *Stream) fail(err error) {
	st.s.stats.writeErrors.Add(1)
	st.setFailing(err)
	if st.s.cfg.Ack == AckQueued {
		if len(st.fly) > 0 {
			st.acc = append(st.fly, st.acc...)
			st.fly = nil
		}
		return
	}
	st.ack(st.fly, err)
	st.fly = st.fly[:0]
	st.ack(st.acc, err)
	st.acc = st.acc[:0]
}

// ack releases bs from the queue bound, acks them in order with err, returns their buffers to
// the pool and clears the slots.
func (st *Stream) ack(bs []batch, err error) {
	var size int64
	metrics := 0
	for i := range bs {
		size += int64(len(bs[i].buf.B))
		metrics += bs[i].metrics
	}
	st.s.queueBytes.Add(-size)
	if err == nil {
		st.s.stats.batches.Add(uint64(len(bs)))
		st.s.stats.metricsWritten.Add(uint64(metrics))
	}
	for i := range bs {
		if a := bs[i].acker; a != nil {
			a.Ack(err)
		}
		bufPool.Put(bs[i].buf)
		bs[i] = batch{}
	}
}

// setFailing turns the stream (and so the store) unhealthy with reason err and arms the probe.
func (st *Stream) setFailing(err error) {
	if st.failure == nil {
		st.failedAt = time.Now()
		st.s.failing.Add(1)
		st.s.log.Error("storage: writing failed; ingest is refused until writing works again",
			"loop", st.loop, "err", err)
	} else {
		st.s.log.Debug("storage: writing still fails", "loop", st.loop, "err", err)
	}
	st.failure = err
	st.health.Store(&err)
	st.probeTimer.Reset(st.s.cfg.probeInterval)
}

// recover probes; on success the stream is healthy again, otherwise the probe is re-armed.
func (st *Stream) recover() {
	if err := st.probe(); err != nil {
		st.setFailing(err)
		return
	}
	st.s.log.Info("storage: writing works again", "loop", st.loop,
		"after", time.Since(st.failedAt).Round(time.Millisecond), "segment", st.cur.ref)
	st.failure = nil
	st.health.Store(nil)
	st.s.failing.Add(-1)
}

// probe puts the current segment back in order (truncate a dirty tail; replace a segment whose
// fdatasync failed by a new one) and then checks that a block can be written and fdatasynced at
// its end, truncating the block away again.
func (st *Stream) probe() error {
	if c := st.cur; c != nil && c.dirty {
		if err := c.f.Truncate(c.off); err != nil {
			return fmt.Errorf("storage: truncate segment %s to %d: %w", c.ref, c.off, err)
		}
		c.dirty = false
	}
	if c := st.cur; c != nil && c.broken {
		st.retire()
	}
	if st.cur == nil {
		if err := st.openSegment(st.lastSeq+1, true); err != nil {
			return err
		}
	}
	c := st.cur
	err := st.probeWrite(c)
	if terr := c.f.Truncate(c.off); terr != nil {
		c.dirty = true
		err = errors.Join(err, fmt.Errorf("truncate: %w", terr))
	}
	if err != nil {
		return fmt.Errorf("storage: probe segment %s: %w", c.ref, err)
	}
	c.synced = c.off
	return nil
}

// probeWrite writes the probe block at the end of c (resubmitting after short writes, so that a
// full disk reports ENOSPC rather than a short write) and fdatasyncs it.
func (st *Stream) probeWrite(c *segment) error {
	block := [][]byte{probeBlock}
	for off := c.off; len(block) > 0; {
		n, syncErr, err := st.be.writev(c.f, block, off, true)
		switch {
		case err != nil:
			return err
		case n == 0:
			return io.ErrShortWrite
		case n < iovecBytes(block):
			block = [][]byte{block[0][n:]}
			off += int64(n)
		case syncErr != nil:
			c.broken = true
			return fmt.Errorf("fdatasync: %w", syncErr)
		default:
			block = nil
		}
	}
	return nil
}

// rotate retires the current segment, opens the next one and wakes retention.
func (st *Stream) rotate() error {
	st.retire()
	return st.openSegment(st.lastSeq+1, true)
}

// retire closes the current segment on a background goroutine, without fdatasync: no
// acknowledgement depends on a flush at rotation (AckSynced synced every byte already; AckWritten
// and AckQueued promise the page cache), and measured, fdatasyncing a whole segment's dirty pages
// at every rotation, even on a goroutine of its own, stalled the loops: p99.9 went from 2.4 ms to
// 20 ms at -ack written (BENCHMARKS.md). The kernel writes the pages back on its own schedule;
// Close syncs the file system once, so a clean stop leaves every segment on disk. Only a segment
// whose last bytes were never synced in AckSynced mode (none in practice) is flushed here. A failed
// flush or close is logged, counted and returned by Close.
func (st *Stream) retire() {
	c := st.cur
	st.cur = nil
	needSync := st.s.cfg.Ack == AckSynced && !c.broken && c.off > c.synced
	st.s.background("storage: flushing a rotated segment failed; its data may not survive power loss", func() error {
		var err error
		if needSync {
			if serr := fdatasyncFile(c.f); serr != nil {
				err = fmt.Errorf("storage: fdatasync segment %s: %w", c.ref, serr)
			} else {
				st.s.stats.syncs.Add(1)
			}
		}
		if cerr := c.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("storage: close segment %s: %w", c.ref, cerr)
		}
		return err
	})
	st.s.ret.poke()
}

// openSegment creates (or opens, when it exists and is empty) segment seq of this stream, makes
// its directory entry durable and makes it current. fresh says whether it adds a file.
func (st *Stream) openSegment(seq uint64, fresh bool) error {
	s := st.s
	ref := SegmentRef{Loop: st.loop, Seq: seq}
	f, err := os.OpenFile(filepath.Join(s.cfg.Dir, ref.FileName()), os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("storage: create segment %s: %w", ref, err)
	}
	fi, err := f.Stat()
	if err == nil && s.cfg.Ack == AckSynced {
		// Synced acknowledgements promise power-loss safety, which needs the new name durable
		// before any batch in the file is acknowledged.
		err = syncDir(s.cfg.Dir)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("storage: create segment %s: %w", ref, err)
	}
	if s.cfg.Ack != AckSynced {
		// The other modes only promise what survives the process: make the name durable off
		// the loop (a directory fsync can wait for a journal commit).
		s.background("storage: fsync of the data directory failed", func() error { return syncDir(s.cfg.Dir) })
	}
	st.cur = &segment{ref: ref, f: f, off: fi.Size(), synced: fi.Size()}
	st.lastSeq = max(st.lastSeq, seq)
	st.front.store(seq, fi.Size())
	if fresh {
		s.stats.segments.Add(1)
	}
	return nil
}

// currentSeq is the stream's current segment as retention sees it: segments of this stream
// numbered from it on are never deleted.
func (st *Stream) currentSeq() uint64 { return st.front.load(st.loop).Seq }

// drainAndClose is Close's part for one stream, on the closing goroutine once the owner stopped:
// wait for the outstanding submission, write everything accepted (one probe when writing fails),
// fdatasync and close the segment, close the backend.
func (st *Stream) drainAndClose() error {
	probed := false
	for {
		if st.busy {
			st.complete(st.be.wait())
			continue
		}
		if st.failure != nil && !probed {
			probed = true
			st.recover()
		}
		if st.failure != nil {
			if n := len(st.acc); n > 0 {
				st.s.log.Error("storage: closing while writing fails; queued batches are lost",
					"loop", st.loop, "batches", n, "err", st.failure)
				st.ack(st.acc, fmt.Errorf("storage: closed before the batch could be written: %w", st.failure))
				st.acc = st.acc[:0]
			}
			break
		}
		if len(st.acc) == 0 {
			break
		}
		st.submitNext()
	}
	return st.shut()
}

// shut closes the current segment (truncating a dirty tail, fdatasyncing what is not synced) and
// the backend.
func (st *Stream) shut() error {
	st.probeTimer.Stop()
	var errs []error
	if c := st.cur; c != nil {
		if c.dirty {
			if err := c.f.Truncate(c.off); err != nil {
				errs = append(errs, fmt.Errorf("storage: truncate segment %s to %d: %w", c.ref, c.off, err))
			}
		}
		if !c.broken && c.off > c.synced {
			if err := st.be.datasync(c.f); err != nil {
				errs = append(errs, fmt.Errorf("storage: fdatasync segment %s: %w", c.ref, err))
			} else {
				st.s.stats.syncs.Add(1)
			}
		}
		if err := c.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("storage: close segment %s: %w", c.ref, err))
		}
		st.cur = nil
	}
	if st.be != nil {
		errs = append(errs, st.be.close())
	}
	return errors.Join(errs...)
}
