package forward

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"metricstream/storage"
)

// Cursor files (frozen format; operators may read them):
//
//	forward-<sink>.cursor   acknowledged position per stream, replaced atomically
//	forward-<sink>.sent     highest position handed to the sink per stream, rewritten in place
//
// Both hold the same text; the .cursor file has one position per stream, the .sent file the
// end of every batch sent beyond the saved cursor (a restart cuts those batches again, the same):
//
//	metricstream forward cursor v1
//	sink nats_metrics_EDGE
//	loop 0 seq 12 off 34567
//	loop -1 seq 3 off 0
//	crc32 1a2b3c4d
//
// The crc32 (IEEE, hexadecimal) covers every byte before the "crc32" line. A position means
// "every line of that stream before it was acknowledged" (.cursor) or "a batch ended here"
// (.sent). The
// .cursor file is written to a temporary file, fsynced, renamed over the old one, and the
// directory fsynced, only after the sink acknowledged. The .sent file is written before each
// request without fsync: after kill -9 it tells how much a restart resends (counted as resends);
// after a power loss it may be stale or fail its checksum, which only makes that count smaller.

const cursorHeader = "metricstream forward cursor v1"

// errCursorFormat reports a cursor file that cannot be read as one.
var errCursorFormat = errors.New("forward: cursor file damaged")

// cursorFileName returns the name of sink's cursor file (ext "cursor" or "sent").
func cursorFileName(sink, ext string) string { return "forward-" + sink + "." + ext }

// encodeCursor appends the text form of positions (any order; written sorted by loop).
func encodeCursor(dst []byte, sink string, pos []Position) []byte {
	sorted := slices.Clone(pos)
	slices.SortFunc(sorted, func(a, b Position) int { return a.Loop - b.Loop })
	start := len(dst)
	dst = append(dst, cursorHeader+"\nsink "...)
	dst = append(dst, sink...)
	dst = append(dst, '\n')
	for _, p := range sorted {
		dst = fmt.Appendf(dst, "loop %d seq %d off %d\n", p.Loop, p.Seq, p.Off)
	}
	return fmt.Appendf(dst, "crc32 %08x\n", crc32.ChecksumIEEE(dst[start:]))
}

// decodeCursor parses a cursor file's content.
func decodeCursor(data []byte) ([]Position, error) {
	i := bytes.LastIndex(data, []byte("crc32 "))
	if i < 0 || !bytes.HasSuffix(data, []byte("\n")) {
		return nil, fmt.Errorf("%w: no checksum line", errCursorFormat)
	}
	want, err := strconv.ParseUint(strings.TrimSpace(string(data[i+6:])), 16, 32)
	if err != nil || uint32(want) != crc32.ChecksumIEEE(data[:i]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errCursorFormat)
	}
	sc := bufio.NewScanner(bytes.NewReader(data[:i]))
	if !sc.Scan() || sc.Text() != cursorHeader {
		return nil, fmt.Errorf("%w: first line is not %q", errCursorFormat, cursorHeader)
	}
	var pos []Position
	for line := 2; sc.Scan(); line++ {
		if strings.HasPrefix(sc.Text(), "sink ") {
			continue
		}
		var p Position
		if _, err := fmt.Sscanf(sc.Text(), "loop %d seq %d off %d", &p.Loop, &p.Seq, &p.Off); err != nil || p.Off < 0 {
			return nil, fmt.Errorf("%w: line %d: %q", errCursorFormat, line, sc.Text())
		}
		pos = append(pos, p)
	}
	return pos, nil
}

// loadCursor reads a cursor file. A missing file is no positions and no error.
func loadCursor(path string) ([]Position, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cursor %s: %w", filepath.Base(path), err)
	}
	return decodeCursor(data)
}

// saveCursorAtomic replaces the file at path with data durably: a temporary file in the same
// directory, fsync, rename, directory fsync.
func saveCursorAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", filepath.Base(tmp), err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(tmp), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", filepath.Base(tmp), err)
	}
	return storage.SyncDir(filepath.Dir(path))
}

// sentFile is the .sent high-water mark, rewritten in place without fsync before each request.
// Owned by the sink's reader goroutine.
type sentFile struct {
	f   *os.File
	buf []byte
}

// openSentFile opens (creating) the .sent file at path.
func openSentFile(path string) (*sentFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Base(path), err)
	}
	return &sentFile{f: f}, nil
}

// write records pos as sent. A failure only weakens the resend count, so it is returned for
// logging and never stops forwarding.
func (s *sentFile) write(sink string, pos []Position) error {
	s.buf = encodeCursor(s.buf[:0], sink, pos)
	if _, err := s.f.WriteAt(s.buf, 0); err != nil {
		return err
	}
	return s.f.Truncate(int64(len(s.buf)))
}

func (s *sentFile) close() error { return s.f.Close() }

// loadCursor loads the sink's acknowledged positions and the .sent high-water marks, and opens
// the .sent file. A damaged cursor file is kept as <file>.broken and the sink starts from the
// oldest segments: resending everything is better than losing anything.
func (s *sinkRunner) loadCursor() error {
	path := filepath.Join(s.dir, cursorFileName(s.name, "cursor"))
	acked, err := loadCursor(path)
	if errors.Is(err, errCursorFormat) {
		s.log.Error("forward: cursor file damaged; kept aside, starting from the oldest segments (everything is sent again)",
			"sink", s.name, "file", filepath.Base(path), "err", err)
		if rerr := os.Rename(path, path+".broken"); rerr != nil {
			return fmt.Errorf("forward: set aside damaged cursor: %w", rerr)
		}
		acked, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	sentPath := filepath.Join(s.dir, cursorFileName(s.name, "sent"))
	sent, _ := loadCursor(sentPath) // damaged or missing: resends are simply not counted
	for _, p := range acked {
		st := &stream{loop: p.Loop, pos: p, prevSent: closedTurn}
		st.shared.acked, st.shared.hasAcked, st.shared.read, st.shared.persisted = p, true, p, p
		s.streams[p.Loop] = st
	}
	slices.SortFunc(sent, func(a, b Position) int {
		if c := compareRefs(refOf(a), refOf(b)); c != 0 {
			return c
		}
		return int(a.Off - b.Off)
	})
	for _, p := range sent {
		st, ok := s.streams[p.Loop]
		if !ok {
			st = &stream{loop: p.Loop, pos: Position{Loop: p.Loop}, prevSent: closedTurn}
			s.streams[p.Loop] = st
		}
		if st.shared.hasAcked && !posBefore(st.pos, p) {
			continue // acknowledged already
		}
		st.replay = append(st.replay, p)
		st.hwm, st.hasHWM = p, true
	}
	s.stats.cursor.Store(&acked)
	return nil
}
