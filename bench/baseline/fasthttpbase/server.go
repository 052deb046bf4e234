// Package fasthttpbase is the fasthttp baseline: MetricStream's ingestion
// work (package ingest) served by github.com/valyala/fasthttp with its
// defaults. It answers POST /metrics and GET /health.
package fasthttpbase

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"metricstream/bench/baseline/ingest"
)

// Config configures a [Server]; the HTTP baselines share it.
type Config = ingest.ServerConfig

// Server is a running baseline server.
type Server struct {
	ln     net.Listener
	srv    *fasthttp.Server
	svc    *ingest.Service
	served chan error // receives Serve's result once
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
		return nil, fmt.Errorf("fasthttpbase: listen: %w", err)
	}
	s := &Server{ln: ln, svc: svc, served: make(chan error, 1)}
	s.srv = &fasthttp.Server{
		Handler:            s.handle,
		Name:               "fasthttpbase",
		ReadTimeout:        10 * time.Second,
		IdleTimeout:        60 * time.Second,
		MaxRequestBodySize: ingest.MaxBodyBytes,
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case "/metrics":
		if !ctx.IsPost() {
			ctx.Response.Header.Set("Allow", "POST")
			writeAnswer(ctx, ingest.Answer{Status: 405, Body: []byte(`{"error":"Method not allowed"}`)})
			return
		}
		body := ctx.PostBody()
		if string(ctx.Request.Header.ContentEncoding()) == "gzip" {
			b, err := ctx.Request.BodyGunzip()
			if err != nil {
				writeAnswer(ctx, ingest.Answer{Status: 400, Body: []byte(`{"error":"invalid gzip body"}`)})
				return
			}
			body = b
		}
		client := ingest.ClientID(string(ctx.Request.Header.Peek("Authorization")))
		writeAnswer(ctx, s.svc.Handle(client, body, time.Now()))
	case "/health":
		writeAnswer(ctx, ingest.AnswerHealthy)
	default:
		writeAnswer(ctx, ingest.AnswerNotFound)
	}
}

func writeAnswer(ctx *fasthttp.RequestCtx, a ingest.Answer) {
	ctx.SetStatusCode(a.Status)
	ctx.SetContentType("application/json")
	if a.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(a.RetryAfter))
	}
	ctx.SetBody(a.Body)
}

// Shutdown stops accepting, waits for open connections to go idle until
// ctx ends, then closes the data file.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.ShutdownWithContext(ctx)
	if serr := <-s.served; serr != nil && !errors.Is(serr, net.ErrClosed) && err == nil {
		err = serr
	}
	if cerr := s.svc.Close(); err == nil {
		err = cerr
	}
	return err
}
