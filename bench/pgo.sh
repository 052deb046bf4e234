#!/bin/sh
# Refreshes cmd/metricstream/default.pgo (`make pgo`), the CPU profile that
# `go build` uses for profile-guided optimisation of bin/metricstream: it
# inlines and lays out the request path by where the CPU went under load.
#
# It builds the server without a profile, starts it on a free 127.0.0.1
# port with -cpuprofile, drives it with bin/loadgen (JSON batches, then line
# protocol, 10 metrics per request, 64 connections), stops it with SIGTERM
# and copies the profile it wrote. PGO_SECONDS (default 20) is the length
# of the JSON run; the line-protocol run takes a quarter of it.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
secs=${PGO_SECONDS:-20}
tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p bin
"$GO" build -pgo=off -o "$tmp/metricstream" ./cmd/metricstream
"$GO" build -o bin/loadgen ./cmd/loadgen

"$tmp/metricstream" -addr 127.0.0.1:0 -data-dir "$tmp/data" -rate 1000000000 \
	-stats-interval 0 -cpuprofile "$tmp/cpu.pprof" >"$tmp/log" 2>&1 &
pid=$!
addr=
for _ in $(seq 100); do
	addr=$(sed -n 's/.*msg=listening addr=\([^ ]*\).*/\1/p' "$tmp/log")
	[ -n "$addr" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$addr" ]; then
	echo "pgo: the server did not start:" >&2
	cat "$tmp/log" >&2
	exit 1
fi

bin/loadgen -q -url "http://$addr/metrics" -format json -d "${secs}s"
bin/loadgen -q -url "http://$addr/metrics" -format line -d "$((secs / 4 + 1))s"

kill -TERM "$pid"
wait "$pid"
pid=
cp "$tmp/cpu.pprof" cmd/metricstream/default.pgo
echo "pgo: wrote cmd/metricstream/default.pgo from ${secs}s of JSON and $((secs / 4 + 1))s of line protocol at http://$addr"
"$GO" tool pprof -top -nodecount 12 cmd/metricstream/default.pgo 2>/dev/null | sed -n '/flat%/,$p'
