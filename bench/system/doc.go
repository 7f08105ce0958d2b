// Package system is the benchmark harness's system run: it starts a Kafka
// broker (embedded kfake unless given brokers), produces a workload's
// backlog, starts a target (Sticky as a subprocess, or the Redis baseline),
// and measures ingest against a raw consumer of the same topic, freshness
// from produce to the API, open-loop recommendation latency during live
// ingest, and memory. Result holds the figures.
package system
