//go:build !race

// The race detector changes allocation counts, so the allocation budget is
// asserted, and benchmarked, only without it.

package codec

import "testing"

func benchBatch(tb testing.TB, n int) *Batch {
	var d JSONDecoder
	b := new(Batch)
	if err := d.Decode(benchBody(n, false), 0, b); err != nil {
		tb.Fatal(err)
	}
	return b
}

func benchmarkEncode(b *testing.B, n int) {
	batch := benchBatch(b, n)
	client := []byte("client-1")
	buf := AppendBatch(nil, batch, client, 1795713606000)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = AppendBatch(buf[:0], batch, client, 1795713606000)
	}
}

func BenchmarkEncode10(b *testing.B)  { benchmarkEncode(b, 10) }
func BenchmarkEncode100(b *testing.B) { benchmarkEncode(b, 100) }

func BenchmarkAppendTimestamp(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(AppendTimestamp(nil, 0))))
	for b.Loop() {
		buf = AppendTimestamp(buf[:0], 1795713606123)
	}
}

// TestEncodeAllocs holds the budget: encoding into a buffer with room
// does not allocate.
func TestEncodeAllocs(t *testing.T) {
	batch := benchBatch(t, 100)
	client := []byte("client\n1")
	buf := AppendBatch(nil, batch, client, 0)
	allocs := testing.AllocsPerRun(50, func() {
		buf = AppendBatch(buf[:0], batch, client, 0)
	})
	if allocs != 0 {
		t.Fatalf("got %v allocs per AppendBatch; want 0", allocs)
	}
}
