//go:build linux

package storage

import (
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fileBackend is the plain writer: pwritev(2) + fdatasync(2) on the calling goroutine, the
// stream's owner, inside its round: a submission always completes in start. iov is its reusable
// iovec array, so a submission allocates nothing (unix.Pwritev would build a new one per call).
type fileBackend struct {
	iov []unix.Iovec
}

func newFileBackend() *fileBackend { return &fileBackend{} }

// longBits is the width of the kernel's long: pwritev takes the offset as two longs.
const longBits = 32 << (^uintptr(0) >> 63)

// pwritev is unix.Pwritev without the per-call allocation.
func (b *fileBackend) pwritev(fd int, bufs [][]byte, off int64) (int, error) {
	b.iov = b.iov[:0]
	for _, p := range bufs {
		if len(p) == 0 {
			continue
		}
		var v unix.Iovec
		v.Base = &p[0]
		v.SetLen(len(p))
		b.iov = append(b.iov, v)
	}
	if len(b.iov) == 0 {
		return 0, nil
	}
	lo := uintptr(off)
	hi := uintptr(uint64(off) >> (longBits - 1) >> 1)
	r, _, e := unix.Syscall6(unix.SYS_PWRITEV, uintptr(fd), uintptr(unsafe.Pointer(&b.iov[0])), uintptr(len(b.iov)), lo, hi, 0)
	runtime.KeepAlive(bufs)
	clear(b.iov) // drop references to the written buffers
	if e != 0 {
		return int(r), e
	}
	return int(r), nil
}

func (b *fileBackend) writev(f *os.File, bufs [][]byte, off int64, sync bool) (n int, syncErr, err error) {
	fd := int(f.Fd())
	for {
		n, err = b.pwritev(fd, bufs, off)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		runtime.KeepAlive(f)
		return 0, nil, err
	}
	if sync && n == iovecBytes(bufs) {
		syncErr = fdatasync(fd)
	}
	runtime.KeepAlive(f)
	return n, syncErr, nil
}

func (b *fileBackend) close() error { return nil }

func fdatasync(fd int) error {
	for {
		err := unix.Fdatasync(fd)
		if err != unix.EINTR {
			return err
		}
	}
}

// fdatasyncFile fdatasyncs f (a retired segment's flush, Close).
func fdatasyncFile(f *os.File) error {
	err := fdatasync(int(f.Fd()))
	runtime.KeepAlive(f)
	return err
}
