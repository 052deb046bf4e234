package storage

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func TestSegmentName(t *testing.T) {
	f := func(name string, want uint64, ok bool) {
		t.Helper()
		got, gotOK := parseSegmentName(name)
		if gotOK != ok || got != want {
			t.Fatalf("parseSegmentName(%q) = %d, %v; want %d, %v", name, got, gotOK, want, ok)
		}
		if ok && want < 100000000 && segmentName(want) != name {
			t.Fatalf("segmentName(%d) = %q; want %q", want, segmentName(want), name)
		}
	}
	f("metrics-00000001.jsonl", 1, true)
	f("metrics-00000000.jsonl", 0, true)
	f("metrics-12345678.jsonl", 12345678, true)
	f("metrics-123456789.jsonl", 123456789, true)
	f("metrics-1.jsonl", 0, false)
	f("metrics-0000000a.jsonl", 0, false)
	f("metrics-00000001.jsonl.broken", 0, false)
	f("metrics-00000001.json", 0, false)
	f("metric-00000001.jsonl", 0, false)
	f("LOCK", 0, false)
	f("metrics-+0000001.jsonl", 0, false)
	f("metrics-99999999999999999999.jsonl", 0, false) // overflows uint64
	if got := segmentName(123456789); got != "metrics-123456789.jsonl" {
		t.Fatalf("segmentName(123456789) = %q", got)
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
			name:      "torn last line",
			files:     []file{{"metrics-00000001.jsonl", "a\nb\n"}, {"metrics-00000002.jsonl", "{\"x\":1}\n{\"x\":2"}},
			wantFiles: []file{{"metrics-00000001.jsonl", "a\nb\n"}, {"metrics-00000002.jsonl", "{\"x\":1}\n"}, {"metrics-00000002.jsonl.broken", "{\"x\":2\n"}},
			wantCut:   6,
			wantSeg:   3,
		},
		{
			name:       "clean",
			files:      []file{{"metrics-00000001.jsonl", "a\n"}, {"metrics-00000002.jsonl", "b\n"}},
			wantFiles:  []file{{"metrics-00000001.jsonl", "a\n"}, {"metrics-00000002.jsonl", "b\n"}},
			wantSeg:    3,
			wantAbsent: []string{"metrics-00000002.jsonl.broken"},
		},
		{
			name:      "no newline at all, segment emptied and reused",
			files:     []file{{"metrics-00000007.jsonl", "garbage"}},
			wantFiles: []file{{"metrics-00000007.jsonl", ""}, {"metrics-00000007.jsonl.broken", "garbage\n"}},
			wantCut:   7,
			wantSeg:   7,
		},
		{
			name:      "torn older segment too",
			files:     []file{{"metrics-00000001.jsonl", "a\nhalf"}, {"metrics-00000002.jsonl", "b\n\x00\x00"}},
			wantFiles: []file{{"metrics-00000001.jsonl", "a\n"}, {"metrics-00000002.jsonl", "b\n"}, {"metrics-00000001.jsonl.broken", "half\n"}, {"metrics-00000002.jsonl.broken", "\x00\x00\n"}},
			wantCut:   6,
			wantSeg:   3,
		},
		{
			name:      "second repair appends to .broken",
			files:     []file{{"metrics-00000003.jsonl", "a\nnew"}, {"metrics-00000003.jsonl.broken", "old\n"}},
			wantFiles: []file{{"metrics-00000003.jsonl", "a\n"}, {"metrics-00000003.jsonl.broken", "old\nnew\n"}},
			wantCut:   3,
			wantSeg:   4,
		},
		{
			name:      "empty last segment reused",
			files:     []file{{"metrics-00000001.jsonl", "a\n"}, {"metrics-00000002.jsonl", ""}},
			wantFiles: []file{{"metrics-00000001.jsonl", "a\n"}, {"metrics-00000002.jsonl", ""}},
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
			s, err := Open(cfg)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := s.w.cur.seq; got != tc.wantSeg {
				t.Fatalf("writing to segment %d; want %d", got, tc.wantSeg)
			}
			st := s.Stats()
			if err := s.Close(); err != nil {
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
	name := segmentName(1)
	if err := os.WriteFile(filepath.Join(dir, name), append([]byte(head), tail...), 0o644); err != nil {
		t.Fatal(err)
	}
	seg := segInfo{seq: 1, size: int64(len(head) + len(tail))}
	cut, err := repairTail(dir, &seg, quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	if cut != int64(len(tail)) || seg.size != int64(len(head)) {
		t.Fatalf("cut %d, size %d; want %d, %d", cut, seg.size, len(tail), len(head))
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
