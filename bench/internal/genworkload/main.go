// Command genworkload writes bench/wrk/workload.lua, the wrk scripts' copy
// of the workload that bench/workload.go defines. `go generate ./bench/`
// runs it from the bench directory.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"metricstream/bench"
)

func main() {
	out := flag.String("o", "wrk/workload.lua", "output `file`")
	flag.Parse()
	var b bytes.Buffer
	if err := bench.WriteWorkloadLua(&b); err != nil {
		fmt.Fprintf(os.Stderr, "genworkload: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "genworkload: %v\n", err)
		os.Exit(1)
	}
}
