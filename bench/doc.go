// Package bench is MetricStream's load generator: it builds realistic metric
// batches, sends them over plain HTTP/1.1 keep-alive connections, and reports
// throughput, status codes and latency percentiles.
//
// The generator is built to cost as little as possible, so that on a small
// machine shared with the server under test the numbers describe the server:
//
//   - Request bodies are generated before the run ([NewRequestPool]); during
//     the run a worker only copies a prepared header prefix, an
//     Authorization line and a body into its own write buffer.
//   - [Client] is a hand-written HTTP/1.1 client over a net.Conn with one
//     request in flight per connection: it parses the status line,
//     Content-Length or chunked framing and Connection: close, and discards
//     the body into a reused buffer. No net/http, no allocation per request.
//   - Latency goes into a [Histogram], a log-linear (HDR-style) histogram of
//     fixed size owned by one worker, merged after the run.
//
// Two load models are offered by [Run]:
//
//   - Closed loop (Config.Rate == 0): each connection sends its next request
//     as soon as the previous answer arrived. This measures the maximum
//     throughput; its latency percentiles hide queueing, because a slow
//     server also slows the generator down (coordinated omission).
//   - Open loop (Config.Rate > 0): request k is due at start + k/Rate,
//     whatever happened before. Connections take the next due request from a
//     shared schedule; latency is measured from the due time, not from the
//     moment a connection became free, so a server that stalls is charged
//     for every request that waited behind the stall. Requests that were
//     due before the end of the run but never sent are reported as Unsent.
//
// The workload is defined once, in workload.go: the metric kinds, their
// value ranges and tags. [AppendBatch] draws from it, and the wrk scripts
// load bench/wrk/workload.lua, generated from it by [WriteWorkloadLua]
// (go generate), so loadgen and `make loadtest` measure the same thing.
//
// Typical use is the loadgen command (cmd/loadgen); tests and tools can call
// [Run] directly.
package bench
