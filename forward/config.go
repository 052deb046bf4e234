package forward

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// Format is the wire format of a sink.
type Format uint8

const (
	FormatAuto        Format = iota // from the URL: nats://, a remote-write path or a line-protocol path
	FormatRemoteWrite               // Prometheus remote write 1.0
	FormatInflux                    // InfluxDB line protocol
	FormatNATS                      // NATS JetStream (nats:// URLs only)
)

var formatNames = [...]string{"auto", "remote-write", "influx", "nats"}

// String returns the flag spelling of f.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// ParseFormat reads -forward-format: auto, remote-write or influx.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "auto":
		return FormatAuto, nil
	case "remote-write":
		return FormatRemoteWrite, nil
	case "influx":
		return FormatInflux, nil
	}
	return 0, fmt.Errorf("must be auto, remote-write or influx, not %q", s)
}

// Defaults of SinkConfig. A zero field selects the default of the same name.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultBatch           = 10000 // samples per request, as vmagent's blocks
	DefaultInflight        = 4
	DefaultNATSReplicas    = 1
	DefaultNATSMaxMsgBytes = 512 << 10 // under nats-server's default max_payload of 1 MiB
	// DefaultNATSDuplicates is the stream's dedup window when the forwarder creates it, and the
	// least it accepts on an existing stream.
	DefaultNATSDuplicates = 10 * time.Minute
	// DefaultPollInterval is how often an idle reader looks at the frontier again: the bound on
	// the delay between a write and its forwarding, well under SPEC §11's second.
	DefaultPollInterval = 100 * time.Millisecond
)

// SinkConfig is one -forward URL and the settings that apply to it.
type SinkConfig struct {
	// URL is http(s)://…/api/v1/write, http(s)://…/write or …/api/v2/write, or
	// nats://host:port[,host:port…]/<subject>?stream=<name>. A #fragment names the sink
	// (cursor file, statistics); without one the name comes from the URL.
	URL string
	// Format overrides what the URL's path says (HTTP sinks only).
	Format Format
	// Timeout bounds one request (or one publish acknowledgement); zero selects DefaultTimeout.
	Timeout time.Duration
	// Batch is the most samples per request; zero selects DefaultBatch.
	Batch int
	// Rate throttles the sink to this many samples per second; zero means no limit.
	Rate float64
	// Inflight bounds the requests in flight; zero selects DefaultInflight.
	Inflight int
	// TokenFile holds a bearer token sent as Authorization (HTTP sinks).
	TokenFile string
	// NATSCreds is a NATS credentials file (JWT and NKey seed); NATSTokenFile holds a NATS
	// token. At most one.
	NATSCreds, NATSTokenFile string
	// NATSReplicas is the replica count of a stream the forwarder creates; zero selects
	// DefaultNATSReplicas.
	NATSReplicas int
	// NATSMaxMsgBytes bounds one message; zero selects DefaultNATSMaxMsgBytes.
	NATSMaxMsgBytes int
	// MinBackoff and MaxBackoff bound the retry delays; zero selects DefaultMinBackoff and
	// DefaultMaxBackoff (tests shorten them).
	MinBackoff, MaxBackoff time.Duration
}

// Config is the forwarder's configuration.
type Config struct {
	// Dir is the data directory (the cursor files live there too).
	Dir string
	// Sinks lists the sinks; New fails on an empty list.
	Sinks []SinkConfig
	// Logger receives drops, retries and the summary; nil selects slog.Default().
	Logger *slog.Logger
	// Version goes into the User-Agent.
	Version string
	// PollInterval is how often an idle reader checks for new data; zero selects
	// DefaultPollInterval.
	PollInterval time.Duration
	// StatsInterval is how often each sink logs a one-line summary; zero turns it off.
	StatsInterval time.Duration
	// Nice is the niceness of the threads that read and encode, 1 to 19 (see background):
	// zero selects DefaultNice, a negative value keeps the process's own priority.
	Nice int
}

// sinkSpec is a validated SinkConfig.
type sinkSpec struct {
	SinkConfig
	name   string
	target string // the URL without fragment, credentials or (NATS) host list: for logs and stats
	post   string // the URL requests go to (HTTP)
	token  string
	nats   natsTarget
}

// validate fills defaults and checks c, reading token files.
func (c SinkConfig) validate() (sinkSpec, error) {
	sp := sinkSpec{SinkConfig: c}
	if c.Timeout < 0 || c.Batch < 0 || c.Rate < 0 || c.Inflight < 0 || c.NATSReplicas < 0 || c.NATSMaxMsgBytes < 0 {
		return sp, errors.New("timeout, batch, rate, inflight and NATS settings must not be negative")
	}
	sp.Timeout = cmpOr(c.Timeout, DefaultTimeout)
	sp.Batch = cmpOr(c.Batch, DefaultBatch)
	sp.Inflight = cmpOr(c.Inflight, DefaultInflight)
	sp.NATSReplicas = cmpOr(c.NATSReplicas, DefaultNATSReplicas)
	sp.NATSMaxMsgBytes = cmpOr(c.NATSMaxMsgBytes, DefaultNATSMaxMsgBytes)
	sp.MinBackoff = cmpOr(c.MinBackoff, DefaultMinBackoff)
	sp.MaxBackoff = max(cmpOr(c.MaxBackoff, DefaultMaxBackoff), sp.MinBackoff)
	if sp.NATSMaxMsgBytes < 1024 {
		return sp, fmt.Errorf("NATS message size %d is below 1024 bytes", sp.NATSMaxMsgBytes)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return sp, fmt.Errorf("cannot parse %q: %w", c.URL, err)
	}
	switch u.Scheme {
	case "http", "https":
		err = sp.validateHTTP(u)
	case "nats", "tls":
		err = sp.validateNATS(u)
	default:
		err = fmt.Errorf("%q: scheme must be http, https or nats", redact(u))
	}
	if err != nil {
		return sp, err
	}
	if u.Fragment != "" {
		sp.name = sanitizeSinkName(u.Fragment)
	}
	return sp, nil
}

// validateHTTP checks an HTTP sink and decides its format.
func (sp *sinkSpec) validateHTTP(u *url.URL) error {
	if u.Host == "" {
		return fmt.Errorf("%q has no host", redact(u))
	}
	if sp.Format == FormatAuto {
		sp.Format = formatFromPath(u.Path)
		if sp.Format == FormatAuto {
			return fmt.Errorf("%q: cannot tell the format from the path; set -forward-format remote-write or influx", redact(u))
		}
	}
	if sp.TokenFile != "" {
		tok, err := readSecret(sp.TokenFile)
		if err != nil {
			return err
		}
		sp.token = tok
	}
	post := *u
	post.Fragment = ""
	if sp.Format == FormatInflux {
		q := post.Query()
		q.Set("precision", "ms")
		post.RawQuery = q.Encode()
	}
	sp.post = post.String()
	sp.target = redact(&post)
	sp.name = sanitizeSinkName(u.Host + u.Path)
	return nil
}

// formatFromPath recognises the receivers' usual paths.
func formatFromPath(path string) Format {
	for _, suffix := range []string{"/api/v1/write", "/api/v1/push", "/api/v1/receive", "/api/prom/push"} {
		if strings.HasSuffix(path, suffix) {
			return FormatRemoteWrite
		}
	}
	if strings.HasSuffix(path, "/write") {
		return FormatInflux // /write, /api/v2/write, /influx/write
	}
	return FormatAuto
}

// readSecret reads a token file: its content without surrounding white space, not empty.
func readSecret(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" || strings.ContainsAny(tok, "\r\n") {
		return "", fmt.Errorf("token file %s: want one non-empty line", path)
	}
	return tok, nil
}

// redact returns u as text without user information, for logs and statistics.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.Fragment = ""
	return c.String()
}

// sanitizeSinkName keeps [A-Za-z0-9.-] and turns every other byte into '_', so that the name is
// safe in a file name and a Prometheus label value.
func sanitizeSinkName(s string) string {
	b := []byte(strings.Trim(s, "/"))
	for i, c := range b {
		if !(c == '.' || c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "sink"
	}
	return string(b)
}

// cmpOr returns v, or def when v is zero.
func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
