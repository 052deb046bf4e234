//go:build linux

package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentBytes is how much of the file at path is in the page cache (mincore over a read-only
// mapping).
func residentBytes(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return 0
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := int64(os.Getpagesize())
	vec := make([]byte, (fi.Size()+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	var n int64
	for _, v := range vec {
		if v&1 != 0 {
			n += page
		}
	}
	return n
}

// TestCacheTrimming: with CacheBytes set, a stream's older data leaves the page cache once
// written, whatever the writer, in one segment or across rotations, while every byte stays on
// disk; with CacheBytes 0 the kernel keeps it all.
func TestCacheTrimming(t *testing.T) {
	var fs unix.Statfs_t
	if err := unix.Statfs(t.TempDir(), &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type == unix.TMPFS_MAGIC {
		t.Skip("the temporary directory is tmpfs, whose pages cannot be dropped")
	}
	const (
		keep   = 1 << 20
		total  = 24 << 20
		bound  = keep + 3*trimFlushBytes // kept, plus what a pass may leave under writeback
		chunk  = 256 << 10
		chunks = total / chunk
	)
	forEachWriter(t, func(t *testing.T, writer string) {
		for _, c := range []struct {
			name     string
			cache    int64
			segBytes int64
		}{{"trimmed", keep, 0}, {"rotating", keep, 2 << 20}, {"kernel", 0, 0}} {
			t.Run(c.name, func(t *testing.T) {
				dir := t.TempDir()
				cfg := testConfig(dir, writer, AckWritten)
				cfg.CacheBytes, cfg.SegmentBytes = c.cache, c.segBytes
				s := openT(t, cfg)
				var want bytes.Buffer
				for i := range chunks {
					b := batchContent(i, chunk/256, 256)
					want.Write(b)
					if err := appendWait(t, s, b); err != nil {
						t.Fatal(err)
					}
				}
				if c.cache == 0 {
					if got, _ := cachedBytes(t, dir); got < total/2 {
						t.Errorf("without trimming %d of %d bytes are cached; the test cannot tell trimming apart", got, want.Len())
					}
				} else {
					waitCached(t, dir, bound)
				}
				if err := closeStore(s); err != nil {
					t.Fatal(err)
				}
				if got := readAll(t, dir); !bytes.Equal(got, want.Bytes()) {
					t.Errorf("segments hold %d bytes, want the %d written", len(got), want.Len())
				}
			})
		}
	})
}

// cachedBytes is how much of the segments in dir is in the page cache, in all and per segment.
func cachedBytes(t *testing.T, dir string) (n int64, each []string) {
	t.Helper()
	for _, seg := range segmentFiles(t, dir) {
		r := residentBytes(t, filepath.Join(dir, seg.Ref.FileName()))
		n += r
		each = append(each, fmt.Sprintf("%s: %d", seg.Ref.FileName(), r))
	}
	return n, each
}

// waitCached polls until the segments in dir hold at most bound bytes in the page cache; on
// timeout it fails with what each segment still holds.
func waitCached(t *testing.T, dir string, bound int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, each := cachedBytes(t, dir)
		if n <= bound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes of the segments are still cached, want <= %d: %s", n, bound, strings.Join(each, ", "))
		}
		time.Sleep(time.Millisecond) // polling interval, not synchronisation
	}
}
