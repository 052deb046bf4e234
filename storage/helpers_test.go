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

// skipWithoutUring skips t when this kernel has no io_uring writer.
func skipWithoutUring(t testing.TB) {
	t.Helper()
	be, err := newUringBackend(func() {})
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

// openT opens a store driven by a test loop and closes it when the test ends (a second Close is
// harmless).
func openT(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := openDriven(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = closeStore(s) })
	return s
}

// driver plays the event loops of a store in tests: one goroutine owns every stream, runs the
// closures it is given (appends) and each stream's Flush when Wake asks for it.
type driver struct {
	tasks chan func()
	flush chan struct{} // capacity 1
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// drivers maps each store opened by openDriven to its driver.
var drivers sync.Map

// openDriven opens a store whose streams are owned by a new driver goroutine.
func openDriven(cfg Config) (*Store, error) {
	d := &driver{tasks: make(chan func()), flush: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	cfg.Wake = func(int) {
		select {
		case d.flush <- struct{}{}:
		default:
		}
	}
	s, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	drivers.Store(s, d)
	go d.run(s)
	return s, nil
}

func (d *driver) run(s *Store) {
	defer close(d.done)
	for {
		select {
		case f := <-d.tasks:
			f()
		case <-d.flush:
			for i := range s.Loops() {
				s.Stream(i).Flush()
			}
		case <-d.quit:
			return
		}
	}
}

// on runs f on s's driver goroutine and waits for it.
func on(s *Store, f func()) {
	v, _ := drivers.Load(s)
	d := v.(*driver)
	ran := make(chan struct{})
	select {
	case d.tasks <- func() { f(); close(ran) }:
		<-ran
	case <-d.done:
		f() // the driver stopped (the store is closing): the caller owns the streams
	}
}

// closeStore stops accepting, stops s's driver (as the server stops its loops) and closes s.
func closeStore(s *Store) error {
	s.closed.Store(true)
	if v, ok := drivers.Load(s); ok {
		d := v.(*driver)
		d.once.Do(func() { close(d.quit) })
		<-d.done
	}
	return s.Close()
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

// idAcker records its ack in log, runs check (on the stream's owner) and signals done.
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
	var err error
	on(s, func() { err = s.Stream(0).Append(buf, metrics, a) })
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

// seg0 is the file name of loop 0's segment seq.
func seg0(seq uint64) string { return SegmentRef{Loop: 0, Seq: seq}.FileName() }

// segmentFiles lists the segments in dir, ascending.
func segmentFiles(t *testing.T, dir string) []SegmentInfo {
	t.Helper()
	segs, err := ListSegments(dir)
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
		b, err := os.ReadFile(filepath.Join(dir, seg.Ref.FileName()))
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
// and read by the stream's owner (the driver goroutine) under mu.
type faultBackend struct {
	inner backend

	mu        sync.Mutex
	maxWrite  int   // > 0: each writev writes at most this many bytes (short writes)
	writeErr  error // non-nil: every writev writes partial bytes, then fails with writeErr
	partial   int
	syncErr   error // non-nil: the next syncFails fdatasyncs fail with it
	syncFails int
	gate      chan struct{} // non-nil: the next submission signals entered and stays outstanding until gate closes
	entered   chan struct{}

	wake func()     // the stream's wake-up, for a released submission
	held *heldWrite // owner only: the outstanding held submission

	written atomic.Int64 // bytes written through this backend (probes included)
	synced  atomic.Int64 // value of written at the last successful fdatasync
}

func (fb *faultBackend) wrap(inner backend, wake func()) backend {
	fb.inner, fb.wake = inner, wake
	return fb
}

// hold makes the next submission stay outstanding until the returned function is called.
func (fb *faultBackend) hold(t *testing.T) (release func()) {
	t.Helper()
	fb.mu.Lock()
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	fb.gate, fb.entered = gate, entered
	fb.mu.Unlock()
	return func() { close(gate) }
}

// waitEntered waits until the held submission has been made.
func (fb *faultBackend) waitEntered(t *testing.T) {
	t.Helper()
	fb.mu.Lock()
	entered := fb.entered
	fb.mu.Unlock()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream never submitted")
	}
}

func (fb *faultBackend) set(f func(fb *faultBackend)) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	f(fb)
}

func (fb *faultBackend) writev(f *os.File, bufs [][]byte, off int64, sync bool) (int, error, error) {
	fb.mu.Lock()
	maxWrite, writeErr, partial := fb.maxWrite, fb.writeErr, fb.partial
	fb.mu.Unlock()
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

// start runs the (faulty) write. A held submission stays outstanding, as a late io_uring
// completion does: the write happens once the test releases it, when the stream polls (after the
// wake-up the release triggers) or waits.
func (fb *faultBackend) start(f *os.File, bufs [][]byte, off int64, sync bool) (result, bool) {
	fb.mu.Lock()
	gate, entered := fb.gate, fb.entered
	fb.gate = nil
	fb.mu.Unlock()
	if gate == nil {
		return fb.run(f, bufs, off, sync), true
	}
	fb.held = &heldWrite{gate: gate, f: f, bufs: bufs, off: off, sync: sync}
	entered <- struct{}{}
	go func() {
		<-gate
		fb.wake()
	}()
	return result{}, false
}

// heldWrite is a submission the test holds. Owned by the stream's owner.
type heldWrite struct {
	gate chan struct{}
	f    *os.File
	bufs [][]byte
	off  int64
	sync bool
}

func (fb *faultBackend) run(f *os.File, bufs [][]byte, off int64, sync bool) result {
	n, syncErr, err := fb.writev(f, bufs, off, sync)
	return result{n: n, syncErr: syncErr, err: err}
}

func (fb *faultBackend) poll() (result, bool) {
	h := fb.held
	if h == nil {
		return result{}, true
	}
	select {
	case <-h.gate:
		fb.held = nil
		return fb.run(h.f, h.bufs, h.off, h.sync), true
	default:
		return result{}, false
	}
}

func (fb *faultBackend) wait() result {
	if h := fb.held; h != nil {
		<-h.gate
	}
	r, _ := fb.poll()
	return r
}

// datasync is an fdatasync that the injected sync faults apply to.
func (fb *faultBackend) datasync(f *os.File) error {
	fb.mu.Lock()
	if fb.syncFails > 0 {
		fb.syncFails--
		err := fb.syncErr
		fb.mu.Unlock()
		return err
	}
	fb.mu.Unlock()
	if err := fdatasyncFile(f); err != nil {
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
