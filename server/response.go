package server

import (
	"strconv"
	"time"

	"metricstream/codec"
)

// Content types of the answers.
const (
	ctypeJSON       = "application/json"
	ctypePrometheus = "text/plain; version=0.0.4; charset=utf-8"
)

// statusLines holds the precomputed status line of every status the server
// sends, CRLF included.
var statusLines = map[int]string{}

func init() {
	for code, text := range map[int]string{
		100: "Continue", 200: "OK", 204: "No Content", 400: "Bad Request",
		401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
		408: "Request Timeout", 413: "Content Too Large", 415: "Unsupported Media Type",
		429: "Too Many Requests", 431: "Request Header Fields Too Large",
		500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
		505: "HTTP Version Not Supported",
	} {
		statusLines[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
	}
}

// dateCache holds the Date header value of the current second. Each event
// loop owns one; only its goroutine touches it.
type dateCache struct {
	sec  int64
	text []byte // "Date: Thu, 26 Nov 2026 17:20:06 GMT\r\n"
}

func (d *dateCache) header(now time.Time) []byte {
	if s := now.Unix(); s != d.sec || d.text == nil {
		d.sec = s
		d.text = append(d.text[:0], "Date: "...)
		d.text = now.UTC().AppendFormat(d.text, "Mon, 02 Jan 2006 15:04:05 GMT")
		d.text = append(d.text, "\r\n"...)
	}
	return d.text
}

// answer describes one response before it is rendered.
type answer struct {
	status    int
	ctype     string
	body      []byte // the body GET would send; omitted for HEAD
	head      bool   // HEAD request: send headers only
	close     bool   // add Connection: close and close after sending
	keepAlive bool   // HTTP/1.0 client asked for keep-alive: say so
	// retryAfter, when > 0, adds Retry-After in whole seconds.
	retryAfter int
	// allow, when set, adds an Allow header (405).
	allow string
	// authenticate adds WWW-Authenticate: Bearer (401).
	authenticate bool
	// influxError, when set, adds X-Influxdb-Error with the message: the
	// InfluxDB client libraries show that header to their users, not our
	// JSON body. Messages are the server's own text, never request bytes.
	influxError string
	// influxVersion adds X-Influxdb-Version (GET /ping).
	influxVersion bool
}

// appendAnswer renders a into dst. Every answer has Content-Length,
// Content-Type and Date.
func appendAnswer(dst []byte, date []byte, a *answer) []byte {
	if a.status == 100 {
		// An interim answer has no headers and no body (RFC 9110 §15.2).
		return append(dst, "HTTP/1.1 100 Continue\r\n\r\n"...)
	}
	dst = append(dst, statusLines[a.status]...)
	dst = append(dst, date...)
	if a.status != 204 {
		dst = append(dst, "Content-Type: "...)
		dst = append(dst, a.ctype...)
		dst = append(dst, "\r\nContent-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(a.body)), 10)
		dst = append(dst, "\r\n"...)
	} else {
		// 204 carries no body and, per RFC 9110, no Content-Length is
		// required; we still state the type so every answer has one.
		dst = append(dst, "Content-Type: "...)
		dst = append(dst, a.ctype...)
		dst = append(dst, "\r\n"...)
	}
	if a.retryAfter > 0 {
		dst = append(dst, "Retry-After: "...)
		dst = strconv.AppendInt(dst, int64(a.retryAfter), 10)
		dst = append(dst, "\r\n"...)
	}
	if a.allow != "" {
		dst = append(dst, "Allow: "...)
		dst = append(dst, a.allow...)
		dst = append(dst, "\r\n"...)
	}
	if a.influxError != "" {
		dst = append(dst, "X-Influxdb-Error: "...)
		dst = append(dst, a.influxError...)
		dst = append(dst, "\r\n"...)
	}
	if a.influxVersion {
		dst = append(dst, "X-Influxdb-Version: "+influxVersion+"\r\n"...)
	}
	if a.authenticate {
		dst = append(dst, "WWW-Authenticate: Bearer realm=\"metricstream\"\r\n"...)
	}
	if a.close {
		dst = append(dst, "Connection: close\r\n"...)
	} else if a.keepAlive {
		dst = append(dst, "Connection: keep-alive\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	if !a.head && a.status != 204 {
		dst = append(dst, a.body...)
	}
	return dst
}

// appendErrorBody appends {"error":"<msg>"}.
func appendErrorBody(dst []byte, msg string) []byte {
	dst = append(dst, `{"error":`...)
	dst = codec.AppendJSONString(dst, []byte(msg))
	return append(dst, '}')
}

// appendSuccessBody appends {"success":true,"metrics_processed":n}.
func appendSuccessBody(dst []byte, n int) []byte {
	dst = append(dst, `{"success":true,"metrics_processed":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '}')
}

// retrySeconds rounds d up to whole seconds, at least 1.
func retrySeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
