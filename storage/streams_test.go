package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// appendWaitTo is appendWait on loop's stream.
func appendWaitTo(t *testing.T, s *Store, loop int, content []byte) {
	t.Helper()
	a := make(chanAcker, 1)
	buf := GetBuffer()
	buf.B = append(buf.B, content...)
	var err error
	on(s, func() { err = s.Stream(loop).Append(buf, 1, a) })
	if err != nil {
		t.Fatalf("Append on loop %d: %v", loop, err)
	}
	if err := <-a; err != nil {
		t.Fatalf("ack on loop %d: %v", loop, err)
	}
}

// TestStreamsPerLoop: each loop writes its own segment stream; Frontier reports every stream at a
// batch boundary, including the legacy layout's and a former loop's, which are never appended to.
func TestStreamsPerLoop(t *testing.T) {
	forEachWriterMode(t, func(t *testing.T, writer string, mode AckMode) {
		dir := t.TempDir()
		legacy := []byte("{\"old\":1}\n{\"old\":2}\n")
		former := []byte("{\"former\":1}\n")
		for name, content := range map[string][]byte{
			"metrics-00000003.jsonl":    legacy,
			"metrics-05-00000002.jsonl": former,
		} {
			if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cfg := testConfig(dir, writer, mode)
		cfg.Loops = 3
		s := openT(t, cfg)
		want := map[int][]byte{}
		for i := range 30 {
			loop := i % 3
			c := batchContent(i, 2, 60)
			want[loop] = append(want[loop], c...)
			appendWaitTo(t, s, loop, c)
		}
		got := s.Frontier(nil)
		wantFront := []Position{
			{Loop: LegacyLoop, Seq: 3, Off: int64(len(legacy))},
			{Loop: 5, Seq: 2, Off: int64(len(former))},
			{Loop: 0, Seq: 1, Off: int64(len(want[0]))},
			{Loop: 1, Seq: 1, Off: int64(len(want[1]))},
			{Loop: 2, Seq: 1, Off: int64(len(want[2]))},
		}
		if !slices.Equal(got, wantFront) {
			t.Fatalf("Frontier = %v; want %v", got, wantFront)
		}
		if err := closeStore(s); err != nil {
			t.Fatal(err)
		}
		for loop, content := range want {
			name := SegmentRef{Loop: loop, Seq: 1}.FileName()
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || !bytes.Equal(b, content) {
				t.Fatalf("%s: %d bytes, %v; want the loop's %d bytes", name, len(b), err, len(content))
			}
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "metrics-00000003.jsonl")); !bytes.Equal(b, legacy) {
			t.Fatal("legacy segment changed")
		}
	})
}

// TestFrontierWhileOutstanding: while a submission is outstanding, Frontier stays at the last
// completed batch; it moves past the whole submission once it completes.
func TestFrontierWhileOutstanding(t *testing.T) {
	forEachWriter(t, func(t *testing.T, writer string) {
		fb := &faultBackend{}
		s := openT(t, faultConfig(t.TempDir(), writer, AckWritten, fb))
		first := batchContent(0, 3, 50)
		appendWaitTo(t, s, 0, first)
		release := fb.hold(t)
		a := make(chanAcker, 1)
		if err := appendBytes(s, batchContent(1, 3, 50), 3, a); err != nil {
			t.Fatal(err)
		}
		fb.waitEntered(t)
		if got := s.Frontier(nil); len(got) != 1 || got[0] != (Position{Loop: 0, Seq: 1, Off: int64(len(first))}) {
			t.Fatalf("Frontier while outstanding = %v; want loop 0 segment 1 at %d", got, len(first))
		}
		release()
		if err := <-a; err != nil {
			t.Fatal(err)
		}
		if got := s.Frontier(nil); got[0].Off != 2*int64(len(first)) {
			t.Fatalf("Frontier after completion = %v; want offset %d", got, 2*len(first))
		}
	})
}

// guard is a RetentionGuard that needs the segments in needed and records Dropping calls.
type guard struct {
	mu       sync.Mutex
	needed   map[SegmentRef]bool
	dropped  []SegmentRef
	presence []bool // whether the file existed during each Dropping call
}

func (g *guard) Needed(ref SegmentRef) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.needed[ref]
}

func (g *guard) Dropping(ref SegmentRef, path string) {
	_, err := os.Stat(path)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dropped = append(g.dropped, ref)
	g.presence = append(g.presence, err == nil)
}

// TestRetentionGuard: retention deletes segments no forwarder needs first, over all loops; a
// needed segment goes only when the limit forces it, after Dropping saw the file.
func TestRetentionGuard(t *testing.T) {
	dir := t.TempDir()
	g := &guard{needed: map[SegmentRef]bool{{Loop: 0, Seq: 1}: true, {Loop: 1, Seq: 1}: true}}
	cfg := testConfig(dir, WriterFile, AckWritten)
	cfg.Loops = 2
	cfg.SegmentBytes = 1000
	cfg.MaxDiskBytes = 4000
	cfg.Retention = g
	s := openT(t, cfg)
	for i := range 24 { // 300-byte batches, 3 per segment: 4 segments per loop
		appendWaitTo(t, s, i%2, batchContent(i, 1, 300))
	}
	// The rotations at the 10th batch of each loop find 5400 and more bytes on disk: retention
	// deletes at least two unneeded segments to get under 4000.
	waitFor(t, "retention", func() bool { return s.Stats().SegmentsDeleted >= 2 })
	g.mu.Lock()
	dropped := len(g.dropped)
	g.mu.Unlock()
	if dropped != 0 {
		t.Fatalf("needed segments dropped while others could go: %v", g.dropped)
	}
	for _, ref := range []SegmentRef{{0, 1}, {1, 1}} {
		if _, err := os.Stat(filepath.Join(dir, ref.FileName())); err != nil {
			t.Fatalf("needed %s deleted: %v", ref, err)
		}
	}
	cfg2 := cfg
	if err := closeStore(s); err != nil {
		t.Fatal(err)
	}
	cfg2.MaxDiskBytes = 1 // forces every closed segment out, needed or not
	s2 := openT(t, cfg2)
	waitFor(t, "forced retention", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.dropped) == 2
	})
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.presence[0] || !g.presence[1] {
		t.Fatalf("Dropping called after the file was gone: %v", g.presence)
	}
	if st := s2.Stats(); st.NeededDropped != 2 {
		t.Fatalf("needed dropped = %d; want 2", st.NeededDropped)
	}
}
