package storage

import (
	"fmt"
	"os"
)

// maxIovecs is IOV_MAX on Linux: the most buffers one pwritev(2) (or io_uring WRITEV SQE) takes.
// A stream splits larger submissions.
const maxIovecs = 1024

// uringEntries is the size of each stream's io_uring submission queue. A stream has at most two
// SQEs in flight (a WRITEV and its linked FSYNC); a few more cost a few hundred bytes.
const uringEntries = 8

// result is the outcome of one gathered write: n bytes written (possibly short of the total with
// err == nil; the stream resubmits the rest), and when the write was linked to an fdatasync and
// complete, that fdatasync's error.
type result struct {
	n       int
	syncErr error
	err     error
}

// backend performs one stream's file I/O. Every method is called by the goroutine that owns the
// stream (its event loop, or Close once the loops have stopped), so implementations need no
// locking. At most one submission is outstanding; f stays open until it completes.
type backend interface {
	// start submits bufs (1 to maxIovecs buffers) to be written at offset off of f as one
	// gathered write, followed when sync is true by an fdatasync of f that runs only if the
	// write completed fully. It waits a bounded time; done reports whether the submission
	// completed, and r is then its result. Otherwise the backend calls its wake function once
	// the completion has arrived, and poll collects it.
	start(f *os.File, bufs [][]byte, off int64, sync bool) (r result, done bool)
	// poll collects the outstanding submission without blocking.
	poll() (r result, done bool)
	// wait blocks until the outstanding submission completes (Close).
	wait() result
	// writev is start followed by an unbounded wait: the probe's and Close's write.
	writev(f *os.File, bufs [][]byte, off int64, sync bool) (n int, syncErr, err error)
	// datasync fdatasyncs f on its own (Close, the end of a stream).
	datasync(f *os.File) error
	// close releases the backend's resources (the ring). Nothing is outstanding afterwards.
	close() error
}

// selectWriter picks the writer for cfg.Writer and says why: io_uring when asked for or, with
// auto, when the kernel lets a ring be set up; otherwise the file writer.
func selectWriter(cfg Config) (name, reason string, err error) {
	switch cfg.Writer {
	case WriterFile:
		return WriterFile, "selected by configuration", nil
	case WriterIOURing:
		if err := probeUring(cfg); err != nil {
			return "", "", fmt.Errorf("storage: io_uring writer unavailable: %w", err)
		}
		return WriterIOURing, "selected by configuration", nil
	default: // WriterAuto
		if err := probeUring(cfg); err != nil {
			return WriterFile, err.Error(), nil
		}
		return WriterIOURing, "io_uring available: one ring per event loop", nil
	}
}

// probeUring sets a ring up and closes it, or fails with the injected test error.
func probeUring(cfg Config) error {
	if cfg.uringSetupErr != nil {
		return fmt.Errorf("io_uring setup refused: %w", cfg.uringSetupErr)
	}
	be, err := newUringBackend(func() {})
	if err != nil {
		return err
	}
	return be.close()
}

// newBackend builds stream's backend for the selected writer; wake is called from another
// goroutine when a late completion has arrived.
func newBackend(cfg Config, writer string, wake func()) (backend, error) {
	var be backend
	if writer == WriterIOURing {
		u, err := newUringBackend(wake)
		if err != nil {
			return nil, fmt.Errorf("storage: io_uring writer unavailable: %w", err)
		}
		be = u
	} else {
		be = newFileBackend()
	}
	if cfg.wrapBackend != nil {
		be = cfg.wrapBackend(be, wake)
	}
	return be, nil
}

// iovecBytes is the total length of bufs.
func iovecBytes(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}
