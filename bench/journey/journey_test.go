package journey

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"metricstream/bench"
	"metricstream/bench/baseline/gnetnop"
	"metricstream/codec"
	"metricstream/engine"
)

// goroutineCounts are the concurrency levels of the lock benchmarks.
var goroutineCounts = []int{2, 8, 64}

// parallel sets b's parallelism to about g goroutines and returns the
// number RunParallel will start (g rounded up to a multiple of
// GOMAXPROCS).
func parallel(b *testing.B, g int) int {
	procs := runtime.GOMAXPROCS(0)
	p := max(1, (g+procs-1)/procs)
	b.SetParallelism(p)
	return p * procs
}

// batchBody is a generated JSON batch of n metrics, the workload of
// loadgen and wrk.
func batchBody(n int) []byte {
	return bench.AppendBatch(nil, bench.FormatJSON, n, rand.New(rand.NewPCG(7, 7)), time.UnixMilli(1764172800123))
}

// clientIDs returns n client ids.
func clientIDs(n int) [][]byte {
	ids := make([][]byte, n)
	for i := range ids {
		ids[i] = []byte("client-" + strconv.Itoa(100000+i))
	}
	return ids
}

// BenchmarkParse (phase 3): the find-based parser against the one-pass
// decoder, on the same generated batches.
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{10, 100} {
		body := batchBody(n)
		b.Run(fmt.Sprintf("metrics-%d/naive-find", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NaiveDecode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("metrics-%d/codec-one-pass", n), func(b *testing.B) {
			var d codec.JSONDecoder
			var batch codec.Batch
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Decode(body, 0, &batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGroupCommit (phase 2): one write(2), plus fdatasync(2) when
// synced, per batch, against one writev(2) of 64 batches, plus one
// fdatasync, per group, as MetricStream's writers do. Batches are about
// 1.5 KiB, appended to a file in the test's temporary directory; the file
// is truncated every 64 MiB.
func BenchmarkGroupCommit(b *testing.B) {
	batch := batchBody(10)
	for _, synced := range []bool{false, true} {
		mode := map[bool]string{false: "written", true: "synced"}[synced]
		for _, group := range []int{1, 64} {
			name := mode + "/write-per-batch"
			if group > 1 {
				name = mode + "/writev-per-" + strconv.Itoa(group)
			}
			b.Run(name, func(b *testing.B) { benchmarkAppend(b, batch, group, synced) })
		}
	}
}

// benchmarkAppend appends b.N copies of batch, group at a time.
func benchmarkAppend(b *testing.B, batch []byte, group int, synced bool) {
	f, err := os.Create(filepath.Join(b.TempDir(), "segment"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	iov := make([][]byte, group)
	for i := range iov {
		iov[i] = batch
	}
	var size int64
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += group {
		n := min(group, b.N-i)
		if err := appendGroup(fd, iov[:n], synced); err != nil {
			b.Fatal(err)
		}
		if size += int64(n * len(batch)); size > 64<<20 {
			b.StopTimer()
			if err := f.Truncate(0); err != nil {
				b.Fatal(err)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				b.Fatal(err)
			}
			size = 0
			b.StartTimer()
		}
	}
}

// appendGroup appends the batches of iov to fd with one write(2) for one
// batch, one writev(2) for more, then fdatasync(2) when synced.
func appendGroup(fd int, iov [][]byte, synced bool) error {
	var err error
	if len(iov) == 1 {
		_, err = unix.Write(fd, iov[0])
	} else {
		_, err = unix.Writev(fd, iov)
	}
	if err == nil && synced {
		err = unix.Fdatasync(fd)
	}
	return err
}

// BenchmarkRateLimit (phases 4 and 7.1): a global mutex, a pool of 10007
// hashed mutexes, and the engine's lock-free CAS bucket, deciding requests
// of 1024 known clients under 2, 8 and 64 goroutines. The rate never
// refuses, so every decision takes a token.
func BenchmarkRateLimit(b *testing.B) {
	ids := clientIDs(1024)
	const rate = 1e9
	for _, g := range goroutineCounts {
		global := NewGlobalLimiter(rate, 1000, ids)
		pool := NewPoolLimiter(rate, 1000, ids)
		eng, err := engine.New(engine.Config{Rate: rate, Burst: 1000, RingSize: 1024})
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range ids {
			eng.Admit(id, 0)
		}
		variants := []struct {
			name  string
			allow func(id []byte, now int64) bool
		}{
			{"global-mutex", global.Allow},
			{"mutex-pool", pool.Allow},
			{"cas-bucket", func(id []byte, now int64) bool { _, ok, _ := eng.Admit(id, now); return ok }},
		}
		for _, v := range variants {
			b.Run(fmt.Sprintf("goroutines-%d/%s", g, v.name), func(b *testing.B) {
				n := parallel(b, g)
				defer b.ReportMetric(float64(n), "goroutines")
				var worker atomic.Int64
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					w := int(worker.Add(1))
					now := int64(time.Second)
					for i := w * 7; pb.Next(); i++ {
						now += 1000
						v.allow(ids[i%len(ids)], now)
					}
				})
			})
		}
		eng.Stop()
	}
}

// BenchmarkDecisions (phase 5): recording each decision into per-client
// totals in a map under one mutex, on the request path, against pushing it
// onto the engine's per-shard lock-free ring. The ring's consumer work is
// included: each goroutine drains the rings into the totals every 256 of
// its own records (in the server the monitor goroutine does it, off the
// event loops). The rings hold 2^20 events each, enough that nothing is
// dropped (drops/op shows it), so that no decision takes the cheaper drop
// path. A monitor draining every millisecond beside producers that do
// nothing else cannot keep up and drops, which is why it is not used here.
func BenchmarkDecisions(b *testing.B) {
	ids := clientIDs(1024)
	for _, g := range goroutineCounts {
		b.Run(fmt.Sprintf("goroutines-%d/mutex-map", g), func(b *testing.B) {
			m := NewMutexTotals()
			n := parallel(b, g)
			var worker atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := int(worker.Add(1))
				for i := w * 7; pb.Next(); i++ {
					m.Record(ids[i%len(ids)], int64(i), true, 10)
				}
			})
			b.ReportMetric(float64(n), "goroutines")
		})
		b.Run(fmt.Sprintf("goroutines-%d/per-shard-ring", g), func(b *testing.B) {
			eng, err := engine.New(engine.Config{Rate: 1e9, RingSize: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			clients := make([]*engine.Client, len(ids))
			for i, id := range ids {
				clients[i], _, _ = eng.Admit(id, 0)
			}
			n := parallel(b, g)
			var worker atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := int(worker.Add(1))
				for i := w * 7; pb.Next(); i++ {
					eng.Record(clients[i%len(clients)], int64(i), true, 10)
					if i%256 == 0 {
						eng.Drain()
					}
				}
			})
			b.StopTimer()
			eng.Drain()
			eng.Stop()
			b.ReportMetric(float64(eng.Stats().RingDropped)/float64(b.N), "drops/op")
			b.ReportMetric(float64(n), "goroutines")
		})
	}
}

// Overload episodes of BenchmarkOverload: arrivals of one 10-metric batch
// each, at twice the rate the writer serves them, against a bound of 8 MiB.
const (
	episodeArrivals = 100_000
	overloadBound   = 8 << 20
)

// BenchmarkOverload (phase 6): memory under overload. One op is an episode
// of 100 000 batches (about 1.5 KiB each) arriving at twice the rate they
// are served. The unbounded queue holds half of them at the end, and would
// hold more the longer the overload lasted; the bounded one holds at most
// its bound and refuses the rest with 503. Reported: peak bytes held
// (held-MiB), the heap in use at the peak (heap-MiB), and the share of
// batches refused (refused-%).
func BenchmarkOverload(b *testing.B) {
	batch := batchBody(10)
	variants := []struct {
		name string
		q    func() Queue
	}{
		{"unbounded", func() Queue { return &UnboundedQueue{} }},
		{"bounded-503", func() Queue { return &BoundedQueue{Bound: overloadBound} }},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			var peak, heap int64
			var refused int
			b.SetBytes(int64(len(batch)) * episodeArrivals)
			for b.Loop() {
				q := v.q()
				refused += overloadEpisode(q, batch)
				peak = max(peak, q.Held())
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heap = max(heap, int64(ms.HeapInuse))
				runtime.KeepAlive(q)
			}
			b.ReportMetric(float64(peak)/(1<<20), "held-MiB")
			b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
			b.ReportMetric(100*float64(refused)/float64(b.N*episodeArrivals), "refused-%")
		})
	}
}

// overloadEpisode offers episodeArrivals batches to q, serving one for
// every two, and returns how many q refused.
func overloadEpisode(q Queue, batch []byte) (refused int) {
	for i := range episodeArrivals {
		if !q.Offer(batch) {
			refused++
		}
		if i%2 == 1 {
			q.Serve()
		}
	}
	return refused
}

// BenchmarkServe (phases 1 and 6): the I/O model alone. Both servers read
// each request (headers and the 1.5 KiB body) and answer the same fixed
// 200, doing no other work: net/http, a goroutine per connection (Go's
// form of a thread per connection), against gnet's event loop, one per
// CPU. 64 keep-alive connections of bench.Client drive each, in the same
// process. The whole work (parse, limit, store) is compared by `make
// loadtest` (nethttpbase against metricstream/written/auto).
func BenchmarkServe(b *testing.B) {
	variants := []struct {
		name  string
		start func(b *testing.B) string
	}{
		{"net-http", startNetHTTP},
		{"gnet-event-loop", startGnet},
	}
	for _, v := range variants {
		b.Run("conns-64/"+v.name, func(b *testing.B) {
			addr := v.start(b)
			pool, err := bench.NewRequestPool(bench.PoolConfig{Host: addr, Path: "/metrics", Metrics: 10, Clients: 1, Bodies: 64})
			if err != nil {
				b.Fatal(err)
			}
			parallel(b, 64)
			var next atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c := bench.NewClient(addr, 10*time.Second)
				defer c.Close()
				req := make([]byte, 0, 4096)
				for pb.Next() {
					req = pool.AppendRequest(req[:0], next.Add(1))
					resp, err := c.Do(context.Background(), req)
					if err != nil || resp.Status != http.StatusOK {
						b.Errorf("answer %d, %v", resp.Status, err)
						return
					}
				}
			})
		})
	}
}

// nopAnswer is the body both servers of BenchmarkServe answer.
const nopAnswer = `{"success":true,"metrics_processed":10}`

// startNetHTTP starts a net/http server that reads every body and answers
// nopAnswer, and returns its address.
func startNetHTTP(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(nopAnswer))
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// startGnet starts the gnet no-op server, one event loop per CPU, and
// returns its address.
func startGnet(b *testing.B) string {
	srv, err := gnetnop.Start(gnetnop.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv.Addr().String()
}
