package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"metricstream/engine"
	"metricstream/storage"
)

// Server is one MetricStream instance: a gnet engine of event loops in
// front of the rate-limiting engine and the segment store.
type Server struct {
	cfg     Config
	log     *slog.Logger
	engine  *engine.Engine
	store   *storage.Store
	auth    atomic.Pointer[tokenTable] // nil when -auth-file is not set; swapped by ReloadAuth
	started time.Time
	logs    *logLimiter

	// gnet engine handle, set in OnBoot; read after ready is closed.
	eng   gnet.Engine
	addr  string
	ready chan struct{} // closed by OnBoot

	// Lifecycle. life guards phase (held by Start while it binds); runErr is written by the goroutine
	// running gnet before it closes runExited, and read after that.
	life      sync.Mutex
	phase     phase
	runExited chan struct{}
	runErr    error
	storeOnce sync.Once // the store is closed once, by closeStore
	storeErr  error

	databases databaseSet // InfluxDB database names seen (GET /query)

	// loopsMu guards loopList's growth; readers load loopList atomically.
	loopsMu  sync.Mutex
	loopByEL sync.Map                     // gnet.EventLoop → *loopState
	loopList atomic.Pointer[[]*loopState] // every loop seen so far
	// loopSlots[i] is the loop that owns storage stream i, set by loopFor
	// (in the order loops first see a connection); read by wakeLoop.
	loopSlots []atomic.Pointer[loopState]

	ticks     atomic.Uint64 // OnTick calls, each asking every loop for a scan
	openConns atomic.Int64  // connections open across all loops, for -max-conns
	inflight  atomic.Int64  // batches handed to storage whose ack has not arrived
	draining  atomic.Bool   // set by Shutdown: no new connections, close after answering
	stopped   chan struct{} // closed by Shutdown; ends the summary logger

	shutdownOnce sync.Once
	shutdownErr  error
}

// New validates cfg, opens the store (repairing a torn segment tail) and
// builds the rate-limiting engine. Start begins serving.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		started:   time.Now(),
		ready:     make(chan struct{}),
		runExited: make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	s.logs = newLogLimiter(s.log, 10)
	if cfg.AuthFile != "" {
		t, err := loadTokenFile(cfg.AuthFile)
		if err != nil {
			return nil, err
		}
		s.auth.Store(t)
	}
	eng, err := engine.New(engine.Config{
		Shards:          cfg.Shards,
		Rate:            cfg.Rate,
		Burst:           cfg.Burst,
		MaxClients:      cfg.MaxClients,
		ClientTTL:       cfg.ClientTTL,
		MonitorInterval: cfg.MonitorInterval,
	})
	if err != nil {
		return nil, err
	}
	s.engine = eng
	s.loopSlots = make([]atomic.Pointer[loopState], cfg.Loops)
	st, err := storage.Open(storage.Config{
		Dir:          cfg.DataDir,
		Loops:        cfg.Loops,
		Wake:         s.wakeLoop,
		Retention:    cfg.Retention,
		SegmentBytes: cfg.SegmentBytes,
		MaxDiskBytes: cfg.MaxDiskBytes,
		CacheBytes:   cfg.CacheBytes,
		QueueBytes:   cfg.QueueBytes,
		Ack:          cfg.Ack,
		Writer:       cfg.Writer,
		Logger:       cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	s.store = st
	empty := []*loopState{}
	s.loopList.Store(&empty)
	return s, nil
}

// Config returns the effective configuration (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// phase is where a Server is in its life.
type phase uint8

const (
	phaseNew     phase = iota // built by New, not started
	phaseRunning              // Start succeeded
	phaseFailed               // Start failed: the store is closed
	phaseShut                 // Shutdown was called
)

// Start starts the event loops and returns once the listener is bound, or
// with the error that kept it from binding; the store is then closed, and
// Shutdown only returns. A Server starts at most once.
func (s *Server) Start() error {
	// Holding life while binding makes a concurrent Shutdown wait for the
	// outcome, so that it never sees a half-started server.
	s.life.Lock()
	defer s.life.Unlock()
	if s.phase != phaseNew {
		return errors.New("server: Start called twice or after Shutdown")
	}
	addr, err := freeAddr(s.cfg.Addr)
	if err != nil {
		s.phase = phaseFailed
		s.engine.Stop()
		_ = s.closeStore()
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	s.engine.Start()
	h := &handler{srv: s}
	go func() {
		// Each loop accepts on its own SO_REUSEPORT listener and runs
		// OnOpen at once (see freeAddr): a connection over -max-conns is
		// closed where it was accepted, never queued holding a socket.
		s.runErr = gnet.Run(h, "tcp://"+addr,
			gnet.WithNumEventLoop(s.cfg.Loops),
			gnet.WithReuseAddr(true),
			gnet.WithReusePort(true),
			gnet.WithTicker(true),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithReadBufferCap(64<<10),
			gnet.WithLogger(gnetLogger{s.log}),
		)
		close(s.runExited)
	}()
	select {
	case <-s.ready:
	case <-s.runExited:
		s.phase = phaseFailed
		s.engine.Stop()
		_ = s.closeStore()
		err := s.runErr
		if err == nil {
			err = errors.New("event loops stopped before start")
		}
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	s.phase = phaseRunning
	s.log.Info("listening", "addr", s.addr, "loops", s.cfg.Loops, "shards", s.cfg.Shards,
		"writer", s.store.Stats().Writer, "ack", s.cfg.Ack.String(), "version", s.cfg.Version)
	if s.cfg.StatsInterval > 0 {
		go s.logSummaries()
	}
	return nil
}

// Store returns the segment store the server appends to (for the
// forwarder, which reads what it has written). It is open from New until
// Shutdown, or until a failed Start.
func (s *Server) Store() *storage.Store { return s.store }

// closeStore closes the store the first time it is called and returns
// that result every time.
func (s *Server) closeStore() error {
	s.storeOnce.Do(func() { s.storeErr = s.store.Close() })
	return s.storeErr
}

// Addr returns the bound listen address (host:port), valid after Start.
func (s *Server) Addr() string { return s.addr }

// ReloadAuth re-reads the token file (SIGHUP). Open connections are kept;
// their next request is checked against the new tokens. On error the old
// tokens stay in force.
func (s *Server) ReloadAuth() error {
	if s.cfg.AuthFile == "" {
		return nil
	}
	t, err := loadTokenFile(s.cfg.AuthFile)
	if err != nil {
		return err
	}
	s.auth.Store(t)
	s.log.Info("auth file reloaded", "tokens", t.len())
	return nil
}

// Shutdown drains the server: it refuses new connections, answers the
// requests already read (with Connection: close), waits for their batches
// to be acknowledged, drains and syncs the store and stops the event loops.
//
// As with net/http's Server.Shutdown, ctx bounds every wait: when it ends
// first, Shutdown returns its error (the event loops finish stopping in the
// background, and the store is closed after them). Otherwise the store is
// closed, and so every batch it accepted written, before Shutdown returns. Shutdown may be called without Start or
// after a failed Start (it then closes what New opened); every call after
// the first returns the first call's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.life.Lock()
	was := s.phase
	s.phase = phaseShut
	s.life.Unlock()
	close(s.stopped)
	if was != phaseRunning {
		// Not started, or Start failed: no event loop runs.
		s.engine.Stop()
		return s.closeStore()
	}
	s.draining.Store(true)
	s.log.Info("draining", "inflight", s.inflight.Load())
	// Close idle connections now; busy ones close after their answers.
	s.forEachLoop(ctx, func(ls *loopState) { ls.scan() })
	waitErr := s.waitInflight(ctx)
	if waitErr == nil {
		// Every ack has arrived; let each loop run the wake-ups queued
		// before this point so that the answers reach the sockets.
		waitErr = s.forEachLoop(ctx, func(ls *loopState) { ls.scan() })
	}
	// Each loop owns its storage stream: the store is closed (and takes the
	// streams over) once the loops have stopped.
	s.engine.Stop()
	engErr := s.eng.Stop(ctx)
	select {
	case <-s.runExited:
		engErr = errors.Join(engErr, s.runErr)
	case <-ctx.Done():
		go func() {
			<-s.runExited
			_ = s.closeStore()
		}()
		return errors.Join(waitErr, engErr, fmt.Errorf("event loops still stopping (the store closes after them): %w", ctx.Err()))
	}
	storeErr := s.closeStore()
	s.log.Info("stopped", "bytes_written", s.store.Stats().BytesWritten)
	return errors.Join(waitErr, storeErr, engErr)
}

// waitInflight waits until every batch handed to storage is acknowledged,
// or ctx ends.
func (s *Server) waitInflight(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			s.log.Warn("drain deadline passed with batches in flight", "inflight", s.inflight.Load())
			return nil // the store's Close still writes them
		case <-tick.C:
		}
	}
	return nil
}

// forEachLoop runs fn on every event loop's goroutine and waits for all of
// them, or for ctx to end. Tasks on a loop run in the order they were
// queued, so everything queued on a loop before this call has run when it
// returns nil.
func (s *Server) forEachLoop(ctx context.Context, fn func(*loopState)) error {
	var wg sync.WaitGroup
	for _, ls := range s.loops() {
		wg.Add(1)
		err := ls.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			defer wg.Done()
			fn(ls)
			return nil
		}))
		if err != nil {
			wg.Done()
		}
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wakeLoop queues the group commit of storage stream loop on the loop that
// owns it (storage.Config.Wake). Called from any goroutine.
func (s *Server) wakeLoop(loop int) {
	if ls := s.loopSlots[loop].Load(); ls != nil {
		_ = ls.el.Execute(context.Background(), ls.flusher) // fails only while stopping: Close writes the rest
	}
}

// loops returns every event loop's state seen so far.
func (s *Server) loops() []*loopState { return *s.loopList.Load() }

// loopFor returns the state of event loop el, creating it on first use.
// Called from OnOpen on el's own goroutine.
func (s *Server) loopFor(el gnet.EventLoop) *loopState {
	if v, ok := s.loopByEL.Load(el); ok {
		return v.(*loopState)
	}
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	if v, ok := s.loopByEL.Load(el); ok {
		return v.(*loopState)
	}
	ls := newLoopState(s, el)
	idx := len(s.loops())
	if idx >= len(s.loopSlots) {
		panic(fmt.Sprintf("server: event loop %d beyond -loops %d", idx, len(s.loopSlots)))
	}
	ls.stream = s.store.Stream(idx)
	s.loopSlots[idx].Store(ls)
	s.loopByEL.Store(el, ls)
	list := append(append([]*loopState(nil), s.loops()...), ls)
	s.loopList.Store(&list)
	return ls
}

// logSummaries logs a one-line summary every StatsInterval until shutdown.
func (s *Server) logSummaries() {
	t := time.NewTicker(s.cfg.StatsInterval)
	defer t.Stop()
	prev := s.Stats()
	prevAt := time.Now()
	for {
		select {
		case <-s.stopped:
			return
		case <-t.C:
		}
		cur := s.Stats()
		now := time.Now()
		secs := now.Sub(prevAt).Seconds()
		var errs uint64
		attrs := []any{
			"requests_per_s", fmt.Sprintf("%.1f", float64(cur.Requests-prev.Requests)/secs),
			"metrics_per_s", fmt.Sprintf("%.1f", float64(cur.MetricsReceived-prev.MetricsReceived)/secs),
			"queue_bytes", cur.QueueBytes,
			"bytes_written", cur.BytesWritten,
			"connections_open", cur.ConnectionsOpen,
		}
		for i := range cur.Errors {
			if d := cur.Errors[i] - prev.Errors[i]; d > 0 {
				errs += d
				attrs = append(attrs, "errors_"+reasons[i].name, d)
			}
		}
		attrs = append(attrs, "errors", errs)
		s.log.Info("summary", attrs...)
		prev, prevAt = cur, now
	}
}
