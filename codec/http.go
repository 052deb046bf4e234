package codec

// HTTP/1.1 request parser.
//
// A Parser reads one request at a time from the front of a connection's
// unconsumed input. Its caller hands it the whole unconsumed input on every
// call; the same logical bytes may sit at a different address each time, so
// the Parser keeps offsets, never slices, from one call to the next. Its
// states:
//
//	stHead          reading the request line and header lines. Input is not
//	                consumed: each call resumes the search for the next LF at
//	                scanPos and parses each complete line exactly once, so
//	                feeding a head one byte at a time costs linear work.
//	                Leaving: the empty line that ends the head, or an error.
//	stBodyCL        head done, Content-Length framing (no body is framing too).
//	                Nothing is consumed until head and body are both in the
//	                input; then the whole request is consumed at once and its
//	                slices point into the caller's buffer: zero copies.
//	stChunkPending  head done, chunked framing, head not consumed yet. Entered
//	                only to report HeadReady for Expect: 100-continue.
//	stChunked       head consumed (the exposed header values were copied into
//	                the Parser first), chunk framing decoded byte by byte and
//	                chunk data appended to the Parser's body buffer; raw bytes
//	                are consumed as they are decoded.
//	stDone          Request complete; the next Parse starts a new request.
//	stFailed        a protocol error was returned; every later Parse returns
//	                it again until Reset.
//
// Line endings. The head accepts CRLF and, as RFC 9112 §2.2 allows, a bare
// LF as line terminator (a CR before the LF is dropped). A bare CR anywhere
// in the head is an error. Chunk framing and trailers require CRLF exactly:
// lenient chunk line endings are a known request-smuggling vector and no
// client sends anything else.
//
// Deliberate choices beyond RFC 9112: a missing Host header is accepted in
// HTTP/1.1 (the server has no virtual hosts), a repeated Host is refused;
// empty lines before the request line are skipped but count towards the
// head limit; Transfer-Encoding in an HTTP/1.0 request is refused; a repeated
// Authorization, Content-Type or Content-Encoding field line is refused
// (the Parser exposes one value and does not join lists), while for Accept
// and User-Agent the first line wins; expectations other than 100-continue
// are ignored, and 100-continue in an HTTP/1.0 request is ignored.

import (
	"bytes"
	"encoding/binary"
	"strconv"
)

// Default limits, used when NewParser is given a zero or negative limit.
const (
	// DefaultMaxHeaderBytes bounds the request line plus header lines,
	// line terminators and the final empty line included.
	DefaultMaxHeaderBytes = 8 << 10
	// DefaultMaxBodyBytes bounds the body as framed on the wire: the
	// Content-Length, or the sum of chunk sizes of a chunked body.
	DefaultMaxBodyBytes = 4 << 20
)

// bodyKeepCap is the largest body buffer a Parser keeps for the next
// request; a bigger one, grown by a large chunked body, is dropped on reset
// so that idle connections do not pin megabytes each.
const bodyKeepCap = 64 << 10

// Method identifies the request method. Methods the server has no use for
// are MethodOther; Request.MethodName always holds the method as sent.
type Method uint8

// Request methods.
const (
	MethodOther Method = iota
	MethodGET
	MethodHEAD
	MethodPOST
	MethodPUT
	MethodDELETE
	MethodOPTIONS
	MethodPATCH
	MethodCONNECT
	MethodTRACE
)

var methodNames = [...]string{
	MethodOther:   "OTHER",
	MethodGET:     "GET",
	MethodHEAD:    "HEAD",
	MethodPOST:    "POST",
	MethodPUT:     "PUT",
	MethodDELETE:  "DELETE",
	MethodOPTIONS: "OPTIONS",
	MethodPATCH:   "PATCH",
	MethodCONNECT: "CONNECT",
	MethodTRACE:   "TRACE",
}

// String returns the method's name as sent on the wire, or "OTHER".
func (m Method) String() string {
	if int(m) < len(methodNames) {
		return methodNames[m]
	}
	return "Method(" + strconv.Itoa(int(m)) + ")"
}

// httpMethodID maps a method token to a Method. Methods are case-sensitive.
func httpMethodID(b []byte) Method {
	switch string(b) { // the conversion does not allocate in a switch
	case "GET":
		return MethodGET
	case "HEAD":
		return MethodHEAD
	case "POST":
		return MethodPOST
	case "PUT":
		return MethodPUT
	case "DELETE":
		return MethodDELETE
	case "OPTIONS":
		return MethodOPTIONS
	case "PATCH":
		return MethodPATCH
	case "CONNECT":
		return MethodCONNECT
	case "TRACE":
		return MethodTRACE
	}
	return MethodOther
}

// Status is the progress Parse reports when it returns no error.
type Status uint8

const (
	// NeedMore: the request is not complete. Call Parse again, with the
	// unconsumed input, once at least Need() bytes are buffered.
	NeedMore Status = iota
	// HeadReady: the head of a request carrying Expect: 100-continue is
	// complete and its body is not. Request() holds the head (Body is nil).
	// The caller answers 100 Continue or refuses, then calls Parse again.
	// Reported at most once per request, always with nothing consumed.
	HeadReady
	// Done: Request() is complete and the whole request was consumed.
	Done
)

// String returns the status name.
func (s Status) String() string {
	switch s {
	case NeedMore:
		return "NeedMore"
	case HeadReady:
		return "HeadReady"
	case Done:
		return "Done"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Request is a parsed request. Its byte slices point either into the buffer
// given to the Parse call that returned Done or HeadReady (Content-Length
// framing: zero copies) or into storage owned by the Parser (chunked
// framing). Either way they are valid only until the next Parse or Reset
// call on the Parser and only while the caller's buffer is unchanged; they
// must be treated as read-only, and copied before being retained or handed
// to another goroutine.
type Request struct {
	// Method is the method as a Method; MethodName holds the bytes as sent.
	Method     Method
	MethodName []byte
	// Path is the request target without its query, as sent (no
	// percent-decoding). The absolute form "http://host/p" is reduced to
	// its path ("/" when it has none); the asterisk form gives "*"
	// (OPTIONS only) and the authority form of CONNECT gives the authority.
	Path []byte
	// Query is the raw query after '?', without the '?'; nil when the
	// target has no '?', empty when it has one with nothing after it.
	Query []byte
	// Minor is the minor HTTP version: 0 for HTTP/1.0, 1 for HTTP/1.1.
	Minor int
	// KeepAlive reports whether the connection may carry another request:
	// HTTP/1.1 unless "Connection: close", HTTP/1.0 only with
	// "Connection: keep-alive" and without "close".
	KeepAlive bool
	// Expect100 is set for an HTTP/1.1 request with Expect: 100-continue.
	Expect100 bool
	// Header values of interest to the server, trimmed of surrounding
	// spaces and tabs; nil when the header is absent, empty when present
	// with an empty value.
	Authorization, Accept, ContentType, ContentEncoding, UserAgent []byte
	// ContentLength is the framed body length; 0 without a body and -1 for
	// a chunked body (len(Body) is then the decoded length).
	ContentLength int64
	// Chunked is set when the body uses Transfer-Encoding: chunked.
	Chunked bool
	// Body is the complete body (dechunked); nil when empty. Set only
	// when Parse returned Done.
	Body []byte
}

// parserState is the Parser's position in the current request; see the
// overview at the top of this file.
type parserState uint8

const (
	stHead parserState = iota
	stBodyCL
	stChunkPending
	stChunked
	stDone
	stFailed
)

// httpSpan is the byte range [lo, hi) of a value within the current
// request, measured from the request's first byte, or from the start of
// Parser.headBuf once the head has been copied there. ok reports presence,
// so that an empty value is told apart from an absent one.
type httpSpan struct {
	lo, hi int32
	ok     bool
}

// in returns the span's bytes in base, capacity-limited so that an append
// by the caller cannot overwrite what follows; nil when absent.
func (s httpSpan) in(base []byte) []byte {
	if !s.ok {
		return nil
	}
	return base[s.lo:s.hi:s.hi]
}

func mkSpan(lo, hi int) httpSpan { return httpSpan{lo: int32(lo), hi: int32(hi), ok: true} }

// httpRootPath is the Path of an absolute-form target without a path. It is
// shared by all Parsers and must never be written to.
var httpRootPath = []byte("/")

// Parser is an incremental HTTP/1.1 request parser for one connection. It
// reads requests in place from the caller's buffer and keeps no reference
// to that buffer between calls, only offsets into it.
//
// A Parser is owned by one goroutine (the connection's event loop) and must
// not be used concurrently. It is reused for every request of its
// connection: after Done, the next Parse call starts the next request.
type Parser struct {
	maxHeader int // limit on the head in bytes, > 0
	maxBody   int // limit on the (dechunked) body in bytes, > 0

	state parserState
	err   error // the protocol error returned, while state == stFailed

	// Head scan (stHead). Offsets count from the first byte of the
	// current request, which is buf[0] in every state before stChunked.
	lineStart int // first byte of the first line not yet parsed
	scanPos   int // [lineStart, scanPos) is known to hold no LF; also the bytes seen
	lineNo    int // lines parsed, leading empty lines excluded: 0 until the request line
	headLen   int // bytes of the head, final empty line included, once known
	need      int // value for Need

	// Values of the head, as spans (see httpSpan).
	method, path, query httpSpan
	auth, accept, ctype httpSpan
	cenc, ua            httpSpan
	pathRoot            bool // Path is httpRootPath

	// Framing and connection facts gathered from header lines.
	hostSeen      bool
	hasCL         bool
	contentLength int64
	teSeen        bool // a Transfer-Encoding line was seen
	teChunked     int  // times "chunked" was listed
	teLastChunked bool // the last coding listed so far is chunked
	teUnknown     bool // a coding other than chunked was listed
	connClose     bool
	connKeepAlive bool
	expect100     bool
	continued     bool // HeadReady was returned for this request

	headOwned bool   // spans refer to headBuf (chunked framing, head consumed)
	headBuf   []byte // Parser-owned copy of the exposed head values; at most maxHeader bytes
	chunk     chunkDecoder
	body      []byte // Parser-owned decoded chunked body; at most maxBody bytes

	req Request

	// scanned counts bytes examined by the head scanner over the Parser's
	// life. It exists so that tests can assert that a head arriving in
	// pieces is resumed, not re-scanned.
	scanned int
}

// NewParser returns a Parser that refuses a head (request line, header
// lines and the empty line after them) longer than maxHeaderBytes with 431
// and a body longer than maxBodyBytes with 413. A zero or negative limit
// selects DefaultMaxHeaderBytes or DefaultMaxBodyBytes; no limit can be
// disabled.
func NewParser(maxHeaderBytes, maxBodyBytes int) *Parser {
	if maxHeaderBytes <= 0 {
		maxHeaderBytes = DefaultMaxHeaderBytes
	}
	if maxHeaderBytes > 1<<30 {
		maxHeaderBytes = 1 << 30 // spans hold int32 offsets
	}
	if maxBodyBytes <= 0 {
		maxBodyBytes = DefaultMaxBodyBytes
	}
	p := &Parser{maxHeader: maxHeaderBytes, maxBody: maxBodyBytes}
	p.Reset()
	return p
}

// Reset abandons the current request, clears any error and prepares the
// Parser for a request starting at the next byte given to Parse. Parse
// resets the Parser itself after Done.
func (p *Parser) Reset() {
	headBuf, body := p.headBuf[:0], p.body[:0]
	if cap(body) > bodyKeepCap {
		body = nil
	}
	*p = Parser{
		maxHeader: p.maxHeader,
		maxBody:   p.maxBody,
		headBuf:   headBuf,
		body:      body,
		scanned:   p.scanned,
	}
	p.chunk.reset(int64(p.maxBody), p.maxHeader)
}

// Request returns the request parsed by the last Parse call that returned
// Done (complete) or HeadReady (head only). See Request for how long its
// slices stay valid. After any other outcome its contents are unspecified.
func (p *Parser) Request() *Request { return &p.req }

// Need returns the minimum length of the buffer the next Parse call needs to
// make progress, so that the caller can wait for that much input without
// calling Parse. It is 0 when unknown (after Done or an error).
func (p *Parser) Need() int {
	switch p.state {
	case stDone, stFailed:
		return 0
	}
	return p.need
}

// InRequest reports whether a byte of a request that is not yet complete
// has been seen: the caller then applies its read timeout rather than its
// idle timeout.
func (p *Parser) InRequest() bool {
	switch p.state {
	case stHead:
		return p.scanPos > 0
	case stBodyCL, stChunkPending, stChunked:
		return true
	}
	return false
}

// Parse parses the request at the front of buf, which must be all of the
// caller's unconsumed input, beginning right after the bytes consumed by
// earlier calls. It returns how many bytes of buf the caller must now
// consume (discard) and the progress made:
//
//   - NeedMore: wait for more input (Need reports how much); consumed is 0
//     while the head or a Content-Length body is incomplete, and may be
//     positive while a chunked body is being decoded.
//   - HeadReady: see HeadReady; consumed is 0.
//   - Done: Request is complete; consumed covers the rest of the request
//     (all of it, unless a chunked body was partly consumed by earlier
//     calls), and buf[consumed:] starts the next (pipelined) one.
//
// A non-nil error is always a *Error: the request is malformed or over a
// limit, the caller answers err.Status with err.Msg and closes the
// connection. The error is returned again by every later call until Reset.
//
// Giving Parse less input than an earlier call already saw of the same
// unconsumed bytes breaks the contract above and panics.
func (p *Parser) Parse(buf []byte) (consumed int, st Status, err error) {
	switch p.state {
	case stDone:
		p.Reset()
	case stFailed:
		return 0, NeedMore, p.err
	}
	if p.state != stChunked && len(buf) < p.scanPos {
		panic("BUG: codec: Parser.Parse given " + strconv.Itoa(len(buf)) +
			" bytes after having seen " + strconv.Itoa(p.scanPos) + " unconsumed bytes")
	}

	if p.state == stHead {
		done, err := p.parseHead(buf)
		if err != nil {
			return p.fail(err)
		}
		if !done {
			p.need = len(buf) + 1
			return 0, NeedMore, nil
		}
		if p.req.Chunked {
			p.state = stChunkPending
		} else {
			p.state = stBodyCL
		}
	}

	switch p.state {
	case stBodyCL:
		// Fast path: the whole request is in buf; nothing is copied.
		total := p.headLen + int(p.contentLength)
		p.resolve(buf)
		if len(buf) >= total {
			if total > p.headLen {
				p.req.Body = buf[p.headLen:total:total]
			}
			p.state = stDone
			return total, Done, nil
		}
		p.need = total
		if p.req.Expect100 && !p.continued {
			p.continued = true
			return 0, HeadReady, nil
		}
		return 0, NeedMore, nil

	case stChunkPending:
		if p.req.Expect100 && !p.continued {
			p.continued = true
			// A dry run on a copy of the decoder state tells whether the
			// body is already complete (or broken, which the real decode
			// reports) without consuming or copying anything.
			probe := p.chunk
			if _, done, err := probe.decode(buf[p.headLen:], nil); !done && err == nil {
				p.resolve(buf)
				p.need = p.headLen // the next call consumes the head
				return 0, HeadReady, nil
			}
		}
		// The head is about to be consumed: keep the exposed values.
		p.ownHead(buf)
		p.state = stChunked
		n, st, err := p.decodeBody(buf[p.headLen:])
		if err != nil {
			return 0, st, err
		}
		return p.headLen + n, st, nil

	case stChunked:
		return p.decodeBody(buf)
	}
	panic("BUG: codec: Parser in state " + strconv.Itoa(int(p.state)) + " after head")
}

// fail records a protocol error; the Parser stays failed until Reset.
func (p *Parser) fail(err error) (int, Status, error) {
	p.state = stFailed
	p.err = err
	p.req = Request{}
	return 0, NeedMore, err
}

// decodeBody decodes chunked framing from b, appending data to p.body.
func (p *Parser) decodeBody(b []byte) (int, Status, error) {
	n, done, err := p.chunk.decode(b, &p.body)
	if err != nil {
		return p.fail(err)
	}
	if !done {
		p.need = 1
		return n, NeedMore, nil
	}
	if len(p.body) > 0 {
		p.req.Body = p.body[:len(p.body):len(p.body)]
	}
	p.state = stDone
	return n, Done, nil
}

// resolve points the Request's slices at base: the caller's buffer, or
// headBuf once the head has been copied there.
func (p *Parser) resolve(base []byte) {
	r := &p.req
	r.MethodName = p.method.in(base)
	if p.pathRoot {
		r.Path = httpRootPath[:1:1]
	} else {
		r.Path = p.path.in(base)
	}
	r.Query = p.query.in(base)
	r.Authorization = p.auth.in(base)
	r.Accept = p.accept.in(base)
	r.ContentType = p.ctype.in(base)
	r.ContentEncoding = p.cenc.in(base)
	r.UserAgent = p.ua.in(base)
}

// ownHead copies the exposed head values from buf into headBuf and
// re-bases their spans there, so that the head bytes can be consumed while
// the Request stays valid.
func (p *Parser) ownHead(buf []byte) {
	h := p.headBuf[:0]
	for _, s := range [...]*httpSpan{&p.method, &p.path, &p.query, &p.auth, &p.accept, &p.ctype, &p.cenc, &p.ua} {
		if s.ok {
			lo := len(h)
			h = append(h, buf[s.lo:s.hi]...)
			*s = mkSpan(lo, len(h))
		}
	}
	p.headBuf = h
	p.headOwned = true
	p.resolve(h)
}

// parseHead advances the head scan over buf. It returns true once the
// empty line ending the head has been parsed and framing decided. Every
// complete line is parsed exactly once; a partial line is resumed from
// scanPos on the next call.
func (p *Parser) parseHead(buf []byte) (bool, error) {
	limit := len(buf)
	if limit > p.maxHeader {
		limit = p.maxHeader
	}
	for {
		i := bytes.IndexByte(buf[p.scanPos:limit], '\n')
		if i < 0 {
			p.scanned += limit - p.scanPos
			p.scanPos = limit
			if len(buf) >= p.maxHeader {
				// The head would end past the limit.
				return false, errHeaderTooLarge(p.maxHeader)
			}
			return false, nil
		}
		p.scanned += i + 1
		nl := p.scanPos + i
		lo := p.lineStart
		line := buf[lo:nl]
		p.lineStart = nl + 1
		p.scanPos = nl + 1
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		switch {
		case p.lineNo == 0:
			if len(line) == 0 {
				continue // empty line before the request line (RFC 9112 §2.2)
			}
			if err := p.parseRequestLine(line, lo); err != nil {
				return false, err
			}
		case len(line) == 0:
			p.headLen = nl + 1
			return true, p.finishHead()
		default:
			if err := p.parseHeaderLine(line, lo); err != nil {
				return false, err
			}
		}
		p.lineNo++
	}
}

// parseRequestLine parses "method SP request-target SP HTTP-version"; lo is
// the line's offset in the request.
func (p *Parser) parseRequestLine(line []byte, lo int) error {
	if bytes.IndexByte(line, 0) >= 0 {
		return errBadRequest("invalid request line: NUL byte")
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 0 {
		return errBadRequest("invalid request line: missing request target")
	}
	method := line[:sp1]
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 < 0 {
		return errBadRequest("invalid request line: missing http version")
	}
	target := rest[:sp2]
	if len(method) == 0 || !httpIsToken(method) {
		return errBadRequest("invalid request line: invalid method")
	}
	if len(target) == 0 {
		return errBadRequest("invalid request line: empty request target")
	}
	// The version goes before the target's form: "PRI * HTTP/2.0" is a
	// 505, not a misplaced asterisk.
	minor, err := httpParseVersion(rest[sp2+1:])
	if err != nil {
		return err
	}
	p.req.Method = httpMethodID(method)
	p.req.Minor = minor
	p.method = mkSpan(lo, lo+sp1)
	return p.parseTarget(target, lo+sp1+1)
}

// parseTarget splits the request target into path and query; lo is the
// target's offset in the request.
func (p *Parser) parseTarget(t []byte, lo int) error {
	for _, c := range t {
		if c <= ' ' || c == 0x7f {
			return errBadRequest("invalid request line: " + httpByteName(c) + " in request target")
		}
	}
	switch {
	case t[0] == '/':
		// origin-form, the common case
	case len(t) == 1 && t[0] == '*':
		if p.req.Method != MethodOPTIONS {
			return errBadRequest("invalid request line: asterisk target without OPTIONS")
		}
		p.path = mkSpan(lo, lo+1)
		return nil
	case httpSchemeLen(t) > 0:
		// absolute-form: skip "scheme://authority".
		start := httpSchemeLen(t) + len("://")
		end := start
		for end < len(t) && t[end] != '/' && t[end] != '?' {
			end++
		}
		if end == start {
			return errBadRequest("invalid request line: empty authority in request target")
		}
		t = t[end:]
		lo += end
		if len(t) == 0 || t[0] == '?' {
			p.pathRoot = true
		}
	case p.req.Method == MethodCONNECT:
		// authority-form: Path carries the authority.
		p.path = mkSpan(lo, lo+len(t))
		return nil
	default:
		return errBadRequest("invalid request line: invalid request target")
	}
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		p.query = mkSpan(lo+q+1, lo+len(t))
		t = t[:q]
	}
	if !p.pathRoot {
		p.path = mkSpan(lo, lo+len(t))
	}
	return nil
}

// httpSchemeLen returns the length of the scheme when t starts with
// "scheme://", else 0.
func httpSchemeLen(t []byte) int {
	if len(t) == 0 || !httpIsAlpha(t[0]) {
		return 0
	}
	for i := 1; i < len(t); i++ {
		c := t[i]
		switch {
		case httpIsAlpha(c), c >= '0' && c <= '9', c == '+', c == '-', c == '.':
		case c == ':':
			if len(t) >= i+3 && t[i+1] == '/' && t[i+2] == '/' {
				return i
			}
			return 0
		default:
			return 0
		}
	}
	return 0
}

func httpIsAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// httpParseVersion returns the minor version of "HTTP/1.0" or "HTTP/1.1":
// 505 for another well-formed version, 400 for anything else.
func httpParseVersion(v []byte) (int, error) {
	if len(v) == 8 && string(v[:7]) == "HTTP/1." {
		switch v[7] {
		case '0':
			return 0, nil
		case '1':
			return 1, nil
		}
	}
	if httpLooksLikeVersion(v) {
		return 0, errVersionNotSupported()
	}
	return 0, errBadRequest("invalid request line: malformed http version")
}

// httpLooksLikeVersion reports whether v is "HTTP/" DIGIT+ [ "." DIGIT+ ].
func httpLooksLikeVersion(v []byte) bool {
	if len(v) < 6 || string(v[:5]) != "HTTP/" {
		return false
	}
	v = v[5:]
	digits := func() int {
		n := 0
		for n < len(v) && v[n] >= '0' && v[n] <= '9' {
			n++
		}
		v = v[n:]
		return n
	}
	if digits() == 0 {
		return false
	}
	if len(v) == 0 {
		return true
	}
	if v[0] != '.' {
		return false
	}
	v = v[1:]
	return digits() > 0 && len(v) == 0
}

// parseHeaderLine parses one "name: value" line; lo is the line's offset in
// the request.
func (p *Parser) parseHeaderLine(line []byte, lo int) error {
	name, vlo, vhi, err := splitHeaderLine(line, p.lineNo)
	if err != nil {
		return err
	}
	return p.applyHeader(name, line[vlo:vhi], mkSpan(lo+vlo, lo+vhi))
}

// splitHeaderLine checks the syntax of a header line (field-name ":" OWS
// field-value OWS) and returns the name and the bounds of the value
// without its surrounding whitespace. n is the line's number, for errors.
func splitHeaderLine(line []byte, n int) (name []byte, vlo, vhi int, err error) {
	if line[0] == ' ' || line[0] == '\t' {
		return nil, 0, 0, errHeaderLine(n, "obsolete line folding")
	}
	i := 0
	for i < len(line) && httpTokenTable[line[i]] {
		i++
	}
	if i == len(line) {
		return nil, 0, 0, errHeaderLine(n, "missing colon")
	}
	if c := line[i]; c != ':' {
		return nil, 0, 0, errHeaderLine(n, badFieldName(line, i))
	}
	if i == 0 {
		return nil, 0, 0, errHeaderLine(n, "empty field name")
	}
	vlo = i + 1
	if j := httpInvalidValueByte(line[vlo:]); j >= 0 {
		return nil, 0, 0, errHeaderLine(n, httpByteName(line[vlo+j])+" in field value")
	}
	vhi = len(line)
	for vlo < vhi && (line[vlo] == ' ' || line[vlo] == '\t') {
		vlo++
	}
	for vhi > vlo && (line[vhi-1] == ' ' || line[vhi-1] == '\t') {
		vhi--
	}
	return line[:i], vlo, vhi, nil
}

// badFieldName says why line[i], which is neither a token byte nor the
// colon, cannot stand where the field name is.
func badFieldName(line []byte, i int) string {
	c := line[i]
	switch {
	case bytes.IndexByte(line[i:], ':') < 0:
		return "missing colon"
	case c == ' ' || c == '\t':
		j := i
		for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
			j++
		}
		if j < len(line) && line[j] == ':' {
			return "whitespace before colon"
		}
		return "whitespace in field name"
	}
	return httpByteName(c) + " in field name"
}

// applyHeader records what a header the server acts on says. sp is the
// value's span in the header block. Dispatch is on length first: most
// header lines are decided by one integer compare.
func (p *Parser) applyHeader(name, value []byte, sp httpSpan) error {
	n := p.lineNo
	switch len(name) {
	case 4:
		if EqualFoldASCII(name, "host") {
			if p.hostSeen {
				return errHeaderLine(n, "duplicate host")
			}
			p.hostSeen = true
		}
	case 6:
		if EqualFoldASCII(name, "accept") {
			setFirst(&p.accept, sp)
		} else if EqualFoldASCII(name, "expect") {
			httpEachElement(value, func(e []byte) bool {
				p.expect100 = p.expect100 || EqualFoldASCII(e, "100-continue")
				return true
			})
		}
	case 10:
		if EqualFoldASCII(name, "connection") {
			httpEachElement(value, func(e []byte) bool {
				p.connClose = p.connClose || EqualFoldASCII(e, "close")
				p.connKeepAlive = p.connKeepAlive || EqualFoldASCII(e, "keep-alive")
				return true
			})
		} else if EqualFoldASCII(name, "user-agent") {
			setFirst(&p.ua, sp)
		}
	case 12:
		if EqualFoldASCII(name, "content-type") {
			return setOnce(&p.ctype, sp, n, "content-type")
		}
	case 13:
		if EqualFoldASCII(name, "authorization") {
			return setOnce(&p.auth, sp, n, "authorization")
		}
	case 14:
		if EqualFoldASCII(name, "content-length") {
			return p.parseContentLength(value, n)
		}
	case 16:
		if EqualFoldASCII(name, "content-encoding") {
			return setOnce(&p.cenc, sp, n, "content-encoding")
		}
	case 17:
		if EqualFoldASCII(name, "transfer-encoding") {
			return p.parseTransferEncoding(value, n)
		}
	}
	return nil
}

// setFirst keeps the first occurrence of a header that may repeat.
func setFirst(dst *httpSpan, sp httpSpan) {
	if !dst.ok {
		*dst = sp
	}
}

// setOnce records a header that must not repeat; a second one is an error
// on line n.
func setOnce(dst *httpSpan, sp httpSpan, n int, name string) error {
	if dst.ok {
		return errHeaderLine(n, "duplicate "+name)
	}
	*dst = sp
	return nil
}

// parseContentLength accepts a list of identical non-negative decimal
// values, also across repeated lines (RFC 9110 §8.6).
func (p *Parser) parseContentLength(v []byte, n int) error {
	var bad string
	httpEachElement(v, func(e []byte) bool {
		if len(e) == 0 {
			bad = "empty content-length"
			return false
		}
		var x int64
		for _, c := range e {
			if c < '0' || c > '9' {
				bad = "invalid content-length"
				return false
			}
			d := int64(c - '0')
			if x > (1<<63-1-d)/10 {
				bad = "content-length overflows"
				return false
			}
			x = x*10 + d
		}
		if p.hasCL && x != p.contentLength {
			bad = "conflicting content-length"
			return false
		}
		p.hasCL = true
		p.contentLength = x
		return true
	})
	if bad != "" {
		return errHeaderLine(n, bad)
	}
	return nil
}

// parseTransferEncoding records the codings listed on one line. The list
// continues across repeated lines; finishHead judges it as a whole.
func (p *Parser) parseTransferEncoding(v []byte, n int) error {
	p.teSeen = true
	var bad string
	httpEachElement(v, func(e []byte) bool {
		name := e
		params := false
		if i := bytes.IndexByte(e, ';'); i >= 0 {
			name = httpTrimOWS(e[:i])
			params = true
		}
		if len(name) == 0 || !httpIsToken(name) {
			bad = "invalid transfer-encoding"
			return false
		}
		p.teLastChunked = EqualFoldASCII(name, "chunked")
		if p.teLastChunked {
			if params {
				bad = "parameters on chunked transfer coding"
				return false
			}
			p.teChunked++
		} else {
			p.teUnknown = true
		}
		return true
	})
	if bad != "" {
		return errHeaderLine(n, bad)
	}
	return nil
}

// finishHead decides the framing and connection handling once every header
// line has been seen (RFC 9112 §6.3, §9.3).
func (p *Parser) finishHead() error {
	r := &p.req
	if p.teSeen {
		switch {
		case r.Minor == 0:
			return errBadRequest("transfer-encoding in an http/1.0 request")
		case p.hasCL:
			return errBadRequest("both content-length and transfer-encoding")
		case p.teChunked > 0 && !p.teLastChunked:
			// RFC 9112 §6.3: the body's length cannot be known.
			return errBadRequest("chunked is not the final transfer coding")
		case p.teUnknown:
			return errUnsupportedCoding()
		case p.teChunked > 1:
			return errBadRequest("chunked transfer coding applied more than once")
		}
		r.Chunked = true
		r.ContentLength = -1
	} else if p.hasCL {
		if p.contentLength > int64(p.maxBody) {
			return errBodyTooLarge(p.maxBody)
		}
		r.ContentLength = p.contentLength
	}
	if r.Minor == 1 {
		r.KeepAlive = !p.connClose
		r.Expect100 = p.expect100
	} else {
		r.KeepAlive = p.connKeepAlive && !p.connClose
	}
	return nil
}

// httpEachElement calls f with each comma-separated element of a list
// value, trimmed of spaces and tabs, empty ones included, until f returns
// false.
func httpEachElement(v []byte, f func(e []byte) bool) {
	for {
		i := bytes.IndexByte(v, ',')
		if i < 0 {
			f(httpTrimOWS(v))
			return
		}
		if !f(httpTrimOWS(v[:i])) {
			return
		}
		v = v[i+1:]
	}
}

func httpTrimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// EqualFoldASCII reports whether b equals lower, a constant of lower-case
// ASCII, ignoring ASCII case in b: 'A' to 'Z' match 'a' to 'z' and every
// other byte matches only itself. It is the package's one case-insensitive
// comparison, for header names and tokens, and does not allocate.
func EqualFoldASCII(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := lower[i]
		// |0x20 folds exactly when lower[i] is a letter; for other bytes
		// it would also match a byte 0x20 below.
		if c >= 'a' && c <= 'z' {
			if b[i]|0x20 != c {
				return false
			}
		} else if b[i] != c {
			return false
		}
	}
	return true
}

// httpInvalidValueByte returns the index of the first byte of b not allowed
// in a field value (see httpValueTable), or -1. Eight bytes at a time it
// looks for a byte below 0x20 or equal to 0x7f; only a word holding one
// (usually a tab) is checked byte by byte.
func httpInvalidValueByte(b []byte) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		del := x ^ (0x7f * ones)
		if ((x-0x20*ones)&^x|(del-ones)&^del)&highs == 0 {
			continue
		}
		for j := i; j < i+8; j++ {
			if !httpValueTable[b[j]] {
				return j
			}
		}
	}
	for ; i < len(b); i++ {
		if !httpValueTable[b[i]] {
			return i
		}
	}
	return -1
}

func httpIsToken(b []byte) bool {
	for _, c := range b {
		if !httpTokenTable[c] {
			return false
		}
	}
	return true
}

// httpTokenTable marks tchar (RFC 9110 §5.6.2).
var httpTokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] = true
	}
	return t
}()

// httpValueTable marks bytes allowed in a field value: HTAB, SP, VCHAR and
// obs-text (RFC 9110 §5.5). NUL, CR, LF and other controls are not.
var httpValueTable = func() (t [256]bool) {
	t['\t'] = true
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// httpByteName names a rejected byte for an error message without echoing
// it.
func httpByteName(c byte) string {
	switch {
	case c == 0:
		return "NUL byte"
	case c == '\r':
		return "bare CR"
	case c == '\n':
		return "bare LF"
	case c < 0x20 || c == 0x7f:
		return "control character"
	case c == ' ':
		return "space"
	}
	return "invalid character"
}
