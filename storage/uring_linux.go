//go:build linux

package storage

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	iouring "github.com/iceber/iouring-go/syscall"
	"golang.org/x/sys/unix"
)

// Constants of the io_uring ABI that iouring-go's syscall package does not define.
const (
	// featExtArg (IORING_FEAT_EXT_ARG, Linux 5.11): io_uring_enter takes a timeout.
	featExtArg = 1 << 8
	// enterExtArg (IORING_ENTER_EXT_ARG): the fifth argument is a getEventsArg.
	enterExtArg = 1 << 3
	sqeBytes    = 64
	cqeBytes    = 16
)

// uringWait bounds how long a loop waits inside its round for a submission to complete. A later
// completion is delivered by the ring's waiter goroutine.
const uringWait = 2 * time.Millisecond

// User data of the SQEs: which operation a CQE completes.
const (
	udNop uint64 = iota + 1
	udWrite
	udSync
)

// getEventsArg is struct io_uring_getevents_arg.
type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	pad       uint32
	ts        uint64 // *unix.Timespec
}

// ring is one io_uring with its mapped queues. It is driven by one goroutine at a time (the loop
// that owns the stream, or Close after the loops stopped); only the waiter goroutine reads cqTail
// besides it.
type ring struct {
	fd          int
	sqMem       []byte // SQ ring (and CQ ring when the kernel maps both at once)
	cqMem       []byte // CQ ring when mapped separately, else nil
	sqeMem      []byte
	sqHead      *uint32
	sqTail      *uint32
	sqMask      uint32
	sqArray     unsafe.Pointer // uint32 array
	cqHead      *uint32
	cqTail      *uint32
	cqMask      uint32
	cqes        unsafe.Pointer
	ts          unix.Timespec // bounded-wait timeout, read by the kernel during enter
	arg         getEventsArg
	unsubmitted uint32 // SQEs pushed and not yet consumed by an enter
}

// setupRing creates a ring of entries SQEs and maps its memory.
func setupRing(entries uint) (*ring, error) {
	var p iouring.IOURingParams
	fd, err := iouring.IOURingSetup(entries, &p)
	if err != nil {
		return nil, err
	}
	if p.Features&featExtArg == 0 {
		unix.Close(fd)
		return nil, errors.New("kernel lacks IORING_FEAT_EXT_ARG (Linux 5.11+), needed for the bounded wait")
	}
	r := &ring{fd: fd}
	sqSize := int(p.SQOffset.Array + p.SQEntries*4)
	cqSize := int(p.CQOffset.Cqes + p.CQEntries*cqeBytes)
	single := p.Features&iouring.IORING_FEAT_SINGLE_MMAP != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	prot, flags := unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE
	if r.sqMem, err = unix.Mmap(fd, int64(iouring.IORING_OFF_SQ_RING), sqSize, prot, flags); err != nil {
		r.close()
		return nil, fmt.Errorf("mmap SQ ring: %w", err)
	}
	cq := r.sqMem
	if !single {
		if r.cqMem, err = unix.Mmap(fd, int64(iouring.IORING_OFF_CQ_RING), cqSize, prot, flags); err != nil {
			r.close()
			return nil, fmt.Errorf("mmap CQ ring: %w", err)
		}
		cq = r.cqMem
	}
	if r.sqeMem, err = unix.Mmap(fd, int64(iouring.IORING_OFF_SQES), int(p.SQEntries)*sqeBytes, prot, flags); err != nil {
		r.close()
		return nil, fmt.Errorf("mmap SQEs: %w", err)
	}
	sq := unsafe.Pointer(&r.sqMem[0])
	r.sqHead = (*uint32)(unsafe.Add(sq, p.SQOffset.Head))
	r.sqTail = (*uint32)(unsafe.Add(sq, p.SQOffset.Tail))
	r.sqMask = *(*uint32)(unsafe.Add(sq, p.SQOffset.RingMask))
	r.sqArray = unsafe.Add(sq, p.SQOffset.Array)
	c := unsafe.Pointer(&cq[0])
	r.cqHead = (*uint32)(unsafe.Add(c, p.CQOffset.Head))
	r.cqTail = (*uint32)(unsafe.Add(c, p.CQOffset.Tail))
	r.cqMask = *(*uint32)(unsafe.Add(c, p.CQOffset.RingMask))
	r.cqes = unsafe.Add(c, p.CQOffset.Cqes)
	r.arg.ts = uint64(uintptr(unsafe.Pointer(&r.ts)))
	return r, nil
}

// push claims the next SQE, lets fill prepare it and publishes it to the kernel.
func (r *ring) push(fill func(sqe *iouring.SubmissionQueueEntry64)) {
	tail := atomic.LoadUint32(r.sqTail)
	idx := tail & r.sqMask
	sqe := (*iouring.SubmissionQueueEntry64)(unsafe.Add(unsafe.Pointer(&r.sqeMem[0]), uintptr(idx)*sqeBytes))
	sqe.Reset()
	fill(sqe)
	*(*uint32)(unsafe.Add(r.sqArray, uintptr(idx)*4)) = idx
	atomic.StoreUint32(r.sqTail, tail+1)
	r.unsubmitted++
}

// enter submits the pushed SQEs and waits until minComplete CQEs are available, for at most
// timeout when timeout > 0 (without limit otherwise). A timeout is not an error.
func (r *ring) enter(minComplete uint32, timeout time.Duration) error {
	for {
		var res uintptr
		var errno unix.Errno
		flags := uintptr(iouring.IORING_ENTER_FLAGS_GETEVENTS)
		if minComplete == 0 {
			flags = 0
		}
		if timeout > 0 && minComplete > 0 {
			r.ts = unix.NsecToTimespec(int64(timeout))
			res, _, errno = unix.Syscall6(iouring.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(r.unsubmitted),
				uintptr(minComplete), flags|enterExtArg, uintptr(unsafe.Pointer(&r.arg)), unsafe.Sizeof(r.arg))
		} else {
			res, _, errno = unix.Syscall6(iouring.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(r.unsubmitted),
				uintptr(minComplete), flags, 0, 0)
		}
		if errno == 0 {
			r.unsubmitted -= min(uint32(res), r.unsubmitted)
			if r.unsubmitted == 0 {
				return nil
			}
			continue // the kernel took part of the SQEs: submit the rest
		}
		switch errno {
		case unix.ETIME:
			r.unsubmitted = 0 // the kernel consumed the SQEs before waiting
			return nil
		case unix.EINTR, unix.EAGAIN, unix.EBUSY:
			if atomic.LoadUint32(r.sqHead) == atomic.LoadUint32(r.sqTail) {
				r.unsubmitted = 0
			}
			if timeout > 0 && r.unsubmitted == 0 {
				return nil // submitted; let the caller reap what completed
			}
			continue
		}
		return os.NewSyscallError("io_uring_enter", errno)
	}
}

// reap hands every available CQE to f and frees its slot.
func (r *ring) reap(f func(userData uint64, res int32)) {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	for ; head != tail; head++ {
		cqe := (*iouring.CompletionQueueEvent16)(unsafe.Add(r.cqes, uintptr(head&r.cqMask)*cqeBytes))
		f(cqe.UserData(), cqe.Result())
	}
	atomic.StoreUint32(r.cqHead, head)
}

// completedSince reports whether the CQ tail reached target (waiter goroutine; a memory load).
func (r *ring) completedSince(target uint32) bool {
	return int32(atomic.LoadUint32(r.cqTail)-target) >= 0
}

func (r *ring) close() error {
	var errs []error
	for _, m := range [][]byte{r.sqeMem, r.cqMem, r.sqMem} {
		if m != nil {
			errs = append(errs, unix.Munmap(m))
		}
	}
	r.sqeMem, r.cqMem, r.sqMem = nil, nil, nil
	errs = append(errs, unix.Close(r.fd))
	return errors.Join(errs...)
}

// uringBackend writes one stream through its own ring: a submission is one WRITEV SQE carrying
// every buffer, soft-linked (IOSQE_IO_LINK) to an FSYNC(DATASYNC) SQE for synced batches. start
// submits and waits at most uringWait; when the completion is later, the waiter goroutine, parked
// in Go's netpoller on the eventfd registered with the ring, calls wake once the completion has
// arrived, and the owner collects it with poll.
type uringBackend struct {
	r *ring
	// Owned by the stream's owner goroutine.
	iov    []unix.Iovec // the outstanding WRITEV's iovecs; the kernel reads them until completion
	f      *os.File     // file of the outstanding submission, kept reachable
	want   int          // CQEs of the outstanding submission (0: none)
	got    int          // CQEs reaped so far
	res    result
	broken error // set when the kernel refused a submission and left its SQEs in the ring
	efd    *os.File
	// target is the CQ tail the waiter watches for; need (capacity 1, closed by close) tells
	// the waiter to look at it. The owner stores target, then sends without blocking.
	target   atomic.Uint32
	need     chan struct{}
	waiterGo chan struct{} // closed when the waiter goroutine has returned
	wake     func()
}

// newUringBackend sets up a ring, registers an eventfd with it, checks with a NOP round trip that
// submissions complete (some sandboxes allow io_uring_setup and refuse what follows) and starts
// the waiter. wake is called from the waiter goroutine.
func newUringBackend(wake func()) (*uringBackend, error) {
	r, err := setupRing(uringEntries)
	if err != nil {
		return nil, fmt.Errorf("io_uring setup refused: %w", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	fd32 := int32(efd)
	if err := iouring.IOURingRegister(r.fd, iouring.IORING_REGISTER_EVENTFD, unsafe.Pointer(&fd32), 1); err != nil {
		unix.Close(efd)
		r.close()
		return nil, fmt.Errorf("io_uring register eventfd refused: %w", err)
	}
	u := &uringBackend{r: r, efd: os.NewFile(uintptr(efd), "io_uring-eventfd"), wake: wake,
		need: make(chan struct{}, 1), waiterGo: make(chan struct{})}
	r.push(func(sqe *iouring.SubmissionQueueEntry64) {
		sqe.PrepOperation(iouring.IORING_OP_NOP, -1, 0, 0, 0)
		sqe.SetUserData(udNop)
	})
	nopErr := r.enter(1, time.Second)
	var nopRes int32 = -int32(unix.ETIME)
	r.reap(func(_ uint64, res int32) { nopRes = res })
	if nopErr == nil && nopRes < 0 {
		nopErr = unix.Errno(-nopRes)
	}
	if nopErr != nil {
		u.efd.Close()
		r.close()
		return nil, fmt.Errorf("io_uring nop failed: %w", nopErr)
	}
	go u.waiter()
	return u, nil
}

// waiter delivers late completions: for each target it is given, it reads the eventfd (parked in
// the netpoller, not in a raw syscall) until the CQ tail reaches the target, then calls wake.
func (u *uringBackend) waiter() {
	defer close(u.waiterGo)
	var buf [8]byte
	for range u.need {
		for !u.r.completedSince(u.target.Load()) {
			if _, err := u.efd.Read(buf[:]); err != nil {
				return // closed
			}
		}
		u.wake()
	}
}

func (u *uringBackend) start(f *os.File, bufs [][]byte, off int64, sync bool) (result, bool) {
	if u.want != 0 {
		panic("BUG: storage: io_uring submission while one is outstanding")
	}
	u.iov = u.iov[:0]
	for _, p := range bufs {
		if len(p) > 0 {
			var v unix.Iovec
			v.Base = &p[0]
			v.SetLen(len(p))
			u.iov = append(u.iov, v)
		}
	}
	u.f, u.got, u.res = f, 0, result{}
	if u.broken != nil {
		return result{err: u.broken}, true
	}
	if len(u.iov) == 0 {
		return result{}, true
	}
	fd := int32(f.Fd())
	u.r.push(func(sqe *iouring.SubmissionQueueEntry64) {
		sqe.PrepOperation(iouring.IORING_OP_WRITEV, fd, uint64(uintptr(unsafe.Pointer(&u.iov[0]))), uint32(len(u.iov)), uint64(off))
		sqe.SetUserData(udWrite)
		if sync {
			sqe.SetFlags(iouring.IOSQE_FLAGS_IO_LINK)
		}
	})
	u.want = 1
	if sync {
		u.r.push(func(sqe *iouring.SubmissionQueueEntry64) {
			sqe.PrepOperation(iouring.IORING_OP_FSYNC, fd, 0, 0, 0)
			sqe.SetOpFlags(iouring.IORING_FSYNC_DATASYNC)
			sqe.SetUserData(udSync)
		})
		u.want = 2
	}
	if err := u.r.enter(uint32(u.want), uringWait); err != nil {
		return u.abandon(err), true
	}
	if r, done := u.poll(); done {
		return r, true
	}
	u.target.Store(atomic.LoadUint32(u.r.cqHead) + uint32(u.want-u.got))
	select {
	case u.need <- struct{}{}:
	default: // the waiter has a signal pending and reads target after it
	}
	return result{}, false
}

// abandon reports a submission the kernel refused. If its SQEs were not consumed the ring is
// unusable: every later submission fails with the same error.
func (u *uringBackend) abandon(err error) result {
	err = fmt.Errorf("io_uring submit: %w", err)
	if u.r.unsubmitted > 0 {
		u.broken = err // the kernel may still read these SQEs' iovecs: never reuse them
		u.want, u.got = 0, 0
		return result{err: err}
	}
	u.want, u.got = 0, 0
	clear(u.iov)
	u.f = nil
	return result{err: err}
}

// poll collects the outstanding submission's CQEs; done reports whether all have arrived.
func (u *uringBackend) poll() (result, bool) {
	if u.want == 0 {
		return result{}, true
	}
	u.r.reap(func(ud uint64, res int32) {
		u.got++
		switch ud {
		case udWrite:
			if res < 0 {
				u.res.err = unix.Errno(-res)
			} else {
				u.res.n = int(res)
			}
		case udSync:
			if res < 0 {
				u.res.syncErr = unix.Errno(-res)
			}
		}
	})
	if u.got < u.want {
		return result{}, false
	}
	r := u.res
	runtime.KeepAlive(u.f)
	u.want, u.got, u.f = 0, 0, nil
	clear(u.iov) // drop references to the written buffers
	return r, true
}

// wait blocks until the outstanding submission completes (Close, probes, short-write retries
// that must not be left half done).
func (u *uringBackend) wait() result {
	for {
		if r, done := u.poll(); done {
			return r
		}
		if err := u.r.enter(uint32(u.want-u.got), 0); err != nil {
			return u.abandon(err)
		}
	}
}

func (u *uringBackend) writev(f *os.File, bufs [][]byte, off int64, sync bool) (int, error, error) {
	r, done := u.start(f, bufs, off, sync)
	if !done {
		r = u.wait()
	}
	return r.n, r.syncErr, r.err
}

// datasync is a plain fdatasync(2): it runs only when a stream ends, off the hot path.
func (u *uringBackend) datasync(f *os.File) error { return fdatasyncFile(f) }

func (u *uringBackend) close() error {
	if u.r == nil {
		return errors.New("storage: io_uring backend closed twice")
	}
	if u.want != 0 {
		u.wait()
	}
	close(u.need)
	err := u.efd.Close() // ends a waiter parked in Read
	<-u.waiterGo         // the waiter reads ring memory: unmap only after it returned
	err = errors.Join(err, u.r.close())
	u.r = nil
	return err
}
