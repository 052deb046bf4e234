//go:build linux && iouring

package storage

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/iceber/iouring-go"
	iouring_syscall "github.com/iceber/iouring-go/syscall"
)

// uringCompiled reports whether this build contains the io_uring backend.
const uringCompiled = true

// uringBackend writes through one io_uring owned by the writer goroutine, in the one shape that
// is competitive with plain pwritev on this library: per submission ONE Pwritev SQE carrying all
// the iovecs, soft-linked to an Fdatasync SQE when the batch must be synced, submitted together
// in one io_uring_enter and waited for on the request set's Done channel (no result channel).
type uringBackend struct {
	ring *iouring.IOURing
	// preps is reused between submissions; writer goroutine only.
	preps []iouring.PrepRequest
}

// newUringBackend sets up a ring and checks with a NOP round trip that submissions complete (some
// sandboxes allow io_uring_setup and refuse or ignore what follows).
func newUringBackend(entries uint) (backend, string, error) {
	ring, err := iouring.New(entries)
	if err != nil {
		return nil, "", fmt.Errorf("io_uring setup refused: %w", err)
	}
	req, err := ring.SubmitRequest(iouring.Nop(), nil)
	if err != nil {
		_ = ring.Close()
		return nil, "", fmt.Errorf("io_uring submit refused: %w", err)
	}
	<-req.Done()
	if err := req.Err(); err != nil {
		_ = ring.Close()
		return nil, "", fmt.Errorf("io_uring nop failed: %w", err)
	}
	u := &uringBackend{ring: ring, preps: make([]iouring.PrepRequest, 0, 2)}
	return u, fmt.Sprintf("ring set up (%d entries)", ring.Size()), nil
}

// softLink makes p's SQE a soft link: the next SQE of the submission runs only if this one
// completes fully; otherwise it completes with ECANCELED. The library's SubmitLinkRequests sets
// hard links (IOSQE_IO_HARDLINK), which would run the fdatasync after a failed write.
func softLink(p iouring.PrepRequest) iouring.PrepRequest {
	return func(sqe iouring_syscall.SubmissionQueueEntry, ud *iouring.UserData) {
		p(sqe, ud)
		sqe.SetFlags(iouring_syscall.IOSQE_FLAGS_IO_LINK)
	}
}

func (u *uringBackend) writev(f *os.File, bufs [][]byte, off int64, sync bool) (n int, syncErr, err error) {
	fd := int(f.Fd())
	if sync {
		u.preps = append(u.preps[:0], softLink(iouring.Pwritev(fd, bufs, off)), iouring.Fdatasync(fd))
	} else {
		u.preps = append(u.preps[:0], iouring.Pwritev(fd, bufs, off))
	}
	set, err := u.ring.SubmitRequests(u.preps, nil)
	if err != nil {
		clear(u.preps)
		runtime.KeepAlive(f)
		return 0, nil, fmt.Errorf("io_uring submit: %w", err)
	}
	<-set.Done()
	// The prep closures hold the iovec array the SQE points at, and f's descriptor is used by
	// number: keep both reachable until the kernel is done with the submission.
	runtime.KeepAlive(u.preps)
	runtime.KeepAlive(bufs)
	runtime.KeepAlive(f)
	clear(u.preps)

	reqs := set.Requests()
	n, err = reqs[0].ReturnInt()
	if err != nil {
		return 0, nil, err
	}
	if sync {
		// A short write breaks the link: the fdatasync then completes with ECANCELED, which the
		// caller ignores because n is short.
		syncErr = reqs[1].Err()
	}
	return n, syncErr, nil
}

func (u *uringBackend) datasync(f *os.File) error {
	req, err := u.ring.SubmitRequest(iouring.Fdatasync(int(f.Fd())), nil)
	if err != nil {
		runtime.KeepAlive(f)
		return fmt.Errorf("io_uring submit: %w", err)
	}
	<-req.Done()
	runtime.KeepAlive(f)
	return req.Err()
}

func (u *uringBackend) close() error {
	if u.ring == nil {
		return errors.New("storage: io_uring backend closed twice")
	}
	err := u.ring.Close()
	u.ring = nil
	return err
}
