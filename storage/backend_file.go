package storage

import "os"

// The file writer's side of the backend interface that is the same on every platform: a
// submission is the platform's writev (plus sync) done at once, inside the owner's round.

func (b *fileBackend) start(f *os.File, bufs [][]byte, off int64, sync bool) (result, bool) {
	n, syncErr, err := b.writev(f, bufs, off, sync)
	return result{n: n, syncErr: syncErr, err: err}, true
}

// poll and wait have nothing to collect: start always completes.
func (b *fileBackend) poll() (result, bool) { return result{}, true }

func (b *fileBackend) wait() result { return result{} }

func (b *fileBackend) datasync(f *os.File) error { return fdatasyncFile(f) }
