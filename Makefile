# Pill dispenser: build, test and run targets. `make run` and `make test` are
# the README's two commands; .ci/run calls `make test`, `make cross` and the
# release targets (deb, sbom, trace, repro-check).
GO       ?= go
CONFIG   ?= examples/dispenser.yaml
DATA     ?= ./data
LISTEN   ?= 127.0.0.1:8080
CLINIC   ?= 127.0.0.1:8090
# Every event of the last `make test`, as go test -json wrote it.
TESTLOG  ?= dist/test-log.json
CMDS     := $(patsubst cmd/%/main.go,%,$(wildcard cmd/*/main.go))
TARGETS  := linux/arm/6 linux/arm64 linux/amd64
# The release tool (tools/release, a module of its own so its packaging
# libraries stay out of go.mod and the binaries).
RELEASE  := $(GO) -C tools/release run .
# One version from git for binaries and packages (tools/release/version.go).
VERSION  ?= $(shell $(RELEASE) version 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)

.PHONY: run test bench stress backtest cross lint clean deb sbom trace repro-check

# The simulated dispenser with its browser panel, and a demo clinic service
# it syncs to. adherenced --demo prints the clinic URL and a demo login,
# and writes the dispenser's config with a sync: section; dispenserd prints
# the panel URL. Ctrl-C stops both; ./data keeps their state for next time.
# pillctl is built beside them for the README's next steps. Other ports:
# make run LISTEN=127.0.0.1:9080 CLINIC=127.0.0.1:9090.
run:
	@mkdir -p $(DATA)/bin
	$(GO) build -o $(DATA)/bin/ ./cmd/dispenserd ./cmd/adherenced ./cmd/pillctl
	@rm -f $(DATA)/clinic/demo-dispenser.yaml; \
	$(DATA)/bin/adherenced --demo --data $(DATA)/clinic --listen $(CLINIC) --demo-dispenser-config $(CONFIG) & clinic=$$!; \
	trap 'kill $$clinic 2>/dev/null; wait $$clinic' EXIT; trap 'exit 130' INT TERM; \
	for i in $$(seq 300); do [ -f $(DATA)/clinic/demo-dispenser.yaml ] && break; kill -0 $$clinic || exit 1; sleep 0.1; done; \
	$(DATA)/bin/dispenserd --sim --config $(DATA)/clinic/demo-dispenser.yaml --data $(DATA)/dispenser \
	  --sim-state $(DATA)/dispenser/world.json --listen $(LISTEN)

# Both modules' tests, through tools/testsummary: go test's plain output,
# every event in $(TESTLOG), and at the end one line per kind of test
# skipped for want of a tool (Chromium, Node.js, PostgreSQL, espeak-ng,
# the release tools). The status is go test's.
test: lint
	@mkdir -p $(dir $(TESTLOG))
	$(GO) run ./tools/testsummary -log $(TESTLOG) \
	  -- $(GO) test -race -timeout 15m -json ./... \
	  -- $(GO) -C tools/release test -timeout 20m -json ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...

# The reliability harness at full size (1,000 kills, 30 simulated days, every
# fuzz target for 5 minutes; about two and a half hours on 2 cores). Prints
# one table and writes it to stress-report.txt. `make test` runs a bounded
# subset of the same scenarios (cmd/pillstress/main_test.go).
stress:
	$(GO) run ./cmd/pillstress --full --fuzztime 5m

# The insights backtest at full size (1,100 synthetic patients, over 1,000
# patient-years, on the test cohort's seed; about 17 s of CPU): the
# missed-dose risk against its baselines and the personal vital-sign rules
# against the fixed ones. docs/insights.md reports its figures; `make test`
# runs a bounded subset (adherence/insights/backtest).
backtest:
	$(GO) run ./cmd/pillctl backtest

# CGO_ENABLED=0 builds of every binary for a Raspberry Pi Zero (ARMv6), 64-bit
# Pis and x86 servers, into dist/OS-ARCH[vN]/.
cross:
	@set -e; for t in $(TARGETS); do \
	  os=$${t%%/*}; rest=$${t#*/}; arch=$${rest%%/*}; arm=$${rest#*/}; \
	  [ "$$arm" = "$$rest" ] && arm=; \
	  dir=dist/$$os-$$arch$${arm:+v$$arm}; mkdir -p $$dir; \
	  for c in $(CMDS); do \
	    echo "build $$dir/$$c"; \
	    CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOARM=$$arm \
	      $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$dir/$$c ./cmd/$$c; \
	  done; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) -C tools/release vet ./...

# Debian packages of dispenserd, adherenced and pillctl for amd64, arm64 and
# armhf (ARMv6), each with its binary's CycloneDX SBOM, into
# dist/release/deb/; binaries in dist/release/bin/, SBOMs in
# dist/release/sbom/, checksums in dist/release/SHA256SUMS.
deb:
	$(RELEASE) deb

# The binaries and their SBOMs only.
sbom:
	$(RELEASE) sbom

# Checks docs/requirements.md against the tests, runs the tests it names and
# writes docs/traceability.md; fails on a requirement without a test, a test
# that does not exist, or one that fails.
trace:
	$(RELEASE) trace

# Builds the release twice from HEAD in two clones and fails unless both are
# byte-identical; the second build of the COLD architectures compiles
# everything again from an empty Go build cache (COLD=amd64,arm64,armhf for
# all: a few more minutes each).
COLD ?= armhf
repro-check:
	$(RELEASE) -cold $(COLD) repro

clean:
	rm -rf dist
