package server

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"metricstream/codec"
	"metricstream/engine"
	"metricstream/storage"
)

// Defaults of the settings in Config. A zero field in Config selects the
// default of the same name, except where its comment says that zero turns
// the feature off (Rate with RateSet, MaxDiskBytes, CacheBytes, StatsInterval). The
// limits the codec, engine and storage packages enforce keep those
// packages' defaults; the names here only re-export them for the flags.
const (
	DefaultAddr            = ":8080"
	DefaultRate            = 10000
	DefaultMaxClients      = engine.DefaultMaxClients
	DefaultClientTTL       = engine.DefaultClientTTL
	DefaultMonitorInterval = engine.DefaultMonitorInterval
	DefaultDataDir         = "./data"
	DefaultQueueBytes      = storage.DefaultQueueBytes
	DefaultSegmentBytes    = storage.DefaultSegmentBytes
	DefaultCacheBytes      = storage.DefaultCacheBytes
	DefaultMaxBodyBytes    = codec.DefaultMaxBodyBytes
	DefaultMaxHeaderBytes  = codec.DefaultMaxHeaderBytes
	DefaultMaxBatch        = codec.DefaultMaxBatch
	DefaultMaxConns        = 100000
	DefaultIdleTimeout     = 60 * time.Second
	DefaultReadTimeout     = 10 * time.Second
	DefaultTopClients      = 100
	// DefaultMaxPipeline bounds the answers one connection may have
	// outstanding (requests read but not yet answered). Past it the server
	// stops parsing that connection's input until answers go out.
	DefaultMaxPipeline = 128
	// DefaultMaxOutbound bounds the unsent answer bytes of one connection.
	// Past it the server stops parsing that connection's input; a client
	// that stays over it for ReadTimeout is closed.
	DefaultMaxOutbound = 256 << 10
	// DefaultLinger is how long a connection the server is closing after an
	// error keeps discarding the client's input so that the client reads the
	// answer instead of a reset.
	DefaultLinger = 2 * time.Second
)

// Config holds every setting of a Server. cmd/metricstream fills it from
// flags; tests fill it directly.
type Config struct {
	// Addr is the TCP listen address, host:port. Port 0 picks a free port;
	// Server.Addr reports it.
	Addr string
	// Loops is the number of gnet event loops. Zero selects one per CPU
	// (runtime.GOMAXPROCS).
	Loops int
	// Shards is the number of rate-limiter shards. Zero selects Loops.
	Shards int
	// Rate is the number of requests per second each client may make.
	// Zero turns rate limiting off. RateSet distinguishes an explicit zero
	// from an unset field for callers that build Config by hand: when
	// RateSet is false, a zero Rate selects DefaultRate.
	Rate    float64
	RateSet bool
	// Burst is the token-bucket size. Zero selects engine.DefaultBurst(Rate).
	Burst int
	// MaxClients bounds the clients tracked by the rate limiter; zero
	// selects DefaultMaxClients.
	MaxClients int
	// ClientTTL evicts clients idle for longer; zero selects DefaultClientTTL.
	ClientTTL time.Duration
	// DataDir holds the segment files; empty selects DefaultDataDir.
	DataDir string
	// Writer is storage.WriterAuto, WriterIOURing or WriterFile; empty
	// selects WriterAuto.
	Writer string
	// Ack is when a batch is acknowledged; the zero value is
	// storage.AckWritten, the product default.
	Ack storage.AckMode
	// QueueBytes bounds the bytes accepted by storage and not yet written,
	// over all loops; zero selects DefaultQueueBytes. Full → 503.
	QueueBytes int64
	// SegmentBytes is the size at which a new segment starts; zero selects
	// DefaultSegmentBytes.
	SegmentBytes int64
	// MaxDiskBytes bounds the total size of the segments; zero means no limit.
	MaxDiskBytes int64
	// CacheBytes is how much of each loop's newest segment data stays in the page cache (older
	// bytes are written back early and dropped from it); zero leaves the cache to the kernel.
	CacheBytes int64
	// MaxBodyBytes bounds a request body after decoding; zero selects
	// DefaultMaxBodyBytes. Larger → 413.
	MaxBodyBytes int
	// MaxHeaderBytes bounds the request line plus headers; zero selects
	// DefaultMaxHeaderBytes. Larger → 431.
	MaxHeaderBytes int
	// MaxBatch bounds the metrics in one batch; zero selects DefaultMaxBatch.
	MaxBatch int
	// MaxConns bounds open connections; zero selects DefaultMaxConns.
	MaxConns int
	// IdleTimeout closes a connection with no request in progress after this
	// long without input; zero selects DefaultIdleTimeout.
	IdleTimeout time.Duration
	// ReadTimeout is how long a started request may take to arrive in full;
	// zero selects DefaultReadTimeout.
	ReadTimeout time.Duration
	// MonitorInterval is how often the decision rings are drained; zero
	// selects DefaultMonitorInterval.
	MonitorInterval time.Duration
	// TopClients is how many clients GET /clients lists; zero selects
	// DefaultTopClients.
	TopClients int
	// AuthFile, when set, names the token file (lines "token client-id").
	AuthFile string
	// AuthStats requires a token for GET /metrics and GET /clients too. It
	// only has an effect when AuthFile is set.
	AuthStats bool
	// StatsInterval is how often a one-line summary is logged; zero turns
	// it off.
	StatsInterval time.Duration
	// MaxPipeline and MaxOutbound bound the unanswered requests and unsent
	// answer bytes of one connection; zero selects the defaults.
	MaxPipeline int
	MaxOutbound int
	// Linger is how long a closing connection discards input; zero selects
	// DefaultLinger.
	Linger time.Duration
	// Retention, when non-nil, keeps segments a forwarder still needs
	// from -max-disk-bytes retention (passed to storage.Config).
	Retention storage.RetentionGuard
	// Extra are other components' statistics, added to GET /metrics in
	// both formats (the forwarder's, for one).
	Extra []StatsAppender
	// Logger receives the server's logs; nil selects slog.Default().
	Logger *slog.Logger
	// Version is reported in logs.
	Version string
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	orDefault(&c.Loops, runtime.GOMAXPROCS(0))
	orDefault(&c.Shards, c.Loops)
	if c.Rate == 0 && !c.RateSet {
		c.Rate = DefaultRate
	}
	orDefault(&c.Burst, engine.DefaultBurst(c.Rate))
	orDefault(&c.MaxClients, DefaultMaxClients)
	orDefault(&c.ClientTTL, DefaultClientTTL)
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Writer == "" {
		c.Writer = storage.WriterAuto
	}
	orDefault(&c.QueueBytes, DefaultQueueBytes)
	orDefault(&c.SegmentBytes, DefaultSegmentBytes)
	orDefault(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	orDefault(&c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	orDefault(&c.MaxBatch, DefaultMaxBatch)
	orDefault(&c.MaxConns, DefaultMaxConns)
	orDefault(&c.IdleTimeout, DefaultIdleTimeout)
	orDefault(&c.ReadTimeout, DefaultReadTimeout)
	orDefault(&c.MonitorInterval, DefaultMonitorInterval)
	orDefault(&c.TopClients, DefaultTopClients)
	orDefault(&c.MaxPipeline, DefaultMaxPipeline)
	orDefault(&c.MaxOutbound, DefaultMaxOutbound)
	orDefault(&c.Linger, DefaultLinger)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// orDefault sets *v to def when *v is zero or negative.
func orDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Validate reports the first setting that cannot work, as a one-line reason
// naming the flag.
func (c Config) Validate() error {
	switch {
	case c.Loops < 0:
		return errors.New("-loops must not be negative")
	case c.Loops > 256:
		return errors.New("-loops must be at most 256 (gnet's limit)")
	case c.Shards < 0:
		return errors.New("-shards must not be negative")
	case c.Rate < 0:
		return errors.New("-rate must not be negative")
	case c.Burst < 0:
		return errors.New("-burst must not be negative")
	case c.MaxClients < 0:
		return errors.New("-max-clients must not be negative")
	case c.ClientTTL < 0:
		return errors.New("-client-ttl must not be negative")
	case c.Writer != "" && c.Writer != storage.WriterAuto && c.Writer != storage.WriterIOURing && c.Writer != storage.WriterFile:
		return fmt.Errorf("-writer must be %s, %s or %s, not %q", storage.WriterAuto, storage.WriterIOURing, storage.WriterFile, c.Writer)
	case c.QueueBytes < 0:
		return errors.New("-queue-bytes must not be negative")
	case c.SegmentBytes < 0:
		return errors.New("-segment-bytes must not be negative")
	case c.SegmentBytes > 0 && c.SegmentBytes < 4096:
		return errors.New("-segment-bytes must be at least 4096")
	case c.MaxDiskBytes < 0:
		return errors.New("-max-disk-bytes must not be negative")
	case c.CacheBytes < 0:
		return errors.New("-cache-bytes must not be negative")
	case c.MaxBodyBytes < 0:
		return errors.New("-max-body-bytes must not be negative")
	case c.MaxHeaderBytes < 0:
		return errors.New("-max-header-bytes must not be negative")
	case c.MaxHeaderBytes > 0 && c.MaxHeaderBytes < 256:
		return errors.New("-max-header-bytes must be at least 256")
	case c.MaxBatch < 0:
		return errors.New("-max-batch must not be negative")
	case c.MaxConns < 0:
		return errors.New("-max-conns must not be negative")
	case c.IdleTimeout < 0:
		return errors.New("-idle-timeout must not be negative")
	case c.ReadTimeout < 0:
		return errors.New("-read-timeout must not be negative")
	case c.MonitorInterval < 0:
		return errors.New("-monitor-interval must not be negative")
	case c.TopClients < 0:
		return errors.New("-top-clients must not be negative")
	case c.StatsInterval < 0:
		return errors.New("-stats-interval must not be negative")
	}
	return nil
}
