# conclave — see README.md. Every target works on a fresh machine with only Go.
GO        ?= go
BIN       := bin/conclave
GOFLAGS   ?=
export GOTOOLCHAIN := local

.PHONY: all build dev test test-deps test-deps-net vet bench jepsen completions clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/conclave

# A single-node dev agent: in-memory server, HTTP on 127.0.0.1:8500. The
# config files in dev.d/ (when the directory exists) are read, and ARGS
# adds flags: make dev ARGS="-config-dir=/etc/consul.d -node=dev1".
DEV_CONFIG := $(if $(wildcard dev.d),-config-dir=dev.d)
dev: build
	./$(BIN) agent -dev $(DEV_CONFIG) $(ARGS)

vet:
	$(GO) vet ./...

# vet, then every test with the race detector. The timeout bounds a hung
# test; CI must stay well under 20 minutes on 2 cores.
test: test-deps-net vet
	$(GO) test -race -count=1 -timeout 15m ./...
	# Without -race: servers moving to new addresses trip a data race inside
	# hashicorp/raft (see agent/server/cluster_test.go).
	$(GO) test -count=1 -timeout 10m -run 'TestOutageAndRecovery' ./agent/server/

# Everything the tests can use beyond Go: test-deps-net, Chromium (the
# Debian package) for the web UI's browser tests in ui/, and Prometheus
# for the end-to-end scrape in e2e/prometheus_test.go; each of those
# tests skips with a message without its program. `make test` installs
# neither: run this once where those tests should run.
test-deps: test-deps-net
	$(call apt-install,chromium,chromium,the web UI browser tests)
	$(call apt-install,prometheus,prometheus,the Prometheus scrape test)

# apt-install: when command $(1) is missing, install Debian package $(2)
# (as root); otherwise, or when that fails, say that $(3) will skip.
define apt-install
@command -v $(1) >/dev/null 2>&1 || { \
  if [ "$$(id -u)" -ne 0 ]; then \
    echo "test-deps: $(1) is missing and installing it needs root; $(3) will skip" >&2; \
  else \
    echo "==> installing $(2) (apt-get)" >&2; \
    { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(2) >/dev/null; } || \
    echo "test-deps: could not install $(2); $(3) will skip" >&2; \
  fi; }
endef

# What `make test` needs beyond Go, installed with apt-get when missing:
# iproute2 (ip netns, veth, bridges) for the partition tests in jepsen/.
# Without root nothing is installed and those tests skip with a message.
test-deps-net:
	@command -v ip >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" -ne 0 ]; then \
	    echo "test-deps: ip (iproute2) is missing and installing it needs root; partition tests will skip" >&2; \
	  else \
	    echo "==> installing iproute2 (apt-get)" >&2; \
	    { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -q iproute2 >/dev/null; } || \
	    echo "test-deps: could not install iproute2; partition tests will skip" >&2; \
	  fi; }

# The long Jepsen-style run (several minutes): more clients and faults,
# each read mode on its own, partitions in network namespaces (as root),
# and the deliberately broken build that must fail. See jepsen/doc.go.
jepsen: test-deps-net
	CONCLAVE_JEPSEN=long $(GO) test -count=1 -timeout 60m -v ./jepsen/

# Side-by-side benchmarks (conclave vs etcd); installs etcd if missing.
# A report, not a test: exits 0 when a target is missed. See bench/README.md.
bench:
	bash bench/run.sh $(BENCH_ARGS)

# The scripts register themselves for one command name, so the binary
# linked as "consul" has its own set.
completions: build
	ln -sf conclave bin/consul
	for name in conclave consul; do \
	  ./bin/$$name completion bash > completions/$$name.bash && \
	  ./bin/$$name completion zsh  > completions/_$$name && \
	  ./bin/$$name completion fish > completions/$$name.fish || exit 1; \
	done

clean:
	rm -rf bin bench/.bin
