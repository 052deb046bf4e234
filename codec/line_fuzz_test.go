package codec

import (
	"math"
	"testing"
)

// FuzzAppendLine checks that whatever bytes a metric carries, its storage
// line is one line of valid JSON that encoding/json reads back to the
// same strings (invalid UTF-8 as U+FFFD), value, type and timestamp.
func FuzzAppendLine(f *testing.F) {
	f.Add([]byte("cpu_usage"), []byte("client-1"), []byte("host"), []byte("server1"), 75.5, int64(1795713606123), true, uint8(0))
	f.Add([]byte("\x00\n\"\\\u2028\xff"), []byte("\xed\xa0\x80"), []byte("\t"), []byte(""), -1e-7, int64(-1), false, uint8(3))
	f.Add([]byte(""), []byte(""), []byte("\xc3"), []byte("é😀"), 1e21, int64(math.MaxInt64), true, uint8(1))
	f.Add([]byte("n"), []byte("c"), []byte("k"), []byte("v"), math.Inf(1), int64(math.MinInt64), true, uint8(2))
	f.Fuzz(func(t *testing.T, name, client, key, val []byte, value float64, ts int64, hasTS bool, typ uint8) {
		m := Metric{Name: name, Value: value, Type: MetricType(typ % 4), HasTimestamp: hasTS, TimestampMs: ts}
		tags := []Tag{{Key: key, Value: val}, {Key: append([]byte("2"), key...), Value: name}}
		checkRoundTrip(t, &m, tags, client, ^ts)
	})
}
