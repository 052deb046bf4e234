package forward

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
)

// The forwarder is the store's RetentionGuard (CONTRACT §3): -max-disk-bytes keeps the segments
// a sink has not acknowledged, and when the limit forces their deletion, each sink counts and
// logs what it loses and skips it.

// Needed reports whether some sink has not acknowledged all of segment ref. Safe from any
// goroutine (retention's); it may stat the segment.
func (f *Forwarder) Needed(ref SegmentRef) bool {
	for _, r := range f.sinks {
		if r.needs(ref) {
			return true
		}
	}
	return false
}

// Dropping is called before retention deletes segment ref, still Needed, at path. Each sink
// that has not read all of it counts the unread lines and bytes as dropped (reason
// "retention"), logs it, and skips to the next segment of that stream. Lines already read are
// in flight and will still be delivered.
func (f *Forwarder) Dropping(ref SegmentRef, path string) {
	for _, r := range f.sinks {
		r.dropping(ref, path)
	}
}

// needs reports whether this sink still needs segment ref.
func (s *sinkRunner) needs(ref SegmentRef) bool {
	s.mu.Lock()
	st, ok := s.streams[ref.Loop]
	var acked Position
	var hasAcked bool
	var skip Position
	if ok {
		acked, hasAcked, skip = st.shared.acked, st.shared.hasAcked, st.shared.skipTo
	}
	s.mu.Unlock()
	switch {
	case skip.Seq > ref.Seq:
		return false // dropped already
	case !hasAcked || acked.Seq < ref.Seq:
		return true
	case acked.Seq > ref.Seq:
		return false
	}
	fi, err := os.Stat(filepath.Join(s.dir, ref.FileName()))
	if err != nil {
		return false // gone: nothing left to keep
	}
	return acked.Off < fi.Size()
}

// dropping counts and skips what this sink has not read of segment ref.
func (s *sinkRunner) dropping(ref SegmentRef, path string) {
	s.mu.Lock()
	st, ok := s.streams[ref.Loop]
	if !ok {
		st = &stream{loop: ref.Loop, pos: Position{Loop: ref.Loop}, prevSent: closedTurn}
		s.streams[ref.Loop] = st
	}
	from := int64(-1) // -1: everything of ref was read already
	switch read := st.shared.read; {
	case read.Seq < ref.Seq:
		from = 0
	case read.Seq == ref.Seq:
		from = read.Off
	}
	if next := (Position{Loop: ref.Loop, Seq: ref.Seq + 1}); posBefore(st.shared.skipTo, next) {
		st.shared.skipTo = next
	}
	s.mu.Unlock()
	if from < 0 {
		return
	}
	lines, bytes, err := countLines(path, from)
	if err != nil {
		s.log.Error("forward: retention deletes a segment not yet forwarded; cannot count its lines",
			"sink", s.name, "segment", ref.FileName(), "err", err)
	}
	if bytes == 0 {
		return
	}
	s.stats.drop(dropRetention, lines, bytes, 0)
	s.log.Error("forward: -max-disk-bytes deletes data this sink has not sent; dropped",
		"sink", s.name, "segment", ref.FileName(), "offset", from, "samples", lines, "bytes", bytes)
}

// countLines counts the lines of the file at path from byte offset from, and their bytes.
func countLines(path string, from int64) (lines, n int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	for off := from; ; {
		got, rerr := f.ReadAt(buf, off)
		lines += int64(bytes.Count(buf[:got], []byte{'\n'}))
		n += int64(got)
		off += int64(got)
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return lines, n, nil
			}
			return lines, n, rerr
		}
	}
}
