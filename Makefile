# Herald's two front doors: `make dev` runs the whole service on this machine,
# `make test` runs every check and test against real servers.

TEMPORAL_CLI_VERSION := v1.5.1
SQLC_VERSION         := v1.31.1
STATICCHECK_VERSION  := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
ERRCHECK_VERSION     := v1.30.0

BIN     := $(CURDIR)/bin
PG_BIN  := /usr/lib/postgresql/15/bin
export PATH := $(BIN):$(PATH)

.PHONY: dev test check fuzz unit load build generate postgres-binaries browser clean

## dev: PostgreSQL, Temporal (UI :8233), SMTP catcher (:1025, web :8025), API (:8080) and worker
dev: postgres-binaries $(BIN)/temporal build
	$(BIN)/herald dev

## test: static checks, a few seconds of each fuzz target, then every test (integration tests start real servers, and Chromium for the inbox page), the Go client's module's included
test: postgres-binaries browser check fuzz $(BIN)/temporal
	go test -race -count=1 ./...
	cd client && go test -race -count=1 ./...

## check: gofmt, go vet, staticcheck, errcheck, workflowcheck (determinism), and sqlc code in sync with the SQL
# client/ is a module of its own, which ./... does not reach: it is checked
# from inside.
check: $(BIN)/sqlc $(BIN)/staticcheck $(BIN)/workflowcheck $(BIN)/errcheck
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	$(BIN)/staticcheck ./...
	$(BIN)/errcheck -exclude .errcheck-excludes ./...
	cd client && go vet ./... && $(BIN)/staticcheck ./... && $(BIN)/errcheck -exclude ../.errcheck-excludes ./...
	$(BIN)/workflowcheck ./workflows/...
	$(BIN)/sqlc diff

# Fuzz targets as package:Target:executions. Their seed corpora (testdata/fuzz)
# run in every `go test`; `make fuzz` also explores from them. The budget is a
# count of executions, not a duration: go1.26's fuzz coordinator can report a
# bare "context deadline exceeded" failure when a -fuzztime duration ends
# mid-execution (golang/go#75804), and a count has no deadline to race. Each
# count is a few seconds on 2 cores; FUZZ_SCALE multiplies them for longer runs.
FUZZ_SCALE ?= 1
FUZZ_TARGETS := api:FuzzDecode:3000 api:FuzzStorableNumbers:3000 prefs:FuzzDocument:20000 \
	prefs:FuzzSettings:20000 rules:FuzzCompile:8000 catalog:FuzzTemplate:20000

## fuzz: each fuzz target for a few thousand executions; a failure leaves its input in the package's testdata/fuzz
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; fn=$${rest%%:*}; n=$$(( $${rest#*:} * $(FUZZ_SCALE) )); \
		echo ">> fuzzing $$fn in ./$$pkg for $$n executions"; \
		go test -run='^$$' -fuzz="^$${fn}\$$" -fuzztime=$${n}x ./$$pkg; \
	done

## unit: the fast tests only (no servers)
unit:
	go test -short ./catalog/ ./prefs/ ./workflows/ ./internal/config/ ./api/

## load: end-to-end events/s against a bare workflow on the same server, and 10,000-recipient fan-out
load: postgres-binaries $(BIN)/temporal
	go run ./cmd/herald-load -cpuprofile $(CURDIR)/.data/load-profiles

build:
	go build -o $(BIN)/herald ./cmd/herald

generate: $(BIN)/sqlc
	$(BIN)/sqlc generate

# The Temporal CLI is built from source with `go install`, never downloaded.
# Later versions carry replace directives that `go install` refuses.
$(BIN)/temporal: $(BIN)/.temporal-$(TEMPORAL_CLI_VERSION)
	@touch $@
$(BIN)/.temporal-$(TEMPORAL_CLI_VERSION):
	@echo ">> building the Temporal CLI $(TEMPORAL_CLI_VERSION) into ./bin (once; about 6 minutes on 2 cores)"
	GOBIN=$(BIN) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)
	@rm -f $(BIN)/.temporal-* && touch $@

$(BIN)/sqlc: $(BIN)/.sqlc-$(SQLC_VERSION)
	@touch $@
$(BIN)/.sqlc-$(SQLC_VERSION):
	@echo ">> building sqlc $(SQLC_VERSION) into ./bin (once; about 2 minutes)"
	GOBIN=$(BIN) go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	@rm -f $(BIN)/.sqlc-* && touch $@

$(BIN)/staticcheck: $(BIN)/.staticcheck-$(STATICCHECK_VERSION)
	@touch $@
$(BIN)/.staticcheck-$(STATICCHECK_VERSION):
	GOBIN=$(BIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@rm -f $(BIN)/.staticcheck-* && touch $@

$(BIN)/errcheck: $(BIN)/.errcheck-$(ERRCHECK_VERSION)
	@touch $@
$(BIN)/.errcheck-$(ERRCHECK_VERSION):
	GOBIN=$(BIN) go install github.com/kisielk/errcheck@$(ERRCHECK_VERSION)
	@rm -f $(BIN)/.errcheck-* && touch $@

$(BIN)/workflowcheck: $(BIN)/.workflowcheck-$(WORKFLOWCHECK_VERSION)
	@touch $@
$(BIN)/.workflowcheck-$(WORKFLOWCHECK_VERSION):
	GOBIN=$(BIN) go install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)
	@rm -f $(BIN)/.workflowcheck-* && touch $@

# Chromium for the browser tests of the inbox page, from Debian's packages
# when missing. Without it (and without HERALD_REQUIRE_BROWSER=1) those tests skip.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo ">> installing Chromium with apt-get (browser tests)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		($$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium) || \
			echo ">> could not install Chromium: the browser tests will skip"; \
	fi

# PostgreSQL 15 server binaries, from Debian's packages when missing.
postgres-binaries:
	@if [ ! -x $(PG_BIN)/postgres ]; then \
		echo ">> installing PostgreSQL 15 server binaries with apt-get"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q postgresql-15; \
	fi

clean:
	rm -rf $(BIN)
