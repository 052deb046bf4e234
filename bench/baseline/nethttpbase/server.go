// Package nethttpbase is the net/http baseline: MetricStream's ingestion
// work (package ingest) served by the standard library's HTTP server with
// its defaults. It answers POST /metrics and GET /health.
package nethttpbase

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"metricstream/bench/baseline/ingest"
)

// Config configures a [Server]; the HTTP baselines share it.
type Config = ingest.ServerConfig

// Server is a running baseline server.
type Server struct {
	ln      net.Listener
	srv     *http.Server
	svc     *ingest.Service
	served  chan error // receives Serve's result once
	bufPool sync.Pool  // of *bytes.Buffer, request bodies
}

// Start opens the data file, listens on cfg.Addr and serves in the
// background until Shutdown.
func Start(cfg Config) (*Server, error) {
	svc, err := ingest.Open(ingest.Config{DataDir: cfg.DataDir, Rate: cfg.Rate})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		svc.Close()
		return nil, fmt.Errorf("nethttpbase: listen: %w", err)
	}
	s := &Server{ln: ln, svc: svc, served: make(chan error, 1)}
	s.bufPool.New = func() any { return new(bytes.Buffer) }
	mux := http.NewServeMux()
	mux.HandleFunc("POST /metrics", s.handleMetrics)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeAnswer(w, ingest.AnswerHealthy)
	})
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	buf := s.bufPool.Get().(*bytes.Buffer)
	defer s.bufPool.Put(buf)
	buf.Reset()
	var body io.Reader = http.MaxBytesReader(w, r.Body, ingest.MaxBodyBytes)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			writeAnswer(w, ingest.Answer{Status: 400, Body: []byte(`{"error":"invalid gzip body"}`)})
			return
		}
		defer zr.Close()
		body = io.LimitReader(zr, ingest.MaxBodyBytes+1)
	}
	if _, err := buf.ReadFrom(body); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeAnswer(w, ingest.AnswerTooLarge)
			return
		}
		writeAnswer(w, ingest.Answer{Status: 400, Body: []byte(`{"error":"cannot read body"}`)})
		return
	}
	if buf.Len() > ingest.MaxBodyBytes {
		writeAnswer(w, ingest.AnswerTooLarge)
		return
	}
	writeAnswer(w, s.svc.Handle(ingest.ClientID(r.Header.Get("Authorization")), buf.Bytes(), now))
}

func writeAnswer(w http.ResponseWriter, a ingest.Answer) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(a.Body)))
	if a.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(a.RetryAfter))
	}
	w.WriteHeader(a.Status)
	w.Write(a.Body) //nolint:errcheck // a failed write means the client left
}

// Shutdown stops accepting, waits for active requests until ctx ends,
// then closes the data file.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	if serr := <-s.served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if cerr := s.svc.Close(); err == nil {
		err = cerr
	}
	return err
}
