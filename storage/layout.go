package storage

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// On-disk names. Frozen: readers and operators rely on them (see doc.go).
const (
	segmentPrefix = "metrics-"
	segmentSuffix = ".jsonl"
	brokenSuffix  = ".broken"
	lockName      = "LOCK"
)

// LegacyLoop is SegmentRef.Loop for segments of the earlier single-stream layout
// (metrics-SSSSSSSS.jsonl).
const LegacyLoop = -1

// SegmentRef names one segment file: the loop whose stream it belongs to and its sequence number.
type SegmentRef struct {
	Loop int    // 0-based event loop, or LegacyLoop
	Seq  uint64 // >= 1
}

// FileName returns the segment's file name: "metrics-03-00000042.jsonl" for loop 3, segment 42,
// and "metrics-00000042.jsonl" for a legacy segment.
func (r SegmentRef) FileName() string {
	if r.Loop == LegacyLoop {
		return fmt.Sprintf("%s%08d%s", segmentPrefix, r.Seq, segmentSuffix)
	}
	return fmt.Sprintf("%s%02d-%08d%s", segmentPrefix, r.Loop, r.Seq, segmentSuffix)
}

// String is the file name.
func (r SegmentRef) String() string { return r.FileName() }

// ParseSegmentFileName returns the segment a file name names, or false when it names none (the
// .broken files, LOCK, anything else).
func ParseSegmentFileName(name string) (SegmentRef, bool) {
	rest, ok := strings.CutPrefix(name, segmentPrefix)
	if !ok {
		return SegmentRef{}, false
	}
	rest, ok = strings.CutSuffix(rest, segmentSuffix)
	if !ok {
		return SegmentRef{}, false
	}
	loopDigits, seqDigits, hasLoop := strings.Cut(rest, "-")
	if !hasLoop {
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

// parseDigits parses at least minLen decimal digits (nothing else).
func parseDigits(s string, minLen int) (uint64, bool) {
	if len(s) < minLen {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
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
		return nil, fmt.Errorf("storage: list data directory: %w", err)
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
				continue // deleted by retention meanwhile
			}
			return nil, fmt.Errorf("storage: stat segment %s: %w", e.Name(), err)
		}
		segs = append(segs, SegmentInfo{Ref: ref, Size: fi.Size()})
	}
	slices.SortFunc(segs, func(a, b SegmentInfo) int {
		return cmp.Or(cmp.Compare(a.Ref.Loop, b.Ref.Loop), cmp.Compare(a.Ref.Seq, b.Ref.Seq))
	})
	return segs, nil
}

// Position is a place in one loop's stream: segment Seq of loop Loop, byte offset Off.
type Position struct {
	Loop int
	Seq  uint64
	Off  int64
}
