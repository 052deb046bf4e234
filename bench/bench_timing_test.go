package bench

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

func BenchmarkHistogramRecord(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(8)
	h := new(Histogram)
	v := time.Duration(123456)
	for b.Loop() {
		h.Record(v)
		v = (v*7 + 13) & (1<<30 - 1)
	}
}

func BenchmarkHistogramQuantile(b *testing.B) {
	b.ReportAllocs()
	h := new(Histogram)
	rng := rand.New(rand.NewPCG(1, 1))
	for range 100000 {
		h.Record(time.Duration(rng.ExpFloat64() * 1e6))
	}
	b.SetBytes(int64(len(h.counts) * 8))
	for b.Loop() {
		h.Quantile(0.999)
	}
}

func BenchmarkReadResponse(b *testing.B) {
	resp := []byte("HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 18:19:22 GMT\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{\"success\":true,\"metrics_processed\":10}")
	b.ReportAllocs()
	b.SetBytes(int64(len(resp)))
	rd := bytes.NewReader(resp)
	br := bufio.NewReaderSize(rd, readBufferSize)
	body := make([]byte, 0, DefaultCaptureBytes)
	for b.Loop() {
		rd.Reset(resp)
		br.Reset(rd)
		if _, err := ReadResponse(br, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRequest(b *testing.B) {
	p, err := NewRequestPool(PoolConfig{Host: "127.0.0.1:8080", Path: "/metrics", Metrics: 10, Clients: 100})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(p.MeanBodyBytes()))
	buf := make([]byte, 0, 64<<10)
	var i uint64
	for b.Loop() {
		buf = p.AppendRequest(buf[:0], i)
		i++
	}
}

func BenchmarkAppendBatch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	now := time.Now()
	buf := AppendBatch(nil, FormatJSON, 10, rng, now)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = AppendBatch(buf[:0], FormatJSON, 10, rng, now)
	}
}
