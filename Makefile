# MetricStream build, test and benchmark entry points. `make` lists them.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The io_uring writer uses only iouring-go's syscall package (no
# go:linkname): every build links it with no tag and no linker flag.
LDFLAGS   := -X main.version=$(VERSION)
BIN       := bin
ADDR      ?= :8080
DATA      ?= ./data
FUZZTIME  ?= 10m
# make test fuzzes each target for a count of inputs, not a duration: with a
# duration, Go 1.26's fuzz coordinator can fail a target that found nothing
# with "context deadline exceeded" as the time runs out (go.dev/issue/75804).
TEST_FUZZTIME ?= 10000x

.PHONY: all help build run test vet fmt bench loadtest fuzz fuzz-short clean cross pgo test-386 test-nats-current

all: help

help:
	@echo "make build     build bin/metricstream and bin/loadgen"
	@echo "make run       build and start the server on $(ADDR) with data in $(DATA)"
	@echo "make test      vet, then every test with the race detector (storage tests run for both writers)"
	@echo "make cross     build every package for each of CROSS_TARGETS (linux with io_uring, darwin with the file writer)"
	@echo "make test-386  unit tests of codec, engine and storage as 32-bit x86 (32-bit ints, 64-bit atomics)"
	@echo "make test-nats-current  the NATS tests against nats-server $(NATS_SERVER_VERSION), built into bin/ (make test runs it)"
	@echo "make bench     Go micro-benchmarks with -benchmem"
	@echo "make loadtest  side-by-side wrk comparison against the baselines (prints a table of ratios)"
	@echo "make pgo       refresh cmd/metricstream/default.pgo, the CPU profile go build optimises the server with"
	@echo "make fuzz      run every fuzz target for FUZZTIME=$(FUZZTIME)"
	@echo "make clean     remove bin/"

build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/metricstream ./cmd/metricstream
	$(GO) build -o $(BIN)/loadgen ./cmd/loadgen

run: build
	$(BIN)/metricstream -addr $(ADDR) -data-dir $(DATA)

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# The integration tests start the real binary named by METRICSTREAM_BIN.
# The engine's latency and allocation tests are built only without the race
# detector, which distorts both: one run of the engine's tests without it,
# with its costlier self-checks (the invariants tag) on.
test: vet build
	METRICSTREAM_BIN=$(CURDIR)/$(BIN)/metricstream $(GO) test -race -count=1 -timeout 8m ./...
	$(GO) test -count=1 -tags invariants ./engine/
	@# the zero-allocation checks are built without -race, which allocates
	$(GO) test -count=1 -run 'Allocs$$' ./server/ ./codec/
	$(MAKE) --no-print-directory test-nats-current cross test-386
	$(MAKE) --no-print-directory fuzz-short

# The NATS tests run first against the nats-server on PATH (Debian 12's 2.9.10), then against a
# current release built from the Go module proxy: the replica comparison of the cluster tests
# is strict there, while 2.9.10 is known to let replicas diverge (docs/fleet.md).
NATS_SERVER_VERSION = v2.15.3

test-nats-current: build
	GOBIN=$(CURDIR)/$(BIN) $(GO) install github.com/nats-io/nats-server/v2@$(NATS_SERVER_VERSION)
	METRICSTREAM_BIN=$(CURDIR)/$(BIN)/metricstream METRICSTREAM_NATS_SERVER=$(CURDIR)/$(BIN)/nats-server \
		$(GO) test -race -count=1 -timeout 5m -run '^TestForwardNATS' ./cmd/metricstream/

# Edge hosts are often ARM or 32-bit: every package must build for each of
# these, the linux ones with the io_uring writer (every linux build links
# it), darwin with the portable file writer. cgo is off, as in a release build.
CROSS_TARGETS = linux/amd64 linux/arm64 linux/arm linux/386 darwin/arm64

cross:
	@for t in $(CROSS_TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; \
		echo "cross-build $$t"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOARM=7 $(GO) build -ldflags '$(LDFLAGS)' ./... || exit 1; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOARM=7 $(GO) vet ./engine/ ./codec/ ./storage/ || exit 1; \
	done

# 386 runs natively on amd64: the unit tests then see 32-bit ints and
# pointers and 4-byte-aligned plain int64s. The race detector does not
# support 386, so these run without it.
test-386:
	CGO_ENABLED=0 GOARCH=386 $(GO) test -count=1 -timeout 4m ./codec/ ./engine/ ./storage/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

loadtest: build
	./bench/loadtest.sh

# go build uses cmd/metricstream/default.pgo by itself (-pgo=auto); this
# profiles the server under PGO_SECONDS (default 20) of loadgen's load.
pgo:
	GO=$(GO) ./bench/pgo.sh

# Each fuzz target on its own: go test -fuzz accepts one target at a time.
FUZZ_TARGETS = $(shell grep -ho '^func Fuzz[A-Za-z0-9_]*' $$(git ls-files '*_test.go') 2>/dev/null | sed 's/func //' | sort -u)

# A failing input is written to <package>/testdata/fuzz/<target>/. A run that
# fails with only "context deadline exceeded" and wrote none met that
# coordinator defect (see TEST_FUZZTIME): it is reported, and the next target runs.
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$$(dirname $$(grep -l "^func $$t(" $$(git ls-files '*_test.go') | head -1)); \
		echo "fuzz $$t in ./$$pkg for $(FUZZTIME)"; \
		before=$$(ls $$pkg/testdata/fuzz/$$t 2>/dev/null | wc -l); \
		out=$$(mktemp); \
		( $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) ./$$pkg 2>&1; echo "fuzz-exit $$?" ) | tee $$out; \
		if tail -1 $$out | grep -qx 'fuzz-exit 0'; then rm -f $$out; continue; fi; \
		after=$$(ls $$pkg/testdata/fuzz/$$t 2>/dev/null | wc -l); \
		if [ "$$after" = "$$before" ] && grep -qx '    context deadline exceeded' $$out && \
			! grep -q -e '^panic:' -e 'Failing input written' $$out; then \
			echo "fuzz $$t: ended by the coordinator's deadline defect with no failing input: not a finding"; \
			rm -f $$out; continue; fi; \
		rm -f $$out; exit 1; \
	done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

clean:
	rm -rf $(BIN)
