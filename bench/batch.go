package bench

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Format selects the wire format of generated batches.
type Format int

const (
	// FormatJSON is MetricStream's JSON batch, sent to POST /metrics.
	FormatJSON Format = iota
	// FormatLine is InfluxDB line protocol with millisecond timestamps,
	// sent to POST /write?precision=ms.
	FormatLine
)

// String returns "json" or "line".
func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "json"
	case FormatLine:
		return "line"
	default:
		return "format(" + strconv.Itoa(int(f)) + ")"
	}
}

// ParseFormat parses "json" or "line".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "json":
		return FormatJSON, nil
	case "line":
		return FormatLine, nil
	default:
		return 0, fmt.Errorf("%w: unknown format %q (want json or line)", ErrInvalidConfig, s)
	}
}

// AppendBatch appends one generated batch of n metrics in format f to dst
// and returns the extended slice. Timestamps lie in the ten seconds before
// now; rng drives every choice, so equal seeds give equal batches.
func AppendBatch(dst []byte, f Format, n int, rng *rand.Rand, now time.Time) []byte {
	if f == FormatJSON {
		dst = append(dst, `{"metrics":[`...)
	}
	nowMs := now.UnixMilli()
	for i := range n {
		k := &catalogue[rng.IntN(len(catalogue))]
		host := rng.IntN(hostCount)
		region := regions[host%len(regions)] // a host stays in one region
		var value float64
		if k.counter {
			value = float64(int64(k.lo) + rng.Int64N(int64(k.hi)*1000+1))
		} else {
			// Two decimals, as most exporters round gauges.
			value = float64(int64((k.lo+rng.Float64()*(k.hi-k.lo))*100)) / 100
		}
		var t3 string
		if k.tag3 != "" {
			vals := tag3Value[k.tag3]
			t3 = vals[rng.IntN(len(vals))]
		}
		ts := nowMs - rng.Int64N(timestampSpreadMs)
		switch f {
		case FormatJSON:
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":"`...)
			dst = append(dst, k.name...)
			dst = append(dst, `","value":`...)
			dst = strconv.AppendFloat(dst, value, 'f', -1, 64)
			if k.counter {
				dst = append(dst, `,"type":"counter"`...)
			} else {
				dst = append(dst, `,"type":"gauge"`...)
			}
			dst = append(dst, `,"tags":{"host":"server-`...)
			dst = strconv.AppendInt(dst, int64(host), 10)
			dst = append(dst, `","region":"`...)
			dst = append(dst, region...)
			if t3 != "" {
				dst = append(dst, `","`...)
				dst = append(dst, k.tag3...)
				dst = append(dst, `":"`...)
				dst = append(dst, t3...)
			}
			dst = append(dst, `"},"timestamp":`...)
			dst = strconv.AppendInt(dst, ts, 10)
			dst = append(dst, '}')
		case FormatLine:
			dst = append(dst, k.name...)
			dst = append(dst, ",host=server-"...)
			dst = strconv.AppendInt(dst, int64(host), 10)
			dst = append(dst, ",region="...)
			dst = append(dst, region...)
			if t3 != "" {
				dst = append(dst, ',')
				dst = append(dst, k.tag3...)
				dst = append(dst, '=')
				dst = appendLineTagValue(dst, t3)
			}
			dst = append(dst, " value="...)
			dst = strconv.AppendFloat(dst, value, 'f', -1, 64)
			dst = append(dst, ' ')
			dst = strconv.AppendInt(dst, ts, 10)
			dst = append(dst, '\n')
		}
	}
	if f == FormatJSON {
		dst = append(dst, "]}"...)
	}
	return dst
}

// appendLineTagValue appends a line-protocol tag value, escaping commas,
// equals signs and spaces.
func appendLineTagValue(dst []byte, v string) []byte {
	for i := range len(v) {
		switch v[i] {
		case ',', '=', ' ':
			dst = append(dst, '\\')
		}
		dst = append(dst, v[i])
	}
	return dst
}

// PoolConfig describes the requests of a [RequestPool].
type PoolConfig struct {
	// Host is the value of the Host header.
	Host string
	// Path is the request target, e.g. "/metrics".
	Path string
	// Format of the bodies.
	Format Format
	// Metrics per batch; must be positive.
	Metrics int
	// Clients is the number of distinct client ids ("client-1" …
	// "client-N"), each sent as "Authorization: Bearer client-N". Zero
	// sends no Authorization header (the server's "default" client).
	Clients int
	// Bodies is the number of distinct bodies to generate; zero selects
	// DefaultBodies.
	Bodies int
	// Gzip compresses every body and sends Content-Encoding: gzip.
	Gzip bool
	// Seed makes generation deterministic.
	Seed uint64
	// Now is the reference time of timestamps; zero means time.Now().
	Now time.Time
}

// DefaultBodies is the default number of distinct bodies in a pool.
const DefaultBodies = 1024

// RequestPool holds pre-serialized request parts so that building request
// i during a run is three appends. It is immutable after construction and
// safe for concurrent use.
type RequestPool struct {
	prefix  []byte   // request line and fixed headers
	auth    [][]byte // one "Authorization: ..." line per client id, or none
	tails   [][]byte // "Content-Length: N\r\n\r\n" followed by the body
	metrics int
	bytes   int64 // total body bytes, for the mean
}

// NewRequestPool generates the bodies and header parts described by cfg.
func NewRequestPool(cfg PoolConfig) (*RequestPool, error) {
	if cfg.Metrics <= 0 {
		return nil, fmt.Errorf("%w: metrics per request must be positive, got %d", ErrInvalidConfig, cfg.Metrics)
	}
	if cfg.Clients < 0 {
		return nil, fmt.Errorf("%w: clients must not be negative, got %d", ErrInvalidConfig, cfg.Clients)
	}
	if cfg.Bodies <= 0 {
		cfg.Bodies = DefaultBodies
	}
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	p := &RequestPool{metrics: cfg.Metrics}

	var h bytes.Buffer
	fmt.Fprintf(&h, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: metricstream-loadgen\r\n", cfg.Path, cfg.Host)
	if cfg.Format == FormatJSON {
		h.WriteString("Content-Type: application/json\r\n")
	} else {
		h.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	}
	if cfg.Gzip {
		h.WriteString("Content-Encoding: gzip\r\n")
	}
	p.prefix = h.Bytes()

	for i := range cfg.Clients {
		p.auth = append(p.auth, []byte("Authorization: Bearer client-"+strconv.Itoa(i+1)+"\r\n"))
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6d657472696373))
	var raw []byte
	var zbuf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zbuf, gzip.DefaultCompression)
	for range cfg.Bodies {
		raw = AppendBatch(raw[:0], cfg.Format, cfg.Metrics, rng, cfg.Now)
		body := raw
		if cfg.Gzip {
			zbuf.Reset()
			zw.Reset(&zbuf)
			if _, err := zw.Write(raw); err != nil {
				return nil, fmt.Errorf("bench: compress body: %w", err)
			}
			if err := zw.Close(); err != nil {
				return nil, fmt.Errorf("bench: compress body: %w", err)
			}
			body = zbuf.Bytes()
		}
		tail := make([]byte, 0, len(body)+32)
		tail = append(tail, "Content-Length: "...)
		tail = strconv.AppendInt(tail, int64(len(body)), 10)
		tail = append(tail, "\r\n\r\n"...)
		tail = append(tail, body...)
		p.tails = append(p.tails, tail)
		p.bytes += int64(len(body))
	}
	return p, nil
}

// AppendRequest appends request number i of the run to dst: client id
// i mod Clients and body i mod Bodies, so that consecutive requests rotate
// through the client ids.
func (p *RequestPool) AppendRequest(dst []byte, i uint64) []byte {
	dst = append(dst, p.prefix...)
	if len(p.auth) > 0 {
		dst = append(dst, p.auth[i%uint64(len(p.auth))]...)
	}
	return append(dst, p.tails[i%uint64(len(p.tails))]...)
}

// MetricsPerRequest returns the number of metrics in every body.
func (p *RequestPool) MetricsPerRequest() int { return p.metrics }

// MeanBodyBytes returns the mean body size on the wire.
func (p *RequestPool) MeanBodyBytes() int { return int(p.bytes / int64(len(p.tails))) }
