package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAppendBatchJSON(t *testing.T) {
	now := time.UnixMilli(1764172800123)
	for _, n := range []int{1, 10, 1000} {
		b := AppendBatch(nil, FormatJSON, n, rand.New(rand.NewPCG(1, 1)), now)
		var got struct {
			Metrics []struct {
				Name      string            `json:"name"`
				Value     *float64          `json:"value"`
				Type      string            `json:"type"`
				Tags      map[string]string `json:"tags"`
				Timestamp int64             `json:"timestamp"`
			} `json:"metrics"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("n=%d: generated JSON does not decode: %v\n%s", n, err, b)
		}
		if len(got.Metrics) != n {
			t.Fatalf("n=%d: got %d metrics", n, len(got.Metrics))
		}
		for i, m := range got.Metrics {
			if m.Name == "" || m.Value == nil || (m.Type != "gauge" && m.Type != "counter") ||
				len(m.Tags) < 2 || len(m.Tags) > 3 || m.Tags["host"] == "" || m.Tags["region"] == "" ||
				m.Timestamp > now.UnixMilli() || m.Timestamp < now.UnixMilli()-10_000 {
				t.Fatalf("n=%d: metric %d is not realistic: %+v", n, i, m)
			}
		}
	}
}

func TestAppendBatchLine(t *testing.T) {
	b := AppendBatch(nil, FormatLine, 50, rand.New(rand.NewPCG(2, 2)), time.UnixMilli(1764172800123))
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("got %d lines; want 50", len(lines))
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 || !strings.Contains(f[0], ",host=server-") || !strings.HasPrefix(f[1], "value=") || len(f[2]) != 13 {
			t.Fatalf("bad line %q", l)
		}
	}
}

func TestRequestPool(t *testing.T) {
	cases := []struct {
		name    string
		cfg     PoolConfig
		clients []string // Authorization values of requests 0, 1, 2, …
	}{
		{"one client", PoolConfig{Host: "h:1", Path: "/metrics", Metrics: 10, Clients: 1, Bodies: 4}, []string{"Bearer client-1", "Bearer client-1"}},
		{"rotating clients", PoolConfig{Host: "h:1", Path: "/metrics", Metrics: 3, Clients: 3, Bodies: 2}, []string{"Bearer client-1", "Bearer client-2", "Bearer client-3", "Bearer client-1"}},
		{"no client", PoolConfig{Host: "h:1", Path: "/metrics", Metrics: 1, Bodies: 1}, []string{"", ""}},
		{"gzip", PoolConfig{Host: "h:1", Path: "/metrics", Metrics: 5, Clients: 1, Gzip: true}, []string{"Bearer client-1"}},
		{"line", PoolConfig{Host: "h:1", Path: "/write?precision=ms", Format: FormatLine, Metrics: 5, Clients: 2}, []string{"Bearer client-1", "Bearer client-2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := NewRequestPool(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var buf []byte
			for i, wantAuth := range c.clients {
				buf = p.AppendRequest(buf[:0], uint64(i))
				req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(buf)))
				if err != nil {
					t.Fatalf("request %d does not parse: %v\n%s", i, err, buf)
				}
				if req.Method != "POST" || req.RequestURI != c.cfg.Path || req.Host != "h:1" {
					t.Fatalf("request %d: got %s %s host %s", i, req.Method, req.RequestURI, req.Host)
				}
				if got := req.Header.Get("Authorization"); got != wantAuth {
					t.Fatalf("request %d: Authorization %q; want %q", i, got, wantAuth)
				}
				var body io.Reader = req.Body
				if c.cfg.Gzip {
					if req.Header.Get("Content-Encoding") != "gzip" {
						t.Fatal("no Content-Encoding: gzip")
					}
					if body, err = gzip.NewReader(req.Body); err != nil {
						t.Fatal(err)
					}
				}
				raw, err := io.ReadAll(body)
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(buf))-req.ContentLength != int64(bytes.Index(buf, []byte("\r\n\r\n"))+4) {
					t.Fatalf("request %d: Content-Length %d does not frame the body", i, req.ContentLength)
				}
				if c.cfg.Format == FormatJSON && !json.Valid(raw) {
					t.Fatalf("request %d: body is not JSON: %s", i, raw)
				}
			}
			if p.MetricsPerRequest() != c.cfg.Metrics || p.MeanBodyBytes() <= 0 {
				t.Fatalf("MetricsPerRequest %d, MeanBodyBytes %d", p.MetricsPerRequest(), p.MeanBodyBytes())
			}
		})
	}
}

func TestAppendRequestDoesNotAllocate(t *testing.T) {
	p, err := NewRequestPool(PoolConfig{Host: "h", Path: "/metrics", Metrics: 10, Clients: 7, Bodies: 16})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 64<<10)
	var i uint64
	if allocs := testing.AllocsPerRun(1000, func() { buf = p.AppendRequest(buf[:0], i); i++ }); allocs != 0 {
		t.Fatalf("AppendRequest allocates %v times; want 0", allocs)
	}
}

func TestParseFormat(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Format
		ok   bool
	}{{"json", FormatJSON, true}, {"line", FormatLine, true}, {"xml", 0, false}} {
		got, err := ParseFormat(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseFormat(%q) = %v, %v", c.in, got, err)
		}
		if c.ok && got.String() != c.in {
			t.Errorf("%v.String() = %q; want %q", got, got.String(), c.in)
		}
	}
}
