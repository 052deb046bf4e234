package forward

import (
	"runtime"
	"sync"
)

// DefaultNice is the niceness of the forwarder's reading and encoding threads on Linux: ingest
// runs at the process's own priority, forwarding below it. At 15 the kernel gives such a
// thread about a thirtieth of the weight of a nice-0 event loop on a CPU both want; in the
// pinned load test ingest then kept about 0.88x of its rate without forwarding (see
// BENCHMARKS.md), and forwarding ran at full speed whenever the loop was idle.
const DefaultNice = 15

// MaxNice is the largest niceness Linux has.
const MaxNice = 19

// background runs the forwarder's CPU work (cutting batches from the segments, encoding them)
// on a few OS threads of its own, each locked to its goroutine and, on Linux, given a lower
// priority (a higher niceness) than the rest of the process. The kernel then shares a busy CPU between an event loop and an encoder by their
// weights, instead of Go's scheduler, which has no priorities and lets an encoder hold a
// processor an event loop wants for up to 10 ms. When the CPU has time to spare, an encoder
// runs at full speed.
//
// The threads hold processors of their own: Threads tells how many, and the process must run
// with that many more (runtime.GOMAXPROCS) than event loops, or an encoder would keep a loop
// from its processor whatever the kernel thinks of their priorities. A locked goroutine's
// thread is never used to start other threads (the runtime clones from a clean one), so the
// niceness stays on these threads; they exit with their goroutine.
type background struct {
	n, nice int
	jobs    chan *bgJob // taken by the threads; unbuffered, so a job waits for a free thread
	once    sync.Once   // starts the threads
	wg      sync.WaitGroup

	// refused is told, once, why a thread could not lower its priority (a seccomp profile
	// may refuse setpriority); that thread then runs at the process's. nil: nobody is told.
	refused     func(error)
	refusedOnce sync.Once
}

// bgJob is one piece of work. The worker that submits it owns it; done is signalled by the thread.
type bgJob struct {
	run  func()
	done chan struct{}
}

// newBackground prepares n threads at the given niceness (0 or less: the process's own); the
// first do starts them. refused (may be nil) hears of the first thread that could not lower
// its priority.
func newBackground(n, nice int, refused func(error)) *background {
	return &background{n: n, nice: nice, jobs: make(chan *bgJob), refused: refused}
}

func (bg *background) start() {
	bg.wg.Add(bg.n)
	for range bg.n {
		go bg.thread()
	}
}

func (bg *background) thread() {
	defer bg.wg.Done()
	runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
	if err := lowerPriority(bg.nice); err != nil && bg.refused != nil {
		bg.refusedOnce.Do(func() { bg.refused(err) })
	}
	for j := range bg.jobs {
		j.run()
		j.done <- struct{}{}
	}
}

// do runs j on a background thread and returns when it finished.
func (bg *background) do(j *bgJob) {
	bg.once.Do(bg.start)
	bg.jobs <- j
	<-j.done
}

// stop ends the threads once their jobs are done; no do may follow (it would send on a closed
// channel). A pool that never started has no thread to wait for.
func (bg *background) stop() {
	close(bg.jobs)
	bg.wg.Wait()
}
