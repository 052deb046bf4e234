package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

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
	eng     gnet.Engine
	addr    string
	ready   chan struct{} // closed by OnBoot
	runDone chan error    // receives gnet.Run's result

	// loopsMu guards loopList's growth; readers load loopList atomically.
	loopsMu  sync.Mutex
	loopByEL sync.Map                     // gnet.EventLoop → *loopState
	loopList atomic.Pointer[[]*loopState] // every loop seen so far

	openConns atomic.Int64  // connections open across all loops, for -max-conns
	inflight  atomic.Int64  // batches handed to storage whose ack has not arrived
	draining  atomic.Bool   // set by Shutdown: no new connections, close after answering
	stopped   chan struct{} // closed by Shutdown; ends the summary logger
	// paceOnTime makes busy loops yield to a file writer that waits (see
	// yieldToWriter); set once in New.
	paceOnTime bool

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
		cfg:     cfg,
		log:     cfg.Logger,
		started: time.Now(),
		ready:   make(chan struct{}),
		runDone: make(chan error, 1),
		stopped: make(chan struct{}),
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
	st, err := storage.Open(storage.Config{
		Dir:          cfg.DataDir,
		SegmentBytes: cfg.SegmentBytes,
		MaxDiskBytes: cfg.MaxDiskBytes,
		QueueBytes:   cfg.QueueBytes,
		Ack:          cfg.Ack,
		Writer:       cfg.Writer,
		Logger:       cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	s.store = st
	s.paceOnTime = st.Stats().Writer == storage.WriterFile
	empty := []*loopState{}
	s.loopList.Store(&empty)
	return s, nil
}

// Config returns the effective configuration (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// Start starts the event loops and returns once the listener is bound, or
// with the error that kept it from binding.
func (s *Server) Start() error {
	s.engine.Start()
	h := &handler{srv: s}
	go func() {
		err := gnet.Run(h, "tcp://"+s.cfg.Addr,
			gnet.WithNumEventLoop(s.cfg.Loops),
			gnet.WithReuseAddr(true),
			gnet.WithTicker(true),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithReadBufferCap(64<<10),
			gnet.WithLogger(gnetLogger{s.log}),
		)
		s.runDone <- err
	}()
	select {
	case <-s.ready:
	case err := <-s.runDone:
		s.engine.Stop()
		_ = s.store.Close()
		if err == nil {
			err = errors.New("event loops stopped before start")
		}
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	s.log.Info("listening", "addr", s.addr, "loops", s.cfg.Loops, "shards", s.cfg.Shards,
		"writer", s.store.Stats().Writer, "ack", s.cfg.Ack.String(), "version", s.cfg.Version)
	if s.cfg.StatsInterval > 0 {
		go s.logSummaries()
	}
	return nil
}

// Addr returns the bound listen address (host:port), valid after Start.
func (s *Server) Addr() string { return s.addr }

// boundAddr asks the kernel which address the listener got (port 0 picks
// a free port).
func boundAddr(eng gnet.Engine) (string, error) {
	fd, err := eng.Dup()
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return "", err
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port)), nil
	case *unix.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port)), nil
	}
	return "", fmt.Errorf("unexpected listener address %T", sa)
}

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
// ctx bounds the wait for acknowledgements; the store is closed (and so
// every queued batch written) whatever ctx says.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.draining.Store(true)
	close(s.stopped)
	s.log.Info("draining", "inflight", s.inflight.Load())
	// Close idle connections now; busy ones close after their answers.
	s.forEachLoop(func(ls *loopState) { ls.scan() })
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			s.log.Warn("drain deadline passed with batches in flight", "inflight", s.inflight.Load())
			goto closeStore
		case <-tick.C:
		}
	}
	// Every ack has arrived; let each loop run the wake-ups queued before
	// this point so that the answers reach the sockets.
	s.forEachLoop(func(ls *loopState) { ls.scan() })
closeStore:
	storeErr := s.store.Close()
	s.engine.Stop()
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	engErr := s.eng.Stop(stopCtx)
	runErr := <-s.runDone
	s.log.Info("stopped", "bytes_written", s.store.Stats().BytesWritten)
	return errors.Join(storeErr, engErr, runErr)
}

// forEachLoop runs fn on every event loop's goroutine and waits for all of
// them. Tasks on a loop run in the order they were queued, so everything
// queued on a loop before this call has run when it returns.
func (s *Server) forEachLoop(fn func(*loopState)) {
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
	wg.Wait()
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
				attrs = append(attrs, "errors_"+reasonNames[i], d)
			}
		}
		attrs = append(attrs, "errors", errs)
		s.log.Info("summary", attrs...)
		prev, prevAt = cur, now
	}
}
