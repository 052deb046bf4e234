// Package storage appends encoded metric batches durably to segment files: one segment stream per
// event loop (shared nothing), a group commit per poll round, an io_uring or plain-file backend per
// stream, three ack modes, size-based segments, retention over all streams, crash repair and
// self-healing health.
//
// # On-disk format (frozen)
//
// The data directory holds one stream of segments per event loop, side by side:
//
//	metrics-00-00000001.jsonl          loop 0, segment 1 (its oldest)
//	metrics-00-00000002.jsonl          loop 0, segment 2 (its current one: the highest number)
//	metrics-01-00000001.jsonl          loop 1, segment 1
//	metrics-01-00000001.jsonl.broken   bytes cut from that segment's torn tail, one line per repair
//	metrics-00000017.jsonl             a segment of the earlier single-stream layout (legacy)
//	LOCK                               flock(2)ed while a Store has the directory open
//
// Names: "metrics-", the loop (decimal, 0-based, at least 2 zero-padded digits), "-", the segment
// number (at least 8 zero-padded digits, from 1, one more per segment of that loop, never reused),
// ".jsonl". SegmentRef, ParseSegmentFileName and ListSegments (layout.go) are the API for readers
// such as the forwarder. A segment name without a loop is the legacy layout (LegacyLoop): Open
// repairs its torn tail like any other, never appends to it again, and retention deletes it first.
// The streams of loops beyond Config.Loops (an earlier run had more) are kept the same way.
//
// A segment is a sequence of JSON lines, one metric per line, each ending with '\n' (0x0A), in the
// line format of SPEC §9:
//
//	{"timestamp":"2026-11-26T17:20:06.123Z","client":"client-1","name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"}}\n
//
// The package never looks inside a line: the encoder (package codec) owns the line format and
// guarantees that a line holds no raw newline, so a record ends at its newline and a file that
// does not end with '\n' has a torn last record. There is no header, checksum or index: a segment
// is a plain JSONL file that any tool can read. The order of lines is the order of acceptance
// within one loop; across loops there is no order (a client's connection stays on one loop, so a
// connection's batches stay in order). A reader may read a current segment while it grows; it sees
// whole batches up to Store.Frontier's offset, and possibly a partial batch beyond it while a write
// is in flight.
//
// Segments: a stream starts a new segment when the next batch would take its current one past
// Config.SegmentBytes; a batch is never split across segments, so a segment exceeds the limit only
// when it holds a single larger batch. Each Open starts a new segment per loop (reusing the loop's
// last one only when it is empty): a segment is only ever written by one process. With
// Config.MaxDiskBytes, after every rotation the retention goroutine deletes the oldest closed
// segments of any stream (legacy first, then by modification time) and their .broken files until
// the segments total at most MaxDiskBytes, skipping those a Config.Retention guard still needs;
// only when that is not enough does it delete needed ones, oldest first, calling Dropping first.
// A loop's current segment is never deleted.
//
// Repair: Open checks the last byte of every segment. A segment that does not end with '\n' has
// the bytes after its last '\n' (all of it when there is none) appended to <segment>.broken plus
// a '\n', that file fsynced, the segment truncated to its last whole line and fsynced, the
// directory fsynced, and the cut logged with its byte count (Stats.RepairedBytes). A torn tail
// never stops Open; only a failed truncation does (a *CorruptionError: the directory cannot be
// written at all).
//
// # Streams and the group commit per poll round
//
// Store.Stream(i) is event loop i's share: its current segment, the batches it accepted and not
// yet completed, and its backend. Only the goroutine that owns the stream (its loop) calls Append
// and Flush, so none of that is locked; the store-wide state is atomics: the queue bound, the
// health count, statistics, each stream's Frontier (a sequence lock).
//
// Append reserves the batch's bytes on the atomic counter bounded by Config.QueueBytes over all
// streams (ErrQueueFull past it), appends the batch to the stream's slice, and on the first
// append since the last Flush asks for a Flush through Config.Wake (the server queues it with
// gnet's EventLoop.Execute, which runs it at the end of the loop's next poll round). Flush is the
// group commit: everything the round appended goes out as ONE gathered write at the offset the
// stream tracks (split only at a segment boundary or past IOV_MAX = 1024 buffers), and the
// batches are acked in order, on the loop, when it completes. While a submission is outstanding,
// new batches accumulate for the next one, so the size of a commit follows the load.
//
// Backends (one per stream):
//
//   - io_uring (Linux, when the kernel lets a ring be set up): the stream's own ring, driven
//     through iouring-go's syscall package only (setup, register, the SQE and CQE layouts; the
//     rings are mapped here; no go:linkname, so a plain go build links it). A submission is one
//     IORING_OP_WRITEV SQE carrying every buffer, soft-linked (IOSQE_IO_LINK) to an
//     IORING_OP_FSYNC with IORING_FSYNC_DATASYNC in AckSynced mode, submitted and waited for in
//     one io_uring_enter with IORING_ENTER_EXT_ARG and a 2 ms timeout. In the common case the
//     completion arrives within that wait and Flush acks at once. Otherwise Flush returns (the
//     loop serves other connections) and the ring's waiter goroutine, parked in Go's netpoller
//     on the eventfd registered with the ring (IORING_REGISTER_EVENTFD, opened non-blocking with
//     os.NewFile), reads it until the completion queue holds the submission's CQEs and then asks
//     for a Flush through Config.Wake, which collects them. The waiter only watches when a
//     submission outlasted the wait, so the common case costs no goroutine hand-off. A stalled
//     disk thus holds a loop for at most 2 ms per round.
//   - file (elsewhere, and where io_uring is refused, e.g. by a container's seccomp profile):
//     pwritev(2), then fdatasync(2) in AckSynced mode, inside the loop's Flush (off Linux one
//     coalesced WriteAt and Sync). Measured faster than a writer goroutine per loop, whose hand-off brings
//     back the scheduling tail; the price is that a stalled disk holds the loop (and so its
//     connections, /health and statistics served by it) until the write returns.
//
// Config.Writer "auto" selects io_uring when a probe ring can be set up (it needs
// IORING_FEAT_EXT_ARG, Linux 5.11) and a NOP round trip completes, otherwise the file writer,
// and reports why (Stats.WriterReason). "io_uring" makes Open fail with the kernel's reason where
// the ring cannot be set up.
//
// # Page cache
//
// With Config.CacheBytes, a trimmer goroutine (cache.go) follows each stream's frontier, starts
// writeback of every 4 MiB written (sync_file_range, SYNC_FILE_RANGE_WRITE: it waits for
// nothing) and drops from the page cache what lies more than CacheBytes behind the frontier
// (posix_fadvise DONTNEED, which leaves dirty pages alone). It opens the segments read-only and
// only advises the kernel, so neither the writers nor any guarantee depend on it; a reader of
// older data reads it from disk. Linux only; elsewhere the cache is left to the kernel.
//
// # Ack semantics
//
// Every successful Append gets exactly one Acker.Ack call on the stream's owner (inside Flush, or
// in Close), in append order (a nil Acker is allowed in AckQueued mode). Ack(nil) means:
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
// truncated back to the offset where the submission started, so no partial batch stays in it. In
// AckWritten and AckSynced modes the submission and everything queued behind it on that stream
// are acked with the error; in AckQueued mode they stay queued, in order, and are written after
// recovery. The store turns unhealthy: Health returns the reason, Append returns ErrUnavailable
// on every stream.
//
// A failed fdatasync is never retried as if it had worked: after it, the kernel may have dropped
// the dirty pages and will not report the loss again, so the page cache of that file cannot be
// trusted. The batches of that submission are acked with the error, the segment is truncated back
// to its last synced offset (in AckSynced mode that is where the failed submission began, so every
// acknowledged byte stays), it is closed and never written again, and writing resumes in a new
// segment. In AckWritten and AckQueued modes nothing is synced while the store runs (a rotated
// segment is closed without fdatasync: flushing it stalled the loops at every rotation, and no
// acknowledgement depends on it); Close fdatasyncs the current segments and syncs the file system
// (syncfs) for the rotated ones; a failure there is reported (logged, counted, Close's error).
//
// Recovery is automatic: while unhealthy, a failing stream's timer asks for a Flush every 500 ms
// (DefaultProbeInterval), which probes on the loop: it first finishes the repair (truncates a tail
// that could not be truncated, replaces a segment whose fdatasync failed by a new one), then
// writes a 64 KiB block of zeros at the end of the current segment, fdatasyncs it and truncates it
// away. When that works the stream is healthy again and kept batches are written. Should the
// process die between the probe's write and its truncation, the zeros form a torn tail that the
// next Open repairs.
//
// Close is called once the loops have stopped: it takes every stream over, stops accepting
// (ErrClosed), waits for outstanding submissions, writes everything accepted, fdatasyncs the
// current segments in every mode, closes the files and rings, waits for background flushes and
// releases the directory; every accepted batch is acked. If writing fails at Close (after one
// recovery attempt) the batches still queued are acked with the error and logged.
package storage
