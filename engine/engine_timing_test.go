package engine

import (
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// BenchmarkAdmit measures Admit for known clients from parallel goroutines:
// "one-client" has every goroutine CAS the same bucket word, "spread" gives
// each goroutine its own clients, "refused" exercises the read-only path of an
// empty bucket.
func BenchmarkAdmit(b *testing.B) {
	cases := []struct {
		name    string
		rate    float64
		clients int
		step    int64 // clock advance per call
	}{
		{"one-client", 1e9, 1, 1000},
		{"spread", 1e9, 1024, 1000},
		{"refused", 1, 1, 0},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			e := newEngine(b, Config{Rate: tc.rate, Burst: 1, RingSize: 1024})
			ids := make([][]byte, tc.clients)
			for i := range ids {
				ids[i] = []byte("client-" + strconv.Itoa(100000+i))
				e.Admit(ids[i], base)
			}
			var worker atomic.Int64
			b.SetBytes(int64(len(ids[0])))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := int(worker.Add(1))
				now := base + int64(time.Second)
				for i := w * 7; pb.Next(); i++ {
					now += tc.step
					e.Admit(ids[i%len(ids)], now)
				}
			})
		})
	}
}

// BenchmarkAdmitNewClients measures the slow path: every call brings a new
// identifier, so the shard mutex, an allocation and, past MaxClients, bulk
// eviction are all paid.
func BenchmarkAdmitNewClients(b *testing.B) {
	e := newEngine(b, Config{Rate: 100, MaxClients: 100000, RingSize: 1024})
	var next atomic.Int64
	b.SetBytes(int64(len("client-") + 10))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := make([]byte, 0, 32)
		for pb.Next() {
			n := next.Add(1)
			id = strconv.AppendInt(append(id[:0], "client-"...), 1e9+n, 10)
			e.Admit(id, base+n)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(e.Stats().Evicted)/float64(b.N), "evicted/op")
}

// BenchmarkRecord measures Record from parallel goroutines. In "drained"
// each goroutine also drains the rings every 256 of its own records, so the
// cost includes the consumer's and nothing is dropped; in "full" the rings
// are full and every event takes the drop path.
func BenchmarkRecord(b *testing.B) {
	for _, drained := range []bool{true, false} {
		name := "full"
		if drained {
			name = "drained"
		}
		b.Run(name, func(b *testing.B) {
			e := newEngine(b, Config{Shards: 2, Rate: 0, RingSize: 1 << 12})
			clients := make([]*Client, 64)
			for i := range clients {
				clients[i], _, _ = e.Admit([]byte("client-"+strconv.Itoa(i)), base)
			}
			if !drained {
				for range 1 << 13 {
					e.Record(clients[0], base, true, 1)
					e.Record(clients[1], base, true, 1)
				}
			}
			b.SetBytes(int64(unsafe.Sizeof(slot{})))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for i := 1; pb.Next(); i++ {
					e.Record(clients[i&63], base+int64(i), true, 10)
					if drained && i%256 == 0 {
						e.Drain()
					}
				}
			})
			b.StopTimer()
			st := e.Stats()
			b.ReportMetric(float64(st.RingDropped)/float64(b.N), "dropped/op")
		})
	}
}

// BenchmarkTop measures what a scrape of GET /clients costs its event loop:
// Top(100) with 100 000 clients in the totals.
func BenchmarkTop(b *testing.B) {
	e := newTrackedEngine(b, 100000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if len(e.Top(100)) != 100 {
			b.Fatal("Top(100) short")
		}
	}
}

// BenchmarkDrainPublish measures the monitor's side of Top: a drain of one
// event per shard and the ranking of 100 000 totals it then publishes.
func BenchmarkDrainPublish(b *testing.B) {
	e := newTrackedEngine(b, 100000)
	c, _, _ := e.Admit([]byte("client-1000000"), base)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Record(c, base, true, 1)
		e.Drain()
	}
}

// newTrackedEngine returns an engine tracking n clients, each with one
// drained event in the totals.
func newTrackedEngine(b *testing.B, n int) *Engine {
	e := newEngine(b, Config{Shards: 2, Rate: 0, MaxClients: 2 * n, RingSize: 1 << 16})
	id := make([]byte, 0, 32)
	for i := range n {
		id = strconv.AppendInt(append(id[:0], "client-"...), int64(1e6+i), 10)
		c, _, _ := e.Admit(id, base)
		e.Record(c, base, true, 1+i%7)
		if i%(1<<14) == 0 {
			e.Drain()
		}
	}
	e.Drain()
	return e
}

// BenchmarkAdmitIDFlood measures the request-path cost of Admit on one event
// loop when a client invents a new identifier on every request, against
// stable identifiers. The engine is first filled to MaxClients, so every new
// identifier needs room: "flood" is the steady state of eviction. "stable"
// cycles over 1 024 known clients. "flood-timed" times every call and
// reports the 99.9th and 99.99th percentiles and the worst call: making room
// for new clients happens a few times per 10 000 inserts here, so work done
// all at once shows in the 99.99th. The monitor runs, as in the server.
func BenchmarkAdmitIDFlood(b *testing.B) {
	const maxClients = 100000
	for _, mode := range []string{"stable", "flood", "flood-timed"} {
		b.Run(mode, func(b *testing.B) {
			e := newEngine(b, Config{Shards: 2, Rate: 100, MaxClients: maxClients, RingSize: 1024})
			e.Start()
			id := make([]byte, 0, 32)
			next := int64(0)
			newID := func() []byte {
				next++
				return strconv.AppendInt(append(id[:0], "client-"...), 1e9+next, 10)
			}
			for range maxClients + maxClients/4 {
				e.Admit(newID(), base+next)
			}
			stable := make([][]byte, 1024)
			for i := range stable {
				stable[i] = []byte("stable-" + strconv.Itoa(i))
				e.Admit(stable[i], base+next)
			}
			var lat []time.Duration
			if mode == "flood-timed" {
				lat = make([]time.Duration, 0, b.N)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				switch mode {
				case "stable":
					e.Admit(stable[i&1023], base+next+int64(i))
				case "flood":
					e.Admit(newID(), base+next)
				default:
					start := time.Now()
					e.Admit(newID(), base+next)
					lat = append(lat, time.Since(start))
				}
			}
			b.StopTimer()
			if len(lat) > 0 {
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)*999/1000]), "p999-ns")
				b.ReportMetric(float64(lat[len(lat)*9999/10000]), "p9999-ns")
				b.ReportMetric(float64(lat[len(lat)-1]), "max-ns")
			}
		})
	}
}
