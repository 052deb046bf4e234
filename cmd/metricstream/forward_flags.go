package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"metricstream/forward"
	"metricstream/server"
)

// forwardOptions are the -forward flags (SPEC §11). With no -forward URL nothing of the
// forwarder runs.
type forwardOptions struct {
	urls            []string
	format          string
	timeout         time.Duration
	batch           int
	rate            float64
	inflight        int
	nice            int
	tokenFile       string
	natsCreds       string
	natsTokenFile   string
	natsReplicas    int
	natsMaxMsgBytes int
}

// urlList is a repeatable string flag.
type urlList []string

func (l *urlList) String() string { return strings.Join(*l, " ") }

func (l *urlList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func (o *forwardOptions) register(fs *flag.FlagSet) {
	fs.Var((*urlList)(&o.urls), "forward", "send the stored metrics on to this `URL`, with its own cursor (repeatable): "+
		"http(s)://…/api/v1/write (Prometheus remote write), http(s)://…/write or …/api/v2/write (line protocol), "+
		"nats://host:port[,host:port…]/<subject>?stream=<name> (NATS JetStream); a #name fragment names the sink")
	fs.StringVar(&o.format, "forward-format", "auto", "wire format of the HTTP -forward sinks: auto (from the URL path), remote-write or influx")
	fs.DurationVar(&o.timeout, "forward-timeout", forward.DefaultTimeout, "longest wait for a sink's answer to one request or publish before it is retried")
	fs.IntVar(&o.batch, "forward-batch", forward.DefaultBatch, "most samples in one request to a sink (NATS: per group of messages)")
	fs.Float64Var(&o.rate, "forward-rate", 0, "samples per second sent to each sink at most, to throttle replay after an outage (0: no limit)")
	fs.IntVar(&o.nice, "forward-nice", forward.DefaultNice, "niceness (0 to 19) of the threads that read and encode for the sinks: "+
		"above 0, a CPU that ingest keeps busy goes to ingest first, and forwarding takes what is left (0: the same priority as ingest)")
	fs.IntVar(&o.inflight, "forward-inflight", forward.DefaultInflight, "requests in flight per sink; also the most a restart after a crash sends twice")
	fs.StringVar(&o.tokenFile, "forward-token-file", "", "`file` holding a bearer token for the HTTP sinks (Authorization: Bearer)")
	fs.StringVar(&o.natsCreds, "forward-nats-creds", "", "NATS credentials `file` (JWT and NKey seed) for the nats:// sinks")
	fs.StringVar(&o.natsTokenFile, "forward-nats-token-file", "", "`file` holding a NATS token for the nats:// sinks")
	fs.IntVar(&o.natsReplicas, "forward-nats-replicas", forward.DefaultNATSReplicas, "replicas of a JetStream stream the forwarder creates (an existing stream is checked, not changed)")
	fs.IntVar(&o.natsMaxMsgBytes, "forward-nats-max-msg-bytes", forward.DefaultNATSMaxMsgBytes, "largest NATS message, a slice of whole stored lines (keep it under the server's max_payload)")
}

// forwarder validates the flags and builds the forwarder; nil when no -forward is given.
func (o *forwardOptions) forwarder(dataDir string, statsInterval time.Duration, log *slog.Logger) (*forward.Forwarder, error) {
	if len(o.urls) == 0 {
		return nil, nil
	}
	format, err := forward.ParseFormat(o.format)
	if err != nil {
		return nil, fmt.Errorf("-forward-format %w", err)
	}
	switch {
	case o.timeout <= 0:
		return nil, fmt.Errorf("-forward-timeout must be positive, not %v", o.timeout)
	case o.batch < 1:
		return nil, fmt.Errorf("-forward-batch must be at least 1, not %d", o.batch)
	case o.rate < 0:
		return nil, fmt.Errorf("-forward-rate must not be negative, not %v", o.rate)
	case o.nice < 0 || o.nice > forward.MaxNice:
		return nil, fmt.Errorf("-forward-nice must be 0 to %d, not %d", forward.MaxNice, o.nice)
	case o.inflight < 1 || o.inflight > 1024:
		return nil, fmt.Errorf("-forward-inflight must be 1 to 1024, not %d", o.inflight)
	case o.natsReplicas < 1 || o.natsReplicas > 5:
		return nil, fmt.Errorf("-forward-nats-replicas must be 1 to 5, not %d", o.natsReplicas)
	case o.natsMaxMsgBytes < 1024:
		return nil, fmt.Errorf("-forward-nats-max-msg-bytes must be at least 1024, not %d", o.natsMaxMsgBytes)
	case o.natsCreds != "" && o.natsTokenFile != "":
		return nil, fmt.Errorf("-forward-nats-creds and -forward-nats-token-file exclude each other")
	}
	sinks := make([]forward.SinkConfig, len(o.urls))
	for i, u := range o.urls {
		sinks[i] = forward.SinkConfig{URL: u, Format: format, Timeout: o.timeout, Batch: o.batch, Rate: o.rate,
			Inflight: o.inflight, TokenFile: o.tokenFile, NATSCreds: o.natsCreds, NATSTokenFile: o.natsTokenFile,
			NATSReplicas: o.natsReplicas, NATSMaxMsgBytes: o.natsMaxMsgBytes}
	}
	nice := o.nice
	if nice == 0 {
		nice = -1 // forward.Config's spelling of the process's own priority
	}
	return forward.New(forward.Config{Dir: dataDir, Sinks: sinks, Logger: log, Version: version, StatsInterval: statsInterval,
		Nice: nice})
}

// startForwarder starts fw (nil: no forwarding) reading the running store, up to its frontier.
func startForwarder(fw *forward.Forwarder, srv *server.Server) error {
	if fw == nil {
		return nil
	}
	return fw.Start(srv.Store())
}

// reserveProcs gives the forwarder's low-priority threads Go processors of their own, beyond
// one per event loop: while a thread works it holds a processor, and with none to spare an
// event loop would wait for it in Go's scheduler, which knows nothing of priorities. With
// processors enough, the loops and the forwarder's threads wait in the kernel's run queue
// instead, which shares the CPUs by their niceness. A zero cfg.Loops (one loop per processor) is
// resolved first, so that the loops are not counted from the raised number.
func reserveProcs(fw *forward.Forwarder, cfg *server.Config) {
	if cfg.Loops == 0 {
		cfg.Loops = runtime.GOMAXPROCS(0)
	}
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), cfg.Loops) + fw.Threads())
}

// closeForwarder stops fw, giving requests in flight up to grace to finish.
func closeForwarder(fw *forward.Forwarder, grace time.Duration, log *slog.Logger) {
	if fw == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := fw.Close(ctx); err != nil {
		log.Warn("forward: stopped", "err", err)
	}
}
