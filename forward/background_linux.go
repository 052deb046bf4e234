package forward

import "syscall"

// lowerPriority sets the calling thread's niceness (Linux schedules threads, and setpriority
// with a thread id applies to that thread alone). A failure leaves the thread as it was: the
// forwarder then runs at ingest's priority, as it would elsewhere.
func lowerPriority(nice int) {
	if nice > 0 {
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
	}
}
