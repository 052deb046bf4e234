package forward

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Source is where the forwarder reads from: the data directory and, for each stream, how far its
// segments are written completely (CONTRACT §2 and §5). *storage.Store satisfies it in the binary
// once it has Frontier; DirSource reads a directory on its own.
type Source interface {
	// Dir is the data directory holding the segments.
	Dir() string
	// Frontier appends to dst, for every stream that has segments, the end of what has been
	// written completely: every segment of that stream with a lower Seq is closed and whole, and
	// segment Seq is whole up to Off. Safe from any goroutine.
	Frontier(dst []Position) []Position
}

// DirSource is a Source that needs no running store: the frontier of a stream is its highest
// segment, up to and including its last '\n'. It serves tests, tools, and a binary whose store
// has no Frontier yet. A writer that ends a write at a line boundary before the whole batch is
// written makes DirSource show part of a batch; those lines are whole and written, so forwarding
// them is safe.
type DirSource struct {
	dir string

	mu   sync.Mutex            // guards tail; held for one Frontier call
	tail map[int]dirSourceTail // per loop: how far the last '\n' search got
}

// dirSourceTail remembers, for a loop's highest segment, the end of its last whole line, so that
// the next Frontier scans only what was appended since.
type dirSourceTail struct {
	seq     uint64
	scanned int64 // bytes looked at
	whole   int64 // end of the last whole line
}

// NewDirSource returns a DirSource over dir.
func NewDirSource(dir string) *DirSource {
	return &DirSource{dir: dir, tail: map[int]dirSourceTail{}}
}

// Dir returns the data directory.
func (d *DirSource) Dir() string { return d.dir }

// Frontier appends the frontier of every stream in the directory. A directory that cannot be
// listed yields no streams (the reader tries again on its next poll).
func (d *DirSource) Frontier(dst []Position) []Position {
	segs, err := ListSegments(d.dir)
	if err != nil {
		return dst
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, s := range segs {
		if i+1 < len(segs) && segs[i+1].Ref.Loop == s.Ref.Loop {
			continue // not the stream's highest segment
		}
		whole, err := d.wholeEnd(s)
		if err != nil {
			whole = 0
		}
		dst = append(dst, Position{Loop: s.Ref.Loop, Seq: s.Ref.Seq, Off: whole})
	}
	return dst
}

// wholeEnd returns the end of the last whole line of segment s, scanning only new bytes.
func (d *DirSource) wholeEnd(s SegmentInfo) (int64, error) {
	t := d.tail[s.Ref.Loop]
	if t.seq != s.Ref.Seq || s.Size < t.scanned {
		t = dirSourceTail{seq: s.Ref.Seq}
	}
	if s.Size == t.scanned {
		return t.whole, nil
	}
	f, err := os.Open(filepath.Join(d.dir, s.Ref.FileName()))
	if err != nil {
		return t.whole, err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for t.scanned < s.Size {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), s.Size-t.scanned)], t.scanned)
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			t.whole = t.scanned + int64(i) + 1
		}
		t.scanned += int64(n)
		if err != nil && !errors.Is(err, io.EOF) {
			break
		}
		if n == 0 {
			break
		}
	}
	d.tail[s.Ref.Loop] = t
	return t.whole, nil
}
