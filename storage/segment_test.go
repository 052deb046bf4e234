package storage

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func TestSegmentFileName(t *testing.T) {
	cases := []struct {
		name string
		ref  SegmentRef
		ok   bool
	}{
		{"metrics-00-00000001.jsonl", SegmentRef{0, 1}, true},
		{"metrics-03-00000042.jsonl", SegmentRef{3, 42}, true},
		{"metrics-123-123456789.jsonl", SegmentRef{123, 123456789}, true},
		{"metrics-00000001.jsonl", SegmentRef{LegacyLoop, 1}, true},
		{"metrics-12345678.jsonl", SegmentRef{LegacyLoop, 12345678}, true},
		{"metrics-00000000.jsonl", SegmentRef{}, false}, // sequence numbers start at 1
		{"metrics-00-00000000.jsonl", SegmentRef{}, false},
		{"metrics-0-00000001.jsonl", SegmentRef{}, false}, // loop needs 2 digits
		{"metrics-00-0000001.jsonl", SegmentRef{}, false}, // seq needs 8 digits
		{"metrics-1.jsonl", SegmentRef{}, false},
		{"metrics-0000000a.jsonl", SegmentRef{}, false},
		{"metrics-00-00000001.jsonl.broken", SegmentRef{}, false},
		{"metrics-00000001.json", SegmentRef{}, false},
		{"metric-00000001.jsonl", SegmentRef{}, false},
		{"LOCK", SegmentRef{}, false},
		{"metrics-+0000001.jsonl", SegmentRef{}, false},
		{"metrics-00-+0000001.jsonl", SegmentRef{}, false},
		{"metrics-00-00-00000001.jsonl", SegmentRef{}, false},
		{"metrics-99999999999999999999.jsonl", SegmentRef{}, false}, // overflows uint64
	}
	for _, tc := range cases {
		got, ok := ParseSegmentFileName(tc.name)
		if ok != tc.ok || (ok && got != tc.ref) {
			t.Errorf("ParseSegmentFileName(%q) = %v, %v; want %v, %v", tc.name, got, ok, tc.ref, tc.ok)
		}
		if ok && tc.ref.FileName() != tc.name {
			t.Errorf("%v.FileName() = %q; want %q", tc.ref, tc.ref.FileName(), tc.name)
		}
	}
}

func TestListSegments(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"metrics-01-00000002.jsonl", "metrics-00000007.jsonl", "metrics-00-00000010.jsonl",
		"metrics-01-00000001.jsonl", "metrics-00-00000009.jsonl", "LOCK", "metrics-00-00000009.jsonl.broken"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	segs, err := ListSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []SegmentRef{{LegacyLoop, 7}, {0, 9}, {0, 10}, {1, 1}, {1, 2}}
	if len(segs) != len(want) {
		t.Fatalf("ListSegments = %v; want %v", segs, want)
	}
	for i := range want {
		if segs[i].Ref != want[i] || segs[i].Size != 2 {
			t.Fatalf("ListSegments[%d] = %v; want %v of 2 bytes", i, segs[i], want[i])
		}
	}
}

// TestRepairOnOpen: torn tails are cut at the last newline, kept in .broken, counted; Open always
// starts.
func TestRepairOnOpen(t *testing.T) {
	type file struct{ name, content string }
	cases := []struct {
		name       string
		files      []file
		wantFiles  []file // content of these files after Open (and Close)
		wantCut    int64
		wantSeg    uint64 // segment Open writes to
		wantAbsent []string
	}{
		{
			name:      "legacy layout: repaired, kept, never appended to",
			files:     []file{{"metrics-00000001.jsonl", "a\nb\n"}, {"metrics-00000002.jsonl", "{\"x\":1}\n{\"x\":2"}},
			wantFiles: []file{{"metrics-00000001.jsonl", "a\nb\n"}, {"metrics-00000002.jsonl", "{\"x\":1}\n"}, {"metrics-00000002.jsonl.broken", "{\"x\":2\n"}},
			wantCut:   6,
			wantSeg:   1,
		},
		{
			name:      "torn last line",
			files:     []file{{"metrics-00-00000001.jsonl", "a\nb\n"}, {"metrics-00-00000002.jsonl", "{\"x\":1}\n{\"x\":2"}},
			wantFiles: []file{{"metrics-00-00000001.jsonl", "a\nb\n"}, {"metrics-00-00000002.jsonl", "{\"x\":1}\n"}, {"metrics-00-00000002.jsonl.broken", "{\"x\":2\n"}},
			wantCut:   6,
			wantSeg:   3,
		},
		{
			name:       "clean",
			files:      []file{{"metrics-00-00000001.jsonl", "a\n"}, {"metrics-00-00000002.jsonl", "b\n"}},
			wantFiles:  []file{{"metrics-00-00000001.jsonl", "a\n"}, {"metrics-00-00000002.jsonl", "b\n"}},
			wantSeg:    3,
			wantAbsent: []string{"metrics-00-00000002.jsonl.broken"},
		},
		{
			name:      "no newline at all, segment emptied and reused",
			files:     []file{{"metrics-00-00000007.jsonl", "garbage"}},
			wantFiles: []file{{"metrics-00-00000007.jsonl", ""}, {"metrics-00-00000007.jsonl.broken", "garbage\n"}},
			wantCut:   7,
			wantSeg:   7,
		},
		{
			name:      "torn older segment too",
			files:     []file{{"metrics-00-00000001.jsonl", "a\nhalf"}, {"metrics-00-00000002.jsonl", "b\n\x00\x00"}},
			wantFiles: []file{{"metrics-00-00000001.jsonl", "a\n"}, {"metrics-00-00000002.jsonl", "b\n"}, {"metrics-00-00000001.jsonl.broken", "half\n"}, {"metrics-00-00000002.jsonl.broken", "\x00\x00\n"}},
			wantCut:   6,
			wantSeg:   3,
		},
		{
			name:      "second repair appends to .broken",
			files:     []file{{"metrics-00-00000003.jsonl", "a\nnew"}, {"metrics-00-00000003.jsonl.broken", "old\n"}},
			wantFiles: []file{{"metrics-00-00000003.jsonl", "a\n"}, {"metrics-00-00000003.jsonl.broken", "old\nnew\n"}},
			wantCut:   3,
			wantSeg:   4,
		},
		{
			name:      "empty last segment reused",
			files:     []file{{"metrics-00-00000001.jsonl", "a\n"}, {"metrics-00-00000002.jsonl", ""}},
			wantFiles: []file{{"metrics-00-00000001.jsonl", "a\n"}, {"metrics-00-00000002.jsonl", ""}},
			wantSeg:   2,
		},
		{
			name:      "other files ignored",
			files:     []file{{"notes.txt", "x"}, {"metrics-1.jsonl", "torn"}},
			wantFiles: []file{{"notes.txt", "x"}, {"metrics-1.jsonl", "torn"}},
			wantSeg:   1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var logs syncBuffer
			cfg := testConfig(dir, WriterFile, AckWritten)
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			s, err := openDriven(cfg)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := s.Stream(0).cur.ref.Seq; got != tc.wantSeg {
				t.Fatalf("writing to segment %d; want %d", got, tc.wantSeg)
			}
			st := s.Stats()
			if err := closeStore(s); err != nil {
				t.Fatal(err)
			}
			if st.RepairedBytes != tc.wantCut {
				t.Fatalf("repaired bytes = %d; want %d", st.RepairedBytes, tc.wantCut)
			}
			if tc.wantCut > 0 {
				mustContain(t, "log", logs.String(), "repaired torn segment tail")
				mustContain(t, "log", logs.String(), "bytes_cut=")
			}
			for _, f := range tc.wantFiles {
				b, err := os.ReadFile(filepath.Join(dir, f.name))
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != f.content {
					t.Fatalf("%s = %q; want %q", f.name, b, f.content)
				}
			}
			for _, name := range tc.wantAbsent {
				if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("%s exists (err %v); want it absent", name, err)
				}
			}
		})
	}
}

// TestRepairLongTail: the last newline is found across several read chunks.
func TestRepairLongTail(t *testing.T) {
	dir := t.TempDir()
	head := "first line\n"
	tail := make([]byte, 3*tailChunk+17)
	for i := range tail {
		tail[i] = 'z'
	}
	name := seg0(1)
	if err := os.WriteFile(filepath.Join(dir, name), append([]byte(head), tail...), 0o644); err != nil {
		t.Fatal(err)
	}
	seg := SegmentInfo{Ref: SegmentRef{Loop: 0, Seq: 1}, Size: int64(len(head) + len(tail))}
	cut, err := repairTail(dir, &seg, quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	if cut != int64(len(tail)) || seg.Size != int64(len(head)) {
		t.Fatalf("cut %d, size %d; want %d, %d", cut, seg.Size, len(tail), len(head))
	}
	b, err := os.ReadFile(filepath.Join(dir, name+brokenSuffix))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != len(tail)+1 {
		t.Fatalf(".broken has %d bytes; want %d", len(b), len(tail)+1)
	}
}

func TestCorruptionError(t *testing.T) {
	err := error(&CorruptionError{Segment: "metrics-00000002.jsonl", Offset: 42, Err: os.ErrPermission})
	if !errors.Is(err, os.ErrPermission) {
		t.Fatal("CorruptionError does not unwrap")
	}
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Offset != 42 {
		t.Fatal("errors.As failed")
	}
	mustContain(t, "Error()", err.Error(), "storage: segment metrics-00000002.jsonl torn after offset 42")
}
