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
TEST_FUZZTIME ?= 3s

.PHONY: all help build run test vet fmt bench loadtest fuzz fuzz-short clean

all: help

help:
	@echo "make build     build bin/metricstream and bin/loadgen"
	@echo "make run       build and start the server on $(ADDR) with data in $(DATA)"
	@echo "make test      vet, then every test with the race detector (storage tests run for both writers)"
	@echo "make bench     Go micro-benchmarks with -benchmem"
	@echo "make loadtest  side-by-side wrk comparison against the baselines (prints a table of ratios)"
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
test: vet build
	METRICSTREAM_BIN=$(CURDIR)/$(BIN)/metricstream $(GO) test -race -count=1 -timeout 8m ./...
	$(MAKE) --no-print-directory fuzz-short

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

loadtest: build
	./bench/loadtest.sh

# Each fuzz target on its own: go test -fuzz accepts one target at a time.
FUZZ_TARGETS = $(shell grep -ho '^func Fuzz[A-Za-z0-9_]*' $$(git ls-files '*_test.go') 2>/dev/null | sed 's/func //' | sort -u)

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$$(dirname $$(grep -l "^func $$t(" $$(git ls-files '*_test.go') | head -1)); \
		echo "fuzz $$t in ./$$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) ./$$pkg || exit 1; \
	done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

clean:
	rm -rf $(BIN)
