//go:build !linux

package storage

import "os"

// trimSupported: elsewhere the page cache is left to the kernel.
const trimSupported = false

func startWriteback(f *os.File, off, n int64) error { return nil }

func dropCached(f *os.File, off, n int64) error { return nil }
