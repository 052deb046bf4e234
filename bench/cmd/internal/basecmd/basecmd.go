// Package basecmd is the command-line shell the HTTP baseline commands
// share: the same flags, start-up line and SIGINT/SIGTERM shutdown.
package basecmd

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"metricstream/bench/baseline/ingest"
)

// Server is a running baseline server.
type Server interface {
	Addr() net.Addr
	Shutdown(ctx context.Context) error
}

// Main parses the flags into an ingest.ServerConfig, starts the server
// with start and serves until SIGINT or SIGTERM, then shuts it down.
// name prefixes its messages.
func Main(name string, start func(ingest.ServerConfig) (Server, error)) {
	var cfg ingest.ServerConfig
	flag.StringVar(&cfg.Addr, "addr", ":8080", "listen address")
	flag.StringVar(&cfg.DataDir, "data-dir", "./data-baseline", "directory of the JSON-lines file "+ingest.FileName)
	flag.Float64Var(&cfg.Rate, "rate", ingest.DefaultRate, "per-client limit in requests/s (burst equal); 0 disables limiting")
	flag.Parse()
	if cfg.Rate < 0 {
		fmt.Fprintln(os.Stderr, name+": -rate must not be negative")
		os.Exit(2)
	}
	s, err := start(cfg)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%s: listening on %s, data in %s", name, s.Addr(), cfg.DataDir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	<-ctx.Done()
	stop()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		log.Fatal(err)
	}
}
