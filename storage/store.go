package storage

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/bytebufferpool"
)

// Defaults for the zero values of Config.
const (
	// DefaultSegmentBytes is the segment size used when Config.SegmentBytes <= 0.
	DefaultSegmentBytes = 128 << 20
	// DefaultCacheBytes is the page cache a stream keeps for its newest data in the binary's
	// default configuration (-cache-bytes); Config.CacheBytes 0 turns trimming off.
	DefaultCacheBytes = 64 << 20
	// DefaultQueueBytes is the queue bound used when Config.QueueBytes <= 0.
	DefaultQueueBytes = 64 << 20
	// DefaultProbeInterval is how often a failing stream checks whether writing works again.
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
	// ErrUnavailable: writing is failing (Health reports why). The caller answers 503.
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
	// AckQueued: the batch is acknowledged when Append returns nil. Its stream keeps it queued
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
	// Loops is the number of streams, one per event loop (stream i is owned by loop i).
	// <= 0 selects 1.
	Loops int
	// Wake is called, from any goroutine, when stream loop has work that its owner must do by
	// calling Stream(loop).Flush on its own goroutine: a group commit to submit, a late
	// completion to collect, a failure probe that is due. It must not block. It is not called
	// again for that stream until the next Flush has started. nil: the owners call Flush on
	// their own (benchmarks).
	Wake func(loop int)
	// SegmentBytes is the size after which a stream starts a new segment; a batch is never split,
	// so a segment exceeds it only when it holds a single batch larger than SegmentBytes.
	// <= 0 selects DefaultSegmentBytes (128 MiB).
	SegmentBytes int64
	// MaxDiskBytes bounds the total size of the segments of all streams: after each rotation the
	// oldest closed segments are deleted until the total is at most MaxDiskBytes. The current
	// segment of a stream is never deleted. 0 (or negative) means no limit.
	MaxDiskBytes int64
	// CacheBytes is how much of each stream's newest data stays in the page cache: older written
	// bytes are pushed to disk ahead of the kernel's schedule and dropped from the cache
	// (cache.go). 0 (or negative) leaves the page cache to the kernel; Linux only.
	CacheBytes int64
	// Retention, when non-nil, tells MaxDiskBytes retention which segments a forwarder still
	// needs (see RetentionGuard).
	Retention RetentionGuard
	// QueueBytes bounds the bytes accepted by Append and not yet written, over all streams
	// (including the submissions in flight). <= 0 selects DefaultQueueBytes (64 MiB); it never
	// disables the bound.
	QueueBytes int64
	// Ack is when a batch counts as done; the zero value is AckWritten.
	Ack AckMode
	// Writer selects the backend: "auto" (or "") uses io_uring when the kernel lets a ring be set
	// up (Linux), else the file writer; "io_uring" makes Open fail when io_uring is not available;
	// "file" is the plain pwritev+fdatasync writer.
	Writer string
	// Logger receives the start-up choice, repairs, failures and recoveries; nil selects
	// slog.Default().
	Logger *slog.Logger

	// The fields below are for tests only.

	// probeInterval overrides DefaultProbeInterval.
	probeInterval time.Duration
	// uringSetupErr, when non-nil, makes io_uring setup fail with it (before touching the kernel).
	uringSetupErr error
	// wrapBackend, when non-nil, wraps each stream's backend (fault injection).
	wrapBackend func(be backend, wake func()) backend
}

// RetentionGuard lets MaxDiskBytes retention keep segments that a forwarder still needs. Its
// methods are called from the store's retention goroutine (never from an event loop), possibly
// concurrently with the forwarder's own goroutines.
type RetentionGuard interface {
	// Needed reports whether some sink has not yet acknowledged all of segment ref.
	Needed(ref SegmentRef) bool
	// Dropping is called just before retention deletes a segment that is still Needed because
	// MaxDiskBytes forces it; path is the file, still present and readable during the call.
	Dropping(ref SegmentRef, path string)
}

// Acker receives the fate of one appended batch. Ack is called on the goroutine that owns the
// batch's stream (inside its Flush, or in Close), exactly once per successful Append (never for
// a failed Append), in append order: after the batch is written (AckWritten, AckQueued) or
// written and fdatasynced (AckSynced). err != nil means the batch is NOT durable (it was not
// written, or its fdatasync failed). Ack must not block. It may call Stream.Append, never Close
// or Flush.
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

// Stats is a snapshot of the Store's counters, summed over the streams.
type Stats struct {
	BytesWritten    uint64 // bytes of batches written to segments
	MetricsWritten  uint64 // metrics (as passed to Append) of batches written
	Batches         uint64 // batches written
	Submissions     uint64 // write submissions (pwritev calls / io_uring WRITEV SQEs)
	Syncs           uint64 // successful fdatasync calls
	LateCompletions uint64 // io_uring submissions that outlasted the bounded wait
	Segments        int    // segment files present, the current ones included
	SegmentsDeleted uint64 // segments deleted by the MaxDiskBytes retention
	BytesDeleted    uint64 // bytes of those segments
	NeededDropped   uint64 // of those, segments a forwarder still needed
	QueueBytes      int64  // bytes accepted and not yet written
	Writer          string // "io_uring" or "file"
	WriterReason    string // why that writer was chosen
	Ack             string // ack mode name
	WriteErrors     uint64 // failed writes, fdatasyncs, segment creations (not probes)
	RepairedBytes   int64  // bytes cut from torn segment tails at Open
}

// Store appends batches of encoded JSON lines to segment files, one stream of segments per event
// loop. Each Stream is owned by one goroutine (its loop), which appends to it and runs its group
// commits; Health, Stats, Frontier and Dir are safe from any goroutine.
type Store struct {
	cfg     Config
	log     *slog.Logger
	streams []*Stream // immutable after Open
	// static are the streams found on disk that no loop appends to: the legacy layout's, and
	// those of loops beyond Config.Loops (an earlier run with more loops). Immutable after Open
	// except their gone flags.
	static []*staticStream
	ret    *retention
	trim   *cacheTrimmer // nil when Config.CacheBytes is 0

	queueBytes atomic.Int64 // bytes accepted and not yet completed, over all streams
	closed     atomic.Bool  // set by Close: Append returns ErrClosed
	failing    atomic.Int32 // streams whose writing fails

	writerName, writerReason string // immutable after Open

	stats struct {
		bytesWritten, metricsWritten, batches, submissions, syncs, late atomic.Uint64
		segmentsDeleted, bytesDeleted, neededDropped, writeErrors       atomic.Uint64
		segments                                                        atomic.Int64
		repairedBytes                                                   atomic.Int64
	}

	// retiring counts the background goroutines still flushing rotated segments or fsyncing the
	// directory; Close waits for them. retireErrs collects their failures (under retireMu).
	retiring   sync.WaitGroup
	retireMu   sync.Mutex
	retireErrs []error

	unlock    func() // releases the data directory lock
	closeOnce sync.Once
	closeErr  error // set inside closeOnce
}

// staticStream is a stream on disk that is never appended to: its frontier is its last segment's
// end. gone is set when retention deleted that segment.
type staticStream struct {
	pos  Position
	gone atomic.Bool
}

// batch is one Append: whole lines, the metric count for statistics, and who to tell.
type batch struct {
	buf     *bytebufferpool.ByteBuffer
	metrics int
	acker   Acker
}

// Open creates Dir when missing, repairs torn segment tails, selects the writer, opens one segment
// per loop and starts the retention goroutine. It fails when the directory cannot be used, when
// Writer is "io_uring" and io_uring is not available, or when a torn tail cannot be truncated.
func Open(cfg Config) (*Store, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: create data directory: %w", err)
	}
	unlock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, log: logger, unlock: unlock}
	segs, err := ListSegments(cfg.Dir)
	if err == nil {
		err = s.repair(segs)
	}
	if err == nil {
		s.writerName, s.writerReason, err = selectWriter(cfg)
	}
	if err == nil {
		err = s.openStreams(segs)
	}
	if err != nil {
		for _, st := range s.streams {
			st.shut()
		}
		unlock()
		return nil, err
	}
	s.ret = startRetention(s)
	s.trim = startCacheTrimmer(s)
	logger.Info("storage: writer started", "writer", s.writerName, "reason", s.writerReason,
		"ack", cfg.Ack.String(), "dir", cfg.Dir, "loops", cfg.Loops, "segment_bytes", cfg.SegmentBytes,
		"max_disk_bytes", cfg.MaxDiskBytes, "cache_bytes", cfg.CacheBytes, "queue_bytes", cfg.QueueBytes)
	return s, nil
}

// normalize fills in defaults and checks cfg.
func (cfg Config) normalize() (Config, error) {
	if cfg.Dir == "" {
		return cfg, errors.New("storage: no data directory configured")
	}
	cfg.Loops = max(cfg.Loops, 1)
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = DefaultSegmentBytes
	}
	cfg.MaxDiskBytes = max(cfg.MaxDiskBytes, 0)
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	if cfg.probeInterval <= 0 {
		cfg.probeInterval = DefaultProbeInterval
	}
	if cfg.Writer == "" {
		cfg.Writer = WriterAuto
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	switch cfg.Ack {
	case AckQueued, AckWritten, AckSynced:
	default:
		return cfg, fmt.Errorf("storage: invalid ack mode %d", cfg.Ack)
	}
	switch cfg.Writer {
	case WriterAuto, WriterIOURing, WriterFile:
	default:
		return cfg, fmt.Errorf("storage: unknown writer %q (want auto, io_uring or file)", cfg.Writer)
	}
	return cfg, nil
}

// repair cuts torn tails off every segment found and counts the segments.
func (s *Store) repair(segs []SegmentInfo) error {
	for i := range segs {
		cut, err := repairTail(s.cfg.Dir, &segs[i], s.log)
		if err != nil {
			return err
		}
		s.stats.repairedBytes.Add(cut)
	}
	s.stats.segments.Store(int64(len(segs)))
	return nil
}

// openStreams opens a stream per loop, each in a new segment after its last one (reusing the last
// one when it is empty), and records the streams no loop continues.
func (s *Store) openStreams(segs []SegmentInfo) error {
	last := map[int]SegmentInfo{} // last segment of each stream found
	for _, seg := range segs {
		last[seg.Ref.Loop] = seg // segs are ordered by loop, then seq
	}
	for loop := range s.cfg.Loops {
		st, err := newStream(s, loop)
		if err != nil {
			return err
		}
		s.streams = append(s.streams, st)
		seq, fresh := uint64(1), true
		if l, ok := last[loop]; ok {
			seq = l.Ref.Seq + 1
			if l.Size == 0 {
				seq, fresh = l.Ref.Seq, false
			}
		}
		if err := st.openSegment(seq, fresh); err != nil {
			return err
		}
	}
	for loop, l := range last {
		if loop == LegacyLoop || loop >= s.cfg.Loops {
			s.static = append(s.static, &staticStream{pos: Position{Loop: loop, Seq: l.Ref.Seq, Off: l.Size}})
		}
	}
	slices.SortFunc(s.static, func(a, b *staticStream) int { return cmp.Compare(a.pos.Loop, b.pos.Loop) })
	return nil
}

// Stream returns the stream of event loop loop (0 <= loop < Config.Loops).
func (s *Store) Stream(loop int) *Stream { return s.streams[loop] }

// Loops returns the number of streams.
func (s *Store) Loops() int { return len(s.streams) }

// Dir returns the data directory.
func (s *Store) Dir() string { return s.cfg.Dir }

// Close stops accepting (Append returns ErrClosed), writes what every stream still holds, waits
// for outstanding submissions, fdatasyncs the current segments (in every ack mode), syncs the
// segments rotated since Open (syncfs on Linux, every segment file elsewhere), closes the
// files and the rings and releases the directory. Every accepted batch gets its Ack, on the
// calling goroutine. Call it once no owner runs Flush any more (the event loops stopped): Close
// takes over every stream. It returns the first error of the final writes and syncs; it is
// idempotent and later calls return the same result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		var errs []error
		for _, st := range s.streams {
			errs = append(errs, st.drainAndClose())
		}
		s.ret.stop()
		s.trim.stop()
		s.retiring.Wait()
		// Rotated segments were closed without fdatasync (Stream.retire): one sync of the
		// file system makes every one of them durable before the directory is released.
		if err := syncSegments(s.cfg.Dir); err != nil {
			errs = append(errs, fmt.Errorf("storage: sync the data directory's file system at close: %w", err))
		}
		s.retireMu.Lock()
		errs = append(errs, s.retireErrs...)
		s.retireMu.Unlock()
		s.unlock()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Health returns nil while writing works; otherwise the reason (for GET /health 503). A failing
// stream recovers by itself once its probe succeeds.
func (s *Store) Health() error {
	if s.failing.Load() > 0 {
		for _, st := range s.streams {
			if p := st.health.Load(); p != nil {
				return *p
			}
		}
	}
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Frontier appends to dst, for every stream that has segments (each loop, and the legacy stream
// and streams of former loops while their segments exist), the end of what has been written
// completely: every segment of that stream with a lower Seq is closed and whole, and segment Seq
// is whole up to Off (a batch boundary). Safe from any goroutine, lock-free.
func (s *Store) Frontier(dst []Position) []Position {
	for _, ss := range s.static {
		if !ss.gone.Load() {
			dst = append(dst, ss.pos)
		}
	}
	for _, st := range s.streams {
		dst = append(dst, st.front.load(st.loop))
	}
	return dst
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
		LateCompletions: s.stats.late.Load(),
		Segments:        int(s.stats.segments.Load()),
		SegmentsDeleted: s.stats.segmentsDeleted.Load(),
		BytesDeleted:    s.stats.bytesDeleted.Load(),
		NeededDropped:   s.stats.neededDropped.Load(),
		QueueBytes:      s.queueBytes.Load(),
		Writer:          s.writerName,
		WriterReason:    s.writerReason,
		Ack:             s.cfg.Ack.String(),
		WriteErrors:     s.stats.writeErrors.Load(),
		RepairedBytes:   s.stats.repairedBytes.Load(),
	}
}

// background runs f on a goroutine that Close waits for; an error is logged with msg and
// returned by Close.
func (s *Store) background(msg string, f func() error) {
	s.retiring.Add(1)
	go func() {
		defer s.retiring.Done()
		if err := f(); err != nil {
			s.stats.writeErrors.Add(1)
			s.log.Error(msg, "err", err)
			s.retireMu.Lock()
			s.retireErrs = append(s.retireErrs, err)
			s.retireMu.Unlock()
		}
	}()
}
