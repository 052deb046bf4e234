//go:build !race

// The race detector changes allocation counts, so the allocation budget is
// asserted, and benchmarked, only without it.

package codec

import (
	"fmt"
	"strings"
	"testing"
)

// benchBody builds a realistic batch of n metrics with two tags each.
func benchBody(n int, escaped bool) []byte {
	names := []string{"cpu_usage_percent", "memory_used_bytes", "http_requests_total", "disk_io_read_bytes", "request_latency_seconds"}
	types := []string{"gauge", "gauge", "counter", "counter", "histogram"}
	var sb strings.Builder
	sb.WriteString(`{"metrics":[`)
	for i := range n {
		if i > 0 {
			sb.WriteString(",")
		}
		name := names[i%len(names)]
		if escaped {
			name = `caf\u00e9_` + name + `\n`
		}
		fmt.Fprintf(&sb, `{"name":"%s","value":%d.%d,"type":"%s","tags":{"host":"server-%02d.prod.example","region":"eu-west-1"},"timestamp":%d}`,
			name, 1000+i*37, i%10, types[i%len(types)], i%16, 1795713606000+int64(i))
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

func benchmarkDecode(b *testing.B, n int, escaped bool) {
	body := benchBody(n, escaped)
	var d JSONDecoder
	var batch Batch
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := d.Decode(body, 0, &batch); err != nil {
			b.Fatal(err)
		}
	}
	if batch.Len() != n {
		b.Fatalf("got %d metrics; want %d", batch.Len(), n)
	}
}

func BenchmarkDecode10(b *testing.B)         { benchmarkDecode(b, 10, false) }
func BenchmarkDecode100(b *testing.B)        { benchmarkDecode(b, 100, false) }
func BenchmarkDecode1000(b *testing.B)       { benchmarkDecode(b, 1000, false) }
func BenchmarkDecode100Escaped(b *testing.B) { benchmarkDecode(b, 100, true) }

// TestDecodeAllocs holds the steady-state budget: a warmed-up decoder and
// batch decode without allocating, escaped strings included.
func TestDecodeAllocs(t *testing.T) {
	for _, escaped := range []bool{false, true} {
		body := benchBody(100, escaped)
		var d JSONDecoder
		var batch Batch
		allocs := testing.AllocsPerRun(50, func() {
			if err := d.Decode(body, 0, &batch); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("escaped=%v: got %v allocs per Decode; want 0", escaped, allocs)
		}
	}
}
