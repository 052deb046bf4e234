package forward

import (
	"bytes"
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

// eachLine calls fn for every line of data (without its '\n'), with the line's offset in data.
// data holds whole lines; a last line without '\n' is passed too.
//
// It never yields the processor: encodes run on the forwarder's own threads with processors of
// their own (see background), where the kernel, not Go's scheduler, makes way for an event
// loop. On a locked thread a yield costs two thread hand-offs.
func eachLine(data []byte, fn func(line []byte, off int)) {
	for off := 0; off < len(data); {
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
