package storage

import (
	"cmp"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// retention is the goroutine that enforces Config.MaxDiskBytes over every stream's segments. It
// runs after each rotation (poke) and once at Open, never on an event loop.
type retention struct {
	s    *Store
	wake chan struct{} // capacity 1: a poke while one is pending is absorbed
	quit chan struct{}
	done chan struct{}
}

func startRetention(s *Store) *retention {
	r := &retention{s: s, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	r.poke()
	return r
}

// poke asks for a retention pass; it never blocks.
func (r *retention) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *retention) stop() {
	close(r.quit)
	<-r.done
}

func (r *retention) run() {
	defer close(r.done)
	for {
		select {
		case <-r.quit:
			select {
			case <-r.wake: // a rotation just before Close: apply the limit once more
				if r.s.cfg.MaxDiskBytes > 0 {
					r.pass()
				}
			default:
			}
			return
		case <-r.wake:
			if r.s.cfg.MaxDiskBytes > 0 {
				r.pass()
			}
		}
	}
}

// candidate is a closed segment retention may delete.
type candidate struct {
	SegmentInfo
	mtime time.Time
}

// pass deletes the oldest closed segments (legacy first, then by modification time) that no
// forwarder needs until the segments total at most MaxDiskBytes; only when that is not enough,
// the needed ones too, oldest first, telling the guard first.
func (r *retention) pass() {
	s := r.s
	segs, err := ListSegments(s.cfg.Dir)
	if err != nil {
		s.log.Warn("storage: retention cannot list segments", "err", err)
		return
	}
	var total int64
	var closed []candidate
	for _, seg := range segs {
		total += seg.Size
		if l := seg.Ref.Loop; l >= 0 && l < len(s.streams) && seg.Ref.Seq >= s.streams[l].currentSeq() {
			continue // a current segment (or one being created): never deleted
		}
		fi, err := os.Stat(filepath.Join(s.cfg.Dir, seg.Ref.FileName()))
		if err != nil {
			continue
		}
		closed = append(closed, candidate{SegmentInfo: seg, mtime: fi.ModTime()})
	}
	limit := s.cfg.MaxDiskBytes
	if total <= limit {
		return
	}
	slices.SortStableFunc(closed, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(legacyRank(a.Ref), legacyRank(b.Ref)), a.mtime.Compare(b.mtime))
	})
	guard := s.cfg.Retention
	for _, forced := range []bool{false, true} {
		for i := range closed {
			c := &closed[i]
			if total <= limit {
				return
			}
			if c.Size < 0 {
				continue // deleted in the first pass
			}
			needed := guard != nil && guard.Needed(c.Ref)
			if needed != forced {
				continue
			}
			if r.delete(c.Ref, c.Size, needed) {
				total -= c.Size
				c.Size = -1
			}
		}
	}
}

// delete removes one segment and its .broken file, telling the guard first when it is needed.
func (r *retention) delete(ref SegmentRef, size int64, needed bool) bool {
	s := r.s
	name := ref.FileName()
	path := filepath.Join(s.cfg.Dir, name)
	if needed {
		s.cfg.Retention.Dropping(ref, path)
		s.stats.neededDropped.Add(1)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("storage: cannot delete old segment", "segment", name, "err", err)
		return false
	}
	_ = os.Remove(path + brokenSuffix)
	for _, ss := range s.static {
		if ss.pos.Loop == ref.Loop && ss.pos.Seq == ref.Seq {
			ss.gone.Store(true)
		}
	}
	s.stats.segments.Add(-1)
	s.stats.segmentsDeleted.Add(1)
	s.stats.bytesDeleted.Add(uint64(size))
	s.log.Info("storage: deleted old segment", "segment", name, "bytes", size,
		"max_disk_bytes", s.cfg.MaxDiskBytes, "still_needed", needed)
	return true
}

// legacyRank orders legacy segments before the others.
func legacyRank(r SegmentRef) int {
	if r.Loop == LegacyLoop {
		return 0
	}
	return 1
}
