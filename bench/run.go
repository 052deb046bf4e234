package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of [Config] fields, also the loadgen command's flag defaults.
const (
	DefaultURL              = "http://127.0.0.1:8080/metrics"
	DefaultConns            = 64
	DefaultMetrics          = 10
	DefaultClients          = 1
	DefaultDuration         = 10 * time.Second
	DefaultTimeout          = 10 * time.Second
	DefaultProgressInterval = time.Second
	// connectBackoff is how long a worker waits after a failed connect, so
	// that a server that is down is not hammered by a spinning generator.
	connectBackoff = 10 * time.Millisecond
)

// Config describes one load run. The zero value of a field selects its
// default, except where noted.
type Config struct {
	// URL is the target, http only. With FormatLine and the path
	// "/metrics" (the default), "/write?precision=ms" is used instead.
	URL string
	// Conns is the number of keep-alive connections, each with one
	// request in flight (default DefaultConns).
	Conns int
	// Metrics is the number of metrics per request (default
	// DefaultMetrics).
	Metrics int
	// Clients is the size of the client-id pool, rotated per request
	// (default DefaultClients).
	Clients int
	// Duration bounds the run (default DefaultDuration unless Requests
	// is set). When both are set the run ends at whichever comes first.
	Duration time.Duration
	// Requests bounds the number of requests sent; zero means no bound.
	Requests int64
	// Rate in requests per second; zero runs a closed loop, a positive
	// value an open loop (see the package doc).
	Rate float64
	// Format of the bodies.
	Format Format
	// Gzip sends gzip-compressed bodies.
	Gzip bool
	// Timeout bounds connect and each request (default DefaultTimeout;
	// negative means no limit).
	Timeout time.Duration
	// Bodies is the number of distinct pre-generated bodies (default
	// DefaultBodies).
	Bodies int
	// Seed makes the bodies deterministic.
	Seed uint64
	// Progress receives one line per ProgressInterval while running; nil
	// prints nothing.
	Progress io.Writer
	// ProgressInterval defaults to DefaultProgressInterval.
	ProgressInterval time.Duration
}

// target is the parsed form of Config.URL.
type target struct {
	addr string // host:port to dial
	host string // Host header
	path string // request target
}

func parseTarget(raw string, f Format) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, fmt.Errorf("%w: url %q: %w", ErrInvalidConfig, raw, err)
	}
	if u.Scheme != "http" {
		return target{}, fmt.Errorf("%w: url %q: only http:// is supported", ErrInvalidConfig, raw)
	}
	if u.Host == "" {
		return target{}, fmt.Errorf("%w: url %q: no host", ErrInvalidConfig, raw)
	}
	t := target{host: u.Host, path: u.RequestURI()}
	if u.Port() == "" {
		t.addr = net.JoinHostPort(u.Hostname(), "80")
	} else {
		t.addr = net.JoinHostPort(u.Hostname(), u.Port())
	}
	if f == FormatLine && u.Path == "/metrics" {
		t.path = "/write?precision=ms"
	}
	return t, nil
}

// withDefaults validates cfg and fills in defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.Conns == 0 {
		cfg.Conns = DefaultConns
	}
	if cfg.Metrics == 0 {
		cfg.Metrics = DefaultMetrics
	}
	if cfg.Clients == 0 {
		cfg.Clients = DefaultClients
	}
	if cfg.Duration == 0 && cfg.Requests == 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	} else if cfg.Timeout < 0 {
		cfg.Timeout = 0
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = DefaultProgressInterval
	}
	switch {
	case cfg.Conns < 0:
		return cfg, fmt.Errorf("%w: connections must be positive, got %d", ErrInvalidConfig, cfg.Conns)
	case cfg.Metrics < 0:
		return cfg, fmt.Errorf("%w: metrics per request must be positive, got %d", ErrInvalidConfig, cfg.Metrics)
	case cfg.Clients < 0:
		return cfg, fmt.Errorf("%w: clients must be positive, got %d", ErrInvalidConfig, cfg.Clients)
	case cfg.Duration < 0:
		return cfg, fmt.Errorf("%w: duration must not be negative, got %v", ErrInvalidConfig, cfg.Duration)
	case cfg.Requests < 0:
		return cfg, fmt.Errorf("%w: requests must not be negative, got %d", ErrInvalidConfig, cfg.Requests)
	case cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0):
		return cfg, fmt.Errorf("%w: rate must be a non-negative number, got %v", ErrInvalidConfig, cfg.Rate)
	case cfg.Format != FormatJSON && cfg.Format != FormatLine:
		return cfg, fmt.Errorf("%w: unknown format %v", ErrInvalidConfig, cfg.Format)
	}
	return cfg, nil
}

// Schedule hands out open-loop send times: ticket k is due at
// Start + k/rate. Any number of goroutines may take tickets concurrently;
// each ticket is handed out once. The zero value is not usable; see
// [NewSchedule].
type Schedule struct {
	start    time.Time
	interval float64 // nanoseconds between tickets
	next     atomic.Uint64
}

// NewSchedule returns a schedule of rate tickets per second from start.
// rate must be positive.
func NewSchedule(start time.Time, rate float64) *Schedule {
	return &Schedule{start: start, interval: 1e9 / rate}
}

// Next takes the next ticket and returns its number and due time.
func (s *Schedule) Next() (uint64, time.Time) {
	k := s.next.Add(1) - 1
	return k, s.DueAt(k)
}

// DueAt returns the due time of ticket k.
func (s *Schedule) DueAt(k uint64) time.Time {
	return s.start.Add(time.Duration(float64(k) * s.interval))
}

// DueBefore returns how many tickets are due strictly before t.
func (s *Schedule) DueBefore(t time.Time) uint64 {
	d := t.Sub(s.start)
	if d <= 0 {
		return 0
	}
	n := uint64(math.Ceil(float64(d) / s.interval))
	// Guard the float rounding at the boundary.
	for n > 0 && !s.DueAt(n-1).Before(t) {
		n--
	}
	for s.DueAt(n).Before(t) {
		n++
	}
	return n
}

// worker is the state of one connection's load loop. Everything but the
// progress counters is owned by the worker's goroutine until Run has
// joined it.
type worker struct {
	client  *Client
	wbuf    []byte
	lat     Histogram // response latency (open loop: from due time)
	lag     Histogram // open loop: send time minus due time
	status  [1000]uint64
	errs    map[string]uint64
	sent    uint64 // requests written (answered or failed)
	metrics uint64 // metrics in 2xx answers

	// Read by the progress goroutine while the worker runs.
	doneN   atomic.Uint64
	failedN atomic.Uint64
	_       [64]byte // keep neighbouring workers' counters apart
}

// runner is the shared state of one Run.
type runner struct {
	cfg      Config
	pool     *RequestPool
	workers  []*worker
	sched    *Schedule     // open loop only
	end      time.Time     // open loop: no request due at or after end is sent; zero without a duration
	tickets  atomic.Uint64 // closed loop: request numbers
	stop     atomic.Bool   // set once: no new request may start
	stopCh   chan struct{} // closed together with stop
	stopOnce sync.Once
}

func (r *runner) halt() {
	r.stopOnce.Do(func() {
		r.stop.Store(true)
		close(r.stopCh)
	})
}

// wait sleeps for d unless the run is halted first; it reports whether the
// full wait elapsed.
func (r *runner) wait(t *time.Timer, d time.Duration) bool {
	t.Reset(d)
	select {
	case <-t.C:
		return true
	case <-r.stopCh:
		t.Stop()
		return false
	}
}

// Run generates load as described by cfg until the duration elapsed, the
// request budget is spent or ctx is cancelled, and returns the report.
// Requests in flight when the run ends are completed (bounded by the
// timeout) and counted.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tg, err := parseTarget(cfg.URL, cfg.Format)
	if err != nil {
		return nil, err
	}
	pool, err := NewRequestPool(PoolConfig{
		Host: tg.host, Path: tg.path, Format: cfg.Format, Metrics: cfg.Metrics,
		Clients: cfg.Clients, Bodies: cfg.Bodies, Gzip: cfg.Gzip, Seed: cfg.Seed,
	})
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, pool: pool, stopCh: make(chan struct{})}
	for range cfg.Conns {
		r.workers = append(r.workers, &worker{
			client: NewClient(tg.addr, cfg.Timeout),
			errs:   make(map[string]uint64),
		})
	}

	start := time.Now()
	if cfg.Rate > 0 {
		r.sched = NewSchedule(start, cfg.Rate)
		if cfg.Duration > 0 {
			r.end = start.Add(cfg.Duration)
		}
	}
	if cfg.Duration > 0 {
		timer := time.AfterFunc(cfg.Duration, r.halt)
		defer timer.Stop()
	}
	watchDone := make(chan struct{})
	defer close(watchDone)
	go func() {
		select {
		case <-ctx.Done():
			r.halt()
		case <-watchDone:
		}
	}()

	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Go(func() {
			defer w.client.Close()
			if r.sched != nil {
				r.openLoop(ctx, w)
			} else {
				r.closedLoop(ctx, w)
			}
		})
	}
	progressDone := make(chan struct{})
	var progressWG sync.WaitGroup
	if cfg.Progress != nil {
		progressWG.Go(func() { r.progress(start, progressDone) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(progressDone)
	progressWG.Wait()

	var unsent uint64
	if r.sched != nil && cfg.Duration > 0 {
		due := r.sched.DueBefore(start.Add(cfg.Duration))
		if cfg.Requests > 0 {
			due = min(due, uint64(cfg.Requests))
		}
		var sent uint64
		for _, w := range r.workers {
			sent += w.sent
		}
		if due > sent {
			unsent = due - sent
		}
	}
	return r.report(tg, elapsed, unsent), nil
}

// closedLoop sends requests back to back until the run halts.
func (r *runner) closedLoop(ctx context.Context, w *worker) {
	backoff := time.NewTimer(time.Hour)
	backoff.Stop()
	limit := uint64(r.cfg.Requests)
	for !r.stop.Load() {
		i := r.tickets.Add(1) - 1
		if limit > 0 && i >= limit {
			r.halt()
			return
		}
		w.wbuf = r.pool.AppendRequest(w.wbuf[:0], i)
		begin := time.Now()
		resp, err := w.client.Do(ctx, w.wbuf)
		w.record(resp, err, time.Since(begin), r.pool.metrics)
		if err != nil && ErrorKind(err) == ErrKindConnect && !r.wait(backoff, connectBackoff) {
			return
		}
	}
}

// openLoop takes tickets from the schedule, waits for each one's due time
// and measures latency from it.
func (r *runner) openLoop(ctx context.Context, w *worker) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	limit := uint64(r.cfg.Requests)
	for !r.stop.Load() {
		i, due := r.sched.Next()
		if (limit > 0 && i >= limit) || (!r.end.IsZero() && !due.Before(r.end)) {
			return // the last tickets are in flight on other workers
		}
		if d := time.Until(due); d > 0 && !r.wait(timer, d) {
			return
		}
		if r.stop.Load() {
			return
		}
		w.wbuf = r.pool.AppendRequest(w.wbuf[:0], i)
		sendAt := time.Now()
		w.lag.Record(sendAt.Sub(due))
		resp, err := w.client.Do(ctx, w.wbuf)
		w.record(resp, err, time.Since(due), r.pool.metrics)
	}
}

// record accounts for one finished request.
func (w *worker) record(resp Response, err error, latency time.Duration, metrics int) {
	w.sent++
	if err != nil {
		w.errs[ErrorKind(err)]++
		w.failedN.Add(1)
		w.doneN.Add(1)
		return
	}
	w.lat.Record(latency)
	w.status[resp.Status]++
	if resp.Status >= 200 && resp.Status < 300 {
		w.metrics += uint64(metrics)
	} else {
		w.failedN.Add(1)
	}
	w.doneN.Add(1)
}

// progress prints one line per interval until done is closed.
func (r *runner) progress(start time.Time, done <-chan struct{}) {
	t := time.NewTicker(r.cfg.ProgressInterval)
	defer t.Stop()
	var lastN, lastFailed uint64
	last := start
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			var n, failed uint64
			for _, w := range r.workers {
				n += w.doneN.Load()
				failed += w.failedN.Load()
			}
			secs := now.Sub(last).Seconds()
			fmt.Fprintf(r.cfg.Progress, "%7.1fs %10.0f req/s %8d errors/s %12d requests %10d errors\n",
				now.Sub(start).Seconds(), float64(n-lastN)/secs, uint64(float64(failed-lastFailed)/secs), n, failed)
			lastN, lastFailed, last = n, failed, now
		}
	}
}

// report merges the workers' results. It must run after every worker
// returned.
func (r *runner) report(tg target, elapsed time.Duration, unsent uint64) *Report {
	var lat, lag Histogram
	rep := &Report{
		URL:        "http://" + tg.host + tg.path,
		Format:     r.cfg.Format.String(),
		Gzip:       r.cfg.Gzip,
		Conns:      r.cfg.Conns,
		Metrics:    r.cfg.Metrics,
		Clients:    r.cfg.Clients,
		TargetRate: r.cfg.Rate,
		Elapsed:    elapsed,
		Status:     map[int]uint64{},
		Errors:     map[string]uint64{},
		Unsent:     unsent,
		BodyBytes:  r.pool.MeanBodyBytes(),
	}
	var metrics uint64
	for _, w := range r.workers {
		lat.Merge(&w.lat)
		lag.Merge(&w.lag)
		metrics += w.metrics
		rep.Requests += w.sent
		for code, n := range w.status {
			if n > 0 {
				rep.Status[code] += n
				if code >= 200 && code < 300 {
					rep.Succeeded += n
				}
			}
		}
		for kind, n := range w.errs {
			rep.Errors[kind] += n
			rep.TransportErrors += n
		}
	}
	if secs := elapsed.Seconds(); secs > 0 {
		rep.RequestsPerSec = float64(rep.Requests) / secs
		rep.MetricsPerSec = float64(metrics) / secs
	}
	if rep.Requests > 0 {
		rep.SuccessRate = float64(rep.Succeeded) / float64(rep.Requests)
	}
	rep.Latency = summarize(&lat)
	if r.sched != nil {
		s := summarize(&lag)
		rep.ScheduleLag = &s
	}
	return rep
}

// Mode returns "open loop at R req/s" or "closed loop".
func (rep *Report) Mode() string {
	if rep.TargetRate > 0 {
		return "open loop at " + strings.TrimSuffix(fmt.Sprintf("%.6g", rep.TargetRate), ".") + " req/s"
	}
	return "closed loop"
}
