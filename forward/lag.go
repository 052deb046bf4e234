package forward

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"time"
)

// lagInterval is how often the lag gauges are recomputed.
const lagInterval = time.Second

// observe updates every sink's lag once per lagInterval and logs the summaries every
// StatsInterval, until ctx ends.
func (f *Forwarder) observe(ctx context.Context) {
	defer f.wg.Done()
	tick := time.NewTicker(lagInterval)
	defer tick.Stop()
	lastSummary := time.Now()
	var front []Position
	for {
		front = f.src.Frontier(front[:0])
		segs, err := ListSegments(f.cfg.Dir)
		if err == nil {
			now := time.Now()
			for _, r := range f.sinks {
				r.updateLag(front, segs, now)
			}
		}
		if f.cfg.StatsInterval > 0 && time.Since(lastSummary) >= f.cfg.StatsInterval {
			lastSummary = time.Now()
			for _, r := range f.sinks {
				f.logSummary(r)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// updateLag sets the sink's lag gauges: the bytes between its acknowledged cursor and the
// frontier over every stream, and the age of the oldest unacknowledged sample, by its timestamp.
func (s *sinkRunner) updateLag(front []Position, segs []SegmentInfo, now time.Time) {
	var lagBytes int64
	oldest := int64(math.MaxInt64)
	for _, f := range front {
		acked, ok := s.ackedOf(f.Loop)
		if !ok {
			acked = Position{Loop: f.Loop} // from the start of the oldest segment
		}
		n := bytesBetween(acked, f, segs)
		if n <= 0 {
			continue
		}
		lagBytes += n
		if ts, ok := s.firstTimestamp(acked, segs); ok {
			oldest = min(oldest, ts)
		}
	}
	s.stats.lagBytes.Store(lagBytes)
	age := 0.0
	if lagBytes > 0 && oldest != math.MaxInt64 {
		age = max(0, float64(now.UnixMilli()-oldest)/1000)
	}
	s.stats.lagSeconds.Store(math.Float64bits(age))
}

// ackedOf returns the acknowledged position of loop's stream.
func (s *sinkRunner) ackedOf(loop int) (Position, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.streams[loop]
	if !ok || !st.shared.hasAcked {
		return Position{}, false
	}
	return st.shared.acked, true
}

// bytesBetween counts the stored bytes from a to the frontier f of the same stream.
func bytesBetween(a, f Position, segs []SegmentInfo) int64 {
	if a.Seq == f.Seq {
		return f.Off - a.Off
	}
	var n int64
	for _, sg := range segs {
		switch {
		case sg.Ref.Loop != f.Loop || sg.Ref.Seq < a.Seq || sg.Ref.Seq > f.Seq:
		case sg.Ref.Seq == a.Seq:
			n += max(0, sg.Size-a.Off)
		case sg.Ref.Seq == f.Seq:
			n += f.Off
		default:
			n += sg.Size
		}
	}
	return n
}

// firstTimestamp reads the timestamp of the first line at or after a (the next segment when a
// is at the end of its own, or in none that exists).
func (s *sinkRunner) firstTimestamp(a Position, segs []SegmentInfo) (int64, bool) {
	for _, sg := range segs {
		if sg.Ref.Loop != a.Loop || sg.Ref.Seq < a.Seq {
			continue
		}
		off := int64(0)
		if sg.Ref.Seq == a.Seq {
			off = a.Off
		}
		if off >= sg.Size {
			continue
		}
		ts, ok := readTimestamp(filepath.Join(s.dir, sg.Ref.FileName()), off)
		return ts, ok
	}
	return 0, false
}

// readTimestamp parses the timestamp of the line starting at off in the file at path.
func readTimestamp(path string, off int64) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var buf [64]byte
	n, _ := f.ReadAt(buf[:], off)
	p := lineParser{line: buf[:n], pos: 0}
	if !p.lit(`{"timestamp":"`) {
		return 0, false
	}
	ts, err := p.timestamp()
	return ts, err == nil
}

// logSummary logs one line with the sink's counters.
func (f *Forwarder) logSummary(r *sinkRunner) {
	snap := r.stats.Snapshot()
	var ok, failed uint64
	for code, n := range snap.Requests {
		if code >= 200 && code < 300 {
			ok += n
		} else {
			failed += n
		}
	}
	f.log.Info("forward summary", "sink", r.name, "samples", snap.Samples, "bytes", snap.Bytes,
		"requests_ok", ok, "requests_failed", failed, "retries", snap.Retries,
		"dropped_rejected", snap.Dropped["rejected"][0], "dropped_retention", snap.Dropped["retention"][0],
		"dropped_invalid", snap.Dropped["invalid"][0], "resent_samples", snap.ResentSamples,
		"resent_requests", snap.ResentRequests, "nats_duplicates", snap.NATSDuplicates, "lag_bytes", snap.LagBytes, "lag_seconds", snap.LagSeconds,
		"cursor", formatPositions(snap.Cursor))
}
