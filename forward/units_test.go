package forward

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSanitize(t *testing.T) {
	f := func(in string, metric bool, want string) {
		t.Helper()
		var got []byte
		if metric {
			got = appendMetricName(nil, []byte(in))
		} else {
			got = appendLabelName(nil, []byte(in))
		}
		if string(got) != want {
			t.Errorf("%q (metric %v): got %q; want %q", in, metric, got, want)
		}
	}
	f("cpu_usage", true, "cpu_usage")
	f("cpu.usage-pct", true, "cpu_usage_pct")
	f("lat:p99", true, "lat:p99")
	f("9lives", true, "_9lives")
	f("héllo", true, "h_llo")
	f("", true, "_")
	f("lat:p99", false, "lat_p99")
	f("host.name", false, "host_name")
	f("__name__", false, "tag__name__")
	f("__x", false, "tag__x")
	f("_x", false, "_x")
	f("1a", false, "_1a")
	f("日本", false, "tag__")
}

func TestCursorFile(t *testing.T) {
	pos := []Position{{Loop: 1, Seq: 7, Off: 99}, {Loop: LegacyLoop, Seq: 3, Off: 0}, {Loop: 0, Seq: 12, Off: 34567}}
	data := encodeCursor(nil, "vm", pos)
	want := "metricstream forward cursor v1\nsink vm\nloop -1 seq 3 off 0\nloop 0 seq 12 off 34567\nloop 1 seq 7 off 99\n"
	if !strings.HasPrefix(string(data), want) {
		t.Fatalf("encoded as\n%s", data)
	}
	got, err := decodeCursor(data)
	if err != nil || len(got) != 3 || got[0] != pos[1] || got[1] != pos[2] || got[2] != pos[0] {
		t.Fatalf("decoded %v, %v", got, err)
	}
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x01
		if _, err := decodeCursor(bad); !errors.Is(err, errCursorFormat) {
			t.Fatalf("byte %d flipped: %v; want errCursorFormat", i, err)
		}
	}
	// A damaged cursor file is set aside and the sink starts from the oldest segment.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "forward-vm.cursor"), data[:len(data)-3], 0o644)
	var log logBuffer
	if _, err := New(Config{Dir: dir, Sinks: []SinkConfig{{URL: "http://127.0.0.1:1/api/v1/write#vm"}}, Logger: log.logger()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "forward-vm.cursor.broken")); err != nil || !strings.Contains(log.String(), "cursor file damaged") {
		t.Fatalf("damaged cursor not set aside (%v):\n%s", err, log.String())
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: time.Second, max: time.Minute}
	var last time.Duration
	for i := range 12 {
		d := b.next(0)
		if d < time.Second || d > time.Minute {
			t.Fatalf("attempt %d: %v outside [1s, 1m]", i, d)
		}
		last = d
	}
	if last < 48*time.Second {
		t.Errorf("after 12 failures the delay is %v; want about a minute", last)
	}
	b.reset()
	if d := b.next(0); d > 1200*time.Millisecond {
		t.Errorf("after reset: %v", d)
	}
	if d := b.next(30 * time.Second); d != 30*time.Second {
		t.Errorf("Retry-After 30s: waited %v", d)
	}
	now := time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{"": 0, "7": 7 * time.Second, "-1": 0, "soon": 0,
		"Thu, 26 Nov 2026 17:00:09 GMT": 9 * time.Second, "99999999": maxRetryAfter} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("Retry-After %q: %v; want %v", in, got, want)
		}
	}
	for status, want := range map[int]verdict{200: verdictDone, 204: verdictDone, 400: verdictDrop, 401: verdictDrop,
		409: verdictDrop, 413: verdictDrop, 429: verdictRetry, 500: verdictRetry, 503: verdictRetry, 302: verdictDrop} {
		if got := classify(status); got != want {
			t.Errorf("status %d: verdict %d; want %d", status, got, want)
		}
	}
}

func TestInfluxLines(t *testing.T) {
	lines := []byte(`{"timestamp":"2026-11-26T17:20:06.123Z","client":"c 1","name":"cpu,usage","value":75.5,"type":"gauge","tags":{"z":"1","host":"a=b","empty":"","client":"x"}}` + "\n" +
		`{"timestamp":"2026-11-26T17:20:06.124Z","client":"","name":"n","value":1000000,"type":"counter"}` + "\n" +
		"not a line\n")
	body, r := newInfluxEncoder().encode(lines)
	if r.samples != 2 || r.invalid != 1 || r.firstBadOff != len(lines)-len("not a line\n") {
		t.Fatalf("result %+v", r)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(zr)
	want := "cpu\\,usage,client=c\\ 1,host=a\\=b,z=1 value=75.5 1795713606123\nn value=1000000 1795713606124\n"
	if string(text) != want {
		t.Errorf("got\n%s\nwant\n%s", text, want)
	}
}

func TestSubjectCovered(t *testing.T) {
	for _, c := range []struct {
		filters []string
		subject string
		want    bool
	}{
		{[]string{"metrics.edge1"}, "metrics.edge1", true},
		{[]string{"metrics.*"}, "metrics.edge1", true},
		{[]string{"metrics.>"}, "metrics.07.edge1", true},
		{[]string{"metrics.*"}, "metrics.07.edge1", false},
		{[]string{"other", "metrics.edge2"}, "metrics.edge1", false},
	} {
		if got := subjectCovered(c.filters, c.subject); got != c.want {
			t.Errorf("%v covers %s: %v; want %v", c.filters, c.subject, got, c.want)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"timestamp":"2026-11-26T17:20:06.123Z","client":"client-1","name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"}}`))
	f.Add([]byte(`{"timestamp":"2026-11-26T17:20:06.123Z","client":"\ud83d\ude00","name":"\u00e9\"","value":-1e-7,"type":"gauge"}`))
	f.Add([]byte(`{"timestamp":"0000-01-01T00:00:00.000Z","client":"","name":"x","value":0,"type":"","tags":{}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var p lineParser
		var s Sample
		if err := p.parse(line, &s); err != nil {
			var le *lineError
			if !errors.As(err, &le) || le.Offset < 0 || le.Offset > len(line) {
				t.Fatalf("error %v outside the line", err)
			}
			return
		}
		if len(s.Name) == 0 {
			t.Fatal("parsed a line without a name")
		}
		e := newRWEncoder()
		if _, r := e.encode(append(bytes.Clone(line), '\n')); r.samples != 1 {
			t.Fatalf("a parsed line does not encode: %+v", r)
		}
	})
}

// TestSinksShareBackground: every sink of a forwarder cuts and encodes on the forwarder's one
// set of background threads, half the processors (at least one) plus one, so the sinks together
// never take more; the niceness is Config.Nice, DefaultNice when zero.
func TestSinksShareBackground(t *testing.T) {
	for _, tc := range []struct{ nice, want int }{{0, DefaultNice}, {7, 7}, {-1, -1}} {
		f, err := New(Config{Dir: t.TempDir(), Nice: tc.nice, Sinks: []SinkConfig{
			{URL: "http://127.0.0.1:1/api/v1/write"}, {URL: "http://127.0.0.1:2/write"}, {URL: "http://127.0.0.1:3/api/v2/write"},
		}, Logger: (&logBuffer{}).logger()})
		if err != nil {
			t.Fatal(err)
		}
		if want := max(1, runtime.GOMAXPROCS(0)/2) + 1; f.Threads() != want || f.bg.nice != tc.want {
			t.Errorf("Nice %d: %d threads at niceness %d; want %d at %d", tc.nice, f.Threads(), f.bg.nice, want, tc.want)
		}
		for _, s := range f.sinks {
			hs, ok := s.kind.(*httpSink)
			if !ok {
				t.Fatalf("sink %s is a %T; want *httpSink", s.name, s.kind)
			}
			if hs.bg != f.bg || s.bg != f.bg {
				t.Errorf("sink %s: background %p (encodes) and %p (cuts); want the forwarder's %p", s.name, hs.bg, s.bg, f.bg)
			}
		}
		if err := f.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(Config{Dir: t.TempDir(), Nice: MaxNice + 1, Sinks: []SinkConfig{{URL: "http://127.0.0.1:1/write"}}}); err == nil {
		t.Errorf("Nice %d accepted", MaxNice+1)
	}
}
