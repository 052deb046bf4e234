package forward

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// startForwarder runs a forwarder over dir with one sink at url and stops it at the end.
func startForwarder(t *testing.T, dir string, sc SinkConfig, log *logBuffer) *Forwarder {
	t.Helper()
	sc.MinBackoff = cmpOr(sc.MinBackoff, 20*time.Millisecond)
	sc.MaxBackoff = cmpOr(sc.MaxBackoff, 100*time.Millisecond)
	f, err := New(Config{Dir: dir, Sinks: []SinkConfig{sc}, Logger: log.logger(), PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(NewDirSource(dir)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeForwarder(t, f) })
	return f
}

func closeForwarder(t *testing.T, f *Forwarder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

func onlySink(f *Forwarder) Snapshot {
	for _, s := range f.Stats() {
		return s
	}
	return Snapshot{}
}

// TestForwardEveryStream: lines of every loop's stream, closed and current segments and the
// legacy layout, arrive once each; the cursor ends at every stream's end; a restart resends
// nothing; lines appended later (tailing) arrive too.
func TestForwardEveryStream(t *testing.T) {
	dir := t.TempDir()
	refs := []SegmentRef{{Loop: LegacyLoop, Seq: 3}, {Loop: 0, Seq: 1}, {Loop: 0, Seq: 2}, {Loop: 1, Seq: 7}}
	ends := map[int]Position{}
	for i, ref := range refs {
		n := appendTestLines(t, dir, ref, "m"+string(rune('a'+i)), 0, 250)
		ends[ref.Loop] = Position{Loop: ref.Loop, Seq: ref.Seq, Off: n}
	}
	rr := newRWReceiver(t)
	srv := httptest.NewServer(rr)
	defer srv.Close()
	var log logBuffer
	f := startForwarder(t, dir, SinkConfig{URL: srv.URL + "/api/v1/write", Batch: 100, Inflight: 3}, &log)
	waitFor(t, 10*time.Second, "1000 samples", func() bool { _, n := rr.received(); return n == 1000 })
	// Tailing: the current segment of loop 1 grows.
	appendTestLines(t, dir, SegmentRef{Loop: 1, Seq: 7}, "md", 250, 50)
	waitFor(t, 10*time.Second, "1050 samples", func() bool { _, n := rr.received(); return n == 1050 })
	waitFor(t, 5*time.Second, "the cursor at every stream's end", func() bool {
		return len(onlySink(f).Cursor) == 3
	})
	closeForwarder(t, f)
	if names, n := rr.received(); names != 1050 || n != 1050 {
		t.Fatalf("got %d names, %d samples; want 1050 each (once)", names, n)
	}
	pos, err := loadCursor(filepath.Join(dir, "forward-"+sanitizeSinkName(strings.TrimPrefix(srv.URL, "http://")+"/api/v1/write")+".cursor"))
	if err != nil || len(pos) != 3 {
		t.Fatalf("cursor %v, %v", pos, err)
	}
	for _, p := range pos {
		want := ends[p.Loop]
		if p.Loop == 1 {
			want.Off = fileSize(t, filepath.Join(dir, SegmentRef{Loop: 1, Seq: 7}.FileName()))
		}
		if p != want {
			t.Errorf("cursor of loop %d at %+v; want %+v", p.Loop, p, want)
		}
	}
	// A restart from the saved cursor sends nothing again.
	f2 := startForwarder(t, dir, SinkConfig{URL: srv.URL + "/api/v1/write", Batch: 100}, &log)
	appendTestLines(t, dir, SegmentRef{Loop: 0, Seq: 2}, "mc", 250, 1)
	waitFor(t, 10*time.Second, "the new sample", func() bool { _, n := rr.received(); return n == 1051 })
	closeForwarder(t, f2)
	if s := onlySink(f2); s.ResentSamples != 0 || s.Samples != 1 {
		t.Fatalf("after restart: %d samples sent, %d resent; want 1 and 0", s.Samples, s.ResentSamples)
	}
}

// TestRefusedRequestIsDropped: a 400 drops that request (counted, logged with the sink's
// answer) and the cursor moves on; a 503 with Retry-After is retried after that delay.
func TestRefusedRequestIsDropped(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		retryAfter  string
		wantDropped uint64
		wantLog     string
	}{
		{"400", http.StatusBadRequest, "", 10, "out of order sample"},
		{"503 Retry-After", http.StatusServiceUnavailable, "1", 0, "retry_in=1s"},
		{"429", http.StatusTooManyRequests, "", 0, "sink unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			appendTestLines(t, dir, SegmentRef{Loop: 0, Seq: 1}, "m", 0, 30)
			rr := newRWReceiver(t)
			rr.answer = func(n int) (int, http.Header) {
				if n == 0 {
					return tc.status, http.Header{"Retry-After": {tc.retryAfter}}
				}
				return http.StatusNoContent, nil
			}
			srv := httptest.NewServer(rr)
			defer srv.Close()
			var log logBuffer
			f := startForwarder(t, dir, SinkConfig{URL: srv.URL + "/api/v1/write", Batch: 10, Inflight: 1}, &log)
			want := 30 - int(tc.wantDropped)
			waitFor(t, 10*time.Second, "the samples", func() bool { _, n := rr.received(); return n == want })
			waitFor(t, 5*time.Second, "the cursor at the end", func() bool {
				c := onlySink(f).Cursor
				return len(c) == 1 && c[0].Off == fileSize(t, filepath.Join(dir, SegmentRef{Loop: 0, Seq: 1}.FileName()))
			})
			s := onlySink(f)
			if s.Dropped["rejected"][0] != tc.wantDropped || s.Requests[tc.status] != 1 {
				t.Errorf("dropped %v, requests %v; want %d dropped and one %d", s.Dropped, s.Requests, tc.wantDropped, tc.status)
			}
			if !strings.Contains(log.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, log.String())
			}
			if tc.retryAfter != "" {
				rr.mu.Lock()
				gap := rr.times[1].Sub(rr.times[0])
				rr.mu.Unlock()
				if gap < 900*time.Millisecond {
					t.Errorf("retried after %v; Retry-After asked for 1s", gap)
				}
			}
		})
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestRetentionGuard: with the sink down, every segment is Needed; a forced deletion is counted
// (samples and bytes) and logged, and the sink goes on with the next segment once it is back;
// once acknowledged, a segment is no longer Needed.
func TestRetentionGuard(t *testing.T) {
	dir := t.TempDir()
	seg1, seg2 := SegmentRef{Loop: 0, Seq: 1}, SegmentRef{Loop: 0, Seq: 2}
	n1 := appendTestLines(t, dir, seg1, "old", 0, 40)
	appendTestLines(t, dir, seg2, "new", 0, 20)
	var up atomic.Bool
	rr := newRWReceiver(t)
	rr.answer = func(int) (int, http.Header) {
		if up.Load() {
			return http.StatusNoContent, nil
		}
		return http.StatusServiceUnavailable, nil
	}
	srv := httptest.NewServer(rr)
	defer srv.Close()
	var log logBuffer
	f := startForwarder(t, dir, SinkConfig{URL: srv.URL + "/api/v1/write", Batch: 10, Inflight: 1}, &log)
	waitFor(t, 5*time.Second, "a refused attempt", func() bool { return onlySink(f).Retries > 0 })
	if !f.Needed(seg1) || !f.Needed(seg2) {
		t.Fatal("segments not yet sent are not Needed")
	}
	path := filepath.Join(dir, seg1.FileName())
	data, _ := os.ReadFile(path)
	firstTen, _ := cutLines(data, 10)
	f.Dropping(seg1, path)
	os.Remove(path)
	up.Store(true)
	// The batch in flight (10 lines of seg1) is delivered; the 30 unread lines are dropped.
	waitFor(t, 10*time.Second, "the rest", func() bool { _, n := rr.received(); return n == 30 })
	s := onlySink(f)
	if d := s.Dropped["retention"]; d[0] != 30 || d[1] != uint64(n1)-uint64(firstTen) {
		t.Errorf("retention drop %v; want 30 samples, %d bytes", d, n1-int64(firstTen))
	}
	if !strings.Contains(log.String(), "-max-disk-bytes deletes data this sink has not sent") {
		t.Errorf("the drop is not logged:\n%s", log.String())
	}
	waitFor(t, 5*time.Second, "seg2 acknowledged", func() bool { return !f.Needed(seg2) })
}

// TestRestartReplaysSameBatches: after a crash, the batches sent beyond the saved cursor (the
// .sent file) are cut again exactly as before, counted as resends, and then forwarding goes on.
func TestRestartReplaysSameBatches(t *testing.T) {
	dir := t.TempDir()
	seg := SegmentRef{Loop: 0, Seq: 1}
	appendTestLines(t, dir, seg, "m", 0, 100)
	data, _ := os.ReadFile(filepath.Join(dir, seg.FileName()))
	at := func(lines int) Position {
		end, _ := cutLines(data, lines)
		return Position{Loop: 0, Seq: 1, Off: int64(end)}
	}
	// A crashed run: cursor after line 20, batches ending at lines 30, 45, 60 in flight.
	if err := saveCursorAtomic(filepath.Join(dir, "forward-s.cursor"), encodeCursor(nil, "s", []Position{at(20)})); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "forward-s.sent"), encodeCursor(nil, "s", []Position{at(30), at(45), at(60)}), 0o644); err != nil {
		t.Fatal(err)
	}
	rr := newRWReceiver(t)
	srv := httptest.NewServer(rr)
	defer srv.Close()
	var log logBuffer
	f := startForwarder(t, dir, SinkConfig{URL: srv.URL + "/api/v1/write#s", Batch: 1000, Inflight: 1}, &log)
	waitFor(t, 10*time.Second, "80 samples", func() bool { _, n := rr.received(); return n == 80 })
	closeForwarder(t, f)
	if sizes, want := rr.requestSizes(), []int{10, 15, 15, 40}; !slices.Equal(sizes, want) {
		t.Errorf("requests of %v samples; want %v (the crashed run's batches, then the rest)", sizes, want)
	}
	if s := onlySink(f); s.ResentSamples != 40 || s.ResentRequests != 3 {
		t.Errorf("resent %d samples in %d requests; want 40 in 3", s.ResentSamples, s.ResentRequests)
	}
	if names, n := rr.received(); names != 80 || n != 80 {
		t.Errorf("%d names, %d samples; want lines 20 to 99 once each", names, n)
	}
}

// TestCloseDoesNotWaitForADownSink: a delivery waiting to retry ends at once on Close; the batch
// stays unacknowledged for the next start.
func TestCloseDoesNotWaitForADownSink(t *testing.T) {
	dir := t.TempDir()
	appendTestLines(t, dir, SegmentRef{Loop: 0, Seq: 1}, "m", 0, 10)
	rr := newRWReceiver(t)
	rr.answer = func(int) (int, http.Header) { return http.StatusServiceUnavailable, nil }
	srv := httptest.NewServer(rr)
	defer srv.Close()
	var log logBuffer
	f, err := New(Config{Dir: dir, Sinks: []SinkConfig{{URL: srv.URL + "/api/v1/write", MinBackoff: time.Minute}},
		Logger: log.logger(), PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(NewDirSource(dir)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a refused attempt", func() bool { return onlySink(f).Retries > 0 })
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Close(ctx); err != nil || time.Since(start) > 2*time.Second {
		t.Fatalf("Close took %v: %v", time.Since(start), err)
	}
	if c := onlySink(f).Cursor; len(c) != 0 {
		t.Fatalf("cursor %v moved without an acknowledgement", c)
	}
}

// TestReadSizedToBatch: the reader sizes each read to the batch the last batch's lines would
// make, so a reader that is behind reads little more than it sends; lines that then grow
// longer only make shorter batches, and every line still arrives once, in batches of at most
// Batch samples.
func TestReadSizedToBatch(t *testing.T) {
	s := &sinkRunner{cfg: SinkConfig{Batch: 10000}, readChunk: 10000 * 256}
	for _, tc := range []struct {
		lineBytes, lo, hi int64
	}{
		{0, 10000 * 256, 10000 * 256},             // nothing learned yet: the default
		{180, 10000 * 180, 10000 * 180 * 11 / 10}, // the load test's lines
		{1000, 10000 * 256, 10000 * 256},          // long lines: never above the default
	} {
		if got := s.chunkFor(&stream{lineBytes: tc.lineBytes}); got < tc.lo || got > tc.hi {
			t.Errorf("lines of %d bytes: read %d; want %d to %d", tc.lineBytes, got, tc.lo, tc.hi)
		}
	}
	small := &sinkRunner{cfg: SinkConfig{Batch: 5}, readChunk: 64 << 10}
	if got := small.chunkFor(&stream{lineBytes: 100}); got != 4<<10 {
		t.Errorf("batches of 5 lines of 100 bytes: read %d; want 4096", got)
	}

	dir := t.TempDir()
	ref := SegmentRef{Loop: 0, Seq: 1}
	n := appendTestLines(t, dir, ref, "short", 0, 300)
	n += appendTestLines(t, dir, ref, "long_"+strings.Repeat("x", 400), 300, 300)
	rr := newRWReceiver(t)
	srv := httptest.NewServer(rr)
	defer srv.Close()
	var log logBuffer
	f := startForwarder(t, dir, SinkConfig{URL: srv.URL + "/api/v1/write", Batch: 50, Inflight: 2}, &log)
	waitFor(t, 10*time.Second, "the cursor at the segment's end", func() bool {
		c := onlySink(f).Cursor
		return len(c) == 1 && c[0].Off == n
	})
	closeForwarder(t, f)
	if names, got := rr.received(); names != 600 || got != 600 {
		t.Fatalf("got %d names, %d samples; want 600 each (once)", names, got)
	}
	if largest := slices.Max(rr.requestSizes()); largest > 50 {
		t.Errorf("a request carried %d samples; want at most the batch, 50", largest)
	}
}
