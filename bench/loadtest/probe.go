package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// probeTimeout bounds one connect and one request-answer exchange of
// [WaitReady] and [OpenIdle].
const probeTimeout = 2 * time.Second

// readyPoll is the pause between two readiness probes.
const readyPoll = 20 * time.Millisecond

// WaitReady polls addr until a TCP connect succeeds and a GET of path on a
// fresh connection answers 200, or ctx ends. The caller bounds the wait with
// ctx and should also cancel it when the server process exits, so a server
// that failed to start is noticed at once. The returned error wraps the
// last probe's failure.
func WaitReady(ctx context.Context, addr, path string) error {
	var last error
	for {
		err := probe(ctx, addr, path)
		if err == nil {
			return nil
		}
		// A probe cut short by the deadline says less than the one before.
		if last == nil || ctx.Err() == nil {
			last = err
		}
		t := time.NewTimer(readyPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("loadtest: %s not ready: %w (last probe: %v)", addr, ctx.Err(), last)
		case <-t.C:
		}
	}
}

// probe makes one GET of path on a new connection closed afterwards.
func probe(ctx context.Context, addr, path string) error {
	d := net.Dialer{Timeout: probeTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return get(c, addr, path, false)
}

// get sends one GET of path on c and reads the whole answer, which must be
// 200. With keepAlive false it asks the server to close the connection.
func get(c net.Conn, addr, path string, keepAlive bool) error {
	if err := c.SetDeadline(time.Now().Add(probeTimeout)); err != nil {
		return err
	}
	conn := "keep-alive"
	if !keepAlive {
		conn = "close"
	}
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n", path, addr, conn); err != nil {
		return err
	}
	// A small reader: a probe answer is a few hundred bytes, and OpenIdle
	// makes ten thousand of them.
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 1024), nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("loadtest: GET %s answered %s", path, resp.Status)
	}
	if keepAlive && resp.Close {
		return fmt.Errorf("loadtest: GET %s: server closes the connection", path)
	}
	return c.SetDeadline(time.Time{})
}

// IdleConns is a set of open keep-alive connections, each of which has
// made one request and sits idle. It is owned by the goroutine that called
// [OpenIdle]; Close releases every connection.
type IdleConns struct {
	conns []net.Conn
}

// Len is the number of open connections.
func (ic *IdleConns) Len() int { return len(ic.conns) }

// Close closes every connection. It is safe to call more than once.
func (ic *IdleConns) Close() {
	for _, c := range ic.conns {
		c.Close()
	}
	ic.conns = nil
}

// OpenIdle opens n connections to addr, parallel at a time, and makes one
// keep-alive GET of path (answered 200) on each, so the server holds n real
// HTTP connections that are idle between requests. The process needs an
// open-files limit above n. On error every connection opened so far is
// closed.
func OpenIdle(ctx context.Context, addr, path string, n, parallel int) (*IdleConns, error) {
	if n < 0 {
		return nil, errors.New("loadtest: negative connection count")
	}
	parallel = max(1, min(parallel, n))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)

	var (
		mu       sync.Mutex // guards conns and firstErr
		conns    = make([]net.Conn, 0, n)
		firstErr error
		wg       sync.WaitGroup
	)
	for range parallel {
		wg.Go(func() {
			d := net.Dialer{Timeout: probeTimeout}
			for range next {
				if ctx.Err() != nil {
					return
				}
				c, err := d.DialContext(ctx, "tcp", addr)
				if err == nil {
					if err = get(c, addr, path, true); err != nil {
						c.Close()
					}
				}
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("loadtest: idle connection %d: %w", len(conns)+1, err)
					}
					cancel()
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	ic := &IdleConns{conns: conns}
	if firstErr == nil && ctx.Err() != nil && len(conns) < n {
		firstErr = fmt.Errorf("loadtest: idle connections: %w", ctx.Err())
	}
	if firstErr != nil {
		ic.Close()
		return nil, firstErr
	}
	return ic, nil
}
