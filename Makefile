# tender — see README.md. `make up` gets a newcomer to a running Docker VM;
# `make test` runs every test, the real-VM suites included.
SHELL := /bin/bash
GO ?= go
# The version is the VERSION file's (the ISO's volume ID carries the same), so
# `tender info` can compare them; the commit and date say which build it is.
VERSION ?= $(shell tr -d ' \n' < VERSION 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: all deps build iso iso-arm64 test unit e2e lint up bench clean docs release cross fuzz

all: build

deps:
	@./scripts/deps.sh

# urfave_cli_no_docs leaves out urfave/cli's man-page generator (blackfriday), whose
# package init costs every run, shellinit in each new shell included.
# CGO_ENABLED=0, as releases are built: a static binary skips the dynamic loader
# and libc's thread start-up, a quarter of shellinit's run time.
# bin/tender-net is a tender network's switch (gvisor-tap-vsock), its own
# program so that its packages' start-up stays out of tender's; tender finds
# it beside itself.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags urfave_cli_no_docs -ldflags '$(LDFLAGS)' -o bin/tender .
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/tender-net ./cmd/tender-net

# docs/commands.md from the app's own help; a unit test fails when it is stale.
docs:
	$(GO) run ./scripts/gendocs -o docs/commands.md -man docs/tender.1

# out/tender.iso; ARCH=arm64 builds out/tender-arm64.iso, as does iso-arm64
# (scripts/build-iso.sh --arch).
ARCH ?= amd64
iso: deps
	./scripts/build-iso.sh --arch $(ARCH)

iso-arm64: deps
	./scripts/build-iso.sh --arch arm64

lint: deps
	gofmt -l . | (! grep .) || (echo "gofmt: files above need formatting" >&2; exit 1)
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	staticcheck ./...

unit:
	$(GO) test ./...

test: deps lint cross iso iso-arm64 build
	$(GO) test ./...
	$(MAKE) fuzz
	$(GO) test -tags e2e -timeout 60m -count=1 -v ./test/...

# Each fuzz target for a number of runs, about 10 s of each on the 2-core
# test machine (seed corpora in each package's testdata/fuzz; `go test ./...`
# replays them). Counts, not a duration: Go 1.26's fuzz coordinator can fail
# a target with a bare "context deadline exceeded" when a -fuzztime duration
# ends under load (go.dev/issue/75804, fixed in Go 1.27); a count never
# races that deadline. FUZZTIME=30s (or 5000x) overrides every target's.
# One target at a time: go test -fuzz takes one.
FUZZTIME ?=
FUZZ_TARGETS := \
	./config:FuzzParseYAML:80000x \
	./agent/api:FuzzReadUserdata:300000x \
	./agent/portwatch:FuzzParseIngress:200000x \
	./hostagent:FuzzPortEvents:60000x \
	./shellinit:FuzzPOSIXQuoting:1000x \
	./vm/virtualbox:FuzzParseVMInfo:300000x \
	./vm/virtualbox:FuzzParseRule:300000x \
	./vm/virtualbox:FuzzParseVMList:300000x \
	./vm/virtualbox:FuzzParseHostOnlyIfs:300000x \
	./vm/virtualbox:FuzzParseDHCPServers:300000x \
	./vm/virtualbox:FuzzParseVersion:300000x \
	./vm/virtualbox:FuzzVTxProblem:300000x
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; fn=$${rest%%:*}; budget="$(FUZZTIME)"; budget=$${budget:-$${rest#*:}}; \
		echo "fuzz $$pkg $$fn ($$budget)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $$budget $$pkg; \
	done

# Archives for darwin/amd64, darwin/arm64, linux/amd64, linux/arm64 and
# windows/amd64 with SHA256SUMS, in out/release/.
release:
	VERSION=$(VERSION) ./scripts/release.sh

# Every package builds for every release platform (run by `make test`).
cross:
	./scripts/release.sh --check

clean:
	rm -rf bin out

up: deps build iso
	./scripts/make-up.sh

bench: deps build iso
	$(GO) run ./bench
