package forward

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// The segment layout of CONTRACT §1. This is a private copy of storage/layout.go, identical in
// names and behaviour, kept here until the per-loop storage branch lands; the types then become
// aliases of the storage ones (type SegmentRef = storage.SegmentRef, and so on).

// LegacyLoop is SegmentRef.Loop for segments of the earlier single-stream layout.
const LegacyLoop = -1

// File names of the data directory (frozen, CONTRACT §1).
const (
	segmentPrefix = "metrics-"
	segmentSuffix = ".jsonl"
)

// SegmentRef names one segment file: the loop whose stream it belongs to and its sequence number.
type SegmentRef struct {
	Loop int    // 0-based event loop, or LegacyLoop
	Seq  uint64 // >= 1
}

// FileName returns the segment's file name: "metrics-03-00000042.jsonl", or
// "metrics-00000042.jsonl" for LegacyLoop.
func (r SegmentRef) FileName() string {
	if r.Loop == LegacyLoop {
		return fmt.Sprintf("%s%08d%s", segmentPrefix, r.Seq, segmentSuffix)
	}
	return fmt.Sprintf("%s%02d-%08d%s", segmentPrefix, r.Loop, r.Seq, segmentSuffix)
}

// ParseSegmentFileName returns the segment a file name names, or false when name is not a segment
// (a .broken file, LOCK, a cursor, anything else).
func ParseSegmentFileName(name string) (SegmentRef, bool) {
	rest, ok := strings.CutPrefix(name, segmentPrefix)
	if !ok {
		return SegmentRef{}, false
	}
	rest, ok = strings.CutSuffix(rest, segmentSuffix)
	if !ok {
		return SegmentRef{}, false
	}
	loopDigits, seqDigits, twoParts := strings.Cut(rest, "-")
	if !twoParts {
		seq, ok := parseDigits(rest, 8)
		if !ok || seq == 0 {
			return SegmentRef{}, false
		}
		return SegmentRef{Loop: LegacyLoop, Seq: seq}, true
	}
	loop, ok := parseDigits(loopDigits, 2)
	if !ok || loop > 1<<20 {
		return SegmentRef{}, false
	}
	seq, ok := parseDigits(seqDigits, 8)
	if !ok || seq == 0 {
		return SegmentRef{}, false
	}
	return SegmentRef{Loop: int(loop), Seq: seq}, true
}

// parseDigits parses s, at least minLen ASCII decimal digits and nothing else.
func parseDigits(s string, minLen int) (uint64, bool) {
	if len(s) < minLen {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// SegmentInfo is a segment file found on disk.
type SegmentInfo struct {
	Ref  SegmentRef
	Size int64
}

// ListSegments lists the segment files of dir, ordered by Loop (LegacyLoop first) then Seq.
func ListSegments(dir string) ([]SegmentInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var segs []SegmentInfo
	for _, e := range entries {
		ref, ok := ParseSegmentFileName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted by retention between ReadDir and Info
			}
			return nil, fmt.Errorf("stat segment %s: %w", e.Name(), err)
		}
		segs = append(segs, SegmentInfo{Ref: ref, Size: fi.Size()})
	}
	slices.SortFunc(segs, func(a, b SegmentInfo) int { return compareRefs(a.Ref, b.Ref) })
	return segs, nil
}

// compareRefs orders segment references by loop, then sequence.
func compareRefs(a, b SegmentRef) int {
	if a.Loop != b.Loop {
		return a.Loop - b.Loop
	}
	switch {
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// Position is a place in one loop's stream.
type Position struct {
	Loop int
	Seq  uint64
	Off  int64
}

// before reports whether p comes strictly before q in the same loop's stream.
func (p Position) before(q Position) bool {
	return p.Seq < q.Seq || (p.Seq == q.Seq && p.Off < q.Off)
}

// ref returns the segment p lies in.
func (p Position) ref() SegmentRef { return SegmentRef{Loop: p.Loop, Seq: p.Seq} }
