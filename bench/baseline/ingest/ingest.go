// Package ingest is the ingestion logic shared by the conventional
// baseline servers (nethttpbase, fasthttpbase): the work MetricStream does,
// written the way a careful Go developer would write it with the standard
// library and no tuning.
//
//   - The body is decoded with encoding/json into structs and validated as
//     MetricStream validates (name 1..255 bytes, finite value, type among
//     counter/gauge/histogram/summary, 1..1000 metrics).
//   - Each client has a golang.org/x/time/rate limiter, kept in a map under
//     a mutex; an empty bucket answers 429.
//   - Accepted metrics are encoded as JSON lines (the same line format as
//     MetricStream's segments) with encoding/json, then appended to one file
//     through a 256 KiB bufio.Writer that is flushed after every batch under
//     a mutex. The 200 goes out after write(2) returned: the durability of
//     MetricStream's -ack written, without group commit.
//
// Answers carry the same bodies as MetricStream's.
package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults and limits.
const (
	// DefaultRate is the default per-client rate: high enough that a
	// benchmark with few client ids measures ingestion, not 429s.
	DefaultRate = 1e6
	// MaxBatch is the largest accepted batch, as in MetricStream.
	MaxBatch = 1000
	// MaxNameBytes bounds a metric name.
	MaxNameBytes = 255
	// MaxBodyBytes bounds a request body, as MetricStream's default.
	MaxBodyBytes = 4 << 20
	// writerBufferBytes is the size of the file writer's buffer.
	writerBufferBytes = 256 << 10
	// FileName is the name of the file written in the data directory.
	FileName = "metrics-baseline.jsonl"
)

// ErrClosed is returned by Handle after Close.
var ErrClosed = errors.New("ingest: closed")

// Config configures a [Service].
type Config struct {
	// DataDir receives FileName; it is created if missing.
	DataDir string
	// Rate is the per-client limit in requests per second; zero disables
	// limiting. Burst equals the rate (at least 1).
	Rate float64
}

// Metric is one decoded metric.
type Metric struct {
	Name      string            `json:"name"`
	Value     *float64          `json:"value"`
	Type      string            `json:"type"`
	Tags      map[string]string `json:"tags"`
	Timestamp *Timestamp        `json:"timestamp"`
}

// Batch is a decoded request body.
type Batch struct {
	Metrics []Metric `json:"metrics"`
}

// Timestamp accepts Unix milliseconds or an RFC 3339 string.
type Timestamp struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("timestamp is not RFC 3339")
		}
		t.Time = v
		return nil
	}
	ms, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp is not integer milliseconds")
	}
	t.Time = time.UnixMilli(ms)
	return nil
}

// line is one stored record, in the field order of MetricStream's format.
type line struct {
	Timestamp string            `json:"timestamp"`
	Client    string            `json:"client"`
	Name      string            `json:"name"`
	Value     float64           `json:"value"`
	Type      string            `json:"type"`
	Tags      map[string]string `json:"tags,omitempty"`
}

// Answer is a status code and its JSON body.
type Answer struct {
	Status int
	Body   []byte
	// RetryAfter is the Retry-After value in seconds, 0 for none.
	RetryAfter int
}

var (
	answerRateLimited = Answer{Status: 429, Body: []byte(`{"error":"Rate limit exceeded"}`), RetryAfter: 1}
	answerEmpty       = Answer{Status: 400, Body: []byte(`{"error":"Batch cannot be empty"}`)}
	answerTooMany     = Answer{Status: 400, Body: []byte(`{"error":"Batch size exceeds maximum (1000 metrics)"}`)}
	answerUnavailable = Answer{Status: 503, Body: []byte(`{"error":"Storage unavailable"}`), RetryAfter: 1}
	// AnswerTooLarge is the answer to a body over MaxBodyBytes.
	AnswerTooLarge = Answer{Status: 413, Body: []byte(`{"error":"Request body too large"}`)}
	// AnswerNotFound is the answer to an unknown path.
	AnswerNotFound = Answer{Status: 404, Body: []byte(`{"error":"Not found"}`)}
	// AnswerHealthy is the answer to GET /health.
	AnswerHealthy = Answer{Status: 200, Body: []byte(`{"status":"healthy","service":"ingestion"}`)}
)

// Service validates, rate-limits and stores batches. It is safe for
// concurrent use.
type Service struct {
	rate float64

	limitersMu sync.Mutex
	limiters   map[string]*rate.Limiter // guarded by limitersMu; never shrinks

	fileMu sync.Mutex // guards file, w, closed
	file   *os.File
	w      *bufio.Writer
	closed bool

	encoders sync.Pool // of *lineEncoder
}

// lineEncoder encodes a batch's lines before the file lock is taken.
type lineEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// Open creates the data directory and the output file (appending to an
// existing one).
func Open(cfg Config) (*Service, error) {
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) {
		return nil, fmt.Errorf("ingest: rate must be a non-negative number, got %v", cfg.Rate)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("ingest: create data dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(cfg.DataDir, FileName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ingest: open data file: %w", err)
	}
	s := &Service{
		rate:     cfg.Rate,
		limiters: make(map[string]*rate.Limiter),
		file:     f,
		w:        bufio.NewWriterSize(f, writerBufferBytes),
	}
	s.encoders.New = func() any {
		e := &lineEncoder{}
		e.enc = json.NewEncoder(&e.buf)
		e.enc.SetEscapeHTML(false)
		return e
	}
	return s, nil
}

// ClientID returns the client id of an Authorization header value: the
// value without a leading "Bearer ", or "default" when empty.
func ClientID(authorization string) string {
	if len(authorization) > 7 && authorization[:7] == "Bearer " {
		return authorization[7:]
	}
	if authorization == "" {
		return "default"
	}
	return authorization
}

// allow takes one token from client's bucket.
func (s *Service) allow(client string) bool {
	if s.rate == 0 {
		return true
	}
	s.limitersMu.Lock()
	l, ok := s.limiters[client]
	if !ok {
		l = rate.NewLimiter(rate.Limit(s.rate), max(1, int(s.rate)))
		s.limiters[client] = l
	}
	s.limitersMu.Unlock()
	return l.Allow()
}

// Handle ingests one POST /metrics body from client, received at now, and
// returns the answer. The body is not retained.
func (s *Service) Handle(client string, body []byte, now time.Time) Answer {
	if !s.allow(client) {
		return answerRateLimited
	}
	var b Batch
	if err := json.Unmarshal(body, &b); err != nil {
		return errorAnswer(400, "invalid JSON: "+jsonErrorText(err))
	}
	if len(b.Metrics) == 0 {
		return answerEmpty
	}
	if len(b.Metrics) > MaxBatch {
		return answerTooMany
	}
	for i := range b.Metrics {
		if msg := validate(&b.Metrics[i]); msg != "" {
			return errorAnswer(400, "metric "+strconv.Itoa(i)+": "+msg)
		}
	}

	e := s.encoders.Get().(*lineEncoder)
	defer s.encoders.Put(e)
	e.buf.Reset()
	received := now.UTC().Format("2006-01-02T15:04:05.000Z")
	for i := range b.Metrics {
		m := &b.Metrics[i]
		l := line{Timestamp: received, Client: client, Name: m.Name, Value: *m.Value, Type: m.Type, Tags: m.Tags}
		if l.Type == "" {
			l.Type = "gauge"
		}
		if m.Timestamp != nil {
			l.Timestamp = m.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		if err := e.enc.Encode(&l); err != nil {
			return errorAnswer(400, "metric "+strconv.Itoa(i)+": "+err.Error())
		}
	}

	s.fileMu.Lock()
	err := s.writeLocked(e.buf.Bytes())
	s.fileMu.Unlock()
	if err != nil {
		return answerUnavailable
	}
	return Answer{
		Status: 200,
		Body:   append(strconv.AppendInt([]byte(`{"success":true,"metrics_processed":`), int64(len(b.Metrics)), 10), '}'),
	}
}

// writeLocked appends p to the file and flushes. fileMu must be held.
func (s *Service) writeLocked(p []byte) error {
	if s.closed {
		return ErrClosed
	}
	if _, err := s.w.Write(p); err != nil {
		return fmt.Errorf("ingest: write: %w", err)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("ingest: flush: %w", err)
	}
	return nil
}

// validate returns the reason m is invalid, or "".
func validate(m *Metric) string {
	switch {
	case m.Name == "":
		return "name is empty"
	case len(m.Name) > MaxNameBytes:
		return "name exceeds 255 bytes"
	case m.Value == nil:
		return "value is missing"
	case math.IsNaN(*m.Value) || math.IsInf(*m.Value, 0):
		return "value is not finite"
	}
	switch m.Type {
	case "", "gauge", "counter", "histogram", "summary":
		return ""
	default:
		return "type must be counter, gauge, histogram or summary"
	}
}

// jsonErrorText describes a decoding error without echoing input.
func jsonErrorText(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "syntax error at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		return "wrong type for field " + strconv.Quote(typ.Field) + " at byte " + strconv.FormatInt(typ.Offset, 10)
	default:
		return "cannot decode batch"
	}
}

func errorAnswer(status int, msg string) Answer {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	return Answer{Status: status, Body: b}
}

// Close flushes and closes the file. Later Handle calls answer 503.
func (s *Service) Close() error {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.w.Flush()
	if cerr := s.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ingest: close: %w", err)
	}
	return nil
}
