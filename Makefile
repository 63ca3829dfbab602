# gust — see README.md. `make run` runs gust on the example DAGs; `make test`
# runs the whole test suite against real PostgreSQL, RabbitMQ and Redis.
SHELL := /bin/bash
GO ?= go
GUST_HOME ?= $(HOME)/gust
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build ui run test test-unit bench chaos services browser migrate vet fmt lint clean

build: bin/gust

# The web UI's third-party libraries (graph layout, JSON editor) and the
# monitor's (charts), pinned in webui/js/package-lock.json and bundled into
# webui/static/vendor and flower/ui/vendor, which are committed so that `go build` alone embeds them; `make ui` rebuilds them.
VENDOR_JS := webui/static/vendor/graph.js webui/static/vendor/editor.js flower/ui/vendor/chart.js
UI_SRC := webui/js/package.json webui/js/package-lock.json webui/js/build.mjs $(wildcard webui/js/src/*.js)

ui:
	cd webui/js && npm ci --no-audit --no-fund && node build.mjs

$(VENDOR_JS) &: $(UI_SRC)
	cd webui/js && npm ci --no-audit --no-fund && node build.mjs
	@touch $(VENDOR_JS)

bin/gust: $(shell find . -path ./webui/js/node_modules -prune -o \( -name '*.go' -o -name '*.sql' -o -path './webui/static/*' -o -path './flower/ui/*' \) -type f -print | grep -v '^./bin/') $(VENDOR_JS) go.mod go.sum
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/gust ./cmd/gust

services:
	@bash scripts/ensure-services.sh

# Chromium for the web UI's browser test (test/e2e/webui_test.go).
browser:
	@bash scripts/ensure-chromium.sh

migrate: build services
	GUST_HOME=$(GUST_HOME) ./bin/gust db migrate

# Runs scheduler + worker + monitor in one process on the example DAGs.
run: build services
	@mkdir -p $(GUST_HOME)
	GUST_HOME=$(GUST_HOME) GUST__CORE__DAGS_FOLDER=$(CURDIR)/dags ./bin/gust db migrate
	GUST_HOME=$(GUST_HOME) GUST__CORE__DAGS_FOLDER=$(CURDIR)/dags exec ./bin/gust standalone

# The whole suite: unit tests, integration tests against the real services,
# and process-level end-to-end tests of the gust binary.
test: services browser
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

test-unit:
	$(GO) test -count=1 -short ./...

bench: build services
	GUST_BIN=$(CURDIR)/bin/gust $(GO) test ./bench -run "^$$" -bench . -benchtime 1x -v -timeout 30m
	$(GO) test ./apiserver -run "^$$" -bench API -benchtime 1x -v -timeout 30m
	$(GO) test ./flower -run "^$$" -bench Flower -benchtime 1x -v -timeout 30m
	$(GO) test ./dagprocessor -run "^$$" -bench ParsePython -benchtime 1x -v -timeout 30m
	$(GO) test ./worker -run "^$$" -bench PythonTry -benchtime 200x -v -timeout 30m

# The long chaos run: over 2,000 tries while schedulers and workers are
# killed and RabbitMQ and PostgreSQL (private instances) are restarted.
chaos: services
	$(GO) test ./test/chaos -run '^TestChaos$$' -count=1 -v -timeout 40m -args -chaos.scale=7

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
