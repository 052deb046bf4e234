// Package journey measures, on this code, each phase of the C++ project's
// optimisation journey (phases 1–7: thread per request, asynchronous
// writes, a one-pass parser, lock sharding, lock-free rings, a bounded
// queue with backpressure, io_uring) against the naive predecessor the
// story replaced. Each benchmark runs both sides as sub-benchmarks of one
// run, so their ratio is measured under the same conditions:
//
//	phase  benchmark                     naive predecessor           this code's technique
//	1, 6   BenchmarkServe                net/http, goroutine per conn gnet event loop (gnetnop)
//	2      BenchmarkGroupCommit          write (+fdatasync) per batch one writev (+fdatasync) per group
//	3      BenchmarkParse                NaiveDecode (find per field) codec.JSONDecoder (one pass)
//	4, 7.1 BenchmarkRateLimit            GlobalLimiter, PoolLimiter  engine.Admit (CAS bucket)
//	5      BenchmarkDecisions            MutexTotals                 engine.Record (per-shard ring)
//	6      BenchmarkOverload             UnboundedQueue              BoundedQueue (503 when full)
//
// Phase 7.2 (pwritev against io_uring) is measured by the storage
// package's writer benchmarks, which run both writers.
//
// The naive variants live in this package only, never on the product path.
// They are small and idiomatic, not strawmen: each is the shape the C++
// story started from, written in Go, and tests check that each computes
// the same result as the technique it is compared with.
//
// Run them all, five times, and print the ratios:
//
//	go test -run '^$' -bench . -benchmem -count 5 ./bench/journey/ | tee journey.txt
//	go run ./bench/cmd/benchratio < journey.txt
package journey
