package codec

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestAppendLine(t *testing.T) {
	f := func(m Metric, tags []Tag, client string, receivedMs int64, want string) {
		t.Helper()
		got := AppendLine([]byte("prefix"), &m, tags, []byte(client), receivedMs)
		if string(got) != "prefix"+want {
			t.Fatalf("AppendLine:\ngot  %s\nwant %s", got[len("prefix"):], want)
		}
	}
	f(Metric{Name: []byte("cpu_usage"), Value: 75.5, HasTimestamp: true, TimestampMs: 1795713606123},
		[]Tag{{Key: []byte("host"), Value: []byte("server1")}}, "client-1", 0,
		`{"timestamp":"2026-11-26T17:20:06.123Z","client":"client-1","name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"}}`+"\n")
	f(Metric{Name: []byte("c"), Value: 3, Type: Counter}, nil, "default", 1795713606000,
		`{"timestamp":"2026-11-26T17:20:06.000Z","client":"default","name":"c","value":3,"type":"counter","tags":{}}`+"\n")
	f(Metric{Name: []byte("h"), Value: -1e-7, Type: Histogram, HasTimestamp: true, TimestampMs: -1},
		[]Tag{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("")}}, "", 5,
		`{"timestamp":"1969-12-31T23:59:59.999Z","client":"","name":"h","value":-1e-7,"type":"histogram","tags":{"a":"1","b":""}}`+"\n")
	f(Metric{Name: []byte("s\n\"\\\x00\xff\u2028"), Value: 1e21, Type: Summary}, []Tag{{Key: []byte("k\t"), Value: []byte("<&>")}}, "c\r", 0,
		`{"timestamp":"1970-01-01T00:00:00.000Z","client":"c\r","name":"s\n\"\\\u0000\ufffd\u2028","value":1e+21,"type":"summary","tags":{"k\t":"<&>"}}`+"\n")
	f(Metric{Name: []byte("n"), Value: math.NaN()}, nil, "x", 0,
		`{"timestamp":"1970-01-01T00:00:00.000Z","client":"x","name":"n","value":null,"type":"gauge","tags":{}}`+"\n")
	f(Metric{Name: []byte("n"), Value: math.Inf(-1), Type: MetricType(9)}, nil, "x", math.MaxInt64,
		`{"timestamp":"9999-12-31T23:59:59.999Z","client":"x","name":"n","value":null,"type":"MetricType(9)","tags":{}}`+"\n")
}

func TestAppendBatch(t *testing.T) {
	var d JSONDecoder
	var b Batch
	body := `{"metrics":[{"name":"a","value":1,"tags":{"x":"1"}},{"name":"b","value":2.5,"type":"counter","timestamp":"2026-11-26T17:20:06.5Z"},{"name":"c","value":3,"tags":{"y":"2","z":"3"}}]}`
	if err := d.Decode([]byte(body), 0, &b); err != nil {
		t.Fatal(err)
	}
	got := string(AppendBatch(nil, &b, []byte("cl"), 0))
	want := `{"timestamp":"1970-01-01T00:00:00.000Z","client":"cl","name":"a","value":1,"type":"gauge","tags":{"x":"1"}}` + "\n" +
		`{"timestamp":"2026-11-26T17:20:06.500Z","client":"cl","name":"b","value":2.5,"type":"counter","tags":{}}` + "\n" +
		`{"timestamp":"1970-01-01T00:00:00.000Z","client":"cl","name":"c","value":3,"type":"gauge","tags":{"y":"2","z":"3"}}` + "\n"
	if got != want {
		t.Fatalf("AppendBatch:\ngot  %s\nwant %s", got, want)
	}
	// AppendBatch reuses a formatted timestamp across consecutive metrics;
	// it must still equal AppendLine metric by metric.
	body = `{"metrics":[{"name":"a","value":1},{"name":"b","value":1,"timestamp":7},{"name":"c","value":1,"timestamp":7},` +
		`{"name":"d","value":1},{"name":"e","value":1,"timestamp":0},{"name":"f","value":1},{"name":"g","value":1,"timestamp":8}]}`
	if err := d.Decode([]byte(body), 0, &b); err != nil {
		t.Fatal(err)
	}
	for _, received := range []int64{0, 7, 8, 1795713606123} {
		var want []byte
		for i := range b.Metrics {
			want = AppendLine(want, &b.Metrics[i], b.MetricTags(i), []byte("cl"), received)
		}
		if got := AppendBatch(nil, &b, []byte("cl"), received); string(got) != string(want) {
			t.Fatalf("received %d: AppendBatch:\ngot  %s\nwant %s", received, got, want)
		}
	}
}

// jsonMarshal is what encoding/json writes for v, without HTML escaping.
func jsonMarshal(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func TestAppendJSONString(t *testing.T) {
	f := func(s string) {
		t.Helper()
		got := string(AppendJSONString(nil, []byte(s)))
		if want := jsonMarshal(t, s); got != want {
			t.Fatalf("AppendJSONString(%q) = %s; want %s", s, got, want)
		}
	}
	for _, s := range []string{
		"", "plain", `"`, `\`, "\x00\x01\x1f\x7f", "\b\f\n\r\t", "é😀", "\u2028\u2029", "\u2027\u202a",
		"\xff", "a\xc3", "\xed\xa0\x80", "\xf0\x9f\x98", "\xef\xbf\xbd", "<script>&amp;", "x\xffy\xfez",
	} {
		f(s)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("ab\"\\\x00\n\x1f\x7f\x80\xbf\xc3\xa9\xe2\x80\xa8\xed\xf0\x9f\xff")
	for range 5000 {
		s := make([]byte, rng.IntN(12))
		for i := range s {
			s[i] = alphabet[rng.IntN(len(alphabet))]
		}
		f(string(s))
	}
}

func TestAppendFloat(t *testing.T) {
	f := func(v float64) {
		t.Helper()
		got := string(appendFloat(nil, v))
		if want := jsonMarshal(t, v); got != want {
			t.Fatalf("appendFloat(%v) = %s; want %s", v, got, want)
		}
	}
	for _, v := range []float64{
		0, math.Copysign(0, -1), 1, -1, 75.5, 0.1, 1e-6, 9.99e-7, 1e-7, 1e-10, 1e-100, 1e20, 1e21, 1e22, 1e100,
		123456789, 1.5e300, math.MaxFloat64, math.SmallestNonzeroFloat64, -2.5e-8, 1 << 53, 0.000001234,
	} {
		f(v)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		v := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			f(v)
		}
	}
}

func TestAppendTimestamp(t *testing.T) {
	f := func(ms int64, want string) {
		t.Helper()
		if got := string(AppendTimestamp(nil, ms)); got != want {
			t.Fatalf("AppendTimestamp(%d) = %s; want %s", ms, got, want)
		}
	}
	f(0, "1970-01-01T00:00:00.000Z")
	f(1795713606123, "2026-11-26T17:20:06.123Z")
	f(-1, "1969-12-31T23:59:59.999Z")
	f(951782400000, "2000-02-29T00:00:00.000Z")
	f(MinTimestampMs, "0000-01-01T00:00:00.000Z")
	f(MaxTimestampMs, "9999-12-31T23:59:59.999Z")
	// Out of range: clamped so the line stays well-formed.
	f(MinTimestampMs-1, "0000-01-01T00:00:00.000Z")
	f(math.MinInt64, "0000-01-01T00:00:00.000Z")
	f(MaxTimestampMs+1, "9999-12-31T23:59:59.999Z")
	f(math.MaxInt64, "9999-12-31T23:59:59.999Z")
	rng := rand.New(rand.NewPCG(7, 8))
	for range 5000 {
		ms := MinTimestampMs + rng.Int64N(MaxTimestampMs-MinTimestampMs+1)
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
		f(ms, want)
		// And parseRFC3339 reads it back.
		if back, ok := parseRFC3339([]byte(want)); !ok || back != ms {
			t.Fatalf("parseRFC3339(%s) = %d, %v; want %d", want, back, ok, ms)
		}
	}
}

// storedLine is a storage line as encoding/json reads it.
type storedLine struct {
	Timestamp string            `json:"timestamp"`
	Client    string            `json:"client"`
	Name      string            `json:"name"`
	Value     *float64          `json:"value"`
	Type      string            `json:"type"`
	Tags      map[string]string `json:"tags"`
}

// asDecoded is s as it reads back from JSON: each byte that is not part
// of valid UTF-8 turns into U+FFFD.
func asDecoded(s []byte) string { return string([]rune(string(s))) }

// checkRoundTrip encodes one line and parses it back with encoding/json.
func checkRoundTrip(t *testing.T, m *Metric, tags []Tag, client []byte, receivedMs int64) {
	t.Helper()
	checkLine(t, AppendLine(nil, m, tags, client, receivedMs), m, tags, client, receivedMs)
}

// checkLine parses the storage line of m back with encoding/json and
// fails t unless it is one line holding m's fields.
func checkLine(t *testing.T, line []byte, m *Metric, tags []Tag, client []byte, receivedMs int64) {
	t.Helper()
	if bytes.IndexByte(line, '\n') != len(line)-1 {
		t.Fatalf("line %q: want exactly one newline, at the end", line)
	}
	var got storedLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("line %q: encoding/json: %v", line, err)
	}
	ts := receivedMs
	if m.HasTimestamp {
		ts = m.TimestampMs
	}
	ts = max(MinTimestampMs, min(ts, MaxTimestampMs))
	if tm, err := time.Parse(time.RFC3339Nano, got.Timestamp); err != nil || tm.UnixMilli() != ts {
		t.Fatalf("line %q: timestamp %s (%v); want %d", line, got.Timestamp, err, ts)
	}
	if got.Client != asDecoded(client) || got.Name != asDecoded(m.Name) || got.Type != m.Type.String() {
		t.Fatalf("line %q: got client %q name %q type %q", line, got.Client, got.Name, got.Type)
	}
	switch {
	case math.IsNaN(m.Value) || math.IsInf(m.Value, 0):
		if got.Value != nil {
			t.Fatalf("line %q: value %v; want null", line, *got.Value)
		}
	case got.Value == nil || math.Float64bits(*got.Value) != math.Float64bits(m.Value):
		t.Fatalf("line %q: value %v; want %v", line, got.Value, m.Value)
	}
	want := map[string]string{}
	for _, tag := range tags {
		want[asDecoded(tag.Key)] = asDecoded(tag.Value)
	}
	if len(got.Tags) != len(want) {
		t.Fatalf("line %q: tags %v; want %v", line, got.Tags, want)
	}
	for k, v := range want {
		if got.Tags[k] != v {
			t.Fatalf("line %q: tags %v; want %v", line, got.Tags, want)
		}
	}
}

func TestAppendLineRoundTrip(t *testing.T) {
	f := func(name, client string, value float64, tags ...string) {
		t.Helper()
		m := Metric{Name: []byte(name), Value: value, Type: Summary, HasTimestamp: true, TimestampMs: 1795713606123}
		var ts []Tag
		for i := 0; i+1 < len(tags); i += 2 {
			ts = append(ts, Tag{Key: []byte(tags[i]), Value: []byte(tags[i+1])})
		}
		checkRoundTrip(t, &m, ts, []byte(client), 0)
	}
	f("cpu", "client-1", 75.5, "host", "server1")
	f("", "", 0)
	f("\x00\n\r\"\\\u2028\xff\xc3", "\t\xed\xa0\x80", -1e-300, "\x01", "\x7f", "é", "😀")
	f(strings.Repeat("x\"", 300), "c", math.MaxFloat64, "a", "", "b", "\n")
	f("n", "c", math.Copysign(0, -1))
	f("n", "c", math.NaN())
}
