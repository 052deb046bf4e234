// Command gnetnop runs the I/O-ceiling server (package
// metricstream/bench/baseline/gnetnop), which answers every request with a
// fixed 200 and does no work, until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"metricstream/bench/baseline/gnetnop"
)

func main() {
	var cfg gnetnop.Config
	flag.StringVar(&cfg.Addr, "addr", ":8080", "listen address")
	flag.IntVar(&cfg.Loops, "loops", 0, "event loops; 0 means one per CPU")
	flag.Parse()
	s, err := gnetnop.Start(cfg)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("gnetnop: listening on %s", s.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	<-ctx.Done()
	stop()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		log.Fatal(err)
	}
}
