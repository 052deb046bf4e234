//go:build !unix

package storage

import "time"

// processCPU is not measured on this platform; the benchmark then omits cpu-s/GB.
func processCPU() time.Duration { return 0 }
