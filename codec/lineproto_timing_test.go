package codec

import (
	"fmt"
	"strings"
	"testing"
)

// lpBody returns n lines of line protocol with two tags and the given field
// set, timestamped in nanoseconds.
func lpBody(n int, fields string) []byte {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "cpu_usage,host=server%d,region=eu-west-1 %s %d\n", i%4, fields, 1764172800123000000+int64(i)*1e9)
	}
	return []byte(sb.String())
}

func benchmarkDecodeLineProtocol(b *testing.B, body []byte) {
	var d LineProtocolDecoder
	var batch Batch
	if err := d.Decode(body, PrecisionNS, 1000, &batch); err != nil { // warm up
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := d.Decode(body, PrecisionNS, 1000, &batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeLineProtocol10: 10 lines, 2 tags, 1 float field each.
func BenchmarkDecodeLineProtocol10(b *testing.B) {
	benchmarkDecodeLineProtocol(b, lpBody(10, "value=75.5"))
}

// BenchmarkDecodeLineProtocol10Fields: 10 lines of 5 fields of every kind,
// 40 metrics (the string field is skipped).
func BenchmarkDecodeLineProtocol10Fields(b *testing.B) {
	benchmarkDecodeLineProtocol(b, lpBody(10, `user=12.25,system=3i,idle=84.5,ok=true,note="fine, thanks"`))
}

// BenchmarkDecodeLineProtocol1000Escaped: 1000 lines whose measurement and
// tags need unescaping into scratch.
func BenchmarkDecodeLineProtocol1000Escaped(b *testing.B) {
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, "disk\\ io,path=/var/lib\\ data,dev=sd%d value=%di %d\n", i%8, i, 1764172800123000000+int64(i))
	}
	benchmarkDecodeLineProtocol(b, []byte(sb.String()))
}

// BenchmarkEncodeLineProtocol10 encodes the storage lines of the
// BenchmarkDecodeLineProtocol10 batch, whose values are copied as written.
func BenchmarkEncodeLineProtocol10(b *testing.B) {
	var d LineProtocolDecoder
	var batch Batch
	if err := d.Decode(lpBody(10, "value=75.5"), PrecisionNS, 1000, &batch); err != nil {
		b.Fatal(err)
	}
	client := []byte("client-1")
	buf := AppendBatch(nil, &batch, client, 1795713606000)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = AppendBatch(buf[:0], &batch, client, 1795713606000)
	}
}
