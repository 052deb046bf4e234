package main

// Integration tests of the InfluxDB line-protocol endpoints against the real
// binary: the official Go client (a test-only dependency) writes through
// /api/v2/write with and without gzip, raw line protocol on /write must
// store exactly what the same samples sent as JSON store, a bad line
// refuses its whole batch, and the client's "Token" authorization works
// with -auth-file.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"
)

// ecoEncodingRecorder is an http.RoundTripper that remembers the
// Content-Encoding of every request it forwards, to prove what the client
// really sent. Its methods may be called from any goroutine.
type ecoEncodingRecorder struct {
	next http.RoundTripper

	mu        sync.Mutex // guards encodings
	encodings []string
}

func (r *ecoEncodingRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.encodings = append(r.encodings, req.Header.Get("Content-Encoding"))
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *ecoEncodingRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.encodings)
}

// ecoCanonical turns stored lines into sorted canonical JSON texts so that
// two sets compare independently of order and of tag order. An empty tag
// set and an absent one are the same.
func ecoCanonical(t *testing.T, lines []ecoStoredLine) []string {
	t.Helper()
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l.Tags) == 0 {
			l.Tags = nil
		}
		b, err := json.Marshal(l) // map keys come out sorted
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	slices.Sort(out)
	return out
}

func TestInfluxClientWritesV2(t *testing.T) {
	const token = "influx-token" // without -auth-file the token is the client id
	ts1 := time.UnixMilli(1764172800123).Add(456789 * time.Nanosecond)
	ts2 := time.UnixMilli(1764172800500)

	for _, gz := range []bool{false, true} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		t.Run(name, func(t *testing.T) {
			p := startProc(t, t.TempDir(), "-ack", "written")
			rec := &ecoEncodingRecorder{next: http.DefaultTransport.(*http.Transport).Clone()}
			hc := &http.Client{Transport: rec, Timeout: 10 * time.Second}
			opts := influxdb2.DefaultOptions().SetUseGZip(gz).SetHTTPClient(hc)
			client := influxdb2.NewClientWithOptions("http://"+p.addr, token, opts)
			defer client.Close()
			w := client.WriteAPIBlocking("edge-org", "edge-bucket")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			// Points the client encodes itself: escaped tag values, every
			// field type, a nanosecond timestamp that is cut to milliseconds.
			cpu := write.NewPoint("cpu",
				map[string]string{"host": "server 1", "region": "eu,west", "rack": "a=b"},
				map[string]any{"value": 75.5, "idle": 24.5, "user": int64(12), "busy": true, "note": "strings are not stored"},
				ts1)
			disk := write.NewPointWithMeasurement("disk").
				AddTag("mount", "/var").
				AddField("free", uint64(1)<<40).
				AddField("used_ratio", -0.125).
				SetTime(ts2)
			if err := w.WritePoint(ctx, cpu, disk); err != nil {
				t.Fatalf("WritePoint: %v\n%s", err, p.logs.String())
			}

			// A point without a time takes the server's receive time.
			before := time.Now().UnixMilli()
			mem := write.NewPoint("mem", map[string]string{"host": "é"}, map[string]any{"value": 1024.0}, time.Time{})
			if err := w.WritePoint(ctx, mem); err != nil {
				t.Fatalf("WritePoint without time: %v", err)
			}
			after := time.Now().UnixMilli()

			// Raw records, several in one request.
			if err := w.WriteRecord(ctx,
				"net,iface=eth0 rx=10i,tx=20i 1764172800999000000",
				"temp value=21.5 1764172800999000001",
			); err != nil {
				t.Fatalf("WriteRecord: %v", err)
			}

			want := []ecoStoredLine{
				{"2025-11-26T16:00:00.123Z", token, "cpu", 75.5, "gauge", map[string]string{"host": "server 1", "region": "eu,west", "rack": "a=b"}},
				{"2025-11-26T16:00:00.123Z", token, "cpu_idle", 24.5, "gauge", map[string]string{"host": "server 1", "region": "eu,west", "rack": "a=b"}},
				{"2025-11-26T16:00:00.123Z", token, "cpu_user", 12, "gauge", map[string]string{"host": "server 1", "region": "eu,west", "rack": "a=b"}},
				{"2025-11-26T16:00:00.123Z", token, "cpu_busy", 1, "gauge", map[string]string{"host": "server 1", "region": "eu,west", "rack": "a=b"}},
				{"2025-11-26T16:00:00.500Z", token, "disk_free", 1 << 40, "gauge", map[string]string{"mount": "/var"}},
				{"2025-11-26T16:00:00.500Z", token, "disk_used_ratio", -0.125, "gauge", map[string]string{"mount": "/var"}},
				{"receive time", token, "mem", 1024, "gauge", map[string]string{"host": "é"}},
				{"2025-11-26T16:00:00.999Z", token, "net_rx", 10, "gauge", map[string]string{"iface": "eth0"}},
				{"2025-11-26T16:00:00.999Z", token, "net_tx", 20, "gauge", map[string]string{"iface": "eth0"}},
				{"2025-11-26T16:00:00.999Z", token, "temp", 21.5, "gauge", nil},
			}
			got := ecoDecodeLines(t, ecoSegmentLines(t, p.dir))
			for i := range got {
				if got[i].Name != "mem" {
					continue
				}
				ts, err := time.Parse(time.RFC3339Nano, got[i].Timestamp)
				if err != nil || ts.UnixMilli() < before || ts.UnixMilli() > after {
					t.Errorf("mem stored at %q; want the receive time, between %d and %d ms", got[i].Timestamp, before, after)
				}
				got[i].Timestamp = "receive time"
			}
			if g, wc := ecoCanonical(t, got), ecoCanonical(t, want); !slices.Equal(g, wc) {
				t.Fatalf("stored lines differ\ngot:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(wc, "\n"))
			}

			wantEnc := ""
			if gz {
				wantEnc = "gzip"
			}
			encs := rec.seen()
			if len(encs) != 3 {
				t.Fatalf("client sent %d requests; want 3 (one per blocking write)", len(encs))
			}
			for i, e := range encs {
				if e != wantEnc {
					t.Errorf("request %d: Content-Encoding %q; want %q", i, e, wantEnc)
				}
			}
			ecoStopProc(t, p)
		})
	}
}

func TestInfluxLineProtocolMatchesJSON(t *testing.T) {
	// Each case holds the same samples twice: as line protocol for /write
	// and as a JSON batch for /metrics, metrics in the order the line
	// protocol yields them (lines in order, fields in order). Both must
	// store byte-identical lines.
	cases := []struct {
		name      string
		precision string
		lp        string
		json      string
	}{
		{
			name:      "tags and several fields",
			precision: "ms",
			lp: "cpu,host=server1,region=eu-west value=75.5,idle=24.5,user=12i 1764172800123\n" +
				"cpu,host=server2,region=eu-west value=50,idle=50 1764172800456\n",
			json: `{"metrics":[
				{"name":"cpu","value":75.5,"tags":{"host":"server1","region":"eu-west"},"timestamp":1764172800123},
				{"name":"cpu_idle","value":24.5,"tags":{"host":"server1","region":"eu-west"},"timestamp":1764172800123},
				{"name":"cpu_user","value":12,"tags":{"host":"server1","region":"eu-west"},"timestamp":1764172800123},
				{"name":"cpu","value":50,"tags":{"host":"server2","region":"eu-west"},"timestamp":1764172800456},
				{"name":"cpu_idle","value":50,"tags":{"host":"server2","region":"eu-west"},"timestamp":1764172800456}]}`,
		},
		{
			name:      "escapes and unicode",
			precision: "ms",
			lp:        `disk\ usage,mount=/var\ lib,dev=sd\,a,k\=v=x\=y value=1.5e3,free=-2.25 1764172800999` + "\n" + `température,lieu=salle\ 1 value=21.5 1764172801000`,
			json: `{"metrics":[
				{"name":"disk usage","value":1500,"tags":{"mount":"/var lib","dev":"sd,a","k=v":"x=y"},"timestamp":1764172800999},
				{"name":"disk usage_free","value":-2.25,"tags":{"mount":"/var lib","dev":"sd,a","k=v":"x=y"},"timestamp":1764172800999},
				{"name":"temp\u00e9rature","value":21.5,"tags":{"lieu":"salle 1"},"timestamp":1764172801000}]}`,
		},
		{
			name:      "booleans, integers and unsigned",
			precision: "ms",
			lp:        "flags,host=a up=true,down=F,count=-7i,big=18446744073709551615u,small=1e-9 0",
			json: `{"metrics":[
				{"name":"flags_up","value":1,"tags":{"host":"a"},"timestamp":0},
				{"name":"flags_down","value":0,"tags":{"host":"a"},"timestamp":0},
				{"name":"flags_count","value":-7,"tags":{"host":"a"},"timestamp":0},
				{"name":"flags_big","value":18446744073709551615,"tags":{"host":"a"},"timestamp":0},
				{"name":"flags_small","value":1e-9,"tags":{"host":"a"},"timestamp":0}]}`,
		},
		{
			name:      "string fields skipped, no tags, comments",
			precision: "ms",
			lp:        "# deploy marker\napp latency=0.25,msg=\"hello, world\" 1764172800000\n\napp value=3 1764172800001\r\n",
			json: `{"metrics":[
				{"name":"app_latency","value":0.25,"timestamp":1764172800000},
				{"name":"app","value":3,"timestamp":1764172800001}]}`,
		},
		{
			name:      "nanosecond precision cut to milliseconds",
			precision: "ns",
			lp:        "lat,svc=api value=0.5 1764172800123999999\nlat,svc=api value=0.75 1764172800124000000",
			json: `{"metrics":[
				{"name":"lat","value":0.5,"tags":{"svc":"api"},"timestamp":1764172800123},
				{"name":"lat","value":0.75,"tags":{"svc":"api"},"timestamp":1764172800124}]}`,
		},
		{
			name:      "seconds precision",
			precision: "s",
			lp:        "up value=1 1764172800",
			json:      `{"metrics":[{"name":"up","value":1,"timestamp":"2025-11-26T16:00:00Z"}]}`,
		},
	}

	jsonProc := startProc(t, t.TempDir(), "-ack", "written")
	lpProc := startProc(t, t.TempDir(), "-ack", "written")
	auth := http.Header{"Authorization": {"Bearer diff-client"}}
	seen := 0 // lines of both data dirs already compared
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ecoPost(t, jsonProc.addr, "/metrics", auth, []byte(tc.json))
			if status != http.StatusOK {
				t.Fatalf("JSON: %d %s", status, body)
			}
			status, body = ecoPost(t, lpProc.addr, "/write?db=edge&precision="+tc.precision, auth, []byte(tc.lp))
			if status != http.StatusNoContent || body != "" {
				t.Fatalf("line protocol: %d %q; want 204 without a body", status, body)
			}
			jl, ll := ecoSegmentLines(t, jsonProc.dir), ecoSegmentLines(t, lpProc.dir)
			if len(jl) <= seen || len(ll) <= seen {
				t.Fatalf("nothing new stored: %d JSON lines, %d line-protocol lines, %d before", len(jl), len(ll), seen)
			}
			jl, ll = jl[seen:], ll[seen:]
			// Values are stored as the client spelled them (codec copies validated
			// number text verbatim), so "1500" and "1.5e3" are the same value: compare
			// the lines as decoded JSON, and byte for byte everything but the values.
			if !sameStoredLines(t, jl, ll) {
				t.Fatalf("stored lines differ\nfrom JSON:\n%s\nfrom line protocol:\n%s", strings.Join(jl, "\n"), strings.Join(ll, "\n"))
			}
			for _, l := range ecoDecodeLines(t, ll) {
				if l.Client != "diff-client" {
					t.Errorf("client %q; want diff-client", l.Client)
				}
			}
			seen += len(jl)
		})
		if t.Failed() {
			break // later cases would compare misaligned lines
		}
	}
	ecoStopProc(t, jsonProc)
	ecoStopProc(t, lpProc)
}

func TestInfluxBadLineRejectsBatch(t *testing.T) {
	cases := []struct {
		name string
		body string
		want string // substring of the error text
	}{
		{"missing field value", "cpu value=1 1\ncpu value=2 2\ncpu value= 3\ncpu value=4 4", "line 3 "},
		{"bad timestamp", "cpu value=1 1\ncpu value=2 soon", "line 2 "},
		{"unterminated string", "cpu value=1 1\n\n# comment\nlog msg=\"open", "line 4 "},
		{"no fields", "cpu,host=a value=1\ncpu,host=a", "line 2 "},
		{"bad float", "cpu value=1 1\ncpu value=1.2.3 1", "line 2 "},
	}
	p := startProc(t, t.TempDir(), "-ack", "written")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ecoPost(t, p.addr, "/write?db=edge&precision=ms", nil, []byte(tc.body))
			if status != http.StatusBadRequest {
				t.Fatalf("status %d %s; want 400", status, body)
			}
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Error, tc.want) {
				t.Fatalf("error body %s; want {\"error\":...} naming %q", body, tc.want)
			}
		})
	}

	// The official client on /api/v2/write sees the refusal as a 400.
	client := influxdb2.NewClientWithOptions("http://"+p.addr, "tok", influxdb2.DefaultOptions().SetUseGZip(true))
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := client.WriteAPIBlocking("o", "b").WriteRecord(ctx, "cpu value=1 1", "cpu value=x 2")
	var herr *influxhttp.Error
	if !errors.As(err, &herr) || herr.StatusCode != http.StatusBadRequest {
		t.Fatalf("client error %v; want an HTTP 400", err)
	}
	// X-Influxdb-Error carries our message to the client's user.
	if !strings.Contains(herr.Message, "line 2") {
		t.Fatalf("client error message %q; want the line number from X-Influxdb-Error", herr.Message)
	}
	t.Logf("influxdb client reports the refusal as: %v", err)

	// A good batch after them is stored alone: the writer is FIFO, so had
	// any refused line been queued it would be on disk before these.
	status, body := ecoPost(t, p.addr, "/api/v2/write?org=o&bucket=b&precision=ms", nil, []byte("ok value=1 1764172800000\nok value=2 1764172800001"))
	if status != http.StatusNoContent {
		t.Fatalf("good batch: %d %s", status, body)
	}
	lines := ecoDecodeLines(t, ecoSegmentLines(t, p.dir))
	if len(lines) != 2 || lines[0].Name != "ok" || lines[0].Value != 1 || lines[1].Name != "ok" || lines[1].Value != 2 {
		t.Fatalf("stored %+v; want only the two lines of the good batch", lines)
	}
	ecoStopProc(t, p)
}

func TestInfluxClientAuthToken(t *testing.T) {
	// The client sends "Authorization: Token <token>"; with -auth-file the
	// stored client id is the one the file maps the token to.
	authFile := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(authFile, []byte("# token client-id\ns3cret-influx edge-gateway\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, t.TempDir(), "-ack", "written", "-auth-file", authFile)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cases := []struct {
		token  string
		status int // 0: accepted
	}{
		{"s3cret-influx", 0},
		{"wrong-token", http.StatusUnauthorized},
		{"", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		client := influxdb2.NewClientWithOptions("http://"+p.addr, tc.token, influxdb2.DefaultOptions())
		err := client.WriteAPIBlocking("o", "b").WriteRecord(ctx, "auth_check value=1 1764172800000000000")
		client.Close()
		var herr *influxhttp.Error
		switch {
		case tc.status == 0 && err != nil:
			t.Errorf("token %q: %v", tc.token, err)
		case tc.status != 0 && (!errors.As(err, &herr) || herr.StatusCode != tc.status):
			t.Errorf("token %q: error %v; want HTTP %d", tc.token, err, tc.status)
		}
	}
	lines := ecoDecodeLines(t, ecoSegmentLines(t, p.dir))
	if len(lines) != 1 || lines[0].Client != "edge-gateway" || lines[0].Name != "auth_check" {
		t.Fatalf("stored %+v; want one auth_check line from client edge-gateway", lines)
	}
	if strings.Contains(p.logs.String(), "s3cret-influx") {
		t.Errorf("the token appears in the server log")
	}
	ecoStopProc(t, p)
}

// sameStoredLines reports whether two lists of stored lines hold the same
// metrics: equal as decoded JSON (numbers as float64) line by line.
func sameStoredLines(t *testing.T, a, b []string) bool {
	t.Helper()
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		var x, y map[string]any
		if err := json.Unmarshal([]byte(a[i]), &x); err != nil {
			t.Fatalf("stored line %d is not JSON: %v: %s", i, err, a[i])
		}
		if err := json.Unmarshal([]byte(b[i]), &y); err != nil {
			t.Fatalf("stored line %d is not JSON: %v: %s", i, err, b[i])
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}
