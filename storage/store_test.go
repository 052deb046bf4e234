package storage

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var ackModes = []AckMode{AckQueued, AckWritten, AckSynced}

func TestParseAckMode(t *testing.T) {
	f := func(in string, want AckMode, wantErr bool) {
		t.Helper()
		got, err := ParseAckMode(in)
		if (err != nil) != wantErr {
			t.Fatalf("ParseAckMode(%q) error = %v; want error %v", in, err, wantErr)
		}
		if err == nil && (got != want || got.String() != in) {
			t.Fatalf("ParseAckMode(%q) = %v; want %v", in, got, want)
		}
	}
	f("queued", AckQueued, false)
	f("written", AckWritten, false)
	f("synced", AckSynced, false)
	f("", 0, true)
	f("Synced", 0, true)
	f("fsync", 0, true)
	if AckMode(0) != AckWritten {
		t.Fatalf("zero AckMode = %v; want written", AckMode(0))
	}
	if got := AckMode(9).String(); got != "AckMode(9)" {
		t.Fatalf("AckMode(9).String() = %q", got)
	}
}

func TestOpenConfig(t *testing.T) {
	cases := []struct {
		name    string
		cfg     func(dir string) Config
		wantErr string
	}{
		{"no dir", func(string) Config { return Config{} }, "no data directory"},
		{"bad writer", func(dir string) Config { return Config{Dir: dir, Writer: "mmap"} }, `unknown writer "mmap"`},
		{"bad ack", func(dir string) Config { return Config{Dir: dir, Ack: 7} }, "invalid ack mode"},
		{"dir is a file", func(dir string) Config {
			p := filepath.Join(dir, "file")
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return Config{Dir: p, Logger: quietLogger}
		}, "create data directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.cfg(t.TempDir()))
			if err == nil {
				closeStore(s)
				t.Fatalf("Open succeeded; want error containing %q", tc.wantErr)
			}
			mustContain(t, "Open error", err.Error(), tc.wantErr)
		})
	}

	// Defaults.
	s := openT(t, Config{Dir: filepath.Join(t.TempDir(), "a", "b"), Logger: quietLogger, Writer: WriterFile})
	if s.cfg.SegmentBytes != DefaultSegmentBytes || s.cfg.QueueBytes != DefaultQueueBytes || s.cfg.MaxDiskBytes != 0 {
		t.Fatalf("defaults: %+v", s.cfg)
	}
	st := s.Stats()
	if st.Ack != "written" || st.Writer != WriterFile || st.Segments != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestGroupCommit: many concurrent appenders, each waiting for its ack. Every ack arrives exactly
// once, each after its bytes were written (synced in AckSynced mode), and the segments hold
// exactly the batches in ack order.
func TestGroupCommit(t *testing.T) {
	forEachWriterMode(t, func(t *testing.T, writer string, mode AckMode) {
		testGroupCommit(t, writer, mode)
	})
}

func testGroupCommit(t *testing.T, writer string, mode AckMode) {
	const appenders, perAppender = 16, 60
	dir := t.TempDir()
	fb := &faultBackend{}
	cfg := faultConfig(dir, writer, mode, fb)
	cfg.SegmentBytes = 32 << 10
	s := openT(t, cfg)

	contents := make(map[int][]byte)
	for id := 0; id < appenders*perAppender; id++ {
		contents[id] = batchContent(id, 1+id%5, 120)
	}
	log := newAckLog()
	var ackedBytes int64 // the stream's owner only (acks are serial)
	var mu sync.Mutex
	var problems []string
	check := func(id int) func(error) {
		return func(err error) {
			if err != nil {
				return
			}
			ackedBytes += int64(len(contents[id]))
			limit := fb.written.Load()
			if mode == AckSynced {
				limit = fb.synced.Load()
			}
			if ackedBytes > limit {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("batch %d acked with %d bytes acked but only %d written/synced", id, ackedBytes, limit))
				mu.Unlock()
			}
		}
	}

	var wg sync.WaitGroup
	for g := 0; g < appenders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan error, 1)
			for k := 0; k < perAppender; k++ {
				id := g*perAppender + k
				a := &idAcker{log: log, id: id, check: check(id), done: done}
				if err := appendBytes(s, contents[id], 3, a); err != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("append %d: %v", id, err))
					mu.Unlock()
					return
				}
				if err := <-done; err != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("ack %d: %v", id, err))
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(problems) > 0 {
		t.Fatalf("%d problems, first: %s", len(problems), problems[0])
	}
	if err := closeStore(s); err != nil {
		t.Fatalf("Close: %v", err)
	}

	total := appenders * perAppender
	if len(log.order) != total {
		t.Fatalf("got %d successful acks; want %d", len(log.order), total)
	}
	for id := 0; id < total; id++ {
		if log.counts[id] != 1 {
			t.Fatalf("batch %d acked %d times; want 1", id, log.counts[id])
		}
	}
	var want bytes.Buffer
	for _, id := range log.order {
		want.Write(contents[id])
	}
	if got := readAll(t, dir); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("segments hold %d bytes; want %d (the batches in ack order)", len(got), want.Len())
	}
	st := s.Stats()
	if st.Batches != uint64(total) || st.MetricsWritten != uint64(3*total) || st.BytesWritten != uint64(want.Len()) {
		t.Fatalf("stats = %+v; want %d batches, %d bytes", st, total, want.Len())
	}
	if st.Submissions > st.Batches || st.QueueBytes != 0 || st.WriteErrors != 0 {
		t.Fatalf("stats = %+v", st)
	}
	if mode == AckSynced && st.Syncs < st.Submissions {
		t.Fatalf("synced mode: %d syncs for %d submissions", st.Syncs, st.Submissions)
	}
	if st.Segments < 2 {
		t.Fatalf("expected rotation with 32 KiB segments; got %d segments", st.Segments)
	}
	t.Logf("%d batches in %d submissions, %d syncs, %d segments", st.Batches, st.Submissions, st.Syncs, st.Segments)
}

// TestGroupCommitGathers: what queues up while a submission is in flight is written as ONE
// submission.
func TestGroupCommitGathers(t *testing.T) {
	forEachWriterMode(t, func(t *testing.T, writer string, mode AckMode) {
		dir := t.TempDir()
		fb := &faultBackend{}
		s := openT(t, faultConfig(dir, writer, mode, fb))
		release := fb.hold(t)
		log := newAckLog()
		done := make(chan error, 101)
		var want bytes.Buffer
		for id := 0; id <= 100; id++ {
			c := batchContent(id, 2, 100)
			want.Write(c)
			if err := appendBytes(s, c, 2, &idAcker{log: log, id: id, done: done}); err != nil {
				t.Fatal(err)
			}
			if id == 0 {
				fb.waitEntered(t) // the writer holds batch 0 in its submission
			}
		}
		release()
		for range 101 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		st := s.Stats()
		if st.Submissions != 2 || st.Batches != 101 {
			t.Fatalf("%d batches in %d submissions; want 101 in 2", st.Batches, st.Submissions)
		}
		for i, id := range log.order {
			if i != id {
				t.Fatalf("ack %d was batch %d; want queue order", i, id)
			}
		}
		if err := closeStore(s); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, dir); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("content mismatch: got %d bytes; want %d", len(got), want.Len())
		}
	})
}

// TestAckQueuedNilAcker: in AckQueued mode a nil Acker is fine and Close writes everything.
func TestAckQueuedNilAcker(t *testing.T) {
	forEachWriter(t, func(t *testing.T, writer string) {
		dir := t.TempDir()
		s := openT(t, testConfig(dir, writer, AckQueued))
		var want bytes.Buffer
		for id := 0; id < 200; id++ {
			c := batchContent(id, 1, 80)
			want.Write(c)
			if err := appendBytes(s, c, 1, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := closeStore(s); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, dir); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("content mismatch: got %d bytes; want %d", len(got), want.Len())
		}
		if st := s.Stats(); st.Syncs == 0 {
			t.Fatalf("Close did not fdatasync: %+v", st)
		}
	})
}

// TestSyncCounts: AckWritten never syncs before Close; AckSynced syncs each submission.
func TestSyncCounts(t *testing.T) {
	forEachWriter(t, func(t *testing.T, writer string) {
		cases := []struct {
			mode      AckMode
			wantSyncs uint64 // after 5 sequential batches, before Close
		}{
			{AckQueued, 0},
			{AckWritten, 0},
			{AckSynced, 5},
		}
		for _, tc := range cases {
			t.Run(tc.mode.String(), func(t *testing.T) {
				s := openT(t, testConfig(t.TempDir(), writer, tc.mode))
				for id := 0; id < 5; id++ {
					if err := appendWait(t, s, batchContent(id, 1, 50)); err != nil {
						t.Fatal(err)
					}
				}
				if got := s.Stats().Syncs; got != tc.wantSyncs {
					t.Fatalf("syncs before Close = %d; want %d", got, tc.wantSyncs)
				}
				if err := closeStore(s); err != nil {
					t.Fatal(err)
				}
				want := tc.wantSyncs
				if tc.mode != AckSynced {
					want++ // Close syncs
				}
				if got := s.Stats().Syncs; got != want {
					t.Fatalf("syncs after Close = %d; want %d", got, want)
				}
			})
		}
	})
}

// TestShortWrites: a backend that writes at most 100 bytes per call; the writer completes every
// submission by resubmitting the remainder.
func TestShortWrites(t *testing.T) {
	forEachWriterMode(t, func(t *testing.T, writer string, mode AckMode) {
		dir := t.TempDir()
		fb := &faultBackend{maxWrite: 100}
		s := openT(t, faultConfig(dir, writer, mode, fb))
		var want bytes.Buffer
		for id := 0; id < 10; id++ {
			c := batchContent(id, 3, 90)
			want.Write(c)
			if err := appendWait(t, s, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := closeStore(s); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, dir); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("content mismatch:\n got %q\nwant %q", got, want.Bytes())
		}
		st := s.Stats()
		if minSub := uint64(want.Len() / 100); st.Submissions < minSub {
			t.Fatalf("%d submissions; want >= %d", st.Submissions, minSub)
		}
		if mode == AckSynced && st.Syncs != 10 {
			t.Fatalf("%d syncs; want 10 (one per completed batch)", st.Syncs)
		}
	})
}

// TestSyncFailure: a failed fdatasync fails the batches of its submission, turns the store
// unhealthy, truncates the segment back to the last synced offset and is never trusted: writing
// resumes in a new segment after a probe.
func TestSyncFailure(t *testing.T) {
	forEachWriter(t, func(t *testing.T, writer string) {
		dir := t.TempDir()
		fb := &faultBackend{}
		s := openT(t, faultConfig(dir, writer, AckSynced, fb))
		var good bytes.Buffer
		for id := 0; id < 3; id++ {
			c := batchContent(id, 2, 60)
			good.Write(c)
			if err := appendWait(t, s, c); err != nil {
				t.Fatal(err)
			}
		}
		fb.set(func(fb *faultBackend) { fb.syncErr, fb.syncFails = syscall.EIO, 1 })
		err := appendWait(t, s, batchContent(3, 2, 60))
		if !errors.Is(err, syscall.EIO) {
			t.Fatalf("ack of the batch whose fdatasync failed = %v; want EIO", err)
		}
		// The store turned unhealthy before the ack was delivered; it may already have recovered
		// by now, so only check the segment switch and content after recovery.
		waitFor(t, "recovery", func() bool { return s.Health() == nil })
		c := batchContent(4, 2, 60)
		if err := appendWait(t, s, c); err != nil {
			t.Fatal(err)
		}
		if err := closeStore(s); err != nil {
			t.Fatal(err)
		}
		segs := segmentFiles(t, dir)
		if len(segs) != 2 || segs[0].Size != int64(good.Len()) {
			t.Fatalf("segments = %+v; want segment 1 truncated to %d bytes and a new segment 2", segs, good.Len())
		}
		want := append(good.Bytes(), c...)
		if got := readAll(t, dir); !bytes.Equal(got, want) {
			t.Fatalf("content mismatch:\n got %q\nwant %q", got, want)
		}
		if st := s.Stats(); st.WriteErrors != 1 {
			t.Fatalf("write errors = %d; want 1", st.WriteErrors)
		}
	})
}

// TestSyncFailureBlocksAppends: while the sync fault persists (probes fail too), Health reports it
// and Append refuses.
func TestSyncFailureBlocksAppends(t *testing.T) {
	forEachWriter(t, func(t *testing.T, writer string) {
		fb := &faultBackend{syncErr: syscall.EIO, syncFails: 1 << 30}
		s := openT(t, faultConfig(t.TempDir(), writer, AckSynced, fb))
		if err := appendWait(t, s, batchContent(0, 1, 60)); !errors.Is(err, syscall.EIO) {
			t.Fatalf("ack = %v; want EIO", err)
		}
		if err := s.Health(); !errors.Is(err, syscall.EIO) {
			t.Fatalf("Health = %v; want EIO", err)
		}
		if err := appendBytes(s, batchContent(1, 1, 60), 1, make(chanAcker, 1)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Append while failing = %v; want ErrUnavailable", err)
		}
		fb.set(func(fb *faultBackend) { fb.syncFails = 0 })
		waitFor(t, "recovery", func() bool { return s.Health() == nil })
		if err := appendWait(t, s, batchContent(2, 1, 60)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCloseSyncFailure: in AckWritten mode the final fdatasync of Close fails; Close reports it.
func TestCloseSyncFailure(t *testing.T) {
	forEachWriter(t, func(t *testing.T, writer string) {
		fb := &faultBackend{}
		s := openT(t, faultConfig(t.TempDir(), writer, AckWritten, fb))
		if err := appendWait(t, s, batchContent(0, 1, 60)); err != nil {
			t.Fatal(err)
		}
		fb.set(func(fb *faultBackend) { fb.syncErr, fb.syncFails = syscall.EIO, 1 })
		err := closeStore(s)
		if !errors.Is(err, syscall.EIO) {
			t.Fatalf("Close = %v; want EIO", err)
		}
		if err2 := closeStore(s); err2 != err {
			t.Fatalf("second Close = %v; want the same %v", err2, err)
		}
	})
}

// TestWriteFailure: a write fails after writing part of a batch. The partial bytes are truncated
// away; AckWritten/AckSynced fail the batch, AckQueued keeps it and writes it after recovery; the
// store is unhealthy meanwhile and recovers by itself.
func TestWriteFailure(t *testing.T) {
	forEachWriterMode(t, func(t *testing.T, writer string, mode AckMode) {
		dir := t.TempDir()
		fb := &faultBackend{}
		s := openT(t, faultConfig(dir, writer, mode, fb))
		var want bytes.Buffer
		c0 := batchContent(0, 2, 70)
		want.Write(c0)
		if err := appendWait(t, s, c0); err != nil {
			t.Fatal(err)
		}
		fb.set(func(fb *faultBackend) { fb.writeErr, fb.partial = syscall.ENOSPC, 50 })

		c1 := batchContent(1, 2, 70)
		a1 := make(chanAcker, 1)
		if err := appendBytes(s, c1, 2, a1); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "unhealthy", func() bool { return s.Health() != nil })
		if err := s.Health(); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Health = %v; want ENOSPC", err)
		}
		if err := appendBytes(s, batchContent(9, 1, 70), 1, make(chanAcker, 1)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Append while failing = %v; want ErrUnavailable", err)
		}
		if mode != AckQueued {
			if err := <-a1; !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("ack = %v; want ENOSPC", err)
			}
		} else {
			select {
			case err := <-a1:
				t.Fatalf("queued batch acked (%v) while writing fails", err)
			default:
			}
			if st := s.Stats(); st.QueueBytes != int64(len(c1)) {
				t.Fatalf("queue bytes = %d; want %d (the kept batch)", st.QueueBytes, len(c1))
			}
		}
		// No partial batch stays in the segment while failing.
		if got := readAll(t, dir); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("while failing the segments hold %q; want %q", got, want.Bytes())
		}
		fb.set(func(fb *faultBackend) { fb.writeErr = nil })
		waitFor(t, "recovery", func() bool { return s.Health() == nil })
		if mode == AckQueued {
			if err := <-a1; err != nil {
				t.Fatalf("queued batch ack after recovery = %v", err)
			}
			want.Write(c1)
		}
		c2 := batchContent(2, 2, 70)
		want.Write(c2)
		if err := appendWait(t, s, c2); err != nil {
			t.Fatal(err)
		}
		if err := closeStore(s); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, dir); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("content mismatch:\n got %q\nwant %q", got, want.Bytes())
		}
		if st := s.Stats(); st.WriteErrors == 0 || st.QueueBytes != 0 {
			t.Fatalf("stats = %+v", st)
		}
	})
}

// TestCloseWhileFailing: AckQueued batches that cannot be written by Close are acked with an error
// and Close still returns.
func TestCloseWhileFailing(t *testing.T) {
	forEachWriter(t, func(t *testing.T, writer string) {
		fb := &faultBackend{writeErr: syscall.EIO}
		s := openT(t, faultConfig(t.TempDir(), writer, AckQueued, fb))
		a := make(chanAcker, 1)
		if err := appendBytes(s, batchContent(0, 1, 50), 1, a); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "unhealthy", func() bool { return s.Health() != nil })
		if err := closeStore(s); err != nil {
			t.Fatalf("Close = %v", err)
		}
		if err := <-a; !errors.Is(err, syscall.EIO) {
			t.Fatalf("ack = %v; want EIO", err)
		}
	})
}

// TestRotation: a new segment starts when the next batch would pass SegmentBytes; a batch is never
// split; a batch larger than SegmentBytes gets a segment of its own.
func TestRotation(t *testing.T) {
	forEachWriter(t, func(t *testing.T, writer string) {
		dir := t.TempDir()
		cfg := testConfig(dir, writer, AckWritten)
		cfg.SegmentBytes = 1000
		s := openT(t, cfg)
		sizes := []int{300, 450, 200, 100, 2500, 100, 960, 40, 600, 600}
		var want bytes.Buffer
		var wantSegs []int64
		cur := int64(0)
		for id, n := range sizes {
			c := batchContent(id, 1, n)
			if len(c) != n {
				t.Fatalf("batch %d has %d bytes; want %d", id, len(c), n)
			}
			if cur > 0 && cur+int64(n) > cfg.SegmentBytes {
				wantSegs = append(wantSegs, cur)
				cur = 0
			}
			cur += int64(n)
			want.Write(c)
			if err := appendWait(t, s, c); err != nil {
				t.Fatal(err)
			}
		}
		wantSegs = append(wantSegs, cur)
		if err := closeStore(s); err != nil {
			t.Fatal(err)
		}
		segs := segmentFiles(t, dir)
		if len(segs) != len(wantSegs) {
			t.Fatalf("segments = %+v; want sizes %v", segs, wantSegs)
		}
		for i, seg := range segs {
			if seg.Ref.Seq != uint64(i+1) || seg.Size != wantSegs[i] {
				t.Fatalf("segment %d = %+v; want seq %d size %d", i, seg, i+1, wantSegs[i])
			}
		}
		if got := readAll(t, dir); !bytes.Equal(got, want.Bytes()) {
			t.Fatal("content mismatch")
		}
		if st := s.Stats(); st.Segments != len(wantSegs) {
			t.Fatalf("stats segments = %d; want %d", st.Segments, len(wantSegs))
		}
	})
}

// TestRetention: with MaxDiskBytes, the oldest closed segments are deleted after each rotation
// until the total fits, and the deletions are counted.
func TestRetention(t *testing.T) {
	forEachWriter(t, func(t *testing.T, writer string) {
		dir := t.TempDir()
		cfg := testConfig(dir, writer, AckWritten)
		cfg.SegmentBytes = 1000
		cfg.MaxDiskBytes = 2500
		s := openT(t, cfg)
		const batches = 40 // 300 bytes each: 3 per segment
		for id := 0; id < batches; id++ {
			if err := appendWait(t, s, batchContent(id, 1, 300)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, fmt.Sprintf("retention after batch %d", id), func() bool {
				var total int64
				for _, seg := range segmentFiles(t, dir) {
					total += seg.Size
				}
				return total <= cfg.MaxDiskBytes+cfg.SegmentBytes
			})
		}
		if err := closeStore(s); err != nil {
			t.Fatal(err)
		}
		segs := segmentFiles(t, dir)
		var remaining int64
		for _, seg := range segs {
			remaining += seg.Size
		}
		last := segs[len(segs)-1].Ref.Seq
		st := s.Stats()
		if wantDeleted := last - uint64(len(segs)); st.SegmentsDeleted != wantDeleted || wantDeleted == 0 {
			t.Fatalf("deleted = %d; want %d (segments 1..%d, %d left)", st.SegmentsDeleted, wantDeleted, last, len(segs))
		}
		if st.BytesDeleted != uint64(batches*300-remaining) {
			t.Fatalf("bytes deleted = %d; want %d", st.BytesDeleted, batches*300-remaining)
		}
		if segs[0].Ref.Seq != st.SegmentsDeleted+1 {
			t.Fatalf("oldest remaining segment = %d; want %d (oldest deleted first)", segs[0].Ref.Seq, st.SegmentsDeleted+1)
		}
		if st.Segments != len(segs) {
			t.Fatalf("stats segments = %d; want %d", st.Segments, len(segs))
		}
	})
}

// TestQueueFull: the queue is bounded by bytes; a full queue refuses with ErrQueueFull and frees
// up once the writer catches up.
func TestQueueFull(t *testing.T) {
	forEachWriter(t, func(t *testing.T, writer string) {
		fb := &faultBackend{}
		cfg := faultConfig(t.TempDir(), writer, AckWritten, fb)
		cfg.QueueBytes = 4096
		s := openT(t, cfg)
		release := fb.hold(t)
		c := batchContent(0, 1, 1000)
		done := make(chan error, 10)
		log := newAckLog()
		accepted := 0
		for ; accepted < 10; accepted++ {
			err := appendBytes(s, c, 1, &idAcker{log: log, id: accepted, done: done})
			if errors.Is(err, ErrQueueFull) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if accepted == 0 {
				fb.waitEntered(t)
			}
		}
		if accepted != 4 {
			t.Fatalf("accepted %d batches of 1000 bytes into a 4096-byte queue; want 4", accepted)
		}
		if st := s.Stats(); st.QueueBytes != 4000 {
			t.Fatalf("queue bytes = %d; want 4000", st.QueueBytes)
		}
		release()
		for range accepted {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if st := s.Stats(); st.QueueBytes != 0 {
			t.Fatalf("queue bytes after the writer caught up = %d", st.QueueBytes)
		}
		if err := appendWait(t, s, c); err != nil {
			t.Fatal(err)
		}
		big := batchContent(1, 1, 5000)
		if err := appendBytes(s, big, 1, make(chanAcker, 1)); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("batch larger than the queue: %v; want ErrQueueFull", err)
		}
	})
}

// TestCloseDrains: Close stops accepting at once, then writes, acks and syncs everything queued.
func TestCloseDrains(t *testing.T) {
	forEachWriterMode(t, func(t *testing.T, writer string, mode AckMode) {
		dir := t.TempDir()
		fb := &faultBackend{}
		s := openT(t, faultConfig(dir, writer, mode, fb))
		release := fb.hold(t)
		log := newAckLog()
		done := make(chan error, 50)
		var want bytes.Buffer
		for id := 0; id < 50; id++ {
			c := batchContent(id, 2, 80)
			want.Write(c)
			if err := appendBytes(s, c, 2, &idAcker{log: log, id: id, done: done}); err != nil {
				t.Fatal(err)
			}
			if id == 0 {
				fb.waitEntered(t)
			}
		}
		closed := make(chan error, 1)
		go func() { closed <- closeStore(s) }()
		waitFor(t, "Close to begin", func() bool { return errors.Is(s.Health(), ErrClosed) })
		if err := appendBytes(s, []byte("x\n"), 1, make(chanAcker, 1)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Append during Close = %v; want ErrClosed", err)
		}
		release()
		if err := <-closed; err != nil {
			t.Fatalf("Close = %v", err)
		}
		if len(log.order) != 50 {
			t.Fatalf("%d acks after Close; want 50", len(log.order))
		}
		for range 50 {
			<-done
		}
		if got := readAll(t, dir); !bytes.Equal(got, want.Bytes()) {
			t.Fatal("content mismatch after Close")
		}
		if fb.synced.Load() != fb.written.Load() {
			t.Fatalf("Close left %d bytes unsynced", fb.written.Load()-fb.synced.Load())
		}
		if err := closeStore(s); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		if err := s.Health(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Health after Close = %v; want ErrClosed", err)
		}
	})
}

func TestAppendNotLines(t *testing.T) {
	s := openT(t, testConfig(t.TempDir(), WriterFile, AckWritten))
	if err := appendBytes(s, []byte(`{"a":1}`), 1, make(chanAcker, 1)); !errors.Is(err, ErrNotLines) {
		t.Fatalf("Append without trailing newline = %v; want ErrNotLines", err)
	}
	if err := appendWait(t, s, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}

// TestReopen: a second Open continues with a new segment and leaves the old ones alone; an empty
// last segment is reused.
func TestReopen(t *testing.T) {
	forEachWriter(t, func(t *testing.T, writer string) {
		dir := t.TempDir()
		var want []byte
		for round := 0; round < 3; round++ {
			s, err := openDriven(testConfig(dir, writer, AckSynced))
			if err != nil {
				t.Fatal(err)
			}
			c := batchContent(round, 2, 60)
			want = append(want, c...)
			if err := appendWait(t, s, c); err != nil {
				t.Fatal(err)
			}
			if err := closeStore(s); err != nil {
				t.Fatal(err)
			}
		}
		// An Open that writes nothing leaves an empty segment, which the next Open reuses.
		for range 2 {
			s, err := openDriven(testConfig(dir, writer, AckSynced))
			if err != nil {
				t.Fatal(err)
			}
			if err := closeStore(s); err != nil {
				t.Fatal(err)
			}
		}
		segs := segmentFiles(t, dir)
		if len(segs) != 4 || segs[3].Size != 0 {
			t.Fatalf("segments = %+v; want 3 written and 1 empty", segs)
		}
		if got := readAll(t, dir); !bytes.Equal(got, want) {
			t.Fatal("content mismatch across reopens")
		}
	})
}

func TestDirLocked(t *testing.T) {
	dir := t.TempDir()
	openT(t, testConfig(dir, WriterFile, AckWritten))
	s, err := openDriven(testConfig(dir, WriterFile, AckWritten))
	if err == nil {
		closeStore(s)
		t.Skip("no directory locking on this platform")
	}
	mustContain(t, "second Open", err.Error(), "in use by another process")
}

// TestWriterSelection: auto falls back to the file writer when io_uring is missing or refused,
// logging the reason; io_uring refuses to open where it is not available.
func TestWriterSelection(t *testing.T) {
	type selCase struct {
		name       string
		writer     string
		inject     error
		wantWriter string // "" = Open must fail
		wantReason string // in WriterReason (or in the Open error)
	}
	cases := []selCase{
		{"auto refused", WriterAuto, errInjected, WriterFile, "io_uring setup refused: injected fault"},
		{"io_uring refused", WriterIOURing, errInjected, "", "io_uring writer unavailable: io_uring setup refused: injected fault"},
		{"file", WriterFile, nil, WriterFile, "selected by configuration"},
		{"empty is auto", "", errInjected, WriterFile, "injected fault"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			cfg := testConfig(t.TempDir(), tc.writer, AckWritten)
			cfg.uringSetupErr = tc.inject
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			s, err := openDriven(cfg)
			if tc.wantWriter == "" {
				if err == nil {
					closeStore(s)
					t.Fatalf("Open succeeded with writer %q; want an error", tc.writer)
				}
				mustContain(t, "Open error", err.Error(), tc.wantReason)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer closeStore(s)
			st := s.Stats()
			if st.Writer != tc.wantWriter {
				t.Fatalf("writer = %q; want %q", st.Writer, tc.wantWriter)
			}
			mustContain(t, "writer reason", st.WriterReason, tc.wantReason)
			mustContain(t, "start-up log", logs.String(), "writer="+tc.wantWriter)
			mustContain(t, "start-up log", logs.String(), tc.wantReason)
			if err := appendWait(t, s, []byte("{}\n")); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("auto runs io_uring where the kernel allows it", func(t *testing.T) {
		skipWithoutUring(t)
		s := openT(t, testConfig(t.TempDir(), WriterAuto, AckWritten))
		st := s.Stats()
		if st.Writer != WriterIOURing {
			t.Fatalf("writer = %q (%s); want io_uring", st.Writer, st.WriterReason)
		}
		mustContain(t, "writer reason", st.WriterReason, "io_uring available")
	})
}

// TestHealthReportsReason: Health carries the writer's error text for the 503 body.
func TestHealthReportsReason(t *testing.T) {
	fb := &faultBackend{writeErr: syscall.ENOSPC}
	s := openT(t, faultConfig(t.TempDir(), WriterFile, AckWritten, fb))
	if err := s.Health(); err != nil {
		t.Fatalf("Health at start = %v", err)
	}
	if err := appendWait(t, s, []byte("{}\n")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("ack = %v", err)
	}
	err := s.Health()
	if err == nil {
		t.Fatal("Health = nil while writes fail")
	}
	mustContain(t, "Health", err.Error(), "no space left on device")
	mustContain(t, "Health", err.Error(), "storage: ")
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) { // probes keep failing: still unhealthy
		if s.Health() == nil {
			t.Fatal("store recovered although every write fails")
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

// TestIovecSplit: a group of more than IOV_MAX batches is written as several submissions of at
// most maxIovecs buffers; AckSynced syncs each (its batches are acknowledged when it completes).
func TestIovecSplit(t *testing.T) {
	forEachWriter(t, func(t *testing.T, writer string) {
		for _, mode := range []AckMode{AckWritten, AckSynced} {
			t.Run(mode.String(), func(t *testing.T) {
				dir := t.TempDir()
				fb := &faultBackend{}
				s := openT(t, faultConfig(dir, writer, mode, fb))
				release := fb.hold(t)
				const n = 1 + 2*maxIovecs + 52
				log := newAckLog()
				done := make(chan error, n)
				var want bytes.Buffer
				for id := 0; id < n; id++ {
					c := batchContent(id, 1, 40)
					want.Write(c)
					if err := appendBytes(s, c, 1, &idAcker{log: log, id: id, done: done}); err != nil {
						t.Fatal(err)
					}
					if id == 0 {
						fb.waitEntered(t)
					}
				}
				release()
				for range n {
					if err := <-done; err != nil {
						t.Fatal(err)
					}
				}
				st := s.Stats()
				if st.Submissions != 4 {
					t.Fatalf("%d submissions; want 4 (1, then %d batches in 3)", st.Submissions, n-1)
				}
				// Each submission's batches are acked when it completes, so each is synced.
				if mode == AckSynced && st.Syncs != 4 {
					t.Fatalf("%d syncs; want 4", st.Syncs)
				}
				if err := closeStore(s); err != nil {
					t.Fatal(err)
				}
				if got := readAll(t, dir); !bytes.Equal(got, want.Bytes()) {
					t.Fatal("content mismatch")
				}
			})
		}
	})
}

func TestAdvance(t *testing.T) {
	f := func(bufs []string, n int, want []string) {
		t.Helper()
		iov := make([][]byte, len(bufs))
		for i, b := range bufs {
			iov[i] = []byte(b)
		}
		got := advance(iov, n)
		if len(got) != len(want) {
			t.Fatalf("advance(%q, %d) = %q; want %q", bufs, n, got, want)
		}
		for i := range got {
			if string(got[i]) != want[i] {
				t.Fatalf("advance(%q, %d) = %q; want %q", bufs, n, got, want)
			}
		}
	}
	f([]string{"abc", "de"}, 0, []string{"abc", "de"})
	f([]string{"abc", "de"}, 1, []string{"bc", "de"})
	f([]string{"abc", "de"}, 3, []string{"de"})
	f([]string{"abc", "de"}, 4, []string{"e"})
	f([]string{"a", "b", "c", "de"}, 3, []string{"de"})
	f([]string{"ab", "cd", "ef"}, 5, []string{"f"})
}
