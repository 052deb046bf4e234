// Command nethttpbase runs the net/http baseline server (package
// metricstream/bench/baseline/nethttpbase) until SIGINT or SIGTERM.
package main

import (
	"metricstream/bench/baseline/ingest"
	"metricstream/bench/baseline/nethttpbase"
	"metricstream/bench/cmd/internal/basecmd"
)

func main() {
	basecmd.Main("nethttpbase", func(cfg ingest.ServerConfig) (basecmd.Server, error) {
		return nethttpbase.Start(cfg)
	})
}
