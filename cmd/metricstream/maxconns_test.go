package main

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// procFDs counts the descriptors process pid holds, from /proc/PID/fd:
// apart from a few files, its sockets. Only the entries are listed (no
// readlink), so that a sample takes microseconds and misses no short peak.
func procFDs(f *os.File) int {
	if _, err := f.Seek(0, 0); err != nil {
		return -1
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return -1
	}
	return len(names)
}

// Past -max-conns, each event loop may hold the one connection it has
// just accepted while it refuses it: the server under test has loops of
// them. transientFiles allows for descriptors of files the server holds for
// a moment during the test and not at its start (the data directory, which
// the store opens to sync it).
const (
	loops          = 2
	transientFiles = 2
)

// TestMaxConnsSocketsBounded opens 1000 connections at once against
// -max-conns 200 while sampling the sockets the server holds: never more
// than -max-conns plus one per event loop, even for an instant.
func TestMaxConnsSocketsBounded(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc to count the server's sockets")
	}
	const maxConns, total = 200, 1000
	p := startProc(t, t.TempDir(), "-max-conns", strconv.Itoa(maxConns), "-loops", strconv.Itoa(loops))
	fdDir, err := os.Open("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	defer fdDir.Close()
	base := procFDs(fdDir) // the listener, segment files, pollers, logs
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if n := int64(procFDs(fdDir) - base); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	conns := make(chan net.Conn, total)
	start := make(chan struct{})
	for range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start // every client dials at once
			c, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
			if err != nil {
				refused.Add(1) // the backlog overflowed: refused before accept
				return
			}
			conns <- c
			_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := bufio.NewReader(c).ReadByte(); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					admitted.Add(1) // no answer: the server keeps it open
					return
				}
			}
			refused.Add(1)
		}()
	}
	close(start)
	wg.Wait()
	close(stop)
	<-sampled
	close(conns)
	for c := range conns {
		c.Close()
	}
	t.Logf("%d admitted, %d refused; peak descriptors held past those at start: %d", admitted.Load(), refused.Load(), peak.Load())
	if admitted.Load() > maxConns {
		t.Errorf("%d connections admitted; want at most %d", admitted.Load(), maxConns)
	}
	if got := peak.Load(); got > maxConns+loops+transientFiles {
		t.Fatalf("the server held %d descriptors more than at start; want at most -max-conns %d + one per event loop (%d) + %d transient files",
			got, maxConns, loops, transientFiles)
	}
}
