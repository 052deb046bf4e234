package bench

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

func TestReadResponse(t *testing.T) {
	type want struct {
		status  int
		close   bool
		bodyLen int64
		body    string
		err     error // matched with errors.Is; nil means success
	}
	cases := []struct {
		name string
		in   string
		want want
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{\"success\":true,\"metrics_processed\":10}",
			want{status: 200, bodyLen: 39, body: `{"success":true,"metrics_processed":10}`}},
		{"case-insensitive headers", "HTTP/1.1 429 Too Many Requests\r\ncontent-LENGTH:  2\r\nCONNECTION: Close\r\n\r\n{}",
			want{status: 429, close: true, bodyLen: 2, body: "{}"}},
		{"no reason phrase", "HTTP/1.1 204\r\n\r\n", want{status: 204}},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n,\r\nA\r\n world!!!!\r\n0\r\nX-Trailer: 1\r\n\r\n",
			want{status: 200, bodyLen: 16, body: "hello, world!!!!"}},
		{"chunked with LF only", "HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\n\n3\nabc\n0\n\n",
			want{status: 200, bodyLen: 3, body: "abc"}},
		{"http/1.0 closes by default", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", want{status: 200, close: true}},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", want{status: 200}},
		{"interim 100 skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx",
			want{status: 201, bodyLen: 1, body: "x"}},
		{"body until EOF", "HTTP/1.1 200 OK\r\n\r\nsome body", want{status: 200, close: true, bodyLen: 9, body: "some body"}},
		{"304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", want{status: 304}},
		{"eof before anything", "", want{err: io.EOF}},
		{"bad status line", "HTTP/1.1 2xx OK\r\n\r\n", want{err: ErrMalformedResponse}},
		{"not http", "SSH-2.0-OpenSSH_9.0\r\n", want{err: ErrMalformedResponse}},
		{"version 2", "HTTP/2.0 200 OK\r\n\r\n", want{err: ErrMalformedResponse}},
		{"bad header line", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", want{err: ErrMalformedResponse}},
		{"bad content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", want{err: ErrMalformedResponse}},
		{"conflicting content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", want{err: ErrMalformedResponse}},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", want{err: ErrMalformedResponse}},
		{"huge chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", want{err: ErrMalformedResponse}},
		{"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n0\r\n\r\n", want{err: ErrMalformedResponse}},
		{"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", want{err: io.ErrUnexpectedEOF}},
		{"truncated headers", "HTTP/1.1 200 OK\r\nContent-Len", want{err: io.ErrUnexpectedEOF}},
		{"truncated chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", want{err: io.ErrUnexpectedEOF}},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte per read", iotest.OneByteReader},
		{"half reads", iotest.HalfReader},
	}
	for _, c := range cases {
		for _, rd := range readers {
			t.Run(c.name+"/"+rd.name, func(t *testing.T) {
				br := bufio.NewReaderSize(rd.wrap(strings.NewReader(c.in)), 64)
				got, err := ReadResponse(br, make([]byte, 0, 64))
				if c.want.err != nil {
					if !errors.Is(err, c.want.err) {
						t.Fatalf("got error %v; want %v", err, c.want.err)
					}
					return
				}
				if err != nil {
					t.Fatalf("got error %v; want none", err)
				}
				if got.Status != c.want.status || got.Close != c.want.close || got.BodyLen != c.want.bodyLen || string(got.Body) != c.want.body {
					t.Fatalf("got status %d close %v len %d body %q; want %d %v %d %q",
						got.Status, got.Close, got.BodyLen, got.Body, c.want.status, c.want.close, c.want.bodyLen, c.want.body)
				}
			})
		}
	}
}

func TestReadResponseCapturesPrefixAndKeepsFraming(t *testing.T) {
	body := strings.Repeat("0123456789", 100)
	in := "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + body +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3E8\r\n" + body + "\r\n0\r\n\r\n" +
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\nno"
	br := bufio.NewReaderSize(iotest.HalfReader(strings.NewReader(in)), 64)
	for i, want := range []int{200, 200, 503} {
		got, err := ReadResponse(br, make([]byte, 0, 16))
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if got.Status != want {
			t.Fatalf("response %d: status %d; want %d", i, got.Status, want)
		}
		if want == 200 && (got.BodyLen != 1000 || string(got.Body) != body[:16]) {
			t.Fatalf("response %d: len %d body %q; want 1000 and %q", i, got.BodyLen, got.Body, body[:16])
		}
	}
	if _, err := ReadResponse(br, nil); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last response got %v; want io.EOF", err)
	}
}

func TestReadResponseLongLine(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("a", 200) + "\r\n\r\n"
	_, err := ReadResponse(bufio.NewReaderSize(strings.NewReader(in), 64), nil)
	if !errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("got %v; want ErrMalformedResponse", err)
	}
}

// cannedServer accepts connections on 127.0.0.1:0 and answers each request
// (a line "REQ <n>\n", n = body length, then n bytes) with reply(i, conn
// index). It closes a connection after a reply that holds "Connection: close".
type cannedServer struct {
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
	accepted int
}

func startCannedServer(t *testing.T, reply func(req int) string) *cannedServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &cannedServer{ln: ln}
	s.wg.Go(func() {
		req := 0
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.accepted++
			s.mu.Unlock()
			br := bufio.NewReader(c)
			for {
				if _, err := br.ReadString('\n'); err != nil {
					break
				}
				out := reply(req)
				req++
				if _, err := io.WriteString(c, out); err != nil || strings.Contains(out, "Connection: close") {
					break
				}
			}
			c.Close()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *cannedServer) acceptedConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

func TestClientReusesAndReconnects(t *testing.T) {
	srv := startCannedServer(t, func(req int) string {
		if req == 1 {
			return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	})
	c := NewClient(srv.ln.Addr().String(), 5*time.Second)
	defer c.Close()
	for i := range 4 {
		resp, err := c.Do(context.Background(), []byte("REQ\n"))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if resp.Status != 200 || string(resp.Body) != "ok" {
			t.Fatalf("request %d: got %d %q; want 200 \"ok\"", i, resp.Status, resp.Body)
		}
		if wantConnected := i != 1; c.Connected() != wantConnected {
			t.Fatalf("request %d: Connected() = %v; want %v", i, c.Connected(), wantConnected)
		}
	}
	if got := srv.acceptedConns(); got != 2 {
		t.Fatalf("server accepted %d connections; want 2 (one reconnect after Connection: close)", got)
	}
}

func TestClientErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := NewClient(addr, time.Second)
	_, err = c.Do(context.Background(), []byte("REQ\n"))
	if got := ErrorKind(err); got != ErrKindConnect {
		t.Fatalf("connect to closed port: kind %q (%v); want %q", got, err, ErrKindConnect)
	}

	// A server that accepts but never answers: the request times out.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c = NewClient(silent.Addr().String(), 50*time.Millisecond)
	_, err = c.Do(context.Background(), []byte("REQ\n"))
	if got := ErrorKind(err); got != ErrKindTimeout {
		t.Fatalf("silent server: kind %q (%v); want %q", got, err, ErrKindTimeout)
	}
	if c.Connected() {
		t.Fatal("client still connected after an error")
	}
}
