//go:build !linux

package forward

// lowerPriority does nothing where niceness belongs to the process, not to a thread.
func lowerPriority(int) error { return nil }
