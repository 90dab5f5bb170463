# conclave — see README.md. Every target works on a fresh machine with only Go.
GO        ?= go
BIN       := bin/conclave
GOFLAGS   ?=
export GOTOOLCHAIN := local

.PHONY: all build dev test vet bench completions clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/conclave

# A single-node dev agent: in-memory server, HTTP on 127.0.0.1:8500.
dev: build
	./$(BIN) agent -dev

vet:
	$(GO) vet ./...

# vet, then every test with the race detector. The timeout bounds a hung
# test; CI must stay well under 20 minutes on 2 cores.
test: vet
	$(GO) test -race -count=1 -timeout 15m ./...

# Side-by-side benchmarks (conclave vs etcd); installs etcd if missing.
# A report, not a test: exits 0 when a target is missed. See bench/README.md.
bench:
	bash bench/run.sh $(BENCH_ARGS)

completions: build
	./$(BIN) completion bash > completions/conclave.bash
	./$(BIN) completion zsh  > completions/_conclave
	./$(BIN) completion fish > completions/conclave.fish

clean:
	rm -rf bin bench/.bin
