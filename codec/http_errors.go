package codec

import "strconv"

// Error is a protocol error found by Parser: the request cannot be served
// and the connection cannot be trusted to carry another one. The server
// answers Status with {"error":Msg} and closes the connection.
//
// Msg says what was wrong and where (a header line number, a body byte
// offset) and never contains bytes of the request, so it is safe to send
// back and to log.
type Error struct {
	Status int    // HTTP status code of the answer: 400, 413, 431, 501 or 505
	Msg    string // client-facing message, lowercase, without request bytes
}

// Error returns the message prefixed by the package and the status.
func (e *Error) Error() string {
	return "codec: " + strconv.Itoa(e.Status) + " " + e.Msg
}

// Is reports whether target is an *Error with the same Status, so that
// errors.Is(err, codec.ErrHeaderTooLarge) matches every 431 whatever its
// message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status
}

// Sentinels for the classes of protocol error, one per status. Parse never
// returns these values themselves but an *Error with a more precise
// message; compare with errors.Is, which matches on Status.
var (
	// ErrBadRequest: malformed request line, header line, framing or
	// chunk encoding (400).
	ErrBadRequest = &Error{Status: 400, Msg: "malformed request"}
	// ErrContentTooLarge: the body exceeds the Parser's body limit (413,
	// "Content Too Large" in RFC 9110). Distinct from ErrBodyTooLarge, the
	// decoded-size error of GzipDecoder.
	ErrContentTooLarge = &Error{Status: 413, Msg: "request body too large"}
	// ErrHeaderTooLarge: the head or the trailer section exceeds the
	// Parser's header limit (431).
	ErrHeaderTooLarge = &Error{Status: 431, Msg: "request header fields too large"}
	// ErrUnsupportedTransferCoding: a transfer coding other than chunked
	// (501).
	ErrUnsupportedTransferCoding = &Error{Status: 501, Msg: "unsupported transfer coding"}
	// ErrVersionNotSupported: an HTTP version other than 1.0 and 1.1,
	// including the HTTP/2 connection preface (505).
	ErrVersionNotSupported = &Error{Status: 505, Msg: "http version not supported"}
)

// Constructors for the errors Parse returns. They allocate, which is fine:
// an error ends the connection.

func errBadRequest(msg string) error { return &Error{Status: 400, Msg: msg} }

func errHeaderLine(n int, what string) error {
	return &Error{Status: 400, Msg: "invalid header line " + strconv.Itoa(n) + ": " + what}
}

func errChunk(what string, at int64) error {
	return &Error{Status: 400, Msg: what + " at body byte " + strconv.FormatInt(at, 10)}
}

func errHeaderTooLarge(limit int) error {
	return &Error{Status: 431, Msg: "request header fields larger than " + strconv.Itoa(limit) + " bytes"}
}

func errTrailerTooLarge(limit int) error {
	return &Error{Status: 431, Msg: "trailer section larger than " + strconv.Itoa(limit) + " bytes"}
}

func errBodyTooLarge(limit int) error {
	return &Error{Status: 413, Msg: "request body larger than " + strconv.Itoa(limit) + " bytes"}
}

func errUnsupportedCoding() error {
	return &Error{Status: 501, Msg: "unsupported transfer coding: only chunked is accepted"}
}

func errVersionNotSupported() error {
	return &Error{Status: 505, Msg: "http version not supported: use HTTP/1.1 or HTTP/1.0"}
}
