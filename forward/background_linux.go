package forward

import "syscall"

// lowerPriority sets the calling thread's niceness (Linux schedules threads, and setpriority
// with a thread id applies to that thread alone). On an error the thread stays as it was.
func lowerPriority(nice int) error {
	if nice <= 0 {
		return nil
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
