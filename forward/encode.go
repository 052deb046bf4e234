package forward

import (
	"bytes"
	"runtime"
)

// encoder turns the stored lines of one batch into the body of one request. Each worker owns
// one; the returned body is valid until the next encode.
type encoder interface {
	encode(lines []byte) ([]byte, encodeResult)
}

// encodeResult says what an encode made of a batch's lines.
type encodeResult struct {
	samples      int   // lines encoded
	invalid      int   // lines that could not be parsed, left out
	invalidBytes int64 // their bytes, newline included
	firstBadOff  int   // offset in the batch of the first invalid line (valid when invalid > 0)
	firstErr     error // why it could not be parsed
}

// yieldLines is how many lines eachLine handles between two yields of the processor.
const yieldLines = 256

// eachLine calls fn for every line of data (without its '\n'), with the line's offset in data.
// data holds whole lines; a last line without '\n' is passed too.
//
// It yields the processor every yieldLines lines. The forwarder shares the CPUs with the event
// loops, and encoding a whole batch takes milliseconds; a loop whose poll returned while the
// encoder held its processor would otherwise wait for the scheduler's preemption, up to 10 ms,
// which is what an ingest client would see at the tail. Yielding bounds that wait to about
// yieldLines lines' work, some tens of microseconds, and costs nothing when nothing waits.
func eachLine(data []byte, fn func(line []byte, off int)) {
	for off, lines := 0, 0; off < len(data); lines++ {
		if lines == yieldLines {
			runtime.Gosched()
			lines = 0
		}
		n := bytes.IndexByte(data[off:], '\n')
		if n < 0 {
			fn(data[off:], off)
			return
		}
		fn(data[off:off+n], off)
		off += n + 1
	}
}

// noteInvalid records an unparseable line in r.
func (r *encodeResult) noteInvalid(line []byte, off int, err error) {
	if r.invalid == 0 {
		r.firstBadOff, r.firstErr = off, err
	}
	r.invalid++
	r.invalidBytes += int64(len(line)) + 1
}
