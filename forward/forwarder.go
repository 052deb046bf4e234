package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Forwarder sends the stored segments to every configured sink. New validates the
// configuration and loads the cursors (so Needed answers from then on); Start begins reading;
// Close stops. It is the storage RetentionGuard and a server StatsAppender.
type Forwarder struct {
	cfg   Config
	log   *slog.Logger
	sinks []*sinkRunner

	// bg runs the sinks' cuts and the HTTP sinks' encodes, all sinks together, on low-priority
	// threads (see background): half the processors (at least one) plus one, so that a cut need
	// not wait for an encode to end. Fewer encoders at once also thrash the caches less: in the
	// pinned load with the sink behind, one encoder at a time forwarded about 15 % more samples
	// than four, for the same ingest.
	bg *background

	startOnce sync.Once
	started   bool // set inside startOnce
	src       Source

	readCancel, sendCancel context.CancelFunc
	wg                     sync.WaitGroup // the sinks' goroutines and the lag updater
	closeOnce              sync.Once
	closed                 chan struct{} // closed once every goroutine stopped
}

// New validates cfg, reads the token files and loads every sink's cursor. It does not touch the
// network.
func New(cfg Config) (*Forwarder, error) {
	if cfg.Dir == "" {
		return nil, errors.New("forward: no data directory")
	}
	if len(cfg.Sinks) == 0 {
		return nil, errors.New("forward: no sink")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.PollInterval = cmpOr(cfg.PollInterval, DefaultPollInterval)
	if cfg.Nice > MaxNice {
		return nil, fmt.Errorf("forward: niceness %d is above %d", cfg.Nice, MaxNice)
	}
	cfg.Nice = cmpOr(cfg.Nice, DefaultNice)
	f := &Forwarder{cfg: cfg, log: cfg.Logger, closed: make(chan struct{})}
	f.bg = newBackground(max(1, runtime.GOMAXPROCS(0)/2)+1, cfg.Nice, func(err error) {
		f.log.Warn("forward: cannot lower the priority of the forwarding threads; forwarding shares the CPU with ingest as an equal",
			"nice", cfg.Nice, "err", err)
	})
	names := map[string]string{}
	for _, sc := range cfg.Sinks {
		sp, err := sc.validate()
		if err != nil {
			return nil, fmt.Errorf("-forward: %w", err)
		}
		if other, dup := names[sp.name]; dup {
			return nil, fmt.Errorf("-forward: %q and %q would share the cursor forward-%s.cursor; name one with a #fragment",
				other, sp.target, sp.name)
		}
		names[sp.name] = sp.target
		r, err := f.newSink(sp)
		if err != nil {
			return nil, err
		}
		f.sinks = append(f.sinks, r)
	}
	return f, nil
}

// newSink builds a sink's runner and loads its cursor and .sent file.
func (f *Forwarder) newSink(sp sinkSpec) (*sinkRunner, error) {
	r := &sinkRunner{
		name: sp.name, url: sp.target, cfg: sp.SinkConfig, dir: f.cfg.Dir, stats: &Stats{}, log: f.log,
		poll: f.cfg.PollInterval, streams: map[int]*stream{}, bg: f.bg, cutJob: bgJob{done: make(chan struct{})},
		slots: make(chan struct{}, sp.Inflight), work: make(chan *batch), done: make(chan *batch, sp.Inflight),
		readChunk: int64(min(max(sp.Batch*256, 64<<10), 16<<20)),
	}
	r.pool.New = func() any { return new(batch) }
	if sp.Rate > 0 {
		r.limiter = rate.NewLimiter(rate.Limit(sp.Rate), max(sp.Batch, int(sp.Rate)))
	}
	bo := backoff{min: sp.MinBackoff, max: sp.MaxBackoff}
	ua := "metricstream/" + cmpOr(f.cfg.Version, "dev")
	switch sp.Format {
	case FormatNATS:
		r.kind = newNATSSink(sp, f.cfg.Dir, ua, bo, r.stats, f.log)
	default:
		r.kind = newHTTPSink(sp.name, sp.post, sp.Format, sp.token, ua, sp.Timeout, sp.Inflight, bo, f.bg, r.stats, f.log)
	}
	if err := r.loadCursor(); err != nil {
		return nil, err
	}
	return r, nil
}

// Start connects the sinks that need it (NATS: connection and stream check) and starts reading
// src. It may be called once; later calls return an error.
func (f *Forwarder) Start(src Source) error {
	err := errors.New("forward: already started")
	f.startOnce.Do(func() {
		f.started = true
		err = f.start(src)
	})
	return err
}

func (f *Forwarder) start(src Source) error {
	if filepath.Clean(src.Dir()) != filepath.Clean(f.cfg.Dir) {
		return fmt.Errorf("forward: source reads %s, configured for %s", src.Dir(), f.cfg.Dir)
	}
	f.src = src
	for _, r := range f.sinks {
		sent, err := openSentFile(filepath.Join(r.dir, cursorFileName(r.name, "sent")))
		if err != nil {
			return fmt.Errorf("forward: sink %s: %w", r.name, err)
		}
		r.sent = sent
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, r := range f.sinks {
		if err := r.kind.start(ctx); err != nil {
			for _, started := range f.sinks[:i] {
				started.kind.close()
			}
			return fmt.Errorf("forward: sink %s: %w", r.name, err)
		}
	}
	readCtx, readCancel := context.WithCancel(context.Background())
	sendCtx, sendCancel := context.WithCancel(context.Background())
	f.readCancel, f.sendCancel = readCancel, sendCancel
	for _, r := range f.sinks {
		r.run(readCtx, sendCtx, src, &f.wg)
		f.log.Info("forward: sink started", "sink", r.name, "url", r.url, "format", r.cfg.Format.String(),
			"batch", r.cfg.Batch, "inflight", r.cfg.Inflight, "rate", r.cfg.Rate, "cursor", formatPositions(r.ackedPositions()))
	}
	f.wg.Add(1)
	go f.observe(readCtx)
	return nil
}

// Close stops reading, lets the requests in flight finish until ctx ends (then abandons them:
// they are sent again on the next start), saves the cursors and releases the sinks. Safe to call
// any number of times, and without or after a failed Start.
func (f *Forwarder) Close(ctx context.Context) error {
	f.closeOnce.Do(func() {
		f.startOnce.Do(func() {}) // a later Start does nothing
		if f.readCancel == nil {
			f.bg.stop()
			close(f.closed)
			return
		}
		f.readCancel()
		go func() {
			f.wg.Wait()
			f.bg.stop() // after the workers: none of them encodes any more
			close(f.closed)
		}()
	})
	var err error
	select {
	case <-f.closed:
	case <-ctx.Done():
		err = fmt.Errorf("forward: requests still in flight at shutdown (sent again on the next start): %w", ctx.Err())
		if f.sendCancel != nil {
			f.sendCancel()
		}
		<-f.closed
	}
	if f.sendCancel != nil {
		f.sendCancel()
	}
	for _, r := range f.sinks {
		if f.readCancel != nil {
			r.kind.close()
			f.logSummary(r)
		}
		if r.sent != nil {
			r.sent.close()
		}
	}
	return err
}

// Stats returns a copy of each sink's counters, by sink name.
func (f *Forwarder) Stats() map[string]Snapshot {
	out := make(map[string]Snapshot, len(f.sinks))
	for _, r := range f.sinks {
		out[r.name] = r.stats.Snapshot()
	}
	return out
}

// AppendJSON appends `,"forward":[…]`, one object per sink (server StatsAppender). It reads
// atomics only.
func (f *Forwarder) AppendJSON(dst []byte) []byte {
	dst = append(dst, `,"forward":[`...)
	for i, r := range f.sinks {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = r.stats.appendJSON(dst, r.name, r.url)
	}
	return append(dst, ']')
}

// AppendPrometheus appends the forwarder's families, one series per sink (server
// StatsAppender). It reads atomics only.
func (f *Forwarder) AppendPrometheus(dst []byte) []byte {
	for _, fam := range promFamilies {
		dst = append(dst, "# HELP "+fam.name+" "+fam.help+"\n# TYPE "+fam.name+" "+fam.typ+"\n"...)
		for _, r := range f.sinks {
			dst = fam.samples(dst, fam.name, r.name, r.stats)
		}
	}
	return dst
}

// formatPositions renders positions for a log line.
func formatPositions(pos []Position) string {
	if len(pos) == 0 {
		return "start of the oldest segments"
	}
	out := ""
	for i, p := range pos {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s@%d", refOf(p).FileName(), p.Off)
	}
	return out
}

// Threads is the number of low-priority threads the forwarder reads and encodes on. Each holds
// a Go processor while it works, so the process should run with that many processors more than it
// has event loops (runtime.GOMAXPROCS), or an encode keeps a loop waiting for a processor.
func (f *Forwarder) Threads() int { return f.bg.n }
