package codec

import "strconv"

// Decoder of the chunked transfer coding (RFC 9112 §7.1):
//
//	chunked-body = *chunk last-chunk trailer-section CRLF
//	chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	last-chunk   = 1*"0" [ chunk-ext ] CRLF
//
// The decoder is a byte-level state machine whose whole state lives in
// chunkDecoder, so input may be cut anywhere: every byte handed to decode is
// either consumed for good or (at the end of the body) left for the next
// request. Chunk data is copied in bulk; framing bytes go one at a time.
// Extensions are skipped, trailer fields checked for syntax and dropped.

// maxChunkLine bounds a chunk-size line, extensions included.
const maxChunkLine = 4096

type chunkState uint8

const (
	chunkSize         chunkState = iota // hex digits of a chunk size
	chunkSizeWS                         // blanks after the size, before ';' or CR
	chunkExt                            // chunk extensions, skipped up to CR
	chunkSizeLF                         // CR of the size line seen, LF expected
	chunkData                           // chunk data, left bytes to go
	chunkDataCR                         // CR expected after chunk data
	chunkDataLF                         // LF expected after chunk data
	chunkTrailerStart                   // start of a trailer line or of the final CRLF
	chunkTrailerName                    // trailer field name, up to ':'
	chunkTrailerValue                   // trailer field value, up to CR
	chunkTrailerLF                      // CR of a trailer line seen, LF expected
	chunkEndLF                          // CR of the final empty line seen, LF expected
	chunkEnd                            // body complete
)

// chunkDecoder holds the decoding state of one chunked body. It is a plain
// value: Parser copies it to probe ahead without side effects.
type chunkDecoder struct {
	state      chunkState
	digits     int   // hex digits of the current size read so far
	lineLen    int   // bytes of the current chunk-size line read so far
	size       int64 // the chunk size being read
	left       int64 // data bytes of the current chunk not yet read
	decoded    int64 // data bytes of the completed chunks plus those read of the current one
	raw        int64 // bytes of the raw body consumed; offsets in error messages
	trailer    int   // bytes of the trailer section read so far
	maxBody    int64 // limit on decoded bytes
	maxTrailer int   // limit on trailer bytes
}

// reset prepares the decoder for a new body.
func (d *chunkDecoder) reset(maxBody int64, maxTrailer int) {
	*d = chunkDecoder{maxBody: maxBody, maxTrailer: maxTrailer}
}

// decode consumes the chunked body from b, appending chunk data to *dst
// (nothing is copied when dst is nil, for a dry run). It returns the bytes
// consumed and whether the body is complete; when it is, b[n:] is the next
// request. A declared chunk size that would take the body past maxBody is
// refused with 413 as soon as its size line ends, before any of its data.
func (d *chunkDecoder) decode(b []byte, dst *[]byte) (n int, done bool, err error) {
	for n < len(b) {
		switch d.state {
		case chunkData:
			n += d.data(b[n:], dst)
			continue
		case chunkExt, chunkTrailerValue:
			k, err := d.skipRun(b[n:])
			if err != nil {
				return n + k, false, err
			}
			if k > 0 {
				n += k
				continue
			}
		}
		c := b[n]
		at := d.raw // offset of c in the body, for messages
		n++
		d.raw++
		// Count c against the limit of its line (inline: once per byte).
		switch d.state {
		case chunkSize, chunkSizeWS, chunkExt:
			if d.lineLen++; d.lineLen > maxChunkLine {
				return n, false, errChunk("chunk size line too long", at)
			}
		case chunkTrailerStart, chunkTrailerName, chunkTrailerValue, chunkTrailerLF, chunkEndLF:
			if d.trailer++; d.trailer > d.maxTrailer {
				return n, false, errTrailerTooLarge(d.maxTrailer)
			}
		}
		switch d.state {
		case chunkSize:
			// Fast path: a hex digit that cannot overflow the size.
			if v, ok := hexValue(c); ok && d.size <= (1<<63-1)>>4 {
				d.size = d.size<<4 | v
				d.digits++
				continue
			}
			err = d.sizeLine(c, at)
		case chunkSizeWS, chunkExt, chunkSizeLF:
			err = d.sizeLine(c, at)
		case chunkDataCR, chunkDataLF:
			err = d.dataEnd(c, at)
		default:
			done, err = d.trailerLine(c, at)
		}
		if err != nil || done {
			return n, done, err
		}
	}
	return n, false, nil
}

// data consumes chunk data from b, up to the end of the chunk.
func (d *chunkDecoder) data(b []byte, dst *[]byte) int {
	k := int64(len(b))
	if k > d.left {
		k = d.left
	}
	if dst != nil {
		*dst = appendBounded(*dst, b[:k], int(d.maxBody))
	}
	d.raw += k
	d.left -= k
	d.decoded += k
	if d.left == 0 {
		d.state = chunkDataCR
	}
	return int(k)
}

// skipRun consumes a run of plain bytes of a chunk extension or a trailer
// value at once; both allow the bytes of a field value, and CR ends both.
// The byte-wise path handles whatever ends the run. On error, k is the
// bytes consumed up to and including the first one over the limit.
func (d *chunkDecoder) skipRun(b []byte) (k int, err error) {
	for k < len(b) && httpValueTable[b[k]] {
		k++
	}
	if k == 0 {
		return 0, nil
	}
	used, limit := &d.lineLen, maxChunkLine
	if d.state == chunkTrailerValue {
		used, limit = &d.trailer, d.maxTrailer
	}
	if *used+k > limit {
		over := limit - *used // bytes still allowed; the next one is too many
		if d.state == chunkExt {
			return over + 1, errChunk("chunk size line too long", d.raw+int64(over))
		}
		return over + 1, errTrailerTooLarge(d.maxTrailer)
	}
	*used += k
	d.raw += int64(k)
	return k, nil
}

// sizeLine takes byte c, at offset at, of a chunk size line: hex digits,
// optional whitespace and extensions, CRLF.
func (d *chunkDecoder) sizeLine(c byte, at int64) error {
	switch d.state {
	case chunkSize:
		if v, ok := hexValue(c); ok {
			if d.size > (1<<63-1)>>4 {
				return errChunk("chunk size overflows", at)
			}
			d.size = d.size<<4 | v
			d.digits++
			return nil
		}
		if d.digits == 0 {
			return errChunk("invalid chunk size", at)
		}
		switch c {
		case '\r':
			d.state = chunkSizeLF
		case ';':
			d.state = chunkExt
		case ' ', '\t':
			d.state = chunkSizeWS
		case '\n':
			return errChunk("missing CRLF after chunk size", at)
		default:
			return errChunk("invalid chunk size", at)
		}
	case chunkSizeWS:
		switch c {
		case ' ', '\t':
		case ';':
			d.state = chunkExt
		case '\r':
			d.state = chunkSizeLF
		default:
			return errChunk("invalid chunk size", at)
		}
	case chunkExt:
		switch {
		case c == '\r':
			d.state = chunkSizeLF
		case c == '\t', c >= 0x20 && c != 0x7f:
		default:
			return errChunk("invalid chunk extension: "+httpByteName(c), at)
		}
	case chunkSizeLF:
		if c != '\n' {
			return errChunk("missing CRLF after chunk size", at)
		}
		d.lineLen, d.digits = 0, 0
		if d.size == 0 {
			d.state = chunkTrailerStart
			return nil
		}
		if d.size > d.maxBody-d.decoded {
			return errBodyTooLarge(int(d.maxBody))
		}
		d.left, d.size = d.size, 0
		d.state = chunkData
	}
	return nil
}

// dataEnd takes byte c, at offset at, of the CRLF after chunk data.
func (d *chunkDecoder) dataEnd(c byte, at int64) error {
	switch d.state {
	case chunkDataCR:
		if c != '\r' {
			return errChunk("missing CRLF after chunk data", at)
		}
		d.state = chunkDataLF
	case chunkDataLF:
		if c != '\n' {
			return errChunk("missing CRLF after chunk data", at)
		}
		d.state = chunkSize
	}
	return nil
}

// trailerLine takes byte c, at offset at, of the trailer section and the
// final CRLF; done reports the end of the body.
func (d *chunkDecoder) trailerLine(c byte, at int64) (done bool, err error) {
	switch d.state {
	case chunkTrailerStart:
		switch {
		case c == '\r':
			d.state = chunkEndLF
		case httpTokenTable[c]:
			d.state = chunkTrailerName
		case c == ' ' || c == '\t':
			return false, errChunk("invalid trailer field: obsolete line folding", at)
		default:
			return false, errChunk("invalid trailer field: "+httpByteName(c), at)
		}
	case chunkTrailerName:
		switch {
		case c == ':':
			d.state = chunkTrailerValue
		case httpTokenTable[c]:
		default:
			return false, errChunk("invalid trailer field name: "+httpByteName(c), at)
		}
	case chunkTrailerValue:
		switch {
		case c == '\r':
			d.state = chunkTrailerLF
		case httpValueTable[c]:
		default:
			return false, errChunk("invalid trailer field value: "+httpByteName(c), at)
		}
	case chunkTrailerLF:
		if c != '\n' {
			return false, errChunk("missing CRLF after trailer field", at)
		}
		d.state = chunkTrailerStart
	case chunkEndLF:
		if c != '\n' {
			return false, errChunk("missing CRLF at end of chunked body", at)
		}
		d.state = chunkEnd
		return true, nil
	default:
		panic("BUG: codec: chunk decoder in state " + strconv.Itoa(int(d.state)))
	}
	return false, nil
}

// hexValue returns the value of a hex digit.
func hexValue(c byte) (int64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int64(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int64(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int64(c-'A') + 10, true
	}
	return 0, false
}

// appendBounded appends src to dst, growing dst's capacity geometrically
// but never past limit. The caller guarantees len(dst)+len(src) <= limit,
// so the buffer never holds more than the body limit.
func appendBounded(dst, src []byte, limit int) []byte {
	need := len(dst) + len(src)
	if need > cap(dst) {
		c := 2 * cap(dst)
		if c < 512 {
			c = 512
		}
		if c < need {
			c = need
		}
		if c > limit {
			c = limit
		}
		if c < need {
			panic("BUG: codec: chunked body of " + strconv.Itoa(need) + " bytes over limit " + strconv.Itoa(limit))
		}
		grown := make([]byte, len(dst), c)
		copy(grown, dst)
		dst = grown
	}
	return append(dst, src...)
}
