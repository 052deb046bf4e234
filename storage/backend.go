package storage

import (
	"fmt"
	"os"
)

// maxIovecs is IOV_MAX on Linux: the most buffers one pwritev(2) (or io_uring WRITEV SQE) takes.
// The writer splits larger submissions.
const maxIovecs = 1024

// uringEntries is the size of the io_uring submission queue. The writer has at most two SQEs in
// flight (a Pwritev and its linked Fdatasync); a few more cost a few hundred bytes of ring memory.
const uringEntries = 64

// backend performs the writer goroutine's file I/O. Every method is called from the writer
// goroutine only (and, for setup and close, by Open and Close while the writer is not running),
// so implementations need no locking. f stays open for the duration of each call.
type backend interface {
	// writev writes bufs (1 to maxIovecs buffers) at offset off of f, as one gathered write.
	// n is the number of bytes written; it may be short of the total with err == nil, and the
	// caller resubmits the remainder. When sync is true and all bytes were written, f is then
	// fdatasynced and syncErr reports that; syncErr is meaningless when n is short or err != nil.
	writev(f *os.File, bufs [][]byte, off int64, sync bool) (n int, syncErr, err error)
	// datasync fdatasyncs f on its own (segment rotation, Close, probes).
	datasync(f *os.File) error
	// close releases the backend's resources (the ring). No call is in flight.
	close() error
}

// selectBackend picks the backend for cfg.Writer and says why.
func selectBackend(cfg Config) (be backend, name, reason string, err error) {
	switch cfg.Writer {
	case WriterFile:
		return newFileBackend(), WriterFile, "selected by configuration", nil
	case WriterIOURing:
		be, reason, err := setupUring(cfg)
		if err != nil {
			return nil, "", "", fmt.Errorf("storage: io_uring writer unavailable: %w", err)
		}
		return be, WriterIOURing, reason, nil
	default: // WriterAuto
		// auto runs the faster writer. Through the whole server the file
		// writer measured 1.3-1.5x the io_uring one (BENCHMARKS.md): with
		// iouring-go every completion reaches the writer through goroutine
		// hand-offs that compete with the event loops for the processor.
		// The ring is still set up once so that the log says whether this
		// kernel allows io_uring.
		ube, _, err := setupUring(cfg)
		if err != nil {
			return newFileBackend(), WriterFile, err.Error(), nil
		}
		if cerr := ube.close(); cerr != nil {
			return newFileBackend(), WriterFile, "io_uring available but its probe ring did not close: " + cerr.Error(), nil
		}
		return newFileBackend(), WriterFile, autoPrefersFile, nil
	}
}

// autoPrefersFile is the reason auto gives when io_uring works but the file
// writer runs.
const autoPrefersFile = "io_uring available; file writer chosen as the faster one (measured); -writer io_uring selects io_uring"

// setupUring sets the ring up, or fails with the injected test error.
func setupUring(cfg Config) (backend, string, error) {
	if cfg.uringSetupErr != nil {
		return nil, "", fmt.Errorf("io_uring setup refused: %w", cfg.uringSetupErr)
	}
	return newUringBackend(uringEntries)
}

// iovecBytes is the total length of bufs.
func iovecBytes(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}
