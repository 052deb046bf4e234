package storage

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// writerNames are the backends every suite test runs against.
var writerNames = []string{WriterFile, WriterIOURing}

// forEachWriter runs f as a subtest per backend available in this build and on this kernel.
func forEachWriter(t *testing.T, f func(t *testing.T, writer string)) {
	t.Helper()
	for _, w := range writerNames {
		t.Run(w, func(t *testing.T) {
			if w == WriterIOURing {
				skipWithoutUring(t)
			}
			f(t, w)
		})
	}
}

// forEachWriterMode runs f as a subtest per writer and, within it, per ack
// mode.
func forEachWriterMode(t *testing.T, f func(t *testing.T, writer string, mode AckMode)) {
	t.Helper()
	forEachWriter(t, func(t *testing.T, writer string) {
		for _, mode := range ackModes {
			t.Run(mode.String(), func(t *testing.T) { f(t, writer, mode) })
		}
	})
}

// skipWithoutUring skips t when this build or this kernel has no io_uring writer.
func skipWithoutUring(t testing.TB) {
	t.Helper()
	if !uringCompiled {
		t.Skip("io_uring writer not compiled in: run with -tags iouring -ldflags=-checklinkname=0")
	}
	be, _, err := newUringBackend(uringEntries)
	if err != nil {
		t.Skipf("io_uring writer unavailable here: %v", err)
	}
	if err := be.close(); err != nil {
		t.Fatalf("close probe ring: %v", err)
	}
}

var quietLogger = slog.New(slog.DiscardHandler)

// testConfig is a config for dir with fast probes and no logging.
func testConfig(dir, writer string, ack AckMode) Config {
	return Config{Dir: dir, Writer: writer, Ack: ack, Logger: quietLogger, probeInterval: 5 * time.Millisecond}
}

// openT opens a store and closes it when the test ends (a second Close is harmless).
func openT(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// batchContent is the content of test batch id: lines lines padded to about lineBytes each.
func batchContent(id, lines, lineBytes int) []byte {
	var b bytes.Buffer
	for k := 0; k < lines; k++ {
		line := fmt.Sprintf(`{"batch":%d,"line":%d,"pad":"`, id, k)
		b.WriteString(line)
		for i := len(line) + 3; i < lineBytes; i++ {
			b.WriteByte('x')
		}
		b.WriteString("\"}\n")
	}
	return b.Bytes()
}

// chanAcker delivers the ack on a channel (capacity 1: one outstanding batch per acker).
type chanAcker chan error

func (a chanAcker) Ack(err error) { a <- err }

// ackLog records every ack: order of successful ids, and how often each id was acked.
type ackLog struct {
	mu     sync.Mutex
	order  []int
	counts map[int]int
	errs   map[int]error
}

func newAckLog() *ackLog { return &ackLog{counts: map[int]int{}, errs: map[int]error{}} }

func (l *ackLog) record(id int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[id]++
	if err != nil {
		l.errs[id] = err
		return
	}
	l.order = append(l.order, id)
}

// idAcker records its ack in log, runs check (on the writer goroutine) and signals done.
type idAcker struct {
	log   *ackLog
	id    int
	check func(err error)
	done  chan error
}

func (a *idAcker) Ack(err error) {
	if a.check != nil {
		a.check(err)
	}
	a.log.record(a.id, err)
	if a.done != nil {
		a.done <- err
	}
}

// appendBytes copies content into a pooled buffer and appends it.
func appendBytes(s *Store, content []byte, metrics int, a Acker) error {
	buf := GetBuffer()
	buf.B = append(buf.B, content...)
	err := s.Append(buf, metrics, a)
	if err != nil {
		PutBuffer(buf)
	}
	return err
}

// appendWait appends content and waits for its ack (or fails the test on a timeout).
func appendWait(t *testing.T, s *Store, content []byte) error {
	t.Helper()
	a := make(chanAcker, 1)
	if err := appendBytes(s, content, 1, a); err != nil {
		return err
	}
	select {
	case err := <-a:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no ack within 10s")
		return nil
	}
}

// segmentFiles lists the segment sequence numbers in dir, ascending.
func segmentFiles(t *testing.T, dir string) []segInfo {
	t.Helper()
	segs, err := scanSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

// readAll concatenates the segments in dir in order.
func readAll(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	for _, seg := range segmentFiles(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, segmentName(seg.seq)))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling interval, not synchronisation
	}
}

// faultBackend wraps a real backend and injects faults. The knobs are set by the test goroutine
// and read by the writer goroutine under mu.
type faultBackend struct {
	inner backend

	mu        sync.Mutex
	maxWrite  int   // > 0: each writev writes at most this many bytes (short writes)
	writeErr  error // non-nil: every writev writes partial bytes, then fails with writeErr
	partial   int
	syncErr   error // non-nil: the next syncFails fdatasyncs fail with it
	syncFails int
	gate      chan struct{} // non-nil: the next writev signals entered and waits for gate to close
	entered   chan struct{}

	written atomic.Int64 // bytes written through this backend (probes included)
	synced  atomic.Int64 // value of written at the last successful fdatasync
}

func (fb *faultBackend) wrap(inner backend) backend {
	fb.inner = inner
	return fb
}

// hold makes the next writev block; it returns once the writer is blocked in it, and the returned
// function releases it.
func (fb *faultBackend) hold(t *testing.T) (release func()) {
	t.Helper()
	fb.mu.Lock()
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	fb.gate, fb.entered = gate, entered
	fb.mu.Unlock()
	return func() { close(gate) }
}

// waitEntered waits until the held writev has been entered.
func (fb *faultBackend) waitEntered(t *testing.T) {
	t.Helper()
	fb.mu.Lock()
	entered := fb.entered
	fb.mu.Unlock()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("writer never entered writev")
	}
}

func (fb *faultBackend) set(f func(fb *faultBackend)) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	f(fb)
}

func (fb *faultBackend) writev(f *os.File, bufs [][]byte, off int64, sync bool) (int, error, error) {
	fb.mu.Lock()
	gate, entered := fb.gate, fb.entered
	fb.gate = nil
	maxWrite, writeErr, partial := fb.maxWrite, fb.writeErr, fb.partial
	fb.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		<-gate
	}
	want := iovecBytes(bufs)
	if writeErr != nil {
		n := 0
		if p := min(partial, want); p > 0 {
			var err error
			n, _, err = fb.inner.writev(f, truncateIovecs(bufs, p), off, false)
			if err != nil {
				return 0, nil, err
			}
			fb.written.Add(int64(n))
		}
		return n, nil, writeErr
	}
	if maxWrite > 0 && want > maxWrite {
		n, _, err := fb.inner.writev(f, truncateIovecs(bufs, maxWrite), off, false)
		fb.written.Add(int64(n))
		return n, nil, err
	}
	fb.mu.Lock()
	failSync := fb.syncFails > 0
	fb.mu.Unlock()
	if !failSync {
		// The real submission, linked fdatasync included.
		n, syncErr, err := fb.inner.writev(f, bufs, off, sync)
		fb.written.Add(int64(n))
		if sync && err == nil && n == want && syncErr == nil {
			fb.synced.Store(fb.written.Load())
		}
		return n, syncErr, err
	}
	n, _, err := fb.inner.writev(f, bufs, off, false)
	fb.written.Add(int64(n))
	if err != nil || n < want || !sync {
		return n, nil, err
	}
	return n, fb.datasync(f), nil
}

func (fb *faultBackend) datasync(f *os.File) error {
	fb.mu.Lock()
	if fb.syncFails > 0 {
		fb.syncFails--
		err := fb.syncErr
		fb.mu.Unlock()
		return err
	}
	fb.mu.Unlock()
	if err := fb.inner.datasync(f); err != nil {
		return err
	}
	fb.synced.Store(fb.written.Load())
	return nil
}

func (fb *faultBackend) close() error { return fb.inner.close() }

// truncateIovecs returns the first n bytes of bufs as a new list.
func truncateIovecs(bufs [][]byte, n int) [][]byte {
	var out [][]byte
	for _, b := range bufs {
		if n == 0 {
			break
		}
		k := min(n, len(b))
		out = append(out, b[:k])
		n -= k
	}
	return out
}

// faultConfig is testConfig with fb wrapped around the selected backend.
func faultConfig(dir, writer string, ack AckMode, fb *faultBackend) Config {
	cfg := testConfig(dir, writer, ack)
	cfg.wrapBackend = fb.wrap
	return cfg
}

// syncBuffer is a goroutine-safe bytes.Buffer for capturing logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func mustContain(t *testing.T, what, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%s = %q; want it to contain %q", what, s, sub)
	}
}

var errInjected = errors.New("injected fault")
