package codec

import (
	"bytes"
	"strconv"
	"testing"
)

// httpBenchBody is a 1 KiB JSON batch.
var httpBenchBody = func() []byte {
	b := []byte(`{"metrics":[`)
	for i := 0; len(b) < 1000; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":"cpu_usage","value":75.5,"tags":{"host":"server`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `"}}`...)
	}
	b = append(b, "]}"...)
	for len(b) < 1024 {
		b = append(b, ' ')
	}
	return b
}()

// httpBenchPost is a typical ingest request: about ten header lines and a
// 1 KiB body.
var httpBenchPost = []byte("POST /metrics HTTP/1.1\r\n" +
	"Host: ingest.example.com:8080\r\n" +
	"User-Agent: metricstream-agent/1.4.2 (linux; amd64)\r\n" +
	"Accept: application/json\r\n" +
	"Accept-Encoding: gzip, deflate\r\n" +
	"Authorization: Bearer 0f8e7d6c5b4a39281706f5e4d3c2b1a0\r\n" +
	"Content-Type: application/json\r\n" +
	"X-Request-Id: 7c9e6679-7425-40de-944b-e07fc1f90ae7\r\n" +
	"X-Forwarded-For: 10.0.0.17\r\n" +
	"Connection: keep-alive\r\n" +
	"Content-Length: " + strconv.Itoa(len(httpBenchBody)) + "\r\n\r\n" +
	string(httpBenchBody))

// httpBenchChunked is the same batch sent with chunked framing in 4 chunks.
var httpBenchChunked = func() []byte {
	b := []byte("POST /metrics HTTP/1.1\r\nHost: ingest.example.com\r\nAuthorization: Bearer t\r\n" +
		"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
	for i := 0; i < 4; i++ {
		part := httpBenchBody[i*256 : (i+1)*256]
		b = strconv.AppendInt(b, int64(len(part)), 16)
		b = append(b, "\r\n"...)
		b = append(b, part...)
		b = append(b, "\r\n"...)
	}
	return append(b, "0\r\n\r\n"...)
}()

func httpBenchParse(b *testing.B, in []byte, perRun int) {
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	p := NewParser(0, 0)
	for b.Loop() {
		buf := in
		for i := 0; i < perRun; i++ {
			n, st, err := p.Parse(buf)
			if err != nil || st != Done {
				b.Fatalf("%v %v", st, err)
			}
			buf = buf[n:]
		}
	}
}

// BenchmarkParseRequest parses one whole POST /metrics with a 1 KiB body.
func BenchmarkParseRequest(b *testing.B) { httpBenchParse(b, httpBenchPost, 1) }

// BenchmarkParseRequestPipelined parses 16 such requests from one buffer.
func BenchmarkParseRequestPipelined(b *testing.B) {
	httpBenchParse(b, bytes.Repeat(httpBenchPost, 16), 16)
}

// BenchmarkParseChunked parses the same request with a 4-chunk body,
// which is copied into the Parser's buffer.
func BenchmarkParseChunked(b *testing.B) { httpBenchParse(b, httpBenchChunked, 1) }

// BenchmarkParseRequestSplit delivers the request in 64-byte reads, each
// call receiving all unconsumed input, as gnet's Peek(-1) does; it shows
// the cost of resuming instead of re-scanning.
func BenchmarkParseRequestSplit(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(httpBenchPost)))
	p := NewParser(0, 0)
	for b.Loop() {
		for end := 64; ; end += 64 {
			if end > len(httpBenchPost) {
				end = len(httpBenchPost)
			}
			_, st, err := p.Parse(httpBenchPost[:end])
			if err != nil {
				b.Fatal(err)
			}
			if st == Done {
				break
			}
		}
	}
}
