package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
)

// CorruptionError reports a segment whose content past Offset is not whole lines and could not be
// repaired. Unwrap gives the I/O error that prevented the repair.
type CorruptionError struct {
	Segment string // file name, e.g. metrics-03-00000042.jsonl
	Offset  int64  // end of the last whole line
	Err     error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("storage: segment %s torn after offset %d: %v", e.Segment, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// tailChunk is how much of a segment's end repairTail reads at a time while looking for the last
// newline.
const tailChunk = 64 << 10

// repairTail makes segment seg end with a whole line: when its last byte is not '\n', the bytes
// after the last '\n' (the whole file when there is none) are appended to <segment>.broken
// followed by one '\n' (so every repair is one line there), that file is fsynced, the segment is
// truncated to the end of its last whole line and fsynced, and the directory is fsynced. It
// returns the number of bytes cut. Saving the cut bytes is best effort (logged when it fails: a
// full disk must not block start-up); a failed truncation returns a *CorruptionError. seg.Size is
// updated.
func repairTail(dir string, seg *SegmentInfo, log *slog.Logger) (int64, error) {
	if seg.Size == 0 {
		return 0, nil
	}
	name := seg.Ref.FileName()
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, &CorruptionError{Segment: name, Offset: -1, Err: err}
	}
	defer f.Close()

	var last [1]byte
	if _, err := f.ReadAt(last[:], seg.Size-1); err != nil {
		return 0, &CorruptionError{Segment: name, Offset: -1, Err: fmt.Errorf("read last byte: %w", err)}
	}
	if last[0] == '\n' {
		return 0, nil
	}

	// Find the end of the last whole line, reading backwards.
	good := int64(0)
	buf := make([]byte, tailChunk)
	for end := seg.Size; end > 0; {
		start := max(end-tailChunk, 0)
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil {
			return 0, &CorruptionError{Segment: name, Offset: -1, Err: fmt.Errorf("read tail: %w", err)}
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			good = start + int64(i) + 1
			break
		}
		end = start
	}
	cut := seg.Size - good

	if err := saveBroken(dir, name, f, good, cut); err != nil {
		log.Error("storage: cannot keep the torn tail; truncating anyway", "segment", name,
			"offset", good, "bytes", cut, "err", err)
	}
	if err := f.Truncate(good); err != nil {
		return 0, &CorruptionError{Segment: name, Offset: good, Err: fmt.Errorf("truncate: %w", err)}
	}
	if err := f.Sync(); err != nil {
		return 0, &CorruptionError{Segment: name, Offset: good, Err: fmt.Errorf("fsync after truncate: %w", err)}
	}
	if err := syncDir(dir); err != nil {
		return 0, &CorruptionError{Segment: name, Offset: good, Err: err}
	}
	log.Warn("storage: repaired torn segment tail", "segment", name, "offset", good, "bytes_cut", cut,
		"kept_in", name+brokenSuffix)
	seg.Size = good
	return cut, nil
}

// saveBroken appends segment bytes [off, off+n) and a '\n' to <name>.broken and fsyncs it.
func saveBroken(dir, name string, seg *os.File, off, n int64) error {
	path := filepath.Join(dir, name+brokenSuffix)
	bf, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(bf, io.NewSectionReader(seg, off, n))
	if err == nil {
		_, err = bf.Write([]byte{'\n'})
	}
	if err == nil {
		err = bf.Sync()
	}
	return errors.Join(err, bf.Close())
}

// SyncDir fsyncs directory dir so that file creations, renames and deletions in it are durable
// (nothing to do on Windows). The forwarder uses it for its cursor files.
func SyncDir(dir string) error { return syncDir(dir) }

// syncDir fsyncs directory dir so that file creations, renames and deletions in it are durable.
// Windows cannot fsync a directory (and does not need to); there it does nothing.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for fsync: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	return nil
}
