// Package loadtest holds the parts of the side-by-side load test (command
// metricstream/bench/cmd/loadtest, run by `make loadtest`) that do not need a
// real load run: parsing wrk's report, reading a process's memory from
// /proc, probing a server for readiness, holding idle keep-alive
// connections, and summarising and printing the results.
//
// The command starts each system under test as a subprocess, drives it with
// wrk in interleaved rounds (every system once per round, in the same
// order, so slow drifts of a shared machine spread over all of them), and
// reports one [Row] per system built by [Summarize] from its [Run]s:
//
//   - throughput counts only 2xx answers: a server that refuses quickly is
//     not faster;
//   - latency is wrk's closed-loop distribution (it hides queueing, see
//     bench/wrk/README.md), summarised as the median of the rounds;
//   - memory is the kernel's VmHWM (peak resident set) and VmRSS read from
//     /proc/<pid>/status right after the measured run, before the server
//     is stopped.
package loadtest
