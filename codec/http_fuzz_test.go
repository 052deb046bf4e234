package codec

import (
	"reflect"
	"testing"
)

// httpFuzzSeeds are valid, edge and broken inputs to start FuzzParseRequest
// from; past crashers live in testdata/fuzz/FuzzParseRequest.
var httpFuzzSeeds = []string{
	"GET /health HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /metrics?format=prometheus HTTP/1.0\r\nConnection: keep-alive\r\nAccept: text/plain\r\n\r\n",
	"POST /metrics HTTP/1.1\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
	"POST /metrics HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.1\r\n\r\n",
	"POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedBody + "GET /a HTTP/1.1\r\n\r\n",
	"POST /metrics HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n1;x\r\na\r\n0\r\nT: v\r\n\r\n",
	"GET http://h:1/p?q HTTP/1.1\nAccept: a\n\n",
	"\r\nOPTIONS * HTTP/1.1\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx",
}

// FuzzParseRequest feeds arbitrary input to a Parser whole, cut at two
// fuzz-chosen points, and (for short inputs) one byte at a time. The Parser
// must not panic, must never consume more than it was given (feed checks
// this and the Need contract on every call), and must reach the same
// outcome however the input was cut.
func FuzzParseRequest(f *testing.F) {
	for _, s := range httpFuzzSeeds {
		f.Add([]byte(s), uint16(len(s)/3), uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut1, cut2 uint16) {
		newParser := func() *Parser { return NewParser(512, 2048) }
		want, _ := feed(t, newParser(), data, wholeEnds(len(data)))
		if want.Consumed > len(data) {
			t.Fatalf("consumed %d of %d bytes", want.Consumed, len(data))
		}
		a, b := int(cut1)%(len(data)+1), int(cut2)%(len(data)+1)
		if a > b {
			a, b = b, a
		}
		got, _ := feed(t, newParser(), data, []int{a, b, len(data)})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("cut at %d and %d:\ngot  %+v\nwant %+v", a, b, got, want)
		}
		if len(data) <= 1024 {
			got, _ = feed(t, newParser(), data, byteEnds(len(data)))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("one byte at a time:\ngot  %+v\nwant %+v", got, want)
			}
		}
	})
}
