// Package forward sends the stored segments on to a central tier (SPEC §11): Prometheus remote
// write 1.0, InfluxDB line protocol over HTTP, or NATS JetStream, at least once, with a cursor
// per sink, bounded by disk.
//
// # Shape
//
// The segments are the persistent queue; nothing is copied. For every sink (one -forward URL):
//
//	reader goroutine ── batch ──▶ Inflight workers ── done ──▶ acker goroutine
//	  tails every stream up to       encode, send, retry          advances each stream's
//	  Source.Frontier, cuts batches  (backoff 1 s → 1 min,        cursor over the contiguous
//	  of whole lines of one segment  Retry-After), or drop (4xx)  prefix of finished batches,
//	  (≤ Batch lines), takes a slot                               saves it, frees the slots
//
// A slot is taken before a batch is cut and freed only when the saved cursor covers it, so at
// most Inflight batches are ever sent and not covered by the cursor on disk: all that a crash
// makes a restart send twice.
//
// # Files in the data directory (frozen)
//
//	forward-<sink>.cursor   per stream, the segment and offset up to which the sink acknowledged
//	                        everything; replaced atomically (temporary file, fsync, rename,
//	                        directory fsync) after acknowledgements; read at start
//	forward-<sink>.sent     the ends of the batches sent beyond the saved cursor, rewritten in
//	                        place (no fsync) before each send: a restart cuts the same batches
//	                        again and counts them as resends
//	forward-origin          16 hex digits naming this data directory in NATS message ids
//
// The text format of the first two is in cursor.go. <sink> is the URL's #fragment, or a name
// derived from the URL (host and path, or nats_<subject>_<stream>), reduced to [A-Za-z0-9._-].
//
// # Reading
//
// A stored line is parsed by a small dedicated parser (line.go) that knows the fixed member
// order codec writes, without encoding/json and without allocating. A line that does not parse
// is left out, counted and logged. Most lines belong to a series seen before: the encoders cut
// a line into its timestamp, value, type and series part (client, name, tags), and a series
// part met before (compared byte for byte) takes its labels or line head from a bounded table
// instead of being parsed, sanitised and sorted again (series.go). The reader never reads past Source.Frontier, so a torn tail
// or a batch being written is never sent; bytes without a final '\n' in a closed segment are
// skipped and counted as invalid.
//
// # Retention
//
// Forwarder implements the store's RetentionGuard (CONTRACT §3): Needed keeps a segment that a
// sink has not acknowledged, and Dropping, called when -max-disk-bytes forces the deletion
// anyway, counts and logs what each sink had not read and moves its reader past the segment.
//
// # Types shared with storage
//
// SegmentRef, SegmentInfo and Position are storage's (aliases), so *storage.Store is a Source
// and *Forwarder a storage.RetentionGuard as they are.
package forward
