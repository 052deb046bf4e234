package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"metricstream/storage"
)

// Batches are counted when storage acknowledges them, so a client that
// leaves before reading its answers still counts: batches_processed and
// metrics_received agree with metrics_written.
func TestCountedAtAcknowledgement(t *testing.T) {
	for _, ack := range []storage.AckMode{storage.AckQueued, storage.AckWritten, storage.AckSynced} {
		t.Run(ack.String(), func(t *testing.T) {
			s := startServer(t, func(c *Config) { c.Ack = ack; c.Rate = 0; c.RateSet = true })
			const batches = 100 // under DefaultMaxPipeline: all are read
			var all strings.Builder
			for range batches {
				all.WriteString(postMetrics(sampleBatch))
			}
			c, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write([]byte(all.String())); err != nil {
				t.Fatal(err)
			}
			c.(*net.TCPConn).SetLinger(0) // leave at once, reading nothing
			c.Close()
			// Storage counts a batch written before it calls the batch's
			// Ack, which counts it as processed: the counters agree once
			// every Ack ran, not at the moment metrics_written is complete.
			var st Snapshot
			deadline := time.Now().Add(10 * time.Second)
			for {
				st = s.Stats()
				if st.MetricsWritten == 2*batches && st.BatchesProcessed == batches && st.MetricsReceived == 2*batches {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 10 s: batches_processed %d, metrics_received %d, metrics_written %d; want %d, %d and %d",
						st.BatchesProcessed, st.MetricsReceived, st.MetricsWritten, batches, 2*batches, 2*batches)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if st.Errors[reasonUnavailable] != 0 {
				t.Fatalf("errors.unavailable %d; want 0", st.Errors[reasonUnavailable])
			}
		})
	}
}

// Every refusal is counted under its own reason, whether the request was
// refused at its head (Expect: 100-continue) or once complete.
func TestRefusalsCountedByReason(t *testing.T) {
	cases := []struct {
		name   string
		req    string
		status int
		why    reason
	}{
		{"unknown path", "POST /nope HTTP/1.1\r\nContent-Length: 2\r\n", 404, reasonNotFound},
		{"wrong method", "POST /health HTTP/1.1\r\nContent-Length: 2\r\n", 405, reasonMethodNotAllowed},
		{"unknown coding", "POST /metrics HTTP/1.1\r\nContent-Encoding: br\r\nContent-Length: 2\r\n", 415, reasonUnsupportedMedia},
		{"long client id", "POST /metrics HTTP/1.1\r\nAuthorization: Bearer " + strings.Repeat("x", 300) + "\r\nContent-Length: 2\r\n", 400, reasonBadRequest},
		{"stats query", "POST /query?q=SELECT+1 HTTP/1.1\r\nContent-Length: 2\r\n", 400, reasonBadRequest},
	}
	for _, expect := range []bool{true, false} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/expect=%v", tc.name, expect), func(t *testing.T) {
				s := startServer(t, nil)
				rc := dial(t, s)
				head := tc.req
				if expect {
					head += "Expect: 100-continue\r\n"
				}
				if expect {
					rc.send(head + "\r\n")
				} else {
					rc.send(head + "\r\n{}")
				}
				resp := rc.response("POST")
				if expect && resp.StatusCode == 100 { // a query is read before it is refused
					rc.send("{}")
					resp = rc.response("POST")
				}
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d; want %d (%s)", resp.StatusCode, tc.status, body(t, resp))
				}
				st := s.Stats()
				for i, n := range st.Errors {
					want := uint64(0)
					if reason(i) == tc.why {
						want = 1
					}
					if n != want {
						t.Errorf("errors.%s = %d; want %d", reasons[i].name, n, want)
					}
				}
			})
		}
	}
}

// countingHandler is a slog.Handler that counts the records whose message
// is msg.
type countingHandler struct {
	msg string
	n   *atomic.Int64
}

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }

// A connection closed because its unread input passed the bound is marked
// closing at once: nothing more is parsed from it, and it is closed once.
func TestUnreadBoundClosesOnce(t *testing.T) {
	var closes atomic.Int64
	s := startServer(t, func(c *Config) {
		c.MaxOutbound = 16 << 10
		c.MaxHeaderBytes = 256
		c.MaxBodyBytes = 1024
		c.Logger = slog.New(countingHandler{msg: "closing connection: unread input over bound", n: &closes})
	})
	rc := dial(t, s)
	req := strings.Repeat("GET /metrics HTTP/1.1\r\n\r\n", 400)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sent := 0; sent < 32<<20; sent += len(req) {
			rc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(rc.c, req); err != nil {
				return // the server closed the connection
			}
		}
	}()
	eventually(t, 20*time.Second, "connection closed by the server", func() bool { return s.openConns.Load() == 0 })
	<-done
	if n := closes.Load(); n != 1 {
		t.Fatalf("%d closes for one connection over the unread bound; want 1", n)
	}
}

// fixedStats is an Extra appender with fixed output.
type fixedStats struct{}

func (fixedStats) AppendJSON(dst []byte) []byte {
	return append(dst, `,"extra":[{"sink":"vm","sent":3}]`...)
}

func (fixedStats) AppendPrometheus(dst []byte) []byte {
	return append(dst, "# HELP metricstream_extra_sent_total Batches sent.\n# TYPE metricstream_extra_sent_total counter\nmetricstream_extra_sent_total{sink=\"vm\"} 3\n"...)
}

// Config.Extra appenders appear in GET /metrics, in both formats.
func TestExtraStats(t *testing.T) {
	s := startServer(t, func(c *Config) { c.Extra = []StatsAppender{fixedStats{}, fixedStats{}} })
	rc := dial(t, s)
	rc.send("GET /metrics HTTP/1.1\r\n\r\n")
	var m map[string]any
	if b := body(t, rc.response("GET")); json.Unmarshal([]byte(b), &m) != nil || m["extra"] == nil || m["metrics_received"] == nil {
		t.Fatalf("JSON statistics without the extra member, or not JSON: %s", b)
	}
	rc.send("GET /metrics?format=prometheus HTTP/1.1\r\n\r\n")
	text := body(t, rc.response("GET"))
	if strings.Count(text, `metricstream_extra_sent_total{sink="vm"} 3`) != 2 || !strings.Contains(text, "metricstream_requests_total") {
		t.Fatalf("Prometheus text without both extras:\n%s", text)
	}
}
