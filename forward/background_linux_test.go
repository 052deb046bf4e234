package forward

import (
	"sync"
	"syscall"
	"testing"
)

// threadNice is the calling thread's niceness. The raw getpriority system call answers 20 minus
// the niceness, so that it never looks like an error.
func threadNice(t *testing.T) int {
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		t.Error(err)
	}
	return 20 - p
}

// TestBackgroundThreads: every job runs on one of the pool's own threads (each keeps its
// thread from job to job), at the pool's niceness, while the submitter's thread keeps its own;
// jobs from many goroutines at once all run, and stop waits for the threads to end.
func TestBackgroundThreads(t *testing.T) {
	own := threadNice(t)
	for _, tc := range []struct {
		name    string
		threads int
		nice    int
		want    int
	}{
		{"one thread, nice 15", 1, 15, 15},
		{"three threads, nice 7", 3, 7, 7},
		{"process priority", 2, -1, own},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bg := newBackground(tc.threads, tc.nice, func(err error) { t.Errorf("refused: %v", err) })
			var mu sync.Mutex
			tids := map[int]int{} // thread id → jobs run on it
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					j := &bgJob{done: make(chan struct{})}
					for range 50 {
						var tid, nice int
						j.run = func() { tid, nice = syscall.Gettid(), threadNice(t) }
						bg.do(j)
						if nice != tc.want {
							t.Errorf("a job ran at niceness %d; want %d", nice, tc.want)
						}
						mu.Lock()
						tids[tid]++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			bg.stop()
			total := 0
			for _, n := range tids {
				total += n
			}
			if len(tids) > tc.threads || total != 400 {
				t.Errorf("%d jobs ran on %d threads (%v); want 400 on at most %d", total, len(tids), tids, tc.threads)
			}
			if got := threadNice(t); got != own {
				t.Errorf("the test's thread is at niceness %d after the jobs; want %d", got, own)
			}
		})
	}
}

// TestBackgroundStopUnstarted: a pool that never ran a job stops at once.
func TestBackgroundStopUnstarted(t *testing.T) {
	newBackground(2, 10, nil).stop()
}
