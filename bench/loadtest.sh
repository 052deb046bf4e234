#!/bin/sh
# Side-by-side load test (`make loadtest`): builds MetricStream with the
# io_uring writer, the three baselines and the orchestrator into bin/, then
# runs bin/loadtest from the repository root, which also writes the chart
# bench/loadtest.svg (-svg). Arguments, and the words of
# $LOADTEST_FLAGS before them, go to bin/loadtest (bin/loadtest -h lists
# them); the report is printed on stdout.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
mkdir -p bin
"$GO" build -ldflags "-X main.version=$VERSION" -o bin/metricstream ./cmd/metricstream
"$GO" build -o bin/ ./bench/cmd/nethttpbase ./bench/cmd/fasthttpbase ./bench/cmd/gnetnop ./bench/cmd/loadtest
# shellcheck disable=SC2086 # LOADTEST_FLAGS is split into words on purpose.
exec bin/loadtest ${LOADTEST_FLAGS:-} "$@"
