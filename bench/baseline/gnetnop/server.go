// Package gnetnop is the I/O ceiling: a gnet v2 server, one event loop per
// core, that frames HTTP/1.1 requests minimally (end of headers, then a
// Content-Length body) and answers every one with a fixed
// 200 {"success":true,"metrics_processed":10}, doing no other work. No
// server that parses, validates and stores the batches can beat it on the
// same machine; the gap to it is the cost of that work.
//
// It does not implement HTTP beyond that: chunked bodies, Expect and error
// statuses are out of scope. A request whose headers exceed 8 KiB or whose
// Content-Length is invalid or above 4 MiB closes the connection.
package gnetnop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
)

const (
	maxHeaderBytes = 8 << 10
	maxBodyBytes   = 4 << 20
	responseBody   = `{"success":true,"metrics_processed":10}`
)

// ErrNotStarted is returned by Start when the engine stopped before it
// booted.
var ErrNotStarted = errors.New("gnetnop: engine did not start")

// Config configures a [Server].
type Config struct {
	// Addr is the listen address, e.g. ":8080" or "127.0.0.1:0".
	Addr string
	// Loops is the number of event loops; zero means one per CPU.
	Loops int
}

// Server is a running nop server.
type Server struct {
	eng  gnet.Engine
	addr net.Addr
	done chan error // receives gnet.Run's result once
	h    *handler
}

// handler implements gnet.EventHandler. response is replaced once a second
// by OnTick (its own goroutine) and read by every event loop.
type handler struct {
	gnet.BuiltinEventEngine
	booted   chan gnet.Engine
	response atomic.Pointer[[]byte]
}

// Start listens on cfg.Addr and serves in the background until Shutdown.
func Start(cfg Config) (*Server, error) {
	h := &handler{booted: make(chan gnet.Engine, 1)}
	h.refresh(time.Now())
	s := &Server{done: make(chan error, 1), h: h}
	opts := []gnet.Option{
		gnet.WithMulticore(cfg.Loops == 0),
		gnet.WithTicker(true),
		gnet.WithLogger(quietLogger{}),
		gnet.WithReuseAddr(true),
	}
	if cfg.Loops > 0 {
		opts = append(opts, gnet.WithNumEventLoop(cfg.Loops))
	}
	go func() { s.done <- gnet.Run(h, "tcp://"+cfg.Addr, opts...) }()
	select {
	case s.eng = <-h.booted:
	case err := <-s.done:
		if err == nil {
			err = ErrNotStarted
		}
		return nil, fmt.Errorf("gnetnop: run: %w", err)
	}
	addr, err := listenAddr(s.eng)
	if err != nil {
		s.Shutdown(context.Background())
		return nil, err
	}
	s.addr = addr
	return s, nil
}

// listenAddr asks the kernel for the bound address of the engine's
// listener (the configured port may have been 0).
func listenAddr(eng gnet.Engine) (net.Addr, error) {
	fd, err := eng.Dup()
	if err != nil {
		return nil, fmt.Errorf("gnetnop: dup listener: %w", err)
	}
	defer syscall.Close(fd)
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("gnetnop: getsockname: %w", err)
	}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}, nil
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}, nil
	default:
		return nil, fmt.Errorf("gnetnop: unexpected listener address %T", sa)
	}
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.addr }

// Shutdown stops the engine (gnet closes every connection) and waits for
// it until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.eng.Stop(ctx)
	select {
	case rerr := <-s.done:
		if err == nil {
			err = rerr
		}
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}

// refresh rebuilds the fixed response with the Date of now.
func (h *handler) refresh(now time.Time) {
	b := fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		now.UTC().Format(http.TimeFormat), len(responseBody), responseBody)
	h.response.Store(&b)
}

// OnBoot hands the engine to Start.
func (h *handler) OnBoot(eng gnet.Engine) gnet.Action {
	h.booted <- eng
	return gnet.None
}

// OnTick refreshes the Date header once a second.
func (h *handler) OnTick() (time.Duration, gnet.Action) {
	h.refresh(time.Now())
	return time.Second, gnet.None
}

// OnTraffic answers every complete request buffered on c, in order.
func (h *handler) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Peek(-1)
	consumed, answered := 0, 0
	for consumed < len(buf) {
		n, err := requestLen(buf[consumed:])
		if err != nil {
			return gnet.Close
		}
		if n == 0 {
			break
		}
		consumed += n
		answered++
	}
	if answered == 0 {
		return gnet.None
	}
	resp := *h.response.Load()
	if answered == 1 {
		c.Write(resp) //nolint:errcheck // a failed write closes the conn
	} else {
		bufs := make([][]byte, answered)
		for i := range bufs {
			bufs[i] = resp
		}
		c.Writev(bufs) //nolint:errcheck // a failed write closes the conn
	}
	c.Discard(consumed) //nolint:errcheck // consumed <= buffered
	return gnet.None
}

var (
	errHeaderTooLarge = errors.New("gnetnop: header too large")
	errBadLength      = errors.New("gnetnop: bad content-length")
	crlfcrlf          = []byte("\r\n\r\n")
)

// requestLen returns the length of the complete request at the start of b,
// or 0 when more bytes are needed.
func requestLen(b []byte) (int, error) {
	end := bytes.Index(b, crlfcrlf)
	if end < 0 {
		if len(b) > maxHeaderBytes {
			return 0, errHeaderTooLarge
		}
		return 0, nil
	}
	head := b[:end+2]
	body := 0
	for len(head) > 0 {
		i := bytes.IndexByte(head, '\n')
		line := head[:i+1]
		head = head[i+1:]
		const name = "content-length:"
		if len(line) > len(name) && asciiPrefixFold(line, name) {
			v := bytes.TrimSpace(line[len(name):])
			if len(v) == 0 || len(v) > 8 {
				return 0, errBadLength
			}
			n := 0
			for _, ch := range v {
				if ch < '0' || ch > '9' {
					return 0, errBadLength
				}
				n = n*10 + int(ch-'0')
			}
			if n > maxBodyBytes {
				return 0, errBadLength
			}
			body = n
		}
	}
	total := end + 4 + body
	if len(b) < total {
		return 0, nil
	}
	return total, nil
}

// asciiPrefixFold reports whether b starts with the lower-case prefix,
// ignoring ASCII case.
func asciiPrefixFold(b []byte, prefix string) bool {
	for i := range len(prefix) {
		ch := b[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != prefix[i] {
			return false
		}
	}
	return true
}

// quietLogger drops gnet's debug and info messages (such as the launch
// banner) and passes warnings and errors to the standard logger.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any)            {}
func (quietLogger) Infof(string, ...any)             {}
func (quietLogger) Warnf(format string, args ...any) { log.Printf("gnetnop: gnet: "+format, args...) }
func (quietLogger) Errorf(format string, args ...any) {
	log.Printf("gnetnop: gnet: "+format, args...)
}
func (quietLogger) Fatalf(format string, args ...any) { log.Fatalf("gnetnop: gnet: "+format, args...) }
