package forward

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The reader side of a sink: cutting batches of whole lines from a stream's segments, never
// past the frontier, so a torn tail or a batch still being written is never read.

// segmentReader is the open file of the segment a stream is reading. Owned by the reader.
type segmentReader struct {
	f   *os.File
	seq uint64
}

func (r *segmentReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// maxLineBytes bounds one stored line the reader accepts; a longer run without '\n' in a closed
// segment is skipped as invalid.
const maxLineBytes = 64 << 20

// cut fills b with the next lines of st, up to cfg.Batch lines, not past the frontier f. It
// reports false when there is nothing to send now.
func (s *sinkRunner) cut(st *stream, f Position, b *batch) bool {
	for {
		s.applySkip(st)
		if st.pos.Seq == 0 && !s.seekOldest(st) {
			return false
		}
		if st.pos.Seq > f.Seq {
			return false // the frontier is behind what was read (a restarted store): wait
		}
		limit, err := s.readLimit(st, f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && st.pos.Seq < f.Seq {
				s.skipMissing(st, f)
				continue
			}
			s.log.Error("forward: cannot read segment; trying again", "sink", s.name,
				"segment", refOf(st.pos).FileName(), "err", err)
			return false
		}
		limit = st.replayLimit(limit)
		if st.pos.Off < limit {
			switch s.readLines(st, limit, f.Seq > st.pos.Seq, b) {
			case cutBatch:
				if s.publishRead(st, b) {
					return true
				}
				continue // retention dropped the segment meanwhile: the batch was counted as dropped
			case cutWait:
				return false
			case cutSkipped:
				continue
			}
		}
		if st.pos.Seq == f.Seq {
			return false
		}
		st.rd.close()
		st.pos = Position{Loop: st.loop, Seq: st.pos.Seq + 1}
	}
}

// readLimit returns how far segment st.pos.Seq may be read: the frontier's offset for the
// frontier's segment, the file's size for an earlier (closed) one. It opens the file as needed.
func (s *sinkRunner) readLimit(st *stream, f Position) (int64, error) {
	if st.rd.f == nil || st.rd.seq != st.pos.Seq {
		st.rd.close()
		file, err := os.Open(filepath.Join(s.dir, refOf(st.pos).FileName()))
		if err != nil {
			return 0, err
		}
		st.rd = segmentReader{f: file, seq: st.pos.Seq}
	}
	if st.pos.Seq == f.Seq {
		return f.Off, nil
	}
	fi, err := st.rd.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// replayLimit lowers limit to the end of the next batch an earlier run sent, so that the
// resend is cut the same way.
func (st *stream) replayLimit(limit int64) int64 {
	for len(st.replay) > 0 && !posBefore(st.pos, st.replay[0]) {
		st.replay = st.replay[1:]
	}
	if len(st.replay) > 0 && st.replay[0].Seq == st.pos.Seq {
		return min(limit, st.replay[0].Off)
	}
	return limit
}

// cutResult is what readLines did.
type cutResult uint8

const (
	cutBatch   cutResult = iota // b holds lines
	cutWait                     // no whole line yet
	cutSkipped                  // skipped bytes that can never become a line
)

// readLines reads whole lines of st's segment from st.pos up to limit into b. closed says the
// segment will not grow, so bytes after its last '\n' are a torn tail to skip.
func (s *sinkRunner) readLines(st *stream, limit int64, closed bool, b *batch) cutResult {
	chunk := s.chunkFor(st)
	for {
		n := min(limit-st.pos.Off, chunk)
		if int64(cap(b.data)) < n {
			b.data = make([]byte, n)
		}
		b.data = b.data[:n]
		got, err := st.rd.f.ReadAt(b.data, st.pos.Off)
		if err != nil && !errors.Is(err, io.EOF) {
			s.log.Error("forward: cannot read segment", "sink", s.name, "segment", refOf(st.pos).FileName(), "err", err)
			return cutWait
		}
		b.data = b.data[:got]
		end, lines := cutLines(b.data, s.cfg.Batch)
		if lines > 0 {
			st.lineBytes = int64(end / lines)
			s.fillBatch(st, b, end, lines)
			return cutBatch
		}
		if int64(got) < limit-st.pos.Off && chunk < maxLineBytes {
			chunk *= 2 // one line longer than the chunk
			continue
		}
		if !closed {
			return cutWait
		}
		s.stats.drop(dropInvalid, 1, limit-st.pos.Off, 0)
		s.log.Warn("forward: skipping the torn tail of a closed segment", "sink", s.name,
			"segment", refOf(st.pos).FileName(), "offset", st.pos.Off, "bytes", limit-st.pos.Off)
		st.pos.Off = limit
		return cutSkipped
	}
}

// chunkFor returns how many bytes to read for st's next batch. Whatever a read brings beyond
// the batch's last line is read again for the next batch, so a reader that is behind (catching
// up after an outage, or slower than ingest) reads about chunk/batch-bytes times what it sends:
// the read is sized to the batch the last one's lines would make, plus 1/16 for lines of
// varying size, instead of the fixed readChunk for the longest likely lines. A batch whose
// lines are longer than the last one's is cut short (it may hold fewer than cfg.Batch lines).
func (s *sinkRunner) chunkFor(st *stream) int64 {
	if st.lineBytes == 0 {
		return s.readChunk
	}
	want := st.lineBytes * int64(s.cfg.Batch)
	want += want/16 + st.lineBytes
	return min(max(want, 4<<10), s.readChunk)
}

// cutLines returns the end of the first max lines of data (or of all its whole lines) and how
// many lines that is.
func cutLines(data []byte, max int) (end, lines int) {
	for lines < max {
		i := bytes.IndexByte(data[end:], '\n')
		if i < 0 {
			break
		}
		end += i + 1
		lines++
	}
	return end, lines
}

// fillBatch makes b the lines data[:end] at st.pos and advances st.pos over them.
func (s *sinkRunner) fillBatch(st *stream, b *batch, end, lines int) {
	b.data = b.data[:end]
	b.loop, b.lines, b.resent = st.loop, lines, 0
	b.start = st.pos
	b.end = Position{Loop: st.loop, Seq: st.pos.Seq, Off: st.pos.Off + int64(end)}
	if st.hasHWM && posBefore(b.start, st.hwm) {
		if st.hwm.Seq > b.start.Seq || st.hwm.Off >= b.end.Off {
			b.resent = lines
		} else {
			_, b.resent = cutLines(b.data[:st.hwm.Off-b.start.Off], lines)
		}
	}
	st.pos = b.end
}

// publishRead makes the reader's position visible to retention. It reports false, and undoes
// the batch, when retention dropped the batch's segment while it was being read (Dropping then
// counted those lines already).
func (s *sinkRunner) publishRead(st *stream, b *batch) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.shared.skipTo.Seq > b.start.Seq {
		return false
	}
	st.shared.read = st.pos
	return true
}

// applySkip moves st past segments that retention deleted.
func (s *sinkRunner) applySkip(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if skip := st.shared.skipTo; skip.Seq != 0 && posBefore(st.pos, skip) {
		st.rd.close()
		st.pos = skip
		st.shared.read = skip
	}
}

// seekOldest points a stream that has no cursor at the start of its oldest segment.
func (s *sinkRunner) seekOldest(st *stream) bool {
	segs, err := ListSegments(s.dir)
	if err != nil {
		s.log.Error("forward: cannot list segments", "sink", s.name, "err", err)
		return false
	}
	for _, seg := range segs {
		if seg.Ref.Loop == st.loop {
			st.pos = Position{Loop: st.loop, Seq: seg.Ref.Seq}
			return true
		}
	}
	return false
}

// skipMissing moves st from a segment that no longer exists to the next one of its stream,
// logging the gap: retention that knew of the forwarder counted it in Dropping already; anything
// else deleted it behind our back.
func (s *sinkRunner) skipMissing(st *stream, f Position) {
	st.rd.close()
	next := f.Seq
	if segs, err := ListSegments(s.dir); err == nil {
		for _, seg := range segs {
			if seg.Ref.Loop == st.loop && seg.Ref.Seq > st.pos.Seq {
				next = min(next, seg.Ref.Seq)
			}
		}
	}
	s.mu.Lock()
	counted := st.shared.skipTo.Seq > st.pos.Seq
	s.mu.Unlock()
	if !counted {
		s.log.Warn("forward: segments deleted before they were forwarded", "sink", s.name,
			"from", refOf(st.pos).FileName(), "offset", st.pos.Off,
			"next", fmt.Sprintf("metrics segment %d of loop %d", next, st.loop))
	}
	st.pos = Position{Loop: st.loop, Seq: next}
}
