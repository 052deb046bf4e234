//go:build linux

package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs of the given size on a fresh directory for the test, or skips.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("full-disk test skipped: needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("full-disk test skipped: cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		// A closed io_uring is torn down by the kernel asynchronously, and
		// until then it may still hold the segment files: EBUSY for a moment.
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := unix.Unmount(dir, 0)
			if err == nil {
				return
			}
			if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
				t.Errorf("unmount tmpfs: %v", err)
				_ = unix.Unmount(dir, unix.MNT_DETACH)
				return
			}
			time.Sleep(10 * time.Millisecond) // polling the kernel's teardown, no event to wait on
		}
	})
	return dir
}

// fillDisk writes path until the file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for _, size := range []int{64 << 10, 4 << 10, 1} {
		for {
			if _, err := f.Write(chunk[:size]); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the disk: %v", err)
				}
				break
			}
		}
	}
}

// TestFullDisk fills a real (tmpfs) file system under the store: writing fails, the store turns
// unhealthy and refuses appends; once space is freed it recovers by itself, and nothing
// acknowledged is lost or torn.
func TestFullDisk(t *testing.T) {
	forEachWriterMode(t, func(t *testing.T, writer string, mode AckMode) {
		testFullDisk(t, writer, mode)
	})
}

func testFullDisk(t *testing.T, writer string, mode AckMode) {
	mnt := mountTmpfs(t, "1m")
	dir := filepath.Join(mnt, "data")
	s := openT(t, testConfig(dir, writer, mode))

	var want bytes.Buffer
	id := 0
	next := func() []byte { id++; return batchContent(id, 8, 1000) } // 8 KB: always needs new pages
	for range 4 {
		c := next()
		if err := appendWait(t, s, c); err != nil {
			t.Fatal(err)
		}
		want.Write(c)
	}

	filler := filepath.Join(mnt, "filler")
	fillDisk(t, filler)

	c := next()
	a := make(chanAcker, 1)
	if err := appendBytes(s, c, 8, a); err != nil {
		t.Fatal(err)
	}
	if mode == AckQueued {
		waitFor(t, "unhealthy", func() bool { return s.Health() != nil })
	} else if err := <-a; !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("ack on a full disk = %v; want ENOSPC", err)
	}
	if err := s.Health(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Health on a full disk = %v; want ENOSPC", err)
	}
	if err := appendBytes(s, next(), 8, make(chanAcker, 1)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Append on a full disk = %v; want ErrUnavailable", err)
	}
	// Nothing torn: the segments hold exactly the acknowledged batches.
	if got := readAll(t, dir); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("on a full disk the segments hold %d bytes; want the %d acknowledged", len(got), want.Len())
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "recovery after freeing space", func() bool { return s.Health() == nil })
	if mode == AckQueued {
		if err := <-a; err != nil {
			t.Fatalf("kept batch ack after recovery = %v", err)
		}
		want.Write(c)
	}
	for range 3 {
		c := next()
		if err := appendWait(t, s, c); err != nil {
			t.Fatalf("append after recovery: %v", err)
		}
		want.Write(c)
	}
	if err := closeStore(s); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, dir); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("segments hold %d bytes; want %d", len(got), want.Len())
	}
	if st := s.Stats(); st.WriteErrors == 0 {
		t.Fatalf("no write error counted: %+v", st)
	}
}
