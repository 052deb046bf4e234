package server

import (
	"compress/gzip"
	"io"
	"testing"
)

func gzipWrite(t *testing.T, w io.Writer, data []byte) {
	t.Helper()
	zw := gzip.NewWriter(w)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}
