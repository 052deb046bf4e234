package codec

import (
	"bytes"
	stdgzip "compress/gzip"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// gzipBenchBody returns a JSON batch of about n bytes.
func gzipBenchBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"metrics":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"cpu_usage_%d","value":%d.%d,"type":"gauge","tags":{"host":"server%d","region":"eu-west-1"},"timestamp":%d}`,
			i%7, i*37%100, i%10, i%13, 1764172800123+int64(i)*1000)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// gzipBenchCompress compresses raw at the default level, as HTTP clients do.
func gzipBenchCompress(b *testing.B, raw []byte) []byte {
	var buf bytes.Buffer
	w := stdgzip.NewWriter(&buf)
	if _, err := w.Write(raw); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

var gzipBenchSizes = []struct {
	name string
	size int
}{{"1.5KiB", 1500}, {"1MiB", 1 << 20}}

// BenchmarkGzipDecode measures GzipDecoder on a typical 10-metric batch
// and on a 1 MiB body.
func BenchmarkGzipDecode(b *testing.B) {
	for _, sz := range gzipBenchSizes {
		raw := gzipBenchBody(sz.size)
		src := gzipBenchCompress(b, raw)
		b.Run(sz.name, func(b *testing.B) {
			g := GetGzipDecoder()
			defer PutGzipDecoder(g)
			if _, err := g.Decode(src, 4<<20); err != nil { // warm up
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if out, err := g.Decode(src, 4<<20); err != nil || len(out) != len(raw) {
					b.Fatal(len(out), err)
				}
			}
		})
	}
}

// BenchmarkGzipReader compares the two candidate inflaters, each with a
// Reset-reused reader and output buffer, as GzipDecoder uses them. It is
// the evidence for choosing klauspost/compress over compress/gzip.
func BenchmarkGzipReader(b *testing.B) {
	type resetReader interface {
		io.Reader
		Reset(io.Reader) error
	}
	impls := []struct {
		name string
		r    resetReader
	}{{"std", new(stdgzip.Reader)}, {"klauspost", new(gzip.Reader)}}
	for _, sz := range gzipBenchSizes {
		raw := gzipBenchBody(sz.size)
		src := gzipBenchCompress(b, raw)
		for _, impl := range impls {
			b.Run(impl.name+"/"+sz.name, func(b *testing.B) {
				var br bytes.Reader
				out := make([]byte, len(raw)+1)
				b.ReportAllocs()
				b.SetBytes(int64(len(raw)))
				for b.Loop() {
					br.Reset(src)
					if err := impl.r.Reset(&br); err != nil {
						b.Fatal(err)
					}
					n, err := io.ReadFull(impl.r, out)
					if err != io.ErrUnexpectedEOF || n != len(raw) {
						b.Fatal(n, err)
					}
				}
			})
		}
	}
}
