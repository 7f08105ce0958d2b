# Sticky's developer commands. `make test` is the test command CI runs.
GO ?= go

.PHONY: build test check bench fuzz demo clean kafka-up kafka-down test-kafka

build: ## the server and the benchmark harness, bin/sticky and bin/sticky-bench
	$(GO) build -o bin/ ./cmd/sticky ./cmd/sticky-bench

test: ## every test, race detector on; then the quality gates (built without it)
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run '^TestQualityGate(SlowShop|FilmLike)?$$' ./bench/quality/

check: ## gofmt and go vet
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench: ## micro-benchmarks of the hot paths
	$(GO) test -run '^$$' -bench . -benchmem ./features/ ./state/ ./ranker/ ./stream/

fuzz: ## a short run of every fuzz test
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEvent$$' -fuzztime 30s ./stream/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEventEquivalence$$' -fuzztime 30s ./stream/
	$(GO) test -run '^$$' -fuzz '^FuzzAppendEventEquivalence$$' -fuzztime 30s ./stream/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeUser$$' -fuzztime 30s ./state/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeItemStats$$' -fuzztime 30s ./state/
	$(GO) test -run '^$$' -fuzz '^FuzzString$$' -fuzztime 30s ./internal/jsonw/

kafka-up: ## a real Apache Kafka broker (KRaft, one node) on a free loopback port
	.ci/kafka up

kafka-down: ## stop it and remove its data
	.ci/kafka down

test-kafka: ## every test against the real broker (starts it if needed; fails if it cannot)
	@.ci/kafka up >/dev/null
	env $$(.ci/kafka env) STICKY_TEST_REQUIRE_KAFKA=1 $(GO) test -race -count=1 -timeout 20m ./...

demo: ## the demo shop on the embedded broker
	$(GO) run ./cmd/sticky demo

clean:
	rm -rf bin sticky-data
