package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// Errors reported by the client and the runner. Transport failures wrap
// one of ErrConnect or ErrMalformedResponse, or are timeouts
// (os.ErrDeadlineExceeded) or plain I/O errors; see [ErrorKind].
var (
	// ErrConnect wraps a failure to open a connection.
	ErrConnect = errors.New("bench: cannot connect")
	// ErrMalformedResponse is returned when the server's answer is not
	// valid HTTP/1.x framing.
	ErrMalformedResponse = errors.New("bench: malformed response")
	// ErrInvalidConfig wraps every reason a [Config] is refused.
	ErrInvalidConfig = errors.New("bench: invalid config")
)

// Kinds of transport error, as returned by [ErrorKind] and used as keys of
// Report.Errors.
const (
	ErrKindConnect  = "connect"
	ErrKindTimeout  = "timeout"
	ErrKindProtocol = "protocol"
	ErrKindIO       = "io"
)

// ErrorKind classifies a transport error returned by [Client.Do].
func ErrorKind(err error) string {
	switch {
	case errors.Is(err, ErrConnect):
		return ErrKindConnect
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ErrKindTimeout
	case errors.Is(err, ErrMalformedResponse):
		return ErrKindProtocol
	default:
		return ErrKindIO
	}
}

const (
	// readBufferSize is the size of a client's read buffer; it also bounds
	// the length of a status line or header line.
	readBufferSize = 16 << 10
	// DefaultCaptureBytes is how much of each response body a [Client]
	// keeps in Response.Body; the rest is read and discarded.
	DefaultCaptureBytes = 512
	// maxChunkSize bounds a chunk-size line so that arithmetic cannot
	// overflow.
	maxChunkSize = 1 << 40
)

// Response is what a [Client] keeps of one answer.
type Response struct {
	// Status is the status code, 100 to 999.
	Status int
	// Close reports that the connection cannot be reused after this
	// answer (Connection: close, HTTP/1.0 without keep-alive, or a body
	// delimited by the end of the connection).
	Close bool
	// BodyLen is the decoded length of the whole body.
	BodyLen int64
	// Body holds the first bytes of the decoded body, at most the capacity
	// of the buffer given to [ReadResponse]. It aliases that buffer: valid
	// until the next call that reuses it.
	Body []byte
}

// Client sends requests over one keep-alive HTTP/1.1 connection with at
// most one request in flight. It (re)connects on demand and drops the
// connection after any error or a response that asks to close.
//
// A Client is owned by one goroutine; it is not safe for concurrent use.
type Client struct {
	addr    string
	timeout time.Duration
	dialer  net.Dialer
	conn    net.Conn      // nil while disconnected
	br      *bufio.Reader // reads from conn; reset on reconnect
	body    []byte        // capture buffer handed to ReadResponse
}

// NewClient returns a Client for the TCP address addr ("host:port"). A
// positive timeout bounds the connect and every request (write plus read of
// the answer); zero means no limit.
func NewClient(addr string, timeout time.Duration) *Client {
	return &Client{
		addr:    addr,
		timeout: timeout,
		dialer:  net.Dialer{Timeout: timeout},
		br:      bufio.NewReaderSize(nil, readBufferSize),
		body:    make([]byte, 0, DefaultCaptureBytes),
	}
}

// Connected reports whether the client holds an open connection.
func (c *Client) Connected() bool { return c.conn != nil }

// Do sends req, a complete serialized HTTP/1.1 request, and reads the
// answer. ctx only bounds the connect; a request in flight is bounded by
// the client's timeout. Response.Body is valid until the next call. On any
// error the connection is closed and the next call reconnects.
func (c *Client) Do(ctx context.Context, req []byte) (Response, error) {
	if c.conn == nil {
		conn, err := c.dialer.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return Response{}, fmt.Errorf("%w %s: %w", ErrConnect, c.addr, err)
		}
		c.conn = conn
		c.br.Reset(conn)
	}
	if c.timeout > 0 {
		if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
			c.Close()
			return Response{}, fmt.Errorf("bench: set deadline: %w", err)
		}
	}
	if _, err := c.conn.Write(req); err != nil {
		c.Close()
		return Response{}, fmt.Errorf("bench: write request: %w", err)
	}
	resp, err := ReadResponse(c.br, c.body[:0])
	if err != nil {
		c.Close()
		return Response{}, err
	}
	c.body = resp.Body[:0]
	if resp.Close {
		c.Close()
	}
	return resp, nil
}

// Close closes the connection, if any. The Client stays usable.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	c.br.Reset(nil)
	return err
}

// ReadResponse reads one HTTP/1.x response from br, skipping interim 1xx
// answers, and consumes its whole body: by Content-Length, by chunked
// transfer coding (extensions and trailers ignored), or up to the end of the
// stream. The first bytes of the decoded body are appended to body, up to
// its capacity, and returned in Response.Body. 204 and 304 answers have no
// body. Responses to HEAD requests are not supported.
func ReadResponse(br *bufio.Reader, body []byte) (Response, error) {
	for {
		resp, err := readOne(br, body)
		if err != nil {
			return Response{}, err
		}
		if resp.Status >= 200 || resp.Status == 101 {
			return resp, nil
		}
	}
}

// readOne reads one response, interim or final.
func readOne(br *bufio.Reader, body []byte) (Response, error) {
	line, err := readLine(br)
	if err != nil {
		return Response{}, err
	}
	// "HTTP/1.x SSS[ reason]"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return Response{}, fmt.Errorf("%w: bad status line %q", ErrMalformedResponse, snippet(line))
	}
	minor := line[7]
	if minor != '0' && minor != '1' {
		return Response{}, fmt.Errorf("%w: unsupported version %q", ErrMalformedResponse, snippet(line[:8]))
	}
	status := 0
	for _, ch := range line[9:12] {
		if ch < '0' || ch > '9' {
			return Response{}, fmt.Errorf("%w: bad status code %q", ErrMalformedResponse, snippet(line[9:12]))
		}
		status = status*10 + int(ch-'0')
	}
	if status < 100 {
		return Response{}, fmt.Errorf("%w: bad status code %d", ErrMalformedResponse, status)
	}
	resp := Response{Status: status, Close: minor == '0'}

	contentLength := int64(-1)
	chunked := false
	for {
		line, err := readLine(br)
		if err != nil {
			return Response{}, err
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return Response{}, fmt.Errorf("%w: bad header line %q", ErrMalformedResponse, snippet(line))
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case asciiEqualFold(name, "content-length"):
			n, ok := parseDecimal(value)
			if !ok || (contentLength >= 0 && n != contentLength) {
				return Response{}, fmt.Errorf("%w: bad content-length %q", ErrMalformedResponse, snippet(value))
			}
			contentLength = n
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = hasToken(value, "chunked")
		case asciiEqualFold(name, "connection"):
			if hasToken(value, "close") {
				resp.Close = true
			} else if hasToken(value, "keep-alive") {
				resp.Close = false
			}
		}
	}

	switch {
	case status < 200 || status == 204 || status == 304:
		resp.Body = body
		return resp, nil
	case chunked:
		return readChunked(br, body, resp)
	case contentLength >= 0:
		body, err = readBody(br, contentLength, body)
		if err != nil {
			return Response{}, err
		}
		resp.Body, resp.BodyLen = body, contentLength
		return resp, nil
	default:
		// Body delimited by the end of the connection.
		body, n, err := readToEOF(br, body)
		if err != nil {
			return Response{}, err
		}
		resp.Body, resp.BodyLen, resp.Close = body, n, true
		return resp, nil
	}
}

// readChunked decodes a chunked body into resp.
func readChunked(br *bufio.Reader, body []byte, resp Response) (Response, error) {
	var total int64
	for {
		line, err := readLine(br)
		if err != nil {
			return Response{}, err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimRight(line, " \t")
		size, ok := parseHex(line)
		if !ok {
			return Response{}, fmt.Errorf("%w: bad chunk size %q", ErrMalformedResponse, snippet(line))
		}
		if size == 0 {
			break
		}
		if body, err = readBody(br, size, body); err != nil {
			return Response{}, err
		}
		total += size
		crlf, err := readLine(br)
		if err != nil {
			return Response{}, err
		}
		if len(crlf) != 0 {
			return Response{}, fmt.Errorf("%w: chunk not followed by CRLF", ErrMalformedResponse)
		}
	}
	for { // trailers
		line, err := readLine(br)
		if err != nil {
			return Response{}, err
		}
		if len(line) == 0 {
			break
		}
	}
	resp.Body, resp.BodyLen = body, total
	return resp, nil
}

// readBody consumes n body bytes from br, appending as many as fit in
// body's capacity. A stream that ends early yields io.ErrUnexpectedEOF.
func readBody(br *bufio.Reader, n int64, body []byte) ([]byte, error) {
	for n > 0 {
		var m int
		var err error
		if room := int64(cap(body) - len(body)); room > 0 {
			m, err = io.ReadFull(br, body[len(body):len(body)+int(min(room, n))])
			body = body[:len(body)+m]
		} else {
			m, err = br.Discard(int(min(n, 1<<30)))
		}
		n -= int64(m)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return body, fmt.Errorf("bench: read body: %w", err)
		}
	}
	return body, nil
}

// readToEOF consumes br up to the end of the stream, appending as much as
// fits in body's capacity, and returns the number of bytes consumed.
func readToEOF(br *bufio.Reader, body []byte) ([]byte, int64, error) {
	var n int64
	for {
		var m int
		var err error
		if room := cap(body) - len(body); room > 0 {
			m, err = br.Read(body[len(body):cap(body)])
			body = body[:len(body)+m]
		} else {
			m, err = br.Discard(readBufferSize)
		}
		n += int64(m)
		if errors.Is(err, io.EOF) {
			return body, n, nil
		}
		if err != nil {
			return body, n, fmt.Errorf("bench: read body: %w", err)
		}
	}
}

// readLine returns the next line without its line ending. The slice
// aliases br's buffer: valid until the next read.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrMalformedResponse, br.Size())
		}
		if errors.Is(err, io.EOF) {
			if len(line) == 0 {
				return nil, fmt.Errorf("bench: read response: %w", io.EOF)
			}
			return nil, fmt.Errorf("bench: read response: %w", io.ErrUnexpectedEOF)
		}
		return nil, fmt.Errorf("bench: read response: %w", err)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// asciiEqualFold reports whether b equals the lower-case ASCII string s,
// ignoring case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		ch := b[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != s[i] {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds token (lower
// case), ignoring case and surrounding blanks.
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		item := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if asciiEqualFold(bytes.TrimSpace(item), token) {
			return true
		}
	}
	return false
}

// parseDecimal parses a non-negative decimal integer of at most 18 digits.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int64(ch-'0')
	}
	return n, true
}

// parseHex parses a chunk size, refusing values above maxChunkSize.
func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, ch := range b {
		var d byte
		switch {
		case '0' <= ch && ch <= '9':
			d = ch - '0'
		case 'a' <= ch && ch <= 'f':
			d = ch - 'a' + 10
		case 'A' <= ch && ch <= 'F':
			d = ch - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
		if n > maxChunkSize {
			return 0, false
		}
	}
	return n, true
}

// snippet shortens untrusted bytes for an error message.
func snippet(b []byte) []byte {
	const max = 64
	if len(b) <= max {
		return b
	}
	return b[:max]
}
