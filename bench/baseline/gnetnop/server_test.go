package gnetnop

import (
	"errors"
	"strings"
	"testing"
)

func TestRequestLen(t *testing.T) {
	req := "POST /metrics HTTP/1.1\r\nHost: h\r\ncontent-LENGTH: 5\r\n\r\nhello"
	cases := []struct {
		in   string
		want int
		err  error
	}{
		{req, len(req), nil},
		{req + "POST /next", len(req), nil},
		{req[:len(req)-1], 0, nil},
		{"GET /health HTTP/1.1\r\nHost: h\r\n\r\n", 33, nil},
		{"GET /health HTTP/1.1\r\n", 0, nil},
		{"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 0, errBadLength},
		{"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 0, errBadLength},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("a", maxHeaderBytes), 0, errHeaderTooLarge},
	}
	for _, c := range cases {
		got, err := requestLen([]byte(c.in))
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("requestLen(%.40q) = %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
		}
	}
}
