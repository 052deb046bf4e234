// Package storage appends encoded metric batches durably to segment files: one writer goroutine,
// group commit, an io_uring or plain-file backend, three ack modes, size-based segments,
// retention, crash repair and self-healing health.
//
// # On-disk format (frozen)
//
// The data directory holds:
//
//	metrics-00000001.jsonl          segment 1 (oldest)
//	metrics-00000002.jsonl          ...
//	metrics-00000042.jsonl          the segment being appended to (highest number)
//	metrics-00000017.jsonl.broken   bytes cut from segment 17's torn tail, one line per repair
//	LOCK                            flock(2)ed while a Store has the directory open
//
// A segment is a sequence of JSON lines, one metric per line, each ending with '\n' (0x0A), in the
// line format of SPEC §9:
//
//	{"timestamp":"2026-11-26T17:20:06.123Z","client":"client-1","name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"}}\n
//
// The package never looks inside a line: the encoder (package codec) owns the line format and
// guarantees that a line holds no raw newline, so a record ends at its newline and a file that
// does not end with '\n' has a torn last record. Frozen, because readers and operators rely on
// them: the file names (prefix "metrics-", at least 8 zero-padded decimal digits, suffix
// ".jsonl"; numbers grow by one per segment and are never reused), one record per line, '\n' as
// the terminator, the ".broken" suffix. There is no header, checksum or index: a segment is a
// plain JSONL file that any tool can read, and a reader may read the current segment while it
// grows (it sees whole batches, plus possibly a torn tail while a write is in flight).
//
// Segments: a new segment starts when the next batch would take the current one past
// Config.SegmentBytes; a batch is never split across segments, so a segment exceeds the limit
// only when it holds a single larger batch. Each Open starts a new segment (reusing the last one
// only when it is empty): a segment is only ever written by one process. With
// Config.MaxDiskBytes, after every rotation the oldest closed segments (and their .broken files)
// are deleted until the segments total at most MaxDiskBytes; the current segment is never
// deleted.
//
// Repair: Open checks the last byte of every segment. A segment that does not end with '\n' has
// the bytes after its last '\n' (all of it when there is none) appended to <segment>.broken plus
// a '\n', that file fsynced, the segment truncated to its last whole line and fsynced, the
// directory fsynced, and the cut logged with its byte count (Stats.RepairedBytes). A torn tail
// never stops Open; only a failed truncation does (a *CorruptionError: the directory cannot be
// written at all).
//
// # Writer goroutine and group commit
//
// Append (any goroutine; the event loops) never blocks: it reserves the batch's bytes on an
// atomic counter bounded by Config.QueueBytes (ErrQueueFull past it), then appends the batch to a
// slice under a mutex held for that append only, and pokes the writer through a one-slot
// channel. The writer goroutine owns everything else — files, offsets, the backend, the ring —
// and loops: swap the queued slice out (taking EVERYTHING queued), cut it into runs that fit the
// current segment, write each run as ONE gathered submission at the offset it tracks (pwritev of
// the batches' buffers; split only past IOV_MAX = 1024 buffers), fdatasync in AckSynced mode, ack
// each batch in queue order, return its buffer to the pool and release its queue bytes; then
// yield once so that the appenders just acked can queue their next batches before the next swap.
// Whatever gathers while a submission is in flight becomes the next submission: that is the group
// commit, and its size adapts to the load with no timer.
//
// Backends: the file backend is pwritev(2) + fdatasync(2) (coalesced WriteAt + Sync off Linux).
// The io_uring backend (Linux, build tag iouring, linker flag -checklinkname=0) owns one ring
// used only by the writer goroutine and submits per run one Pwritev SQE carrying all the iovecs,
// soft-linked (IOSQE_IO_LINK) to an Fdatasync SQE in AckSynced mode, in one io_uring_enter, then
// waits on the request set and checks both completions. Config.Writer "auto" runs the faster
// writer, which measured to be the file backend through the whole server (iouring-go hands every
// completion through goroutines that compete with the event loops for the processor); it still
// sets a ring up once so that the logged reason says whether the kernel allows io_uring.
// "io_uring" selects the io_uring backend and makes Open fail with the reason where the ring
// cannot be set up.
//
// # Ack semantics
//
// Every successful Append gets exactly one Acker.Ack call on the writer goroutine, in queue order
// (a nil Acker is allowed in AckQueued mode). Ack(nil) means:
//
//   - AckWritten (the default): the batch is in the segment file (in the page cache): it survives
//     a crash of the process, not of the machine.
//   - AckSynced: the batch is in the file and an fdatasync covering it succeeded: it survives a
//     power loss (new segments' directory entries are fsynced when they are created).
//   - AckQueued: the caller answered when Append returned; Ack comes after the write as in
//     AckWritten. The batch survives write failures (it stays queued and is retried) but not a
//     crash before it is written.
//
// Ack(err) means the batch is NOT durable and no byte of it stays in any segment (unless
// truncating the failed write away fails too; that is reported, and retried before any further
// write).
//
// # Failure semantics
//
// A failed write (ENOSPC, EIO, ...) or short write that cannot be completed: the segment is
// truncated back to the offset where the run started, so no partial batch stays in it. In
// AckWritten and AckSynced modes the run and everything queued behind it are acked with the
// error; in AckQueued mode they stay queued, in order, and are written after recovery. The store
// turns unhealthy: Health returns the reason, Append returns ErrUnavailable.
//
// A failed fdatasync is never retried as if it had worked: after it, the kernel may have dropped
// the dirty pages and will not report the loss again, so the page cache of that file cannot be
// trusted. The batches of that submission are acked with the error, the segment is truncated back
// to its last synced offset (in AckSynced mode that is where the failed submission began, so every
// acknowledged byte stays), it is closed and never written again, and writing resumes in a new
// segment. In AckWritten and AckQueued modes fdatasync runs only at rotation and Close; there a
// failure is reported (unhealthy state, the batches still queued are failed or kept as above,
// Close's error) because the batches before it were already acknowledged as written.
//
// Recovery is automatic: while unhealthy, the writer probes every 500 ms (DefaultProbeInterval).
// A probe first finishes the repair (truncates a tail that could not be truncated, replaces a
// segment whose fdatasync failed by a new one), then writes a 64 KiB block of zeros at the end of
// the current segment, fdatasyncs it and truncates it away. When that works the store is healthy
// again and kept batches are written. Should the process die between the probe's write and its
// truncation, the zeros form a torn tail that the next Open repairs.
//
// Close stops accepting (ErrClosed), drains and writes everything queued, fdatasyncs the current
// segment in every mode, and closes the files and the backend; every accepted batch is acked. If
// writing fails at Close (after one recovery attempt) the batches still queued are acked with the
// error and logged.
package storage
