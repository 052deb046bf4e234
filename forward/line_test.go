package forward

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"metricstream/codec"
)

// TestParseRoundTrip: every line codec's encoder writes parses back to the same metric.
func TestParseRoundTrip(t *testing.T) {
	type tc struct {
		name   string
		client string
		value  float64
		typ    codec.MetricType
		ms     int64
		tags   [][2]string
	}
	cases := []tc{
		{"cpu_usage", "client-1", 75.5, codec.Gauge, 1795713606123, [][2]string{{"host", "server1"}}},
		{"reqs", "", 3, codec.Counter, 0, nil},
		{"neg", "c", -12.25e-9, codec.Histogram, -1, [][2]string{{"a", ""}}},
		{"big", "c", 1.7976931348623157e308, codec.Summary, codec.MaxTimestampMs, nil},
		{"min", "c", -0.0, codec.Gauge, codec.MinTimestampMs, nil},
		{"int", "c", 123456789012345678, codec.Gauge, 951782400000, nil}, // 2000-02-29
		{`quo"te\back`, "tab\there", 1, codec.Gauge, 1, [][2]string{{"new\nline", "ctl\x01"}, {"é", "日本"}}},
		{"bad\xffutf8", "sep\u2028", 2, codec.Gauge, 2, [][2]string{{"emoji", "😀"}}},
	}
	var p lineParser
	var s Sample
	for _, c := range cases {
		m := codec.Metric{Name: []byte(c.name), Value: c.value, Type: c.typ, HasTimestamp: true, TimestampMs: c.ms}
		var tags []codec.Tag
		for _, kv := range c.tags {
			tags = append(tags, codec.Tag{Key: []byte(kv[0]), Value: []byte(kv[1])})
		}
		line := codec.AppendLine(nil, &m, tags, []byte(c.client), 0)
		if err := p.parse(bytes.TrimSuffix(line, []byte("\n")), &s); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		wantName := string(bytes.ToValidUTF8([]byte(c.name), []byte("\ufffd")))
		if string(s.Name) != wantName || string(s.Client) != c.client || s.TimestampMs != c.ms ||
			math.Float64bits(s.Value) != math.Float64bits(c.value) || string(s.Type) != c.typ.String() {
			t.Errorf("%q: got name %q client %q ts %d value %v type %q", line, s.Name, s.Client, s.TimestampMs, s.Value, s.Type)
		}
		if len(s.Tags) != len(c.tags) {
			t.Fatalf("%q: got %d tags; want %d", line, len(s.Tags), len(c.tags))
		}
		for i, kv := range c.tags {
			if string(s.Tags[i].Key) != kv[0] || string(s.Tags[i].Value) != kv[1] {
				t.Errorf("%q: tag %d = %q=%q; want %q=%q", line, i, s.Tags[i].Key, s.Tags[i].Value, kv[0], kv[1])
			}
		}
	}
}

// TestParseRejects: a line that is not the stored shape is an error naming the byte.
func TestParseRejects(t *testing.T) {
	f := func(line string, wantOff int) {
		t.Helper()
		var p lineParser
		var s Sample
		err := p.parse([]byte(line), &s)
		var le *lineError
		if !errors.As(err, &le) || !errors.Is(err, errLine) {
			t.Fatalf("%q: got %v; want a lineError", line, err)
		}
		if le.Offset != wantOff {
			t.Errorf("%q: error at byte %d; want %d (%v)", line, le.Offset, wantOff, err)
		}
	}
	const ok = `{"timestamp":"2026-11-26T17:20:06.123Z","client":"c","name":"n","value":1,"type":"gauge"`
	f(``, 0)
	f(`{"name":"x"}`, 0)
	f(`{"timestamp":"2026-11-26 17:20:06.123Z"`, 14)
	f(`{"timestamp":"2026-13-26T17:20:06.123Z","client":"c"`, 14)
	f(`{"timestamp":"2026-11-26T17:20:06.123Z","client":c`, 49)
	f(`{"timestamp":"2026-11-26T17:20:06.123Z","client":"c","name":"","value":1`, 60)
	f(`{"timestamp":"2026-11-26T17:20:06.123Z","client":"c","name":"n","value":null,"type":"gauge"}`, 72)
	f(`{"timestamp":"2026-11-26T17:20:06.123Z","client":"c","name":"n","value":1e999,"type":"gauge"}`, 72)
	f(ok+`}x`, len(ok)+1)
	f(ok+`,"tags":{"a":1}}`, len(ok)+13)
	f(ok+`,"tags":{"a":"\q"}}`, len(ok)+14)
	f(ok+`,"tags":{"a":"b"`, len(ok)+16)
	f(ok, len(ok))
}

// TestParseAllocs: parsing a stored line allocates nothing once the parser is warm.
func TestParseAllocs(t *testing.T) {
	line := []byte(`{"timestamp":"2026-11-26T17:20:06.123Z","client":"client-1","name":"cpu\"usage","value":75.5,"type":"gauge","tags":{"host":"server1","dc":"e\u00e9"}}`)
	var p lineParser
	var s Sample
	if err := p.parse(line, &s); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { p.parse(line, &s) }); n != 0 {
		t.Fatalf("parse allocates %v times per line; want 0", n)
	}
}
