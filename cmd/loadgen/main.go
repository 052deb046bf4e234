// Command loadgen sends metric batches to a MetricStream server (or any
// server speaking the same API) and reports throughput, status codes and
// latency percentiles.
//
// Closed loop (the default) measures the highest sustainable throughput;
// -rate switches to an open loop that measures latency at a fixed offered
// load without hiding queueing (coordinated omission). See package
// metricstream/bench for the details.
//
// Usage:
//
//	loadgen [flags]
//	loadgen -c 64 -metrics 10 -d 10s
//	loadgen -rate 20000 -d 30s -clients 100 -json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"metricstream/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, runs the load and returns the exit status: 0 after a
// run, 1 when the run could not start, 2 for bad flags.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg    bench.Config
		format string
		asJSON bool
		quiet  bool
	)
	fs.StringVar(&cfg.URL, "url", bench.DefaultURL, "target URL (http only); with -format line a /metrics path becomes /write?precision=ms")
	fs.IntVar(&cfg.Conns, "c", bench.DefaultConns, "keep-alive connections, each with one request in flight")
	fs.IntVar(&cfg.Metrics, "metrics", bench.DefaultMetrics, "metrics per request")
	fs.IntVar(&cfg.Clients, "clients", bench.DefaultClients, "pool of client ids, sent as 'Authorization: Bearer client-N' and rotated per request")
	fs.DurationVar(&cfg.Duration, "d", bench.DefaultDuration, "duration of the run; 0 with -n runs until -n requests were sent")
	fs.Int64Var(&cfg.Requests, "n", 0, "total requests (0: no limit; with -d the run ends at whichever comes first)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "target requests/s: 0 runs a closed loop; >0 an open loop with latency measured from each request's scheduled time")
	fs.StringVar(&format, "format", "json", "body format: json (POST /metrics) or line (InfluxDB line protocol to /write)")
	fs.BoolVar(&cfg.Gzip, "gzip", false, "send gzip-compressed bodies (Content-Encoding: gzip)")
	fs.BoolVar(&asJSON, "json", false, "print the final report as JSON on stdout")
	fs.DurationVar(&cfg.Timeout, "timeout", bench.DefaultTimeout, "bound on connect and on each request; 0 means none")
	fs.IntVar(&cfg.Bodies, "bodies", bench.DefaultBodies, "distinct pre-generated request bodies")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the body generator")
	fs.BoolVar(&quiet, "q", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadgen: unexpected arguments: %q\n", fs.Args())
		return 2
	}
	f, err := bench.ParseFormat(format)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	cfg.Format = f
	if cfg.Timeout == 0 {
		cfg.Timeout = -1 // bench.Config: negative means no limit
	}
	if cfg.Duration == 0 && cfg.Requests == 0 {
		fmt.Fprintln(stderr, "loadgen: -d 0 needs -n")
		return 2
	}
	if cfg.Conns <= 0 || cfg.Metrics <= 0 || cfg.Clients <= 0 || cfg.Bodies <= 0 {
		fmt.Fprintln(stderr, "loadgen: -c, -metrics, -clients and -bodies must be positive")
		return 2
	}
	if !quiet {
		cfg.Progress = stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		if errors.Is(err, bench.ErrInvalidConfig) {
			return 2
		}
		return 1
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "loadgen: interrupted after %.1fs\n", time.Since(start).Seconds())
	}
	if asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
	return 0
}
