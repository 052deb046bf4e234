package codec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTimestampCache formats runs of times through one cache, as
// AppendBatch does: steps within a millisecond, a second, a day and
// across days and the clamped range, each checked against a fresh
// AppendTimestamp.
func TestTimestampCache(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var c timestampCache
	ms := int64(1795713606123)
	for range 200000 {
		switch r.IntN(6) {
		case 0: // same millisecond
		case 1:
			ms += r.Int64N(1000)
		case 2:
			ms += r.Int64N(86400000)
		case 3:
			ms -= r.Int64N(86400000 * 800)
		case 4:
			ms = MinTimestampMs + r.Int64N(MaxTimestampMs-MinTimestampMs)
		default:
			ms = []int64{math.MinInt64, math.MaxInt64, MinTimestampMs, MaxTimestampMs, -1, 0, 86399999, 86400000}[r.IntN(8)]
		}
		if got, want := c.format(ms), AppendTimestamp(nil, ms); string(got) != string(want) {
			t.Fatalf("format(%d) = %s; want %s", ms, got, want)
		}
	}
}

// TestLineHeadPrefix checks that the cache's buffer starts with lineHead.
func TestLineHeadPrefix(t *testing.T) {
	var c timestampCache
	if got := string(c.lineHead(1795713606123)); got != lineHead+"2026-11-26T17:20:06.123Z" {
		t.Fatalf("lineHead = %s", got)
	}
}
