//go:build !linux

package storage

import "os"

// fileBackend is the portable writer: the buffers are coalesced into one scratch buffer and
// written with one WriteAt, then f.Sync (the platform's strongest sync). The scratch buffer is
// owned by the writer goroutine.
// maxScratch is the largest scratch buffer kept between submissions.
const maxScratch = 4 << 20

type fileBackend struct {
	scratch []byte
}

func newFileBackend() backend { return &fileBackend{} }

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

func (b *fileBackend) datasync(f *os.File) error { return f.Sync() }

func (b *fileBackend) close() error {
	b.scratch = nil
	return nil
}

// fdatasyncFile flushes a file that no backend is using any more (a rotated
// segment flushed in the background).
func fdatasyncFile(f *os.File) error { return f.Sync() }
