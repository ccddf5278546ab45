# rejoin build, test and lint entry points. `make test` is what CI and the
# README run.

GO            ?= go
STATICCHECK_VERSION ?= v0.8.2
BIN           := $(CURDIR)/bin
STATICCHECK   := $(BIN)/staticcheck
PKGS          := ./...
BENCHTIME     ?= 1s
BENCH         ?= .
FUZZTIME      ?= 15s

.PHONY: all build test test-short lint fmt bench fuzz soak clean

all: lint test

build:
	$(GO) build $(PKGS)

## test: every test with the race detector, then the 2,000-seed simulation
## sweep without it (under -race TestSeeds runs only 50 seeds).
test:
	$(GO) test -race -timeout 8m $(PKGS)
	$(GO) test -count=1 -timeout 10m -run '^TestSeeds$$' ./testutil

## test-short: quick pass without -race (for tight edit loops).
test-short:
	$(GO) test -short $(PKGS)

## lint: gofmt, go vet, staticcheck (pinned and installed into ./bin).
lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

fmt:
	gofmt -w $$(git ls-files '*.go')

## bench: every benchmark, with allocation counts.
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) $(PKGS)

## fuzz: run every fuzz target for FUZZTIME each (go test allows one at a time).
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## soak: the long simulation run (many seeds).
soak:
	REJOIN_SOAK=1 $(GO) test -run Soak -timeout 3h ./testutil/... ./cmd/...

clean:
	rm -rf $(BIN)
