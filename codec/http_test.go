package codec

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// reqSnap is a deep copy of a Request, comparable with reflect.DeepEqual.
// Absent byte fields read "<nil>" so that nil and empty stay apart.
type reqSnap struct {
	Method                    Method
	MethodName, Path, Query   string
	Minor                     int
	KeepAlive, Expect100      bool
	Auth, Accept, CType, CEnc string
	UA                        string
	ContentLength             int64
	Chunked                   bool
	Body                      string
}

func snapStr(b []byte) string {
	if b == nil {
		return "<nil>"
	}
	return string(b)
}

func snap(r *Request) reqSnap {
	return reqSnap{
		Method: r.Method, MethodName: snapStr(r.MethodName), Path: snapStr(r.Path), Query: snapStr(r.Query),
		Minor: r.Minor, KeepAlive: r.KeepAlive, Expect100: r.Expect100,
		Auth: snapStr(r.Authorization), Accept: snapStr(r.Accept), CType: snapStr(r.ContentType),
		CEnc: snapStr(r.ContentEncoding), UA: snapStr(r.UserAgent),
		ContentLength: r.ContentLength, Chunked: r.Chunked, Body: string(r.Body),
	}
}

// outcome is what a connection would observe for one input.
type outcome struct {
	Reqs     []reqSnap
	Status   int    // status of the protocol error, 0 if none
	Msg      string // its message
	Consumed int    // bytes consumed in total; up to the last Done after an error
}

// feed runs p over data the way the server does, the input arriving in
// pieces that end at the offsets in ends (the last must be len(data)).
// Every arrival hands Parse a fresh copy of the unconsumed input and
// poisons the previous copy, so a Parser that kept a slice across calls
// reads garbage. It checks the per-call contract as it goes and reports
// how many times HeadReady was returned.
func feed(t testing.TB, p *Parser, data []byte, ends []int) (outcome, int) {
	t.Helper()
	var out outcome
	var prev []byte
	headReady := 0
	doneAt := 0 // input consumed through the last Done
	for _, end := range ends {
		for i := range prev {
			prev[i] = 0xEE
		}
		buf := append([]byte(nil), data[out.Consumed:end]...)
		prev = buf
		pos := 0
		for {
			need := p.Need()
			n, st, err := p.Parse(buf[pos:])
			if n < 0 || n > len(buf)-pos {
				t.Fatalf("consumed %d of %d bytes", n, len(buf)-pos)
			}
			if need > 0 && len(buf)-pos < need && (n != 0 || st != NeedMore || err != nil) {
				t.Fatalf("Need()=%d but Parse of %d bytes made progress: n=%d st=%v err=%v", need, len(buf)-pos, n, st, err)
			}
			pos += n
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("error %v is not a *Error", err)
				}
				if n != 0 {
					t.Fatalf("error %v returned with %d bytes consumed", err, n)
				}
				// How much of a broken chunked body was consumed before
				// the error depends on the arrivals; what was delivered does not.
				out.Status, out.Msg = pe.Status, pe.Msg
				out.Consumed = doneAt
				if _, _, err2 := p.Parse(buf[pos:]); err2 != err {
					t.Fatalf("error not sticky: got %v; want %v", err2, err)
				}
				return out, headReady
			}
			if st == NeedMore {
				if !p.InRequest() && pos < len(buf) {
					t.Fatalf("InRequest false with %d unparsed bytes", len(buf)-pos)
				}
				break
			}
			if st == HeadReady {
				if n != 0 {
					t.Fatalf("HeadReady with %d bytes consumed", n)
				}
				if !p.Request().Expect100 {
					t.Fatalf("HeadReady without Expect100")
				}
				headReady++
				continue
			}
			if p.InRequest() {
				t.Fatalf("InRequest true after Done")
			}
			out.Reqs = append(out.Reqs, snap(p.Request()))
			doneAt = out.Consumed + pos
		}
		out.Consumed += pos
	}
	return out, headReady
}

// wholeEnds, splitEnds and byteEnds describe arrival patterns for feed.
func wholeEnds(n int) []int { return []int{n} }

func splitEnds(at, n int) []int { return []int{at, n} }

func byteEnds(n int) []int {
	e := make([]int, 0, n+1)
	for i := 0; i <= n; i++ {
		e = append(e, i)
	}
	return e
}

const (
	testMaxHeader = 1024
	testMaxBody   = 4096
)

func newTestParser() *Parser { return NewParser(testMaxHeader, testMaxBody) }

// checkSplits asserts that data yields the same outcome whole, split at
// every byte position, and fed one byte at a time, and returns it.
func checkSplits(t testing.TB, data []byte) outcome {
	t.Helper()
	want, _ := feed(t, newTestParser(), data, wholeEnds(len(data)))
	for at := 0; at <= len(data); at++ {
		got, _ := feed(t, newTestParser(), data, splitEnds(at, len(data)))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("split at %d:\ngot  %+v\nwant %+v", at, got, want)
		}
	}
	got, _ := feed(t, newTestParser(), data, byteEnds(len(data)))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("one byte at a time:\ngot  %+v\nwant %+v", got, want)
	}
	return want
}

// get is the Request a minimal HTTP/1.1 GET of path yields.
func get(path string) reqSnap {
	return reqSnap{Method: MethodGET, MethodName: "GET", Path: path, Query: "<nil>", Minor: 1, KeepAlive: true,
		Auth: "<nil>", Accept: "<nil>", CType: "<nil>", CEnc: "<nil>", UA: "<nil>"}
}

// with returns r changed by f, for one-line table entries.
func with(r reqSnap, f func(*reqSnap)) reqSnap { f(&r); return r }

const chunkedBody = "5;name=value\r\nhello\r\n6 ; a=b;c\r\n world\r\n0\r\nTrailer-A: x\r\nB:\r\n\r\n"

func TestParseValid(t *testing.T) {
	f := func(name, in string, want ...reqSnap) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			t.Helper()
			got := checkSplits(t, []byte(in))
			if got.Status != 0 {
				t.Fatalf("error %d %q", got.Status, got.Msg)
			}
			if !reflect.DeepEqual(got.Reqs, want) {
				t.Fatalf("got  %+v\nwant %+v", got.Reqs, want)
			}
			if got.Consumed != len(in) {
				t.Fatalf("consumed %d of %d", got.Consumed, len(in))
			}
		})
	}
	f("get", "GET /health HTTP/1.1\r\nHost: a\r\n\r\n", get("/health"))
	f("no host", "GET /health HTTP/1.1\r\n\r\n", get("/health"))
	f("query", "GET /metrics?format=prometheus&x=1 HTTP/1.1\r\n\r\n",
		with(get("/metrics"), func(r *reqSnap) { r.Query = "format=prometheus&x=1" }))
	f("empty query", "GET /a? HTTP/1.1\r\n\r\n", with(get("/a"), func(r *reqSnap) { r.Query = "" }))
	f("http10 close", "GET / HTTP/1.0\r\n\r\n", with(get("/"), func(r *reqSnap) { r.Minor, r.KeepAlive = 0, false }))
	f("http10 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
		with(get("/"), func(r *reqSnap) { r.Minor = 0 }))
	f("http10 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
		with(get("/"), func(r *reqSnap) { r.Minor, r.KeepAlive = 0, false }))
	f("connection close", "GET / HTTP/1.1\r\nconnection: upgrade ,CLOSE\r\n\r\n",
		with(get("/"), func(r *reqSnap) { r.KeepAlive = false }))
	f("connection close second line", "GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
		with(get("/"), func(r *reqSnap) { r.KeepAlive = false }))
	f("post all headers",
		"POST /metrics HTTP/1.1\r\nhost: x\r\nAUTHORIZATION:  Bearer tok \t\r\nAccept:application/json\r\n"+
			"content-Type: application/json\r\nContent-Encoding: gzip\r\nUser-Agent: curl/8.5.0\r\n"+
			"X-Other: \x80\xff obs-text\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
		reqSnap{Method: MethodPOST, MethodName: "POST", Path: "/metrics", Query: "<nil>", Minor: 1, KeepAlive: true,
			Auth: "Bearer tok", Accept: "application/json", CType: "application/json", CEnc: "gzip", UA: "curl/8.5.0",
			ContentLength: 7, Body: `{"a":1}`})
	f("empty value", "GET / HTTP/1.1\r\nAccept:\r\nUser-Agent: \t \r\n\r\n",
		with(get("/"), func(r *reqSnap) { r.Accept, r.UA = "", "" }))
	f("first accept wins", "GET / HTTP/1.1\r\nAccept: text/plain\r\nAccept: application/json\r\n\r\n",
		with(get("/"), func(r *reqSnap) { r.Accept = "text/plain" }))
	f("absolute form", "GET http://example.com:8080/metrics?x=1 HTTP/1.1\r\n\r\n",
		with(get("/metrics"), func(r *reqSnap) { r.Query = "x=1" }))
	f("absolute form no path", "GET HTTPS://example.com HTTP/1.1\r\n\r\n", get("/"))
	f("absolute form query only", "GET http://h?q HTTP/1.1\r\n\r\n", with(get("/"), func(r *reqSnap) { r.Query = "q" }))
	f("asterisk", "OPTIONS * HTTP/1.1\r\n\r\n",
		with(get("*"), func(r *reqSnap) { r.Method, r.MethodName = MethodOPTIONS, "OPTIONS" }))
	f("connect", "CONNECT example.com:443 HTTP/1.1\r\n\r\n",
		with(get("example.com:443"), func(r *reqSnap) { r.Method, r.MethodName = MethodCONNECT, "CONNECT" }))
	f("other method", "PROPFIND /x HTTP/1.1\r\n\r\n",
		with(get("/x"), func(r *reqSnap) { r.Method, r.MethodName = MethodOther, "PROPFIND" }))
	f("leading empty lines", "\r\n\n\r\nGET / HTTP/1.1\r\n\r\n", get("/"))
	f("bare LF", "GET / HTTP/1.1\nAccept: a\n\n", with(get("/"), func(r *reqSnap) { r.Accept = "a" }))
	f("mixed line endings", "GET / HTTP/1.1\r\nAccept: a\n\r\n", with(get("/"), func(r *reqSnap) { r.Accept = "a" }))
	post := func(body string, cl int64) reqSnap {
		return with(get("/metrics"), func(r *reqSnap) {
			r.Method, r.MethodName, r.ContentLength, r.Body = MethodPOST, "POST", cl, body
		})
	}
	f("content-length zero", "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", post("", 0))
	f("content-length identical list", "POST /metrics HTTP/1.1\r\nContent-Length: 5, 005\r\nContent-Length: 5\r\n\r\nhello",
		post("hello", 5))
	f("head with body", "HEAD / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
		with(get("/"), func(r *reqSnap) { r.Method, r.MethodName, r.ContentLength, r.Body = MethodHEAD, "HEAD", 2, "hi" }))
	f("get with chunked body", "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
		with(get("/"), func(r *reqSnap) { r.ContentLength, r.Chunked, r.Body = -1, true, "hi" }))
	chunked := func(body string) reqSnap {
		return with(post(body, -1), func(r *reqSnap) { r.Chunked = true })
	}
	f("chunked extensions trailers", "POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"+chunkedBody,
		chunked("hello world"))
	f("chunked case and hex", "POST /metrics HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n00A\r\n0123456789\r\n000\r\n\r\n",
		chunked("0123456789"))
	f("chunked empty", "POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", chunked(""))
	f("chunked head values", "POST /metrics?q=1 HTTP/1.1\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\n"+
		"Transfer-Encoding: chunked\r\nAccept: */*\r\nContent-Encoding: gzip\r\nUser-Agent: ua\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		with(chunked("abc"), func(r *reqSnap) {
			r.Query, r.Auth, r.CType, r.Accept, r.CEnc, r.UA = "q=1", "Bearer t", "application/json", "*/*", "gzip", "ua"
		}))
	f("expect continue content-length", "POST /metrics HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\nhello",
		with(post("hello", 5), func(r *reqSnap) { r.Expect100 = true }))
	f("expect continue chunked", "POST /metrics HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"+chunkedBody,
		with(chunked("hello world"), func(r *reqSnap) { r.Expect100 = true }))
	f("expect continue http10 ignored", "POST /metrics HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
		with(post("x", 1), func(r *reqSnap) { r.Minor, r.KeepAlive = 0, false }))
	f("other expectation ignored", "GET / HTTP/1.1\r\nExpect: something\r\n\r\n", get("/"))
	f("pipelined content-length", "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /health HTTP/1.1\r\n\r\n",
		post("hello", 5), get("/health"))
	f("pipelined chunked", "POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"+chunkedBody+
		"GET /a HTTP/1.1\r\n\r\nGET /b?c HTTP/1.0\r\n\r\n",
		chunked("hello world"), get("/a"), with(get("/b"), func(r *reqSnap) { r.Query, r.Minor, r.KeepAlive = "c", 0, false }))
	f("pipelined expect", "POST /metrics HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.1\r\n\r\n",
		with(post("hi", 2), func(r *reqSnap) { r.Expect100 = true }), get("/"))
	f("body at limit", "POST /metrics HTTP/1.1\r\nContent-Length: 4096\r\n\r\n"+strings.Repeat("b", testMaxBody),
		post(strings.Repeat("b", testMaxBody), testMaxBody))
	f("chunked body at limit", "POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n"+strings.Repeat("c", 2048)+
		"\r\n800\r\n"+strings.Repeat("d", 2048)+"\r\n0\r\n\r\n",
		chunked(strings.Repeat("c", 2048)+strings.Repeat("d", 2048)))
	head := "GET / HTTP/1.1\r\nX: "
	f("head at limit", head+strings.Repeat("x", testMaxHeader-len(head)-4)+"\r\n\r\n", get("/"))
}

func TestParseInvalid(t *testing.T) {
	f := func(in string, status int, msg string) {
		t.Helper()
		t.Run(fmt.Sprintf("%d %s", status, msg), func(t *testing.T) {
			t.Helper()
			got := checkSplits(t, []byte(in))
			if got.Status != status || !strings.Contains(got.Msg, msg) {
				t.Fatalf("got %d %q; want %d containing %q", got.Status, got.Msg, status, msg)
			}
			if strings.Contains(got.Msg, "canary") {
				t.Fatalf("message %q echoes request bytes", got.Msg)
			}
		})
	}
	h := "GET / HTTP/1.1\r\n"
	p := "POST /metrics HTTP/1.1\r\n"
	te := p + "Transfer-Encoding: chunked\r\n\r\n"

	// Request line.
	f("GET\r\n\r\n", 400, "invalid request line: missing request target")
	f("GET /canary\r\n\r\n", 400, "invalid request line: missing http version")
	f("GET  /canary HTTP/1.1\r\n\r\n", 400, "invalid request line: empty request target")
	f(" GET / HTTP/1.1\r\n\r\n", 400, "invalid request line: invalid method")
	f("G@T / HTTP/1.1\r\n\r\n", 400, "invalid request line: invalid method")
	f("GET canary HTTP/1.1\r\n\r\n", 400, "invalid request line: invalid request target")
	f("GET * HTTP/1.1\r\n\r\n", 400, "asterisk target without OPTIONS")
	f("GET http:///canary HTTP/1.1\r\n\r\n", 400, "empty authority")
	f("GET /a\x00b HTTP/1.1\r\n\r\n", 400, "invalid request line: NUL byte")
	f("GET /a\x7fb HTTP/1.1\r\n\r\n", 400, "control character in request target")
	f("GET /a\rb HTTP/1.1\r\n\r\n", 400, "bare CR in request target")
	f("GET / http/1.1\r\n\r\n", 400, "malformed http version")
	f("GET / HTTP/1.1 canary\r\n\r\n", 400, "malformed http version")
	f("GET / HTTP/1.1\r\r\n\r\n", 400, "malformed http version")
	f("GET / HTTP/1.\r\n\r\n", 400, "malformed http version")
	f("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "http version not supported")
	f("GET / HTTP/1.2\r\n\r\n", 505, "http version not supported")
	f("GET / HTTP/2\r\n\r\n", 505, "http version not supported")
	f("GET / HTTP/0.9\r\n\r\n", 505, "http version not supported")

	// Header lines.
	f(h+"canary\r\n\r\n", 400, "invalid header line 1: missing colon")
	f(h+"Host: a\r\nHost canary\r\n\r\n", 400, "invalid header line 2: missing colon")
	f(h+"Host : canary\r\n\r\n", 400, "invalid header line 1: whitespace before colon")
	f(h+"Content-Length\t: 0\r\n\r\n", 400, "invalid header line 1: whitespace before colon")
	f(h+"Ho st: canary\r\n\r\n", 400, "invalid header line 1: whitespace in field name")
	f(h+"Ho(st: a\r\n\r\n", 400, "invalid header line 1: invalid character in field name")
	f(h+": canary\r\n\r\n", 400, "invalid header line 1: empty field name")
	f(h+"X: a\r\n canary\r\n\r\n", 400, "invalid header line 2: obsolete line folding")
	f(h+"\tX: a\r\n\r\n", 400, "invalid header line 1: obsolete line folding")
	f(h+"X: can\x00ary\r\n\r\n", 400, "invalid header line 1: NUL byte in field value")
	f(h+"X\x00: a\r\n\r\n", 400, "invalid header line 1: NUL byte in field name")
	f(h+"X: can\rary\r\n\r\n", 400, "invalid header line 1: bare CR in field value")
	f(h+"X: can\x01ary\r\n\r\n", 400, "invalid header line 1: control character in field value")
	f(h+"Host: a\r\nhost: b\r\n\r\n", 400, "invalid header line 2: duplicate host")
	f(h+"Authorization: a\r\nAuthorization: b\r\n\r\n", 400, "invalid header line 2: duplicate authorization")
	f(h+"Content-Type: a\r\nContent-Type: b\r\n\r\n", 400, "invalid header line 2: duplicate content-type")
	f(h+"Content-Encoding: a\r\nContent-Encoding: b\r\n\r\n", 400, "invalid header line 2: duplicate content-encoding")

	// Content-Length.
	f(p+"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, "invalid header line 2: conflicting content-length")
	f(p+"Content-Length: 5, 6\r\n\r\nhello!", 400, "invalid header line 1: conflicting content-length")
	f(p+"Content-Length: -1\r\n\r\n", 400, "invalid content-length")
	f(p+"Content-Length: +1\r\n\r\n", 400, "invalid content-length")
	f(p+"Content-Length: 1 2\r\n\r\n", 400, "invalid content-length")
	f(p+"Content-Length: 0x10\r\n\r\n", 400, "invalid content-length")
	f(p+"Content-Length:\r\n\r\n", 400, "empty content-length")
	f(p+"Content-Length: 5,\r\n\r\n", 400, "empty content-length")
	f(p+"Content-Length: 99999999999999999999\r\n\r\n", 400, "content-length overflows")
	f(p+"Content-Length: 9223372036854775808\r\n\r\n", 400, "content-length overflows")
	f(p+"Content-Length: 9223372036854775807\r\n\r\n", 413, "request body larger than 4096 bytes")
	f(p+"Content-Length: 4097\r\n\r\n", 413, "request body larger than 4096 bytes")

	// Transfer-Encoding.
	f(p+"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "both content-length and transfer-encoding")
	f(p+"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400, "both content-length and transfer-encoding")
	f(p+"Transfer-Encoding: gzip\r\n\r\n", 501, "unsupported transfer coding")
	f(p+"Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "unsupported transfer coding")
	f(p+"Transfer-Encoding: chunked, gzip\r\n\r\n", 400, "chunked is not the final transfer coding")
	f(p+"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", 400, "chunked is not the final transfer coding")
	f(p+"Transfer-Encoding: chunked, chunked\r\n\r\n", 400, "chunked transfer coding applied more than once")
	f(p+"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "applied more than once")
	f(p+"Transfer-Encoding: chunked;q=1\r\n\r\n", 400, "parameters on chunked transfer coding")
	f(p+"Transfer-Encoding: chunked,\r\n\r\n", 400, "invalid header line 1: invalid transfer-encoding")
	f(p+"Transfer-Encoding:\r\n\r\n", 400, "invalid header line 1: invalid transfer-encoding")
	f(p+"Transfer-Encoding: \"chunked\"\r\n\r\n", 400, "invalid transfer-encoding")
	f("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "transfer-encoding in an http/1.0 request")

	// Limits.
	big := h + "X: " + strings.Repeat("canary", 200) + "\r\n\r\n"
	f(big, 431, "request header fields larger than 1024 bytes")
	f(big[:1100], 431, "request header fields larger than 1024 bytes")
	f(strings.Repeat("\r\n", 600), 431, "request header fields larger than 1024 bytes")
	f(h+"X: "+strings.Repeat("x", testMaxHeader-len(h)-4)+"\r\n\r\n", 431, "larger than 1024 bytes")

	// Chunked framing.
	f(te+"zz\r\n", 400, "invalid chunk size at body byte 0")
	f(te+"\r\n", 400, "invalid chunk size at body byte 0")
	f(te+" 5\r\nhello\r\n0\r\n\r\n", 400, "invalid chunk size at body byte 0")
	f(te+"-5\r\nhello\r\n0\r\n\r\n", 400, "invalid chunk size at body byte 0")
	f(te+"0x5\r\nhello\r\n0\r\n\r\n", 400, "invalid chunk size at body byte 1")
	f(te+"5 x\r\nhello\r\n0\r\n\r\n", 400, "invalid chunk size at body byte 2")
	f(te+"10000000000000000\r\n", 400, "chunk size overflows at body byte 16")
	f(te+"5\nhello\r\n0\r\n\r\n", 400, "missing CRLF after chunk size at body byte 1")
	f(te+"5\rhello\r\n0\r\n\r\n", 400, "missing CRLF after chunk size at body byte 2")
	f(te+"5\r\nhelloX\r\n0\r\n\r\n", 400, "missing CRLF after chunk data at body byte 8")
	f(te+"5\r\nhello\r\r0\r\n\r\n", 400, "missing CRLF after chunk data at body byte 9")
	f(te+"5\r\nhello\n0\r\n\r\n", 400, "missing CRLF after chunk data at body byte 8")
	f(te+"5;a=\x00\r\nhello\r\n0\r\n\r\n", 400, "invalid chunk extension: NUL byte at body byte 4")
	f(te+"5;"+strings.Repeat("e", maxChunkLine)+"\r\n", 400, "chunk size line too long")
	f(te+"1001\r\n", 413, "request body larger than 4096 bytes")
	f(te+"800\r\n"+strings.Repeat("a", 2048)+"\r\n801\r\n", 413, "request body larger than 4096 bytes")
	f(te+"0\r\n canary: x\r\n\r\n", 400, "invalid trailer field: obsolete line folding at body byte 3")
	f(te+"0\r\nX canary\r\n\r\n", 400, "invalid trailer field name: space at body byte 4")
	f(te+"0\r\nX: a\x00\r\n\r\n", 400, "invalid trailer field value: NUL byte")
	f(te+"0\r\nX: a\n\r\n", 400, "invalid trailer field value: bare LF")
	f(te+"0\r\nX: a\r\r\n", 400, "missing CRLF after trailer field")
	f(te+"0\r\n\rX", 400, "missing CRLF at end of chunked body")
	f(te+"0\r\n\n", 400, "invalid trailer field: bare LF")
	f(te+"0\r\nX: "+strings.Repeat("t", testMaxHeader)+"\r\n\r\n", 431, "trailer section larger than 1024 bytes")

	// A valid request before the broken one is still delivered.
	got := checkSplits(t, []byte(h+"\r\n"+h+"X: a\r\n b\r\n\r\n"))
	if len(got.Reqs) != 1 || got.Status != 400 || got.Consumed != len(h)+2 {
		t.Fatalf("pipelined then broken: got %+v", got)
	}
}

// TestParseResumes shows that a head arriving one byte at a time is scanned
// once, not once per arrival.
func TestParseResumes(t *testing.T) {
	head := "POST /metrics HTTP/1.1\r\nX-Long: " + strings.Repeat("v", 8000) + "\r\n" +
		strings.Repeat("X-Short: a\r\n", 300) + "Content-Length: 3\r\n\r\n"
	for _, tc := range []struct {
		name string
		ends []int
	}{
		{"whole", wholeEnds(len(head) + 3)},
		{"bytes", byteEnds(len(head) + 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewParser(64<<10, 1<<20)
			got, _ := feed(t, p, []byte(head+"abc"), tc.ends)
			if got.Status != 0 || len(got.Reqs) != 1 || got.Reqs[0].Body != "abc" {
				t.Fatalf("got %+v", got)
			}
			if p.scanned != len(head) {
				t.Fatalf("scanned %d bytes for a %d-byte head", p.scanned, len(head))
			}
		})
	}
}

// TestParseCalls walks the documented call sequences step by step.
func TestParseCalls(t *testing.T) {
	type step struct {
		in       string // the whole unconsumed input at this call
		consumed int
		st       Status
		need     int // expected Need() after the call
		inReq    bool
	}
	head := "POST /metrics HTTP/1.1\r\nAuthorization: Bearer t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
	chead := "POST /metrics HTTP/1.1\r\nAuthorization: Bearer t\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
	f := func(name string, steps ...step) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			p := newTestParser()
			if p.InRequest() || p.Need() != 0 {
				t.Fatalf("fresh parser: InRequest %v Need %d", p.InRequest(), p.Need())
			}
			for i, s := range steps {
				buf := []byte(s.in)
				n, st, err := p.Parse(buf)
				if err != nil || n != s.consumed || st != s.st || p.Need() != s.need || p.InRequest() != s.inReq {
					t.Fatalf("step %d: got n=%d st=%v err=%v need=%d inReq=%v; want n=%d st=%v need=%d inReq=%v",
						i, n, st, err, p.Need(), p.InRequest(), s.consumed, s.st, s.need, s.inReq)
				}
				if st != NeedMore && p.Request().Method == MethodPOST && string(p.Request().Authorization) != "Bearer t" {
					t.Fatalf("step %d: Authorization %q", i, p.Request().Authorization)
				}
				for j := range buf {
					buf[j] = 0xEE // the caller's bytes move or vanish between calls
				}
			}
		})
	}
	f("content-length expect",
		step{"", 0, NeedMore, 1, false},
		step{head[:10], 0, NeedMore, 11, true},
		step{head, 0, HeadReady, len(head) + 5, true},
		step{head, 0, NeedMore, len(head) + 5, true},
		step{head + "hel", 0, NeedMore, len(head) + 5, true},
		step{head + "hello", len(head) + 5, Done, 0, false},
		step{"", 0, NeedMore, 1, false},
	)
	f("content-length expect whole body",
		step{head + "helloGET", len(head) + 5, Done, 0, false},
		step{"GET", 0, NeedMore, 4, true},
	)
	f("chunked expect",
		step{chead, 0, HeadReady, len(chead), true},
		step{chead + "5\r\nhe", len(chead) + 5, NeedMore, 1, true},
		step{"llo\r\n0\r", 7, NeedMore, 1, true},
		step{"\n\r\nGET / HTTP/1.1\r\n\r\n", 3, Done, 0, false},
		step{"GET / HTTP/1.1\r\n\r\n", 18, Done, 0, false},
	)
	f("chunked expect partial body already sent",
		step{chead + "5\r\nhe", 0, HeadReady, len(chead), true},
		step{chead + "5\r\nhe", len(chead) + 5, NeedMore, 1, true},
		step{"llo\r\n0\r\n\r\n", 10, Done, 0, false},
	)
	f("chunked expect whole body",
		step{chead + "5\r\nhello\r\n0\r\n\r\n", len(chead) + 15, Done, 0, false},
	)
}

func TestParseRequestBody(t *testing.T) {
	// Content-Length bodies are views of the caller's buffer: zero copies.
	in := []byte("POST /metrics HTTP/1.1\r\nAuthorization: Bearer t\r\nContent-Length: 5\r\n\r\nhello")
	p := newTestParser()
	n, st, err := p.Parse(in)
	if err != nil || st != Done || n != len(in) {
		t.Fatalf("got %d %v %v", n, st, err)
	}
	r := p.Request()
	if &r.Body[0] != &in[len(in)-5] || &r.Authorization[0] != &in[bytes.Index(in, []byte("Bearer"))] {
		t.Fatalf("request does not point into the input")
	}
	if cap(r.Body) != 5 || cap(r.Path) != len("/metrics") {
		t.Fatalf("slices not capacity-limited: cap(Body)=%d cap(Path)=%d", cap(r.Body), cap(r.Path))
	}

	// A chunked body is decoded into a buffer that never outgrows the limit.
	p = NewParser(0, 3000)
	body := "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("64\r\n"+strings.Repeat("z", 100)+"\r\n", 30) + "0\r\n\r\n"
	got, _ := feed(t, p, []byte(body), byteEnds(len(body)))
	if got.Status != 0 || len(got.Reqs) != 1 || len(got.Reqs[0].Body) != 3000 {
		t.Fatalf("got status %d %q, %d requests", got.Status, got.Msg, len(got.Reqs))
	}
	if cap(p.body) > 3000 {
		t.Fatalf("body buffer capacity %d over the 3000-byte limit", cap(p.body))
	}

	// A body buffer grown past bodyKeepCap is not kept for the next request.
	p = NewParser(0, 0)
	size := bodyKeepCap + 1
	big := "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(size), 16) + "\r\n" +
		strings.Repeat("y", size) + "\r\n0\r\n\r\n"
	if n, st, err := p.Parse([]byte(big)); err != nil || st != Done || n != len(big) || len(p.Request().Body) != size {
		t.Fatalf("big chunked body: %d %v %v", n, st, err)
	}
	p.Parse(nil)
	if cap(p.body) != 0 {
		t.Fatalf("kept a %d-byte body buffer", cap(p.body))
	}
}

func TestParseReset(t *testing.T) {
	p := newTestParser()
	if _, _, err := p.Parse([]byte("GET / HTTP/9.9\r\n\r\n")); !errors.Is(err, ErrVersionNotSupported) {
		t.Fatalf("got %v; want a 505", err)
	}
	p.Reset()
	n, st, err := p.Parse([]byte("GET / HTTP/1.1\r\n\r\n"))
	if err != nil || st != Done || n != 18 {
		t.Fatalf("after Reset: got %d %v %v", n, st, err)
	}
	// Reset in the middle of a request drops it.
	p.Parse([]byte("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n"))
	p.Reset()
	if p.InRequest() {
		t.Fatalf("InRequest after Reset")
	}
	if _, st, err := p.Parse([]byte("GET /x HTTP/1.1\r\n\r\n")); err != nil || st != Done || string(p.Request().Path) != "/x" {
		t.Fatalf("after mid-request Reset: %v %v", st, err)
	}
}

func TestParserDefaults(t *testing.T) {
	p := NewParser(0, -1)
	if p.maxHeader != DefaultMaxHeaderBytes || p.maxBody != DefaultMaxBodyBytes {
		t.Fatalf("got limits %d, %d", p.maxHeader, p.maxBody)
	}
}

func TestErrorIs(t *testing.T) {
	f := func(in string, target error) {
		t.Helper()
		_, _, err := newTestParser().Parse([]byte(in))
		if !errors.Is(err, target) {
			t.Fatalf("%q: got %v; want errors.Is %v", in, err, target)
		}
		for _, other := range []error{ErrBadRequest, ErrContentTooLarge, ErrHeaderTooLarge, ErrUnsupportedTransferCoding, ErrVersionNotSupported} {
			if other != target && errors.Is(err, other) {
				t.Fatalf("%q: %v matches %v too", in, err, other)
			}
		}
		if !strings.HasPrefix(err.Error(), "codec: ") {
			t.Fatalf("error text %q lacks the package prefix", err.Error())
		}
	}
	f("GET\r\n\r\n", ErrBadRequest)
	f("POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", ErrContentTooLarge)
	f(strings.Repeat("a", 2000), ErrHeaderTooLarge)
	f("POST / HTTP/1.1\r\nTransfer-Encoding: br\r\n\r\n", ErrUnsupportedTransferCoding)
	f("PRI * HTTP/2.0\r\n\r\n", ErrVersionNotSupported)
}

func TestStrings(t *testing.T) {
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("got %q; want %q", got, want)
		}
	}
	f(MethodGET.String(), "GET")
	f(MethodTRACE.String(), "TRACE")
	f(MethodOther.String(), "OTHER")
	f(Method(200).String(), "Method(200)")
	f(NeedMore.String(), "NeedMore")
	f(HeadReady.String(), "HeadReady")
	f(Done.String(), "Done")
	f(Status(9).String(), "Status(9)")
	f((&Error{Status: 400, Msg: "x"}).Error(), "codec: 400 x")
}

// TestParseAllocs holds the allocation budget: none for Content-Length
// requests, none for chunked ones once the Parser's buffers have grown.
func TestParseAllocs(t *testing.T) {
	f := func(name string, in []byte) {
		t.Helper()
		p := NewParser(0, 0)
		run := func() {
			buf := in
			for len(buf) > 0 {
				n, st, err := p.Parse(buf)
				if err != nil || st != Done {
					t.Fatalf("%s: %v %v", name, st, err)
				}
				buf = buf[n:]
			}
		}
		run() // warm up the Parser's own buffers
		if a := testing.AllocsPerRun(100, run); a != 0 {
			t.Fatalf("%s: %v allocs per run; want 0", name, a)
		}
	}
	f("post", httpBenchPost)
	f("pipelined", bytes.Repeat(httpBenchPost, 8))
	f("chunked", httpBenchChunked)
}

// TestInvalidValueByte checks the word-at-a-time scan against the table
// for every byte value at every position of a word and its tail.
func TestInvalidValueByte(t *testing.T) {
	naive := func(b []byte) int {
		for i, c := range b {
			if !httpValueTable[c] {
				return i
			}
		}
		return -1
	}
	buf := make([]byte, 19)
	for c := 0; c < 256; c++ {
		for pos := 0; pos < len(buf); pos++ {
			for i := range buf {
				buf[i] = "a\t \x80~"[i%5]
			}
			buf[pos] = byte(c)
			if got, want := httpInvalidValueByte(buf), naive(buf); got != want {
				t.Fatalf("byte %#x at %d: got %d; want %d", c, pos, got, want)
			}
		}
	}
}

func TestEqualFoldASCII(t *testing.T) {
	f := func(b, lower string, want bool) {
		t.Helper()
		if got := EqualFoldASCII([]byte(b), lower); got != want {
			t.Fatalf("EqualFoldASCII(%q, %q) = %v; want %v", b, lower, got, want)
		}
	}
	f("Content-Type", "content-type", true)
	f("CONTENT-TYPE", "content-type", true)
	f("gzip", "gzip", true)
	f("", "", true)
	f("gzi", "gzip", false)
	f("gzipp", "gzip", false)
	f("content\rtype", "content-type", false) // '\r' is '-' with the case bit off
	f("x\x00gzip", "x-gzip", false)
	f("100-CONTINUE", "100-continue", true)
	f("\x10\x00", "0 ", false)
	f("\xc1", "a", false)
	f("[", "{", false)
}
