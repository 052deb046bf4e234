package codec_test

import (
	"bytes"
	"errors"
	"testing"

	"metricstream/codec"
)

// Limits of the Parsers FuzzChunked builds: small, so that fuzzed sizes
// reach them.
const (
	chunkedFuzzMaxHeader = 1024
	chunkedFuzzMaxBody   = 4096
	// chunkedFuzzMaxLine bounds a chunk-size line (extensions included)
	// that the strict reference expects the Parser to accept; the Parser's
	// own limit is 4096 bytes.
	chunkedFuzzMaxLine = 4000
)

// chunkedFuzzHeads are the request heads the fuzzed bodies follow: plain,
// and with Expect: 100-continue, which takes the Parser through its
// HeadReady dry run of the chunk decoder.
var chunkedFuzzHeads = [2]string{
	"POST /metrics HTTP/1.1\r\nHost: f\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST /metrics HTTP/1.1\r\nHost: f\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
}

// chunkedFuzzSeeds are chunked bodies to start from: valid ones with
// extensions, trailers and a pipelined request after them, and broken
// ones (bad sizes, bare LF, overflow, over the limits).
var chunkedFuzzSeeds = []string{
	"0\r\n\r\n",
	"5\r\nhello\r\n0\r\n\r\n",
	"5;name=value\r\nhello\r\n6 ; a=b;c\r\n world\r\n0\r\nTrailer-A: x\r\nB:\r\n\r\n",
	"3;q=\"a;b\\\"c\"\r\nabc\r\n00\r\n\r\nGET / HTTP/1.1\r\n\r\n",
	"A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
	"1\r\nx\r\n0\r\nT: v\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nz",
	"ffffffffffffffffff\r\n",
	"10000000000000001\r\nx\r\n0\r\n\r\n",
	"1001\r\n",
	"2\n{}\r\n0\r\n\r\n",
	"2\r\n{}\n0\r\n\r\n",
	"2\r\n{}\r\n0\r\n\n",
	"-1\r\nx\r\n0\r\n\r\n",
	"0x2\r\n{}\r\n0\r\n\r\n",
	"2;\x00\r\n{}\r\n0\r\n\r\n",
	"0\r\n T: folded\r\n\r\n",
	"0\r\nBad Name: v\r\n\r\n",
	"1\r\nx\r\n",
}

// FuzzChunked feeds a chunked request — a fixed head and a fuzzed body —
// to codec.Parser whole, cut at a fuzz-chosen point, and (for short
// inputs) one byte at a time. Properties: no panic; Parse never consumes
// more than it is given nor makes progress below Need(); every error is a
// *codec.Error; the outcome is the same however the input was cut; an
// accepted body is at most the body limit and equals what a reference
// decoding of the chunked framing (written here from RFC 9112 §7.1) gives,
// with the same number of bytes consumed; and a body that is strictly
// valid by the RFC grammar and within every limit is accepted.
func FuzzChunked(f *testing.F) {
	for i, s := range chunkedFuzzSeeds {
		f.Add([]byte(s), uint16(len(s)/2), i%2 == 1)
	}
	f.Fuzz(func(t *testing.T, body []byte, cut uint16, expect bool) {
		head := chunkedFuzzHeads[0]
		if expect {
			head = chunkedFuzzHeads[1]
		}
		data := append([]byte(head), body...)
		want := chunkedFuzzFeed(t, data, []int{len(data)})
		at := int(cut) % (len(data) + 1)
		if got := chunkedFuzzFeed(t, data, []int{at, len(data)}); got != want {
			t.Fatalf("cut at %d:\ngot  %+v\nwant %+v", at, got, want)
		}
		if len(data) <= 512 {
			ends := make([]int, len(data)+1)
			for i := range ends {
				ends[i] = i
			}
			if got := chunkedFuzzFeed(t, data, ends); got != want {
				t.Fatalf("one byte at a time:\ngot  %+v\nwant %+v", got, want)
			}
		}

		ref := chunkedReference(body)
		switch {
		case want.done:
			if len(want.body) > chunkedFuzzMaxBody {
				t.Fatalf("accepted a body of %d bytes over the limit %d", len(want.body), chunkedFuzzMaxBody)
			}
			if !ref.complete {
				t.Fatalf("accepted a body the reference finds %s: %q", ref.why, body)
			}
			if want.body != string(ref.body) {
				t.Fatalf("decoded body\ngot  %q\nwant %q", want.body, ref.body)
			}
			if want.consumed != len(head)+ref.raw {
				t.Fatalf("consumed %d; the reference ends the request at %d", want.consumed, len(head)+ref.raw)
			}
		case ref.strict && ref.complete && len(ref.body) <= chunkedFuzzMaxBody &&
			ref.maxLine <= chunkedFuzzMaxLine && ref.trailer+2 <= chunkedFuzzMaxHeader:
			t.Fatalf("refused a strictly valid chunked body within the limits: %+v\nbody %q", want, body)
		}
	})
}

// chunkedFuzzOutcome is what feeding a request to a Parser gave: the
// request body when Done, else the error, else (the input ran out) how much
// was consumed. It is comparable so that outcomes of different cuts can be
// compared with ==.
type chunkedFuzzOutcome struct {
	done     bool
	body     string
	consumed int // through Done; on NeedMore, everything consumed
	status   int
	msg      string
}

// chunkedFuzzFeed gives data to a new Parser in the pieces that end at
// ends, as a connection would: each call gets all of the unconsumed input,
// in a fresh buffer (the old one is overwritten, so that a Parser keeping a
// reference to it would be caught), and Parse is called only once Need()
// bytes are there — after checking that it would make no progress before.
func chunkedFuzzFeed(t *testing.T, data []byte, ends []int) chunkedFuzzOutcome {
	t.Helper()
	p := codec.NewParser(chunkedFuzzMaxHeader, chunkedFuzzMaxBody)
	consumed := 0
	var prev []byte
	for _, end := range ends {
		buf := append([]byte(nil), data[consumed:end]...)
		for i := range prev {
			prev[i] = 0xEE
		}
		prev = buf
		pos := 0
		for {
			need := p.Need()
			n, st, err := p.Parse(buf[pos:])
			if n < 0 || n > len(buf)-pos {
				t.Fatalf("Parse consumed %d of %d bytes", n, len(buf)-pos)
			}
			if len(buf)-pos < need && (n != 0 || st != codec.NeedMore || err != nil) {
				t.Fatalf("Need()=%d but Parse of %d bytes made progress: n=%d st=%v err=%v", need, len(buf)-pos, n, st, err)
			}
			pos += n
			consumed += n
			if err != nil {
				var pe *codec.Error
				if !errors.As(err, &pe) {
					t.Fatalf("error %v is not a *codec.Error", err)
				}
				if n != 0 {
					t.Fatalf("error %v with %d bytes consumed", err, n)
				}
				// How much of a broken body was consumed before the error
				// depends on the cuts; the error itself must not.
				return chunkedFuzzOutcome{status: pe.Status, msg: pe.Msg}
			}
			switch st {
			case codec.Done:
				return chunkedFuzzOutcome{done: true, body: string(p.Request().Body), consumed: consumed}
			case codec.HeadReady:
				if n != 0 {
					t.Fatalf("HeadReady with %d bytes consumed", n)
				}
				continue // the caller would answer 100 Continue here
			}
			if n == 0 || pos == len(buf) {
				break
			}
		}
	}
	return chunkedFuzzOutcome{consumed: consumed}
}

// chunkedRef is the reference decoding of a chunked body.
type chunkedRef struct {
	complete bool   // the framing ends (last chunk, trailers, final CRLF)
	why      string // when not complete: what is wrong or missing
	body     []byte // the chunk data, concatenated
	raw      int    // bytes of the framing, through the final CRLF
	// strict reports that every line follows the RFC 9112 §7.1 grammar
	// exactly: chunk-size 1*HEXDIG, chunk-ext as BWS ";" BWS token
	// [BWS "=" BWS (token / quoted-string)], trailer field lines as
	// token ":" OWS field-value OWS, and CRLF everywhere.
	strict  bool
	maxLine int // longest chunk-size line, extensions and CR included
	trailer int // bytes of the trailer field lines, CRLFs included
}

// chunkedReference decodes b independently of the Parser. Lines end at
// CRLF, found by search; a size line is the hex digits at its start, the
// rest of the line being extensions; the trailer section is the lines up
// to the first empty one. Sizes whose value passes 2^62 count as broken.
func chunkedReference(b []byte) chunkedRef {
	r := chunkedRef{strict: true}
	pos := 0
	line := func() ([]byte, bool) {
		i := bytes.Index(b[pos:], []byte("\r\n"))
		if i < 0 {
			return nil, false
		}
		l := b[pos : pos+i]
		pos += i + 2
		return l, true
	}
	for {
		l, ok := line()
		if !ok {
			r.why = "incomplete chunk-size line"
			return r
		}
		r.maxLine = max(r.maxLine, len(l)+1)
		if bytes.IndexByte(l, '\n') >= 0 {
			r.why = "LF inside a chunk-size line"
			return r
		}
		digits := 0
		var size int64
		for digits < len(l) && chunkedRefIsHex(l[digits]) {
			if size > 1<<58 {
				r.why = "chunk size overflows"
				return r
			}
			size = size<<4 | chunkedRefHexVal(l[digits])
			digits++
		}
		if digits == 0 {
			r.why = "no chunk size"
			return r
		}
		if !chunkedRefStrictExt(l[digits:]) {
			r.strict = false
		}
		if size == 0 {
			break
		}
		if int64(len(b)-pos) < size+2 {
			r.why = "incomplete chunk data"
			return r
		}
		r.body = append(r.body, b[pos:pos+int(size)]...)
		pos += int(size)
		if b[pos] != '\r' || b[pos+1] != '\n' {
			r.why = "no CRLF after chunk data"
			return r
		}
		pos += 2
	}
	for {
		l, ok := line()
		if !ok {
			r.why = "incomplete trailer section"
			return r
		}
		if len(l) == 0 {
			break
		}
		r.trailer += len(l) + 2
		if bytes.IndexByte(l, '\n') >= 0 {
			r.why = "LF inside a trailer line"
			return r
		}
		if !chunkedRefStrictField(l) {
			r.strict = false
		}
	}
	r.complete = true
	r.raw = pos
	return r
}

func chunkedRefIsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func chunkedRefHexVal(c byte) int64 {
	switch {
	case c <= '9':
		return int64(c - '0')
	case c >= 'a':
		return int64(c-'a') + 10
	}
	return int64(c-'A') + 10
}

// chunkedRefIsTchar reports whether c is a token character (RFC 9110 §5.6.2).
func chunkedRefIsTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// chunkedRefStrictExt checks s = *( BWS ";" BWS token [ BWS "=" BWS ( token /
// quoted-string ) ] ).
func chunkedRefStrictExt(s []byte) bool {
	i := 0
	bws := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	token := func() bool {
		j := i
		for i < len(s) && chunkedRefIsTchar(s[i]) {
			i++
		}
		return i > j
	}
	for i < len(s) {
		bws()
		if i >= len(s) || s[i] != ';' {
			return false
		}
		i++
		bws()
		if !token() {
			return false
		}
		k := i
		bws()
		if i >= len(s) || s[i] != '=' {
			i = k
			continue
		}
		i++
		bws()
		if i < len(s) && s[i] == '"' {
			i++
			for {
				if i >= len(s) {
					return false
				}
				c := s[i]
				if c == '"' {
					i++
					break
				}
				if c == '\\' {
					if i+1 >= len(s) || !(s[i+1] == '\t' || s[i+1] >= 0x20 && s[i+1] != 0x7f) {
						return false
					}
					i += 2
					continue
				}
				if !(c == '\t' || c == ' ' || c >= 0x21 && c != 0x7f) {
					return false
				}
				i++
			}
		} else if !token() {
			return false
		}
	}
	return true
}

// chunkedRefStrictField checks l = token ":" OWS field-value OWS, where the value
// holds visible characters, obs-text, and spaces or tabs between them.
func chunkedRefStrictField(l []byte) bool {
	i := 0
	for i < len(l) && chunkedRefIsTchar(l[i]) {
		i++
	}
	if i == 0 || i >= len(l) || l[i] != ':' {
		return false
	}
	for _, c := range l[i+1:] {
		if !(c == '\t' || c == ' ' || c >= 0x21 && c != 0x7f) {
			return false
		}
	}
	return true
}
