// Command fasthttpbase runs the fasthttp baseline server (package
// metricstream/bench/baseline/fasthttpbase) until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"metricstream/bench/baseline/fasthttpbase"
	"metricstream/bench/baseline/ingest"
)

func main() {
	var cfg fasthttpbase.Config
	flag.StringVar(&cfg.Addr, "addr", ":8080", "listen address")
	flag.StringVar(&cfg.DataDir, "data-dir", "./data-baseline", "directory of the JSON-lines file "+ingest.FileName)
	flag.Float64Var(&cfg.Rate, "rate", ingest.DefaultRate, "per-client limit in requests/s (burst equal); 0 disables limiting")
	flag.Parse()
	if cfg.Rate < 0 {
		fmt.Fprintln(os.Stderr, "fasthttpbase: -rate must not be negative")
		os.Exit(2)
	}
	s, err := fasthttpbase.Start(cfg)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("fasthttpbase: listening on %s, data in %s", s.Addr(), cfg.DataDir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	<-ctx.Done()
	stop()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		log.Fatal(err)
	}
}
