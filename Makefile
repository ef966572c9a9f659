# tender — see README.md. `make up` gets a newcomer to a running Docker VM;
# `make test` runs every test, the real-VM suites included.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: all deps build iso test unit e2e lint up bench clean

all: build

deps:
	@./scripts/deps.sh

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/tender .

iso: deps
	./scripts/build-iso.sh

lint: deps
	gofmt -l . | (! grep .) || (echo "gofmt: files above need formatting" >&2; exit 1)
	$(GO) vet ./...
	staticcheck ./...

unit:
	$(GO) test ./...

test: deps lint iso build
	$(GO) test ./...
	$(GO) test -tags e2e -timeout 60m -count=1 -v ./test/...

clean:
	rm -rf bin out

up: deps build iso
	./scripts/make-up.sh
