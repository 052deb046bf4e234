package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/bytebufferpool"
)

// Defaults for the zero values of Config.
const (
	// DefaultSegmentBytes is the segment size used when Config.SegmentBytes <= 0.
	DefaultSegmentBytes = 128 << 20
	// DefaultQueueBytes is the queue bound used when Config.QueueBytes <= 0.
	DefaultQueueBytes = 64 << 20
	// DefaultProbeInterval is how often a failing writer checks whether writing works again.
	DefaultProbeInterval = 500 * time.Millisecond
)

// Writer names accepted by Config.Writer and reported by Stats.Writer.
const (
	WriterAuto    = "auto"
	WriterIOURing = "io_uring"
	WriterFile    = "file"
)

// Sentinel errors of the package; test with errors.Is.
var (
	// ErrQueueFull: accepting the batch would take the queued bytes past Config.QueueBytes.
	// The caller answers 503 with Retry-After; the batch was not taken.
	ErrQueueFull = errors.New("storage: queue full")
	// ErrUnavailable: the writer is failing to write (Health reports why). The caller answers 503.
	ErrUnavailable = errors.New("storage: unavailable")
	// ErrClosed: Close has been called.
	ErrClosed = errors.New("storage: closed")
	// ErrNotLines: the appended buffer does not end with '\n', so it is not whole lines.
	ErrNotLines = errors.New("storage: batch does not end with a newline")
)

// AckMode says when an appended batch counts as done. The zero value is AckWritten, the default
// of the product.
type AckMode uint8

const (
	// AckWritten: the batch has been written to the segment file (it survives a kill -9 of the
	// process, not a power loss).
	AckWritten AckMode = iota
	// AckQueued: the batch is acknowledged when Append returns nil. The writer keeps it queued
	// until it is written, across write failures; it is lost only by a crash or power loss
	// before that, or when Close cannot write it.
	AckQueued
	// AckSynced: the batch has been written and fdatasync(2)ed (it survives a power loss).
	AckSynced
)

// ParseAckMode parses "queued", "written" or "synced".
func ParseAckMode(s string) (AckMode, error) {
	switch s {
	case "queued":
		return AckQueued, nil
	case "written":
		return AckWritten, nil
	case "synced":
		return AckSynced, nil
	}
	return 0, fmt.Errorf("storage: unknown ack mode %q (want queued, written or synced)", s)
}

// String returns the name ParseAckMode accepts.
func (m AckMode) String() string {
	switch m {
	case AckQueued:
		return "queued"
	case AckWritten:
		return "written"
	case AckSynced:
		return "synced"
	}
	return fmt.Sprintf("AckMode(%d)", uint8(m))
}

// Config configures a Store. Only Dir is required.
type Config struct {
	// Dir holds the segment files; Open creates it (and its parents) when missing.
	Dir string
	// SegmentBytes is the size after which a new segment is started; a batch is never split, so
	// a segment exceeds it only when it holds a single batch larger than SegmentBytes.
	// <= 0 selects DefaultSegmentBytes (128 MiB).
	SegmentBytes int64
	// MaxDiskBytes bounds the total size of the segments: after each rotation the oldest closed
	// segments are deleted until the total is at most MaxDiskBytes. The current segment is never
	// deleted. 0 (or negative) means no limit.
	MaxDiskBytes int64
	// QueueBytes bounds the bytes accepted by Append and not yet written (including the
	// submission in flight). <= 0 selects DefaultQueueBytes (64 MiB); it never disables the bound.
	QueueBytes int64
	// Ack is when a batch counts as done; the zero value is AckWritten.
	Ack AckMode
	// Writer selects the backend: "auto" (or "") uses io_uring when it is compiled in (build tag
	// iouring) and the kernel lets the ring be set up, else the file writer; "io_uring" makes
	// Open fail when io_uring is not available; "file" is the plain pwritev+fdatasync writer.
	Writer string
	// Logger receives the start-up choice, repairs, failures and recoveries; nil selects
	// slog.Default().
	Logger *slog.Logger

	// The fields below are for tests only.

	// probeInterval overrides DefaultProbeInterval.
	probeInterval time.Duration
	// uringSetupErr, when non-nil, makes io_uring setup fail with it (before touching the kernel).
	uringSetupErr error
	// wrapBackend, when non-nil, wraps the selected backend (fault injection).
	wrapBackend func(backend) backend
}

// Acker receives the fate of one appended batch. Ack is called on the writer goroutine, exactly
// once per successful Append (never for a failed Append), in queue order: after the batch is
// written (AckWritten, AckQueued) or written and fdatasynced (AckSynced). err != nil means the
// batch is NOT durable (it was not written, or its fdatasync failed). Ack must not block: it
// delays every batch behind it. It may call Append, never Close (Close waits for the writer).
type Acker interface {
	Ack(err error)
}

// bufPool holds the buffers batches are encoded into. It is separate from bytebufferpool's default
// pool so that its size calibration follows batch sizes only.
var bufPool bytebufferpool.Pool

// GetBuffer returns an empty pooled buffer to encode a batch's lines into. Hand it to Append, or
// give it back with PutBuffer when Append fails or the batch is dropped.
func GetBuffer() *bytebufferpool.ByteBuffer { return bufPool.Get() }

// PutBuffer returns a buffer obtained from GetBuffer that the caller still owns (Append failed).
// buf must not be used afterwards.
func PutBuffer(buf *bytebufferpool.ByteBuffer) { bufPool.Put(buf) }

// Stats is a snapshot of the Store's counters.
type Stats struct {
	BytesWritten    uint64 // bytes of batches written to segments
	MetricsWritten  uint64 // metrics (as passed to Append) of batches written
	Batches         uint64 // batches written
	Submissions     uint64 // write submissions (pwritev calls / io_uring Pwritev SQEs)
	Syncs           uint64 // successful fdatasync calls
	Segments        int    // segment files present, the current one included
	SegmentsDeleted uint64 // segments deleted by the MaxDiskBytes retention
	BytesDeleted    uint64 // bytes of those segments
	QueueBytes      int64  // bytes accepted and not yet written
	Writer          string // "io_uring" or "file"
	WriterReason    string // why that writer was chosen
	Ack             string // ack mode name
	WriteErrors     uint64 // failed writes, fdatasyncs, segment creations (not probes)
	RepairedBytes   int64  // bytes cut from torn segment tails at Open
}

// Store appends batches of encoded JSON lines to segment files. Append, Health and Stats are safe
// from any goroutine; all file I/O happens on one writer goroutine, which owns the files, the
// backend and the write offset.
type Store struct {
	cfg  Config
	log  *slog.Logger
	q    queue
	w    *writer       // owned by the writer goroutine until done is closed
	be   backend       // owned by the writer goroutine; closed by Close after done
	done chan struct{} // closed when the writer goroutine has finished

	// health is nil while writing works; otherwise it points at the reason. Written by the writer
	// goroutine, read by Append and Health.
	health atomic.Pointer[error]

	writerName, writerReason string // immutable after Open

	stats struct {
		bytesWritten, metricsWritten, batches, submissions, syncs atomic.Uint64
		segmentsDeleted, bytesDeleted, writeErrors                atomic.Uint64
		segments                                                  atomic.Int64
		repairedBytes                                             atomic.Int64
	}

	closeOnce sync.Once
	closeErr  error // set inside closeOnce
}

// queue is the hand-off between appenders and the writer goroutine.
type queue struct {
	// bytes counts bytes accepted and not yet completed; Append reserves with Add, the writer
	// releases after the batch is acked.
	bytes atomic.Int64
	// takenAt is when the writer last took the queue (UnixNano) and fresh
	// the bytes appended since (changed under mu, read without it), for
	// Backlog.
	takenAt atomic.Int64
	fresh   atomic.Int64
	// closedFast mirrors closed for Append's lock-free early exit.
	closedFast atomic.Bool
	// wake has capacity 1: an Append that finds it full knows the writer is already due to look.
	wake chan struct{}
	// closeCh is closed by Close; it interrupts every wait of the writer.
	closeCh chan struct{}

	mu sync.Mutex // guards items and closed; held only to append one batch or to swap the slice
	// items are the accepted batches in acceptance order; the writer swaps the slice out.
	items  []batch
	closed bool
}

// batch is one Append: whole lines, the metric count for statistics, and who to tell.
type batch struct {
	buf     *bytebufferpool.ByteBuffer
	metrics int
	acker   Acker
}

// Open creates Dir when missing, repairs torn segment tails, selects the backend, opens a segment
// and starts the writer goroutine. It fails when the directory cannot be used, when Writer is
// "io_uring" and io_uring is not available, or when a torn tail cannot be truncated.
func Open(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("storage: no data directory configured")
	}
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = DefaultSegmentBytes
	}
	if cfg.MaxDiskBytes < 0 {
		cfg.MaxDiskBytes = 0
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	if cfg.probeInterval <= 0 {
		cfg.probeInterval = DefaultProbeInterval
	}
	if cfg.Writer == "" {
		cfg.Writer = WriterAuto
	}
	switch cfg.Ack {
	case AckQueued, AckWritten, AckSynced:
	default:
		return nil, fmt.Errorf("storage: invalid ack mode %d", cfg.Ack)
	}
	switch cfg.Writer {
	case WriterAuto, WriterIOURing, WriterFile:
	default:
		return nil, fmt.Errorf("storage: unknown writer %q (want auto, io_uring or file)", cfg.Writer)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: create data directory: %w", err)
	}
	unlock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	s := &Store{
		cfg:  cfg,
		log:  logger,
		done: make(chan struct{}),
	}
	s.q.wake = make(chan struct{}, 1)
	s.q.closeCh = make(chan struct{})

	segs, err := scanSegments(cfg.Dir)
	if err != nil {
		unlock()
		return nil, err
	}
	for i := range segs {
		cut, err := repairTail(cfg.Dir, &segs[i], logger)
		if err != nil {
			unlock()
			return nil, err
		}
		s.stats.repairedBytes.Add(cut)
	}

	be, name, reason, err := selectBackend(cfg)
	if err != nil {
		unlock()
		return nil, err
	}
	if cfg.wrapBackend != nil {
		be = cfg.wrapBackend(be)
	}
	s.be, s.writerName, s.writerReason = be, name, reason

	s.w = newWriter(s, segs, unlock)
	if err := s.w.start(); err != nil {
		_ = be.close()
		unlock()
		return nil, err
	}
	logger.Info("storage: writer started", "writer", name, "reason", reason, "ack", cfg.Ack.String(),
		"dir", cfg.Dir, "segment", segmentName(s.w.cur.seq), "segment_bytes", cfg.SegmentBytes,
		"max_disk_bytes", cfg.MaxDiskBytes, "queue_bytes", cfg.QueueBytes)
	go s.w.run()
	return s, nil
}

// Append queues buf (whole lines, ending with '\n') for writing. On success the Store owns buf
// and returns it to the pool after writing; a holds a reference until Ack has been called.
// In AckQueued mode a may be nil and the caller answers right away; otherwise a is called once
// the batch is written (or synced, or failed). Append never blocks: the critical section is one
// slice append under a mutex shared only with the writer's slice swap.
//
// Errors: ErrQueueFull, ErrUnavailable, ErrClosed, ErrNotLines. On error the caller still owns buf
// and a is never called.
func (s *Store) Append(buf *bytebufferpool.ByteBuffer, metrics int, a Acker) error {
	n := int64(len(buf.B))
	if n > 0 && buf.B[n-1] != '\n' {
		return ErrNotLines
	}
	if s.q.closedFast.Load() {
		return ErrClosed
	}
	if s.health.Load() != nil {
		return ErrUnavailable
	}
	if s.q.bytes.Add(n) > s.cfg.QueueBytes {
		s.q.bytes.Add(-n)
		return ErrQueueFull
	}
	s.q.mu.Lock()
	if s.q.closed {
		s.q.mu.Unlock()
		s.q.bytes.Add(-n)
		return ErrClosed
	}
	s.q.items = append(s.q.items, batch{buf: buf, metrics: metrics, acker: a})
	s.q.fresh.Add(n)
	s.q.mu.Unlock()
	select {
	case s.q.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	return nil
}

// Close stops accepting (Append returns ErrClosed), drains the queue, writes it, fdatasyncs the
// current segment (in every ack mode), closes the files and the backend. Every accepted batch gets
// its Ack. It returns the first error of the final write or sync; it is idempotent and later
// calls return the same result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.q.mu.Lock()
		s.q.closed = true
		s.q.mu.Unlock()
		s.q.closedFast.Store(true)
		close(s.q.closeCh)
		<-s.done
		s.closeErr = errors.Join(s.w.finalErr, s.be.close())
	})
	return s.closeErr
}

// Health returns nil while writing works; otherwise the reason (for GET /health 503). A failing
// store recovers by itself once the writer's probe succeeds.
func (s *Store) Health() error {
	if p := s.health.Load(); p != nil {
		return *p
	}
	if s.q.closedFast.Load() {
		return ErrClosed
	}
	return nil
}

// Backlog reports the bytes appended that the writer has not taken yet and
// how long ago it last took the queue: two atomic loads, for callers that
// share a processor with the writer and pace themselves on it.
func (s *Store) Backlog(nowNs int64) (bytes int64, sinceTake time.Duration) {
	return s.q.fresh.Load(), time.Duration(nowNs - s.q.takenAt.Load())
}

// Stats returns a snapshot of the counters. Safe from any goroutine; the fields are read one by
// one, so a snapshot taken during a write may mix before and after.
func (s *Store) Stats() Stats {
	return Stats{
		BytesWritten:    s.stats.bytesWritten.Load(),
		MetricsWritten:  s.stats.metricsWritten.Load(),
		Batches:         s.stats.batches.Load(),
		Submissions:     s.stats.submissions.Load(),
		Syncs:           s.stats.syncs.Load(),
		Segments:        int(s.stats.segments.Load()),
		SegmentsDeleted: s.stats.segmentsDeleted.Load(),
		BytesDeleted:    s.stats.bytesDeleted.Load(),
		QueueBytes:      s.q.bytes.Load(),
		Writer:          s.writerName,
		WriterReason:    s.writerReason,
		Ack:             s.cfg.Ack.String(),
		WriteErrors:     s.stats.writeErrors.Load(),
		RepairedBytes:   s.stats.repairedBytes.Load(),
	}
}
