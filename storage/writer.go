package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"
)

// probeBytes is the size of the block a failing writer writes (then truncates away) to find out
// whether writing works again. Larger than a page so that slack in the segment's last page cannot
// make a full disk look writable.
const probeBytes = 64 << 10

// probeBlock is the probe's content: zeros, which the torn-tail repair cuts off should the process
// die between the probe's write and its truncation. Read-only.
var probeBlock = make([]byte, probeBytes)

// segment is the segment being appended to. Owned by the writer goroutine.
type segment struct {
	seq uint64
	f   *os.File
	// off is the end of the last batch written completely: the next write goes there. Every byte
	// before off belongs to a whole batch; the file may extend past off only while dirty is set.
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

// writer is the state of the writer goroutine. Every field is owned by that goroutine; Open
// touches them before starting it, and Close reads finalErr only after done is closed.
type writer struct {
	s   *Store
	cfg *Config
	be  backend
	log *slog.Logger

	cur         *segment
	closed      []segInfo // closed segments on disk, oldest first
	closedBytes int64     // sum of closed[i].size
	lastSeq     uint64    // highest segment sequence number used or seen

	pending []batch // batches taken from the queue and not yet completed, in queue order
	spare   []batch // empty slice (cleared) handed back to the queue at the next drain
	iov     [][]byte

	failure    error     // non-nil while writing fails; mirrored in Store.health
	failedAt   time.Time // when failure went from nil to non-nil
	probeTimer *time.Timer
	probeDue   bool

	unlock   func() // releases the data directory lock
	finalErr error  // result of the final sync and close, for Close

	// retiring counts the rotated segments still being flushed and closed
	// by their background goroutines; finish waits for them. retireErrs
	// collects their failures (guarded by retireMu: written by those
	// goroutines, read by finish after retiring.Wait).
	retiring   sync.WaitGroup
	retireMu   sync.Mutex
	retireErrs []error
}

func newWriter(s *Store, segs []segInfo, unlock func()) *writer {
	w := &writer{
		s:          s,
		cfg:        &s.cfg,
		be:         s.be,
		log:        s.log,
		unlock:     unlock,
		probeTimer: time.NewTimer(time.Hour),
	}
	w.probeTimer.Stop()
	w.closed = segs
	for _, seg := range segs {
		w.closedBytes += seg.size
		w.lastSeq = seg.seq
	}
	return w
}

// start opens the segment to append to: the last one when it is empty (a previous run that wrote
// nothing), else a new one. A segment written by an earlier process is never appended to.
func (w *writer) start() error {
	seq := w.lastSeq + 1
	if n := len(w.closed); n > 0 && w.closed[n-1].size == 0 {
		seq = w.closed[n-1].seq
		w.closed = w.closed[:n-1]
	}
	if err := w.openSegment(seq); err != nil {
		return err
	}
	w.retain()
	return nil
}

// run is the writer goroutine: take everything queued, write it as one submission per segment,
// ack in queue order; while writing fails, probe until it works again.
func (w *writer) run() {
	defer close(w.s.done)
	closeProbed := false
	for {
		closed := w.drain()
		if w.failure != nil && (w.probeDue || (closed && !closeProbed)) {
			closeProbed = closeProbed || closed
			w.probeDue = false
			w.recover()
		}
		if w.failure != nil {
			if w.cfg.Ack != AckQueued && len(w.pending) > 0 {
				// Accepted just before the store turned unhealthy: fail them now rather than
				// make their clients wait for a recovery.
				w.complete(w.pending, w.failure)
				w.pending = w.pending[:0]
			}
			if closed {
				if n := len(w.pending); n > 0 {
					w.log.Error("storage: closing while writing fails; queued batches are lost",
						"batches", n, "err", w.failure)
					w.complete(w.pending, fmt.Errorf("storage: closed before the batch could be written: %w", w.failure))
					w.pending = w.pending[:0]
				}
				w.finish()
				return
			}
			select {
			case <-w.probeTimer.C:
				w.probeDue = true
			case <-w.s.q.closeCh:
			}
			continue
		}
		if len(w.pending) > 0 {
			w.commit()
			// Let the appenders just acked (and any other runnable goroutine) append their next
			// batches before the next drain: without this yield the writer, being faster than
			// its appenders, tends to take one batch per submission. It adds no delay when
			// nothing else is runnable.
			runtime.Gosched()
			continue
		}
		if closed {
			w.finish()
			return
		}
		select {
		case <-w.s.q.wake:
		case <-w.s.q.closeCh:
		}
	}
}

// drain moves everything queued to the end of pending and reports whether the queue is closed
// (then nothing more can arrive: Append checks closed under the same lock).
func (w *writer) drain() bool {
	q := &w.s.q
	q.mu.Lock()
	got := q.items
	q.items = w.spare
	closed := q.closed
	q.fresh.Store(0)
	q.takenAt.Store(time.Now().UnixNano())
	q.mu.Unlock()
	if len(w.pending) == 0 {
		w.spare = w.pending[:0]
		w.pending = got
	} else {
		w.pending = append(w.pending, got...)
		clear(got)
		w.spare = got[:0]
	}
	return closed
}

// commit writes pending: consecutive batches that fit in the current segment form a run, written
// as one submission (split only past maxIovecs buffers) and acked in order; between runs the
// segment is rotated. On failure, the failed run and everything after it is failed (AckWritten,
// AckSynced) or kept for a retry (AckQueued).
func (w *writer) commit() {
	bs := w.pending
	for i := 0; i < len(bs); {
		if w.cur == nil {
			if err := w.openSegment(w.lastSeq + 1); err != nil {
				w.fail(err, i)
				return
			}
			w.retain()
		}
		j, size := i, int64(0)
		for ; j < len(bs); j++ {
			n := int64(len(bs[j].buf.B))
			if w.cur.off+size > 0 && w.cur.off+size+n > w.cfg.SegmentBytes {
				break
			}
			size += n
		}
		if j == i {
			if err := w.rotate(); err != nil {
				w.fail(err, i)
				return
			}
			continue
		}
		if err := w.writeRun(bs[i:j], size); err != nil {
			w.fail(err, i)
			return
		}
		w.complete(bs[i:j], nil)
		i = j
	}
	w.pending = bs[:0]
}

// writeRun writes bs (size bytes in total) at the current segment's offset and, in AckSynced mode,
// fdatasyncs it. Short writes are resubmitted from where they stopped. On failure the segment is
// truncated back to where the run started, so no partial batch stays in it.
func (w *writer) writeRun(bs []batch, size int64) error {
	c := w.cur
	iov := w.iov[:0]
	for i := range bs {
		if b := bs[i].buf.B; len(b) > 0 {
			iov = append(iov, b)
		}
	}
	w.iov = iov
	defer clear(w.iov)

	sync := w.cfg.Ack == AckSynced
	start, off := c.off, c.off
	for len(iov) > 0 {
		k := min(len(iov), maxIovecs)
		last := k == len(iov)
		want := iovecBytes(iov[:k])
		n, syncErr, err := w.be.writev(c.f, iov[:k], off, sync && last)
		w.s.stats.submissions.Add(1)
		if n < 0 || n > want {
			panic(fmt.Sprintf("BUG: storage: backend wrote %d bytes of %d", n, want))
		}
		off += int64(n)
		if err != nil {
			return w.abortRun(start, false, fmt.Errorf("storage: write segment %s at offset %d: %w",
				segmentName(c.seq), off, err))
		}
		if n < want {
			if n == 0 {
				return w.abortRun(start, false, fmt.Errorf("storage: write segment %s at offset %d: %w",
					segmentName(c.seq), off, io.ErrShortWrite))
			}
			iov = advance(iov, n)
			continue
		}
		if sync && last {
			if syncErr != nil {
				return w.abortRun(start, true, fmt.Errorf("storage: fdatasync segment %s: %w",
					segmentName(c.seq), syncErr))
			}
			w.s.stats.syncs.Add(1)
		}
		iov = iov[k:]
	}
	if off-start != size {
		panic(fmt.Sprintf("BUG: storage: run wrote %d bytes; want %d", off-start, size))
	}
	c.off = off
	if sync {
		c.synced = off
	}
	w.s.stats.bytesWritten.Add(uint64(size))
	return nil
}

// advance drops the first n bytes from iov (which has more than n bytes). It rewrites iov's
// elements: iov is the writer's scratch list, the buffers themselves are not touched.
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

// abortRun truncates the current segment back to start after a failed write (syncFailed false)
// or fdatasync (syncFailed true, the segment is then retired) and returns err, joined with the
// truncation's error when that failed too (the segment then stays dirty until a probe fixes it).
func (w *writer) abortRun(start int64, syncFailed bool, err error) error {
	c := w.cur
	c.off = start
	if syncFailed {
		c.broken = true
	}
	if terr := c.f.Truncate(start); terr != nil {
		c.dirty = true
		return errors.Join(err, fmt.Errorf("storage: truncate segment %s to %d: %w", segmentName(c.seq), start, terr))
	}
	return err
}

// fail records a failure that stopped commit at pending[i]: the store turns unhealthy; batches
// from i on are failed (AckWritten, AckSynced) or kept for the retry after recovery (AckQueued).
func (w *writer) fail(err error, i int) {
	w.s.stats.writeErrors.Add(1)
	w.setFailing(err)
	rest := w.pending[i:]
	if w.cfg.Ack == AckQueued {
		n := copy(w.pending, rest)
		clear(w.pending[n:])
		w.pending = w.pending[:n]
		return
	}
	w.complete(rest, err)
	w.pending = w.pending[:0]
}

// complete releases bs from the queue bound, acks them in order with err, returns their buffers to
// the pool and clears the slots.
func (w *writer) complete(bs []batch, err error) {
	var size int64
	metrics := 0
	for i := range bs {
		size += int64(len(bs[i].buf.B))
		metrics += bs[i].metrics
	}
	w.s.q.bytes.Add(-size)
	if err == nil {
		w.s.stats.batches.Add(uint64(len(bs)))
		w.s.stats.metricsWritten.Add(uint64(metrics))
	}
	for i := range bs {
		if a := bs[i].acker; a != nil {
			a.Ack(err)
		}
		bufPool.Put(bs[i].buf)
		bs[i] = batch{}
	}
}

// setFailing turns the store unhealthy with reason err and arms the probe timer.
func (w *writer) setFailing(err error) {
	if w.failure == nil {
		w.failedAt = time.Now()
		w.log.Error("storage: writing failed; ingest is refused until writing works again", "err", err)
	} else {
		w.log.Debug("storage: writing still fails", "err", err)
	}
	w.failure = err
	w.s.health.Store(&err)
	w.probeTimer.Reset(w.cfg.probeInterval)
}

// recover probes; on success the store is healthy again, otherwise the probe is re-armed.
func (w *writer) recover() {
	if err := w.probe(); err != nil {
		w.setFailing(err)
		return
	}
	w.log.Info("storage: writing works again", "after", time.Since(w.failedAt).Round(time.Millisecond),
		"segment", segmentName(w.cur.seq))
	w.failure = nil
	w.s.health.Store(nil)
}

// probe puts the current segment back in order (truncate a dirty tail; replace a segment whose
// fdatasync failed by a new one) and then checks that a block can be written and fdatasynced at
// its end, truncating the block away again.
func (w *writer) probe() error {
	if c := w.cur; c != nil && c.dirty {
		if err := c.f.Truncate(c.off); err != nil {
			return fmt.Errorf("storage: truncate segment %s to %d: %w", segmentName(c.seq), c.off, err)
		}
		c.dirty = false
	}
	if c := w.cur; c != nil && c.broken {
		if err := w.closeCurrent(); err != nil {
			w.log.Warn("storage: closing a segment whose fdatasync failed", "err", err)
		}
	}
	if w.cur == nil {
		if err := w.openSegment(w.lastSeq + 1); err != nil {
			return err
		}
		w.retain()
	}
	c := w.cur
	n, syncErr, err := w.be.writev(c.f, [][]byte{probeBlock}, c.off, true)
	if err == nil && n < probeBytes {
		err = io.ErrShortWrite
	}
	if err == nil && syncErr != nil {
		c.broken = true
		err = fmt.Errorf("fdatasync: %w", syncErr)
	}
	if terr := c.f.Truncate(c.off); terr != nil {
		c.dirty = true
		err = errors.Join(err, fmt.Errorf("truncate: %w", terr))
	}
	if err != nil {
		return fmt.Errorf("storage: probe segment %s: %w", segmentName(c.seq), err)
	}
	c.synced = c.off
	return nil
}

// rotate closes the current segment (fdatasyncing what is not synced yet), opens the next one and
// applies the retention limit.
func (w *writer) rotate() error {
	w.retire()
	if err := w.openSegment(w.lastSeq + 1); err != nil {
		return err
	}
	w.retain()
	return nil
}

// closeCurrent fdatasyncs (unless already synced or broken) and closes the current segment and
// moves it to the closed list; cur is nil afterwards even when an error is returned.
func (w *writer) closeCurrent() error {
	c := w.cur
	name := segmentName(c.seq)
	var err error
	if !c.broken && c.off > c.synced {
		if serr := w.be.datasync(c.f); serr != nil {
			err = fmt.Errorf("storage: fdatasync segment %s: %w", name, serr)
		} else {
			w.s.stats.syncs.Add(1)
			c.synced = c.off
		}
	}
	if cerr := c.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("storage: close segment %s: %w", name, cerr)
	}
	w.closed = append(w.closed, segInfo{seq: c.seq, size: c.off})
	w.closedBytes += c.off
	w.cur = nil
	w.countSegments()
	return err
}

// retire moves the current segment to the closed list and flushes and
// closes it on a goroutine of its own. Rotation happens in the middle of
// heavy writing: flushing a whole segment's dirty pages on the writer
// goroutine stalls every batch behind it for tens of milliseconds, while no
// acknowledgement depends on that flush. With AckSynced every byte is
// synced already and the flush is a no-op; with AckWritten and AckQueued
// acknowledged batches are in the page cache, which is all those modes
// promise. A failed flush is logged, counted and returned by Close.
func (w *writer) retire() {
	c := w.cur
	name := segmentName(c.seq)
	needSync := !c.broken && c.off > c.synced
	w.closed = append(w.closed, segInfo{seq: c.seq, size: c.off})
	w.closedBytes += c.off
	w.cur = nil
	w.countSegments()
	w.retiring.Add(1)
	go func() {
		defer w.retiring.Done()
		var err error
		if needSync {
			if serr := fdatasyncFile(c.f); serr != nil {
				err = fmt.Errorf("storage: fdatasync segment %s: %w", name, serr)
			} else {
				w.s.stats.syncs.Add(1)
			}
		}
		if cerr := c.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("storage: close segment %s: %w", name, cerr)
		}
		if err != nil {
			w.s.stats.writeErrors.Add(1)
			w.log.Error("storage: flushing a rotated segment failed; its data may not survive power loss", "err", err)
			w.retireMu.Lock()
			w.retireErrs = append(w.retireErrs, err)
			w.retireMu.Unlock()
		}
	}()
}

// openSegment creates (or opens, when an earlier attempt created it) segment seq, makes its
// directory entry durable and makes it current.
func (w *writer) openSegment(seq uint64) error {
	name := segmentName(seq)
	f, err := os.OpenFile(filepath.Join(w.cfg.Dir, name), os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("storage: create segment %s: %w", name, err)
	}
	fi, err := f.Stat()
	if err == nil && w.cfg.Ack == AckSynced {
		// Synced acknowledgements promise power-loss safety, which needs the
		// new name durable before any batch in the file is acknowledged.
		err = syncDir(w.cfg.Dir)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("storage: create segment %s: %w", name, err)
	}
	if w.cfg.Ack != AckSynced {
		// The other modes only promise what survives the process: make the
		// name durable off the writer goroutine (a directory fsync can wait
		// for a journal commit of everything written so far).
		w.retiring.Add(1)
		go func() {
			defer w.retiring.Done()
			if err := syncDir(w.cfg.Dir); err != nil {
				w.log.Warn("storage: fsync of the data directory failed", "segment", name, "err", err)
			}
		}()
	}
	w.cur = &segment{seq: seq, f: f, off: fi.Size(), synced: fi.Size()}
	w.lastSeq = max(w.lastSeq, seq)
	w.countSegments()
	return nil
}

// retain deletes the oldest closed segments (and their .broken files) while the segments on disk
// exceed MaxDiskBytes.
func (w *writer) retain() {
	limit := w.cfg.MaxDiskBytes
	if limit <= 0 {
		return
	}
	total := w.closedBytes
	if w.cur != nil {
		total += w.cur.off
	}
	for total > limit && len(w.closed) > 0 {
		old := w.closed[0]
		name := segmentName(old.seq)
		if err := os.Remove(filepath.Join(w.cfg.Dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.log.Warn("storage: cannot delete old segment", "segment", name, "err", err)
			break
		}
		_ = os.Remove(filepath.Join(w.cfg.Dir, name+brokenSuffix))
		w.closed = slices.Delete(w.closed, 0, 1)
		w.closedBytes -= old.size
		total -= old.size
		w.s.stats.segmentsDeleted.Add(1)
		w.s.stats.bytesDeleted.Add(uint64(old.size))
		w.log.Info("storage: deleted old segment", "segment", name, "bytes", old.size, "max_disk_bytes", limit)
	}
	w.countSegments()
}

func (w *writer) countSegments() {
	n := int64(len(w.closed))
	if w.cur != nil {
		n++
	}
	w.s.stats.segments.Store(n)
}

// finish closes the current segment at shutdown: truncate a dirty tail, fdatasync, close.
func (w *writer) finish() {
	var errs []error
	if c := w.cur; c != nil {
		if c.dirty {
			if err := c.f.Truncate(c.off); err != nil {
				errs = append(errs, fmt.Errorf("storage: truncate segment %s to %d: %w", segmentName(c.seq), c.off, err))
			}
		}
		if err := w.closeCurrent(); err != nil {
			errs = append(errs, err)
		}
	}
	w.probeTimer.Stop()
	w.retiring.Wait()
	errs = append(errs, w.retireErrs...)
	w.unlock()
	w.finalErr = errors.Join(errs...)
}
