package forward

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// httpSink posts batches to a remote-write or line-protocol endpoint.
type httpSink struct {
	name      string
	url       string // with precision=ms added for line protocol
	format    Format
	token     string // bearer token, "" for none
	userAgent string
	timeout   time.Duration
	client    *http.Client
	stats     *Stats
	log       *slog.Logger
	bo        backoff // the schedule's bounds; each worker copies it

	bg *background // the Forwarder's (shared by its sinks): runs every encode
}

// maxAnswerLog bounds how much of a refusing sink's answer goes into the log line.
const maxAnswerLog = 512

// newHTTPSink builds a sink whose workers encode on bg (the Forwarder's, never nil).
func newHTTPSink(name, url string, format Format, token, userAgent string, timeout time.Duration, inflight int,
	bo backoff, bg *background, stats *Stats, log *slog.Logger) *httpSink {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = inflight
	tr.DisableCompression = true
	return &httpSink{name: name, url: url, format: format, token: token, userAgent: userAgent, timeout: timeout,
		client: &http.Client{Transport: tr}, stats: stats, log: log, bo: bo, bg: bg}
}

func (s *httpSink) start(context.Context) error { return nil }

func (s *httpSink) close() { s.client.CloseIdleConnections() }

func (s *httpSink) newWorker(stopping <-chan struct{}) deliverer {
	w := &httpWorker{sink: s, bo: s.bo, stopping: stopping, job: bgJob{done: make(chan struct{})}}
	if s.format == FormatInflux {
		w.enc = newInfluxEncoder()
	} else {
		w.enc = newRWEncoder()
	}
	return w
}

// httpWorker delivers one batch at a time: encode, post, retry.
type httpWorker struct {
	sink     *httpSink
	enc      encoder
	bo       backoff
	stopping <-chan struct{}
	job      bgJob // reused for every encode
}

func (w *httpWorker) deliver(ctx context.Context, b *batch) error {
	s := w.sink
	var body []byte
	var res encodeResult
	w.job.run = func() { body, res = w.enc.encode(b.data) }
	s.bg.do(&w.job)
	if res.invalid > 0 {
		s.stats.drop(dropInvalid, int64(res.invalid), res.invalidBytes, 0)
		s.log.Warn("forward: stored lines not forwarded: cannot parse them", "sink", s.name,
			"segment", refOf(b.start).FileName(), "offset", b.start.Off+int64(res.firstBadOff),
			"lines", res.invalid, "err", res.firstErr)
	}
	if err := b.waitTurn(ctx, w.stopping); err != nil {
		return err
	}
	if res.samples == 0 {
		return nil
	}
	for {
		status, retryAfter, answer, err := w.post(ctx, body)
		s.stats.countStatus(status)
		switch {
		case err == nil && classify(status) == verdictDone:
			w.bo.reset()
			s.stats.samples.Add(uint64(res.samples))
			s.stats.bytes.Add(uint64(len(b.data)) - uint64(res.invalidBytes))
			s.stats.wireBytes.Add(uint64(len(body)))
			return nil
		case err == nil && classify(status) == verdictDrop:
			w.bo.reset()
			b.dropped = true
			s.stats.drop(dropRejected, int64(res.samples), int64(len(b.data))-res.invalidBytes, 1)
			s.log.Error("forward: sink refused a request; its samples are dropped", "sink", s.name,
				"status", status, "answer", answer, "samples", res.samples,
				"segment", refOf(b.start).FileName(), "offset", b.start.Off)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		delay := w.bo.next(retryAfter)
		s.stats.retries.Add(1)
		s.log.Warn("forward: sink unavailable; retrying", "sink", s.name, "status", status, "err", err,
			"answer", answer, "retry_in", delay.Round(time.Millisecond).String())
		if err := waitRetry(ctx, w.stopping, delay); err != nil {
			return err
		}
	}
}

// post sends one request. status is 0 when no answer came (err says why); answer is the start
// of the answer's body for the log, read only when the status is not a success.
func (w *httpWorker) post(ctx context.Context, body []byte) (status int, retryAfter time.Duration, answer string, err error) {
	s := w.sink
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, "", err
	}
	if s.format == FormatInflux {
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	}
	req.Header.Set("User-Agent", s.userAgent)
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, 0, "", describeNetError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
		return resp.StatusCode, 0, "", nil
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerLog))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), string(head), nil
}

// describeNetError shortens the error of a request that got no answer.
func describeNetError(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("no answer within the timeout: %w", err)
	}
	return err
}
