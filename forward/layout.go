package forward

import "metricstream/storage"

// The segment layout is storage's (CONTRACT §1); these names let the forwarder's code and tests
// speak of it without the package prefix.
type (
	// SegmentRef names one segment file: its loop and sequence number.
	SegmentRef = storage.SegmentRef
	// SegmentInfo is a segment file found on disk.
	SegmentInfo = storage.SegmentInfo
	// Position is a place in one loop's stream.
	Position = storage.Position
)

// LegacyLoop is SegmentRef.Loop for segments of the earlier single-stream layout.
const LegacyLoop = storage.LegacyLoop

// ListSegments lists the segment files of dir, ordered by loop, then sequence.
func ListSegments(dir string) ([]SegmentInfo, error) { return storage.ListSegments(dir) }

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

// posBefore reports whether p comes strictly before q in the same loop's stream.
func posBefore(p, q Position) bool {
	return p.Seq < q.Seq || (p.Seq == q.Seq && p.Off < q.Off)
}

// refOf returns the segment p lies in.
func refOf(p Position) SegmentRef { return SegmentRef{Loop: p.Loop, Seq: p.Seq} }
