//go:build linux

package storage

import (
	"os"

	"golang.org/x/sys/unix"
)

// trimSupported: Linux has sync_file_range(2) and posix_fadvise(2).
const trimSupported = true

// startWriteback starts writing back n bytes of f from off (n 0: to the end of the file) and
// returns without waiting for it.
func startWriteback(f *os.File, off, n int64) error {
	return unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// dropCached asks the kernel to drop the clean cached pages of n bytes of f from off (n 0: to the
// end of the file).
func dropCached(f *os.File, off, n int64) error {
	return unix.Fadvise(int(f.Fd()), off, n, unix.FADV_DONTNEED)
}
