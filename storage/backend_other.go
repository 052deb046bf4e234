//go:build !linux

package storage

import "os"

// fileBackend is the portable writer: the buffers are coalesced into one scratch buffer and
// written with one WriteAt, then f.Sync (the platform's strongest sync), on the stream's owner
// inside its round. The scratch buffer is owned by that goroutine.
// maxScratch is the largest scratch buffer kept between submissions.
const maxScratch = 4 << 20

type fileBackend struct {
	scratch []byte
}

func newFileBackend() *fileBackend { return &fileBackend{} }

func (b *fileBackend) writev(f *os.File, bufs [][]byte, off int64, sync bool) (n int, syncErr, err error) {
	b.scratch = b.scratch[:0]
	for _, buf := range bufs {
		b.scratch = append(b.scratch, buf...)
	}
	n, err = f.WriteAt(b.scratch, off)
	if cap(b.scratch) > maxScratch {
		b.scratch = nil // do not pin a burst-sized buffer
	}
	if err != nil {
		return n, nil, err
	}
	if sync {
		syncErr = f.Sync()
	}
	return n, syncErr, nil
}

func (b *fileBackend) close() error {
	b.scratch = nil
	return nil
}

// fdatasyncFile flushes f (a retired segment's flush, Close).
func fdatasyncFile(f *os.File) error { return f.Sync() }
