package storage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Page-cache trimming: a stream's segments are written once and read back (by a forwarder)
// within seconds, so keeping everything written in the page cache only displaces what the host
// needs and leaves the kernel a growing pile of dirty pages to flush all at once. A trimmer
// goroutine therefore follows each stream's frontier:
//
//   - every trimFlushBytes written, it starts writeback of the new bytes (sync_file_range with
//     SYNC_FILE_RANGE_WRITE: asynchronous, it waits for nothing), so dirty data never piles up;
//   - it drops from the cache (posix_fadvise DONTNEED) what lies more than Config.CacheBytes
//     behind the frontier, by then written back; a page still dirty or under writeback is left
//     and dropped on a later pass.
//
// Each stream thus keeps about CacheBytes of its newest data cached (a forwarder that tails it
// reads from memory; one further behind reads from disk), and the kernel recycles the dropped
// pages for the next writes instead of taking fresh memory. Nothing here touches the writers:
// the trimmer opens the segments read-only, its calls are advisory, and it runs on its own
// goroutine, so an event loop never waits for it. On systems without these calls it does nothing
// (cache_other.go).

// trimFlushBytes is how many new bytes of a stream start one writeback; trimInterval is how
// often the trimmer looks at the frontiers.
const (
	trimFlushBytes = 4 << 20
	trimInterval   = 50 * time.Millisecond
	trimRechecks   = 10 // passes (half a second) that retry a drop after writing paused
)

// cacheTrimmer is the trimming goroutine of a Store.
type cacheTrimmer struct {
	s      *Store
	keep   int64
	quit   chan struct{}
	done   chan struct{}
	files  []trimStream // by loop; owned by the trimmer goroutine
	warned bool         // a failed call was logged; owned by the trimmer goroutine
}

// trimStream is the trimmer's view of one stream: its current segment and the closed ones
// rotated past that are not yet dropped for good. Several segments may close between two passes
// (small segments, fast writers), so every one between the last seen and the current is followed.
type trimStream struct {
	loop   int
	cur    trimFile
	closed []trimFile // oldest first
}

// trimFile is one segment the trimmer follows. flushed is where writeback was last started up
// to; dropped is where the cache was last dropped up to; size is a closed segment's length.
type trimFile struct {
	seq              uint64
	f                *os.File
	size             int64
	flushed, dropped int64
	recheck          int // passes left that drop again below dropped
}

// startCacheTrimmer starts trimming when cfg.CacheBytes > 0 and the system supports it; it
// returns nil otherwise.
func startCacheTrimmer(s *Store) *cacheTrimmer {
	if s.cfg.CacheBytes <= 0 || !trimSupported {
		return nil
	}
	t := &cacheTrimmer{s: s, keep: s.cfg.CacheBytes, quit: make(chan struct{}), done: make(chan struct{}),
		files: make([]trimStream, len(s.streams))}
	for i, st := range s.streams {
		// Followed from the segment each stream opened with, so that segments closed before
		// the first pass are trimmed too.
		t.files[i] = trimStream{loop: st.loop, cur: trimFile{seq: st.front.load(st.loop).Seq}}
	}
	go t.run()
	return t
}

// stop ends the goroutine and closes its files; nil-safe.
func (t *cacheTrimmer) stop() {
	if t == nil {
		return
	}
	close(t.quit)
	<-t.done
}

func (t *cacheTrimmer) run() {
	defer close(t.done)
	tick := time.NewTicker(trimInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.quit:
			for i := range t.files {
				t.files[i].cur.close()
				for j := range t.files[i].closed {
					t.files[i].closed[j].close()
				}
			}
			return
		case <-tick.C:
			for i, st := range t.s.streams {
				t.pass(&t.files[i], st.front.load(st.loop))
			}
		}
	}
}

// pass trims one stream whose frontier is at pos.
func (t *cacheTrimmer) pass(ts *trimStream, pos Position) {
	if pos.Seq == 0 {
		return
	}
	if ts.cur.seq != pos.Seq {
		t.rotated(ts, pos.Seq)
	}
	t.trimClosed(ts, pos.Off)
	if ts.cur.f == nil && !t.open(ts.loop, &ts.cur) {
		return // tried again at the next pass
	}
	if pos.Off-ts.cur.flushed >= trimFlushBytes {
		t.flush(&ts.cur, pos.Off)
	}
	if end := ts.cur.flushed - t.keep; end > ts.cur.dropped {
		t.drop(&ts.cur, end)
		ts.cur.recheck = trimRechecks
	} else if ts.cur.recheck > 0 {
		// Writing paused: pages that were under writeback at the last drop are clean by now.
		ts.cur.recheck--
		t.drop(&ts.cur, ts.cur.dropped)
	}
}

// rotated moves the current segment, and every segment closed since the last pass, to the
// closed list with their writeback started, and makes segment seq the current one.
func (t *cacheTrimmer) rotated(ts *trimStream, seq uint64) {
	if last := ts.cur.seq; last != 0 && seq > last {
		t.retire(ts)
		for s := last + 1; s < seq; s++ {
			ts.cur = trimFile{seq: s}
			if t.open(ts.loop, &ts.cur) {
				t.retire(ts)
			}
		}
	}
	ts.cur.close()
	ts.cur = trimFile{seq: seq}
}

// retire flushes the whole current segment of ts and moves it to the closed list; its length
// is final, since the frontier has left it.
func (t *cacheTrimmer) retire(ts *trimStream) {
	if ts.cur.f == nil {
		return
	}
	t.flush(&ts.cur, -1)
	if fi, err := ts.cur.f.Stat(); err == nil {
		ts.cur.size = fi.Size()
	}
	ts.cur.recheck = 0 // trimClosed counts its own passes
	ts.closed = append(ts.closed, ts.cur)
	ts.cur = trimFile{}
}

// trimClosed drops each closed segment, whole, once CacheBytes have been written after it (off in
// the current segment plus the closed segments newer than it), and again trimRechecks passes
// later, when the pages under writeback at first are clean; then it closes the segment.
func (t *cacheTrimmer) trimClosed(ts *trimStream, off int64) {
	after := off
	for i := len(ts.closed) - 1; i >= 0; i-- {
		tf := &ts.closed[i]
		if after >= t.keep {
			first := tf.recheck == 0
			if first {
				tf.recheck = trimRechecks
			}
			if tf.recheck--; first || tf.recheck == 0 {
				if err := dropCached(tf.f, 0, 0); err != nil { // the whole file
					t.warn(err)
				}
			}
			if tf.recheck == 0 {
				tf.close()
			}
		}
		after += tf.size
	}
	ts.closed = slices.DeleteFunc(ts.closed, func(tf trimFile) bool { return tf.f == nil })
}

// open opens tf's segment read-only; false when it cannot, e.g. already deleted by retention.
func (t *cacheTrimmer) open(loop int, tf *trimFile) bool {
	f, err := os.Open(filepath.Join(t.s.cfg.Dir, SegmentRef{Loop: loop, Seq: tf.seq}.FileName()))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.warn(err)
		}
		return false
	}
	tf.f = f
	return true
}

// flush starts writeback of tf from where the last one ended up to end (-1: the whole file).
func (t *cacheTrimmer) flush(tf *trimFile, end int64) {
	n := int64(0) // to the end of the file
	if end >= 0 {
		n = end - tf.flushed
	}
	if err := startWriteback(tf.f, tf.flushed, n); err != nil {
		t.warn(err)
	}
	if end >= 0 {
		tf.flushed = end
	}
}

// drop removes tf's cached pages below end. It starts a little before the last drop's end:
// pages that were still under writeback then are clean now, and those further back were
// dropped before.
func (t *cacheTrimmer) drop(tf *trimFile, end int64) {
	from := max(0, tf.dropped-2*trimFlushBytes)
	if err := dropCached(tf.f, from, end-from); err != nil {
		t.warn(err)
	}
	tf.dropped = end
}

// warn logs the first failed call: trimming only advises the kernel, so it goes on, and the cost
// of a failure is only a larger page cache.
func (t *cacheTrimmer) warn(err error) {
	if !t.warned {
		t.warned = true
		t.s.log.Warn("storage: page-cache trimming failed; it goes on, and only the page cache grows where it fails", "err", err)
	}
}

func (tf *trimFile) close() {
	if tf.f != nil {
		tf.f.Close()
	}
	*tf = trimFile{}
}
