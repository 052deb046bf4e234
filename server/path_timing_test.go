package server

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"

	"metricstream/storage"
)

// fakeConn stands in for a gnet connection so that the request path can be
// driven without sockets: inbound holds what the client sent, Write counts
// what the server answered. Only the methods the server calls are real.
type fakeConn struct {
	gnet.Conn // nil: any other method panics
	in        []byte
	ctx       any
	written   int
}

func (f *fakeConn) Peek(n int) ([]byte, error) {
	if n <= 0 || n > len(f.in) {
		return f.in, nil
	}
	return f.in[:n], nil
}
func (f *fakeConn) Discard(n int) (int, error) {
	if n <= 0 || n >= len(f.in) {
		n = len(f.in)
	}
	f.in = f.in[n:]
	return n, nil
}
func (f *fakeConn) InboundBuffered() int          { return len(f.in) }
func (f *fakeConn) OutboundBuffered() int         { return 0 }
func (f *fakeConn) Write(p []byte) (int, error)   { f.written += len(p); return len(p), nil }
func (f *fakeConn) Wake(gnet.AsyncCallback) error { return nil }
func (f *fakeConn) Close() error                  { return nil }
func (f *fakeConn) Fd() int                       { return -1 }
func (f *fakeConn) RemoteAddr() net.Addr          { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (f *fakeConn) Context() any                  { return f.ctx }
func (f *fakeConn) SetContext(c any)              { f.ctx = c }

// benchRequest is a POST of 10 metrics with 2 tags each, as wrk sends it.
func benchRequest() []byte {
	body := `{"metrics":[`
	for i := range 10 {
		if i > 0 {
			body += ","
		}
		body += `{"name":"cpu_usage_` + itoa(i) + `","value":` + itoa(i*7) + `.5,"type":"gauge","tags":{"host":"server` + itoa(i) + `","region":"eu-west"},"timestamp":1764172800123}`
	}
	body += `]}`
	return []byte(postMetrics(body, "Authorization: Bearer bench-client", "User-Agent: wrk"))
}

// endRound runs what a poll round ends with on a loop that batches were
// appended on: its stream's group commit and the acknowledged answers.
func endRound(ls *loopState) {
	ls.stream.Flush()
	ls.answerAcked()
}

// newPathServer builds a server whose store and engine are real but whose
// event loop is driven by hand through a fakeConn.
func newPathServer(tb testing.TB) (*Server, *conn, *fakeConn) {
	tb.Helper()
	cfg := Config{
		Addr: "127.0.0.1:0", Loops: 1, DataDir: tb.TempDir(), Ack: storage.AckQueued, Writer: storage.WriterFile,
		Rate: 1e9, RateSet: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s.engine.Start()
	tb.Cleanup(func() {
		s.engine.Stop()
		s.store.Close()
	})
	ls := newLoopState(s, nil)
	ls.stream = s.store.Stream(0)
	fc := &fakeConn{}
	c := newConn(ls, fc)
	fc.SetContext(c)
	return s, c, fc
}

// BenchmarkRequestPath measures one request through the whole path: HTTP
// parse, JSON decode and validation, rate-limit decision, ring event, line
// encoding, the loop's group commit (one per request here), answer rendering.
func BenchmarkRequestPath(b *testing.B) {
	_, c, fc := newPathServer(b)
	req := benchRequest()
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	now := time.Now()
	for b.Loop() {
		fc.in = req
		c.process(now)
		endRound(c.ls)
	}
	if fc.written == 0 {
		b.Fatal("no answers written")
	}
}

// BenchmarkRequestPathPipelined is the same with 16 requests per read.
func BenchmarkRequestPathPipelined(b *testing.B) {
	_, c, fc := newPathServer(b)
	one := benchRequest()
	var req []byte
	for range 16 {
		req = append(req, one...)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	now := time.Now()
	for b.Loop() {
		fc.in = req
		c.process(now)
		endRound(c.ls)
	}
}
