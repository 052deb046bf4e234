package codec

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
)

// gzipOf compresses each part as its own gzip member and concatenates them.
func gzipOf(t testing.TB, parts ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, p := range parts {
		w, err := stdgzip.NewWriterLevel(&buf, stdgzip.BestSpeed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestGzipDecode(t *testing.T) {
	batch := []byte(`{"metrics":[{"name":"cpu_usage","value":75.5,"tags":{"host":"server1"}}]}`)
	big := bytes.Repeat([]byte("cpu,host=a value=1 1764172800123000000\n"), 30000) // ~1.1 MiB
	// A member whose header carries a file name and a comment.
	named := func() []byte {
		var buf bytes.Buffer
		w := stdgzip.NewWriter(&buf)
		w.Name, w.Comment = "batch.json", "c"
		w.Write(batch)
		w.Close()
		return buf.Bytes()
	}()
	g := GetGzipDecoder()
	defer PutGzipDecoder(g)
	f := func(name string, src []byte, maxBytes int, want []byte) {
		t.Helper()
		got, err := g.Decode(src, maxBytes)
		if err != nil {
			t.Fatalf("%s: unexpected error %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: got %d bytes; want %d", name, len(got), len(want))
		}
	}
	f("batch", gzipOf(t, batch), 4<<20, batch)
	f("exact limit", gzipOf(t, batch), len(batch), batch)
	f("empty payload", gzipOf(t, nil), 0, nil)
	f("empty payload, negative limit", gzipOf(t, nil), -1, nil)
	bigGz := gzipOf(t, big)
	f("big", bigGz, 4<<20, big)
	f("batch after big", gzipOf(t, batch), 4<<20, batch)
	multi := bytes.Join([][]byte{gzipOf(t, batch, nil), bigGz, gzipOf(t, batch)}, nil)
	f("multi-member", multi, 4<<20, bytes.Join([][]byte{batch, big, batch}, nil))
	f("named header", named, 1000, batch)
	// A lying size trailer is only a hint.
	lie := bytes.Clone(bigGz)
	binary.LittleEndian.PutUint32(lie[len(lie)-4:], 10)
	if _, err := g.Decode(lie, 4<<20); !errors.Is(err, ErrBadGzip) {
		t.Fatalf("wrong ISIZE: got %v; want ErrBadGzip", err)
	}
}

func TestGzipDecodeErrors(t *testing.T) {
	batch := []byte(strings.Repeat(`{"name":"cpu_usage","value":75.5},`, 40))
	good := gzipOf(t, batch)
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)/2] ^= 0xff
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-8] ^= 1
	badMagic := bytes.Clone(good)
	badMagic[0] = 0
	g := GetGzipDecoder()
	defer PutGzipDecoder(g)
	f := func(name string, src []byte, maxBytes int, want error) {
		t.Helper()
		got, err := g.Decode(src, maxBytes)
		if !errors.Is(err, want) || got != nil {
			t.Fatalf("%s: got %d bytes, %v; want %v", name, len(got), err, want)
		}
		if strings.Contains(err.Error(), "cpu_usage") {
			t.Fatalf("%s: error echoes input: %v", name, err)
		}
	}
	f("empty", nil, 100, ErrBadGzip)
	f("empty slice", []byte{}, 100, ErrBadGzip)
	f("not gzip", batch, 1<<20, ErrBadGzip)
	f("bad magic", badMagic, 1<<20, ErrBadGzip)
	f("corrupt data", corrupt, 1<<20, ErrBadGzip)
	f("bad checksum", badCRC, 1<<20, ErrBadGzip)
	f("trailing garbage", append(bytes.Clone(good), "junk"...), 1<<20, ErrBadGzip)
	f("trailing zeros", append(bytes.Clone(good), 0, 0, 0, 0), 1<<20, ErrBadGzip)
	for _, n := range []int{1, 5, 10, 11, len(good) / 2, len(good) - 8, len(good) - 1} {
		f("truncated", good[:n], 1<<20, ErrBadGzip)
	}
	f("one byte over", good, len(batch)-1, ErrBodyTooLarge)
	f("zero limit", good, 0, ErrBodyTooLarge)
	f("negative limit", good, -5, ErrBodyTooLarge)
	f("too large in a later member", gzipOf(t, batch, batch), len(batch)+10, ErrBodyTooLarge)

	// The decoder stays usable after every kind of error.
	if got, err := g.Decode(good, 1<<20); err != nil || !bytes.Equal(got, batch) {
		t.Fatalf("after errors: got %d bytes, %v", len(got), err)
	}
	_, err := g.Decode(good[:len(good)-3], 1<<20)
	if err == nil || !strings.HasPrefix(err.Error(), "codec: invalid gzip body: ") {
		t.Fatalf("detail: got %v", err)
	}
}

// gzipZeroBomb returns a valid single-member gzip stream of n zero bytes (n a
// multiple of 1 MiB) without compressing n bytes: one compressed 1 MiB run
// of zeros refers only to the zeros before it, so it can be repeated.
func gzipZeroBomb(t testing.TB, n int) []byte {
	t.Helper()
	const chunk = 1 << 20
	zeros := make([]byte, chunk)
	var head, body bytes.Buffer
	w, err := flate.NewWriter(&head, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(zeros)
	w.Flush()
	first := bytes.Clone(head.Bytes())
	head.Reset()
	w.Write(zeros)
	w.Flush()
	again := bytes.Clone(head.Bytes())
	head.Reset()
	w.Close()
	last := head.Bytes()

	body.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	body.Write(first)
	crc := crc32.ChecksumIEEE(zeros)
	for range n/chunk - 1 {
		body.Write(again)
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}
	body.Write(last)
	binary.Write(&body, binary.LittleEndian, crc)
	binary.Write(&body, binary.LittleEndian, uint32(n))
	return body.Bytes()
}

func TestGzipDecodeBomb(t *testing.T) {
	// The construction is a valid stream: 4 MiB of zeros decode in full.
	g := GetGzipDecoder()
	defer PutGzipDecoder(g)
	small := gzipZeroBomb(t, 4<<20)
	if got, err := g.Decode(small, 4<<20); err != nil || len(got) != 4<<20 || bytes.IndexFunc(got, func(r rune) bool { return r != 0 }) >= 0 {
		t.Fatalf("4 MiB of zeros: got %d bytes, %v", len(got), err)
	}

	bomb := gzipZeroBomb(t, 1<<30) // 1 GiB of zeros in about 1 MiB
	t.Logf("bomb: %d compressed bytes for 1 GiB", len(bomb))
	const limit = 1 << 20
	fresh := new(GzipDecoder)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	out, err := fresh.Decode(bomb, limit)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrBodyTooLarge) || out != nil {
		t.Fatalf("got %d bytes, %v; want ErrBodyTooLarge", len(out), err)
	}
	if c := cap(fresh.out); c > limit+1 {
		t.Fatalf("output buffer grew to %d bytes; want at most %d", c, limit+1)
	}
	// Allocation is bounded by the output (doubling: under 2x the limit)
	// plus the decompressor's fixed state, far from 1 GiB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*limit {
		t.Fatalf("allocated %d bytes for a %d-byte limit", alloc, limit)
	}
	t.Logf("bomb refused after %v", elapsed)
}

func TestGzipPool(t *testing.T) {
	batch := []byte(`{"metrics":[]}`)
	src := gzipOf(t, batch)
	g := GetGzipDecoder()
	if got, err := g.Decode(src, 100); err != nil || !bytes.Equal(got, batch) {
		t.Fatalf("got %q, %v", got, err)
	}
	PutGzipDecoder(g)
	if g.src.Len() != 0 {
		t.Fatal("put decoder still references the body")
	}
	// An oversized buffer is not kept by a pooled decoder.
	g = GetGzipDecoder()
	big := make([]byte, gzipPoolMaxBuffer+1)
	if got, err := g.Decode(gzipOf(t, big), len(big)); err != nil || len(got) != len(big) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	PutGzipDecoder(g)
	if g.out != nil {
		t.Fatalf("pooled decoder keeps a %d-byte buffer", cap(g.out))
	}
}

// TestGzipDecodeNoAllocs checks that a warmed-up decoder inflates without
// allocating.
func TestGzipDecodeNoAllocs(t *testing.T) {
	src := gzipOf(t, []byte(strings.Repeat(`{"name":"cpu_usage","value":75.5,"tags":{"host":"server1"}},`, 25)))
	g := GetGzipDecoder()
	defer PutGzipDecoder(g)
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := g.Decode(src, 1<<20); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Decode allocated %v times per run; want 0", allocs)
	}
}
