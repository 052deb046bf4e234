// Command fasthttpbase runs the fasthttp baseline server (package
// metricstream/bench/baseline/fasthttpbase) until SIGINT or SIGTERM.
package main

import (
	"metricstream/bench/baseline/fasthttpbase"
	"metricstream/bench/baseline/ingest"
	"metricstream/bench/cmd/internal/basecmd"
)

func main() {
	basecmd.Main("fasthttpbase", func(cfg ingest.ServerConfig) (basecmd.Server, error) {
		return fasthttpbase.Start(cfg)
	})
}
