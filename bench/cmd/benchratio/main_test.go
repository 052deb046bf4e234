package main

import (
	"strings"
	"testing"
)

func TestBenchratio(t *testing.T) {
	in := `goos: linux
BenchmarkParse/metrics-10/naive-find-2         	   14332	     20000 ns/op	  56.91 MB/s	    7008 B/op	      46 allocs/op
BenchmarkParse/metrics-10/codec-one-pass-2     	  138867	      4000 ns/op	 444.00 MB/s	       0 B/op	       0 allocs/op
BenchmarkParse/metrics-10/naive-find-2         	   14332	     30000 ns/op	  56.91 MB/s	    7008 B/op	      46 allocs/op
BenchmarkParse/metrics-10/codec-one-pass-2     	  138867	      2000 ns/op	 444.00 MB/s	       0 B/op	       0 allocs/op
BenchmarkParse/metrics-10/naive-find-2         	   14332	     25000 ns/op	  56.91 MB/s	    7008 B/op	      46 allocs/op
BenchmarkParse/metrics-10/codec-one-pass-2     	  138867	      5000 ns/op	 444.00 MB/s	       0 B/op	       0 allocs/op
BenchmarkOverload/unbounded-2   3  131073903 ns/op  70 held-MiB
BenchmarkOverload/bounded-503-2 6   60195581 ns/op   7 held-MiB
PASS
ok  	metricstream/bench/journey	17.792s
`
	results, err := parse(strings.NewReader(in))
	if err != nil || len(results) != 4 {
		t.Fatalf("parse: %d results, %v", len(results), err)
	}
	var out strings.Builder
	write(&out, results, -1)
	for _, want := range []string{
		"| BenchmarkParse/metrics-10/* | naive-find | 3 | 25000 ns/op, 56.91 MB/s, 7008 B/op, 46 allocs/op | (baseline) |",
		"| BenchmarkParse/metrics-10/* | codec-one-pass | 3 | 4000 ns/op, 444 MB/s, 0 B/op, 0 allocs/op | 6.25× ns/op |",
		"| BenchmarkOverload/* | bounded-503 | 1 | 60195581 ns/op, 7 held-MiB | 2.18× ns/op, 10.00× held-MiB |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	commit := `BenchmarkStreamCommit/file/written-2  100  2000 ns/op
BenchmarkStreamCommit/file/synced-2  100  9000 ns/op
BenchmarkStreamCommit/io_uring/written-2  100  1000 ns/op
BenchmarkStreamCommit/io_uring/synced-2  100  10000 ns/op
`
	results, err = parse(strings.NewReader(commit))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	write(&out, results, 1)
	for _, want := range []string{
		"| BenchmarkStreamCommit/*/written | file | 1 | 2000 ns/op | (baseline) |",
		"| BenchmarkStreamCommit/*/written | io_uring | 1 | 1000 ns/op | 2.00× ns/op |",
		"| BenchmarkStreamCommit/*/synced | io_uring | 1 | 10000 ns/op | 0.90× ns/op |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-vary 1 output lacks %q:\n%s", want, out.String())
		}
	}
	if r, _ := parse(strings.NewReader("BenchmarkX-2 10 1.2.3 ns/op\n")); r != nil {
		t.Errorf("a bad value parsed: %v", r)
	}
}
