// Command metricstream runs the MetricStream ingestion server.
//
// Every setting is a flag; run metricstream -h for the list with defaults.
// SIGINT or SIGTERM drains and exits 0; SIGHUP reloads -auth-file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"metricstream/forward"
	"metricstream/server"
	"metricstream/storage"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitUsage is the status for a bad flag value, as the flag package uses.
const exitUsage = 2

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// options are the flags' values before they become a server.Config.
type options struct {
	cfg           server.Config
	ack           string
	authStats     string
	logLevel      string
	logFormat     string
	showVersion   bool
	drainDeadline time.Duration
	cpuProfile    string
	fwd           forwardOptions
}

func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("metricstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &o.cfg
	fs.StringVar(&c.Addr, "addr", server.DefaultAddr, "TCP `address` to listen on, host:port")
	fs.IntVar(&c.Loops, "loops", runtime.GOMAXPROCS(0), "number of event loops (one per CPU by default; at most 256)")
	fs.IntVar(&c.Shards, "shards", 0, "rate-limiter shards, chosen by xxhash of the client id (0: one per event loop)")
	fs.Float64Var(&c.Rate, "rate", server.DefaultRate, "requests per second allowed per client (0 turns rate limiting off); see -burst")
	fs.IntVar(&c.Burst, "burst", 0, "token-bucket size per client (0: equal to -rate)")
	fs.IntVar(&c.MaxClients, "max-clients", server.DefaultMaxClients, "most clients tracked by the rate limiter; older ones are evicted (see -client-ttl)")
	fs.DurationVar(&c.ClientTTL, "client-ttl", server.DefaultClientTTL, "evict clients idle for longer than this")
	fs.StringVar(&c.DataDir, "data-dir", server.DefaultDataDir, "`directory` of the metrics-<seq>.jsonl segments")
	fs.StringVar(&c.Writer, "writer", storage.WriterAuto, "storage writer: auto, io_uring or file (auto runs io_uring where the kernel allows it, else file, and logs why)")
	fs.StringVar(&o.ack, "ack", "written", "answer 200 when a batch is queued, written (survives kill -9) or synced (survives power loss)")
	fs.Int64Var(&c.QueueBytes, "queue-bytes", server.DefaultQueueBytes, "bytes of encoded batches accepted and not yet written, over all event loops, before ingest answers 503")
	fs.Int64Var(&c.SegmentBytes, "segment-bytes", server.DefaultSegmentBytes, "start a new segment file after this many bytes")
	fs.Int64Var(&c.MaxDiskBytes, "max-disk-bytes", 0, "delete the oldest closed segments to stay under this many bytes (0: no limit)")
	fs.Int64Var(&c.CacheBytes, "cache-bytes", server.DefaultCacheBytes, "keep this much of each loop's newest data in the page cache, writing back and dropping the rest early (0: leave it to the kernel)")
	fs.IntVar(&c.MaxBodyBytes, "max-body-bytes", server.DefaultMaxBodyBytes, "largest request body, after gzip decoding (413 beyond)")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", server.DefaultMaxHeaderBytes, "largest request line plus headers (431 beyond)")
	fs.IntVar(&c.MaxBatch, "max-batch", server.DefaultMaxBatch, "most metrics in one batch (400 beyond)")
	fs.IntVar(&c.MaxConns, "max-conns", server.DefaultMaxConns, "most open connections; more are answered 503 and closed (raise the open-files limit to match)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "close a keep-alive connection idle for this long")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", server.DefaultReadTimeout, "longest time a started request may take to arrive in full (408 beyond)")
	fs.DurationVar(&c.MonitorInterval, "monitor-interval", server.DefaultMonitorInterval, "how often the decision rings are drained into per-client totals")
	fs.IntVar(&c.TopClients, "top-clients", server.DefaultTopClients, "clients listed by GET /clients and in the Prometheus output")
	fs.StringVar(&c.AuthFile, "auth-file", "", "`file` of \"token client-id\" lines; when set, ingest needs Authorization: Bearer <token> (SIGHUP reloads it)")
	fs.StringVar(&o.authStats, "auth-stats", "auto", "require a token for GET /metrics and GET /clients: true, false or auto (true when -auth-file is set)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&c.StatsInterval, "stats-interval", 10*time.Second, "log a one-line summary this often (0 turns it off)")
	fs.DurationVar(&o.drainDeadline, "drain-timeout", 20*time.Second, "on SIGTERM, longest wait for batches in flight before the queue is flushed and the server exits")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to `file` (for tuning; read it with go tool pprof)")
	o.fwd.register(fs)
	return fs
}

func run(args []string, stderr io.Writer) int {
	var o options
	fs := newFlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "metricstream: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if o.showVersion {
		fmt.Fprintf(os.Stdout, "metricstream %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	cfg, log, err := o.config(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "metricstream: %v\n", err)
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "metricstream: %v\n", err)
		return exitUsage
	}
	fw, err := o.fwd.forwarder(cfg.DataDir, cfg.StatsInterval, log)
	if err != nil {
		fmt.Fprintf(stderr, "metricstream: %v\n", err)
		return exitUsage
	}
	if fw != nil {
		cfg.Extra = append(cfg.Extra, fw) // its statistics in GET /metrics
		cfg.Retention = fw                // -max-disk-bytes keeps what a sink still needs
		reserveProcs(fw, &cfg)
	}
	slog.SetDefault(log)
	stopProfile, ok := startCPUProfile(o.cpuProfile, log)
	if !ok {
		return 1
	}
	defer stopProfile()
	// Signals are caught before the server listens: one that arrives while
	// it starts waits in sigs instead of killing the process.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	srv, err := server.New(cfg)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	log.Info("starting", configAttrs(srv.Config())...)
	if err := srv.Start(); err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := startForwarder(fw, srv); err != nil {
		log.Error("cannot start forwarding", "err", err)
		srv.Shutdown(context.Background())
		return 1
	}

	return serveSignals(sigs, srv, fw, &o, log)
}

// serveSignals reloads the auth file on SIGHUP and drains on SIGINT or
// SIGTERM: the server first (bounded by -drain-timeout), then the forwarder.
// It returns the process's exit status.
func serveSignals(sigs <-chan os.Signal, srv *server.Server, fw *forward.Forwarder, o *options, log *slog.Logger) int {
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			if err := srv.ReloadAuth(); err != nil {
				log.Error("auth file not reloaded; old tokens stay in force", "err", err)
			}
			continue
		}
		log.Info("signal received, draining", "signal", sig.String())
		ctx, cancel := context.WithTimeout(context.Background(), o.drainDeadline)
		err := srv.Shutdown(ctx)
		cancel()
		closeForwarder(fw, min(o.drainDeadline, o.fwd.timeout), log)
		if err != nil {
			log.Error("shutdown", "err", err)
			return 1
		}
		return 0
	}
	return 0
}

// startCPUProfile starts the -cpuprofile profile when path is set; stop
// writes it out. ok is false (and the reason logged) when it cannot start.
func startCPUProfile(path string, log *slog.Logger) (stop func(), ok bool) {
	if path == "" {
		return func() {}, true
	}
	f, err := os.Create(path)
	if err != nil {
		log.Error("cannot create -cpuprofile file", "err", err)
		return nil, false
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Error("cannot start CPU profile", "err", err)
		f.Close()
		return nil, false
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, true
}

// config turns the flag values into a server.Config and a logger.
func (o *options) config(stderr io.Writer) (server.Config, *slog.Logger, error) {
	cfg := o.cfg
	cfg.RateSet = true
	cfg.Version = version
	ack, err := storage.ParseAckMode(o.ack)
	if err != nil {
		return cfg, nil, fmt.Errorf("-ack: %w", err)
	}
	cfg.Ack = ack
	switch o.authStats {
	case "auto":
		cfg.AuthStats = cfg.AuthFile != ""
	case "true", "1":
		cfg.AuthStats = true
	case "false", "0":
		cfg.AuthStats = false
	default:
		return cfg, nil, fmt.Errorf("-auth-stats must be true, false or auto, not %q", o.authStats)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return cfg, nil, fmt.Errorf("-log-level must be debug, info, warn or error, not %q", o.logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch o.logFormat {
	case "text":
		h = slog.NewTextHandler(stderr, hopts)
	case "json":
		h = slog.NewJSONHandler(stderr, hopts)
	default:
		return cfg, nil, fmt.Errorf("-log-format must be text or json, not %q", o.logFormat)
	}
	if o.drainDeadline <= 0 {
		return cfg, nil, errors.New("-drain-timeout must be positive")
	}
	log := slog.New(h)
	cfg.Logger = log
	return cfg, log, nil
}

// configAttrs lists the effective configuration for the start-up log line.
func configAttrs(c server.Config) []any {
	return []any{
		"version", version, "addr", c.Addr, "loops", c.Loops, "shards", c.Shards,
		"rate", c.Rate, "burst", c.Burst, "max_clients", c.MaxClients, "client_ttl", c.ClientTTL.String(),
		"data_dir", c.DataDir, "writer", c.Writer, "ack", c.Ack.String(), "queue_bytes", c.QueueBytes,
		"segment_bytes", c.SegmentBytes, "max_disk_bytes", c.MaxDiskBytes, "max_body_bytes", c.MaxBodyBytes,
		"max_header_bytes", c.MaxHeaderBytes, "max_batch", c.MaxBatch, "max_conns", c.MaxConns,
		"idle_timeout", c.IdleTimeout.String(), "read_timeout", c.ReadTimeout.String(), "monitor_interval", c.MonitorInterval.String(),
		"top_clients", c.TopClients, "auth", c.AuthFile != "", "auth_stats", c.AuthStats,
		"stats_interval", c.StatsInterval.String(), "gomaxprocs", runtime.GOMAXPROCS(0),
	}
}
