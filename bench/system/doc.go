// Package system is the benchmark harness's system run: it starts a Kafka
// broker (embedded kfake unless given brokers), produces a workload's
// backlog, starts a target (Sticky as a subprocess, or the Redis baseline),
// and measures ingest against a raw consumer of the same topic, freshness
// from produce to the API, open-loop recommendation latency during live
// ingest, memory, and the CPU the target and the harness itself spent in
// each phase. Result holds the figures.
//
// # A deployment already running
//
// With Options.TargetURL the Sticky target is a deployment the harness
// does not start (so the load can be generated from another machine). The
// harness then produces the workload's catalogue and events to the
// deployment's topics (EventsTopic, ItemsTopic) on Brokers, creating
// nothing, and measures through the deployment's API and /metrics:
//
//   - ingest: the deployment consumes the backlog while the harness
//     produces it, so the rate is from the first backlog event applied to
//     the last, counted on sticky_stream_events_consumed_total from its
//     value before production, and is at most the producer's rate.
//     Startup is not measured. The raw consumer reads the events topic
//     after the ingest, so as not to compete with it.
//   - freshness, recommendation latency and throughput: as for a started
//     target; they include the network between the two machines.
//   - memory: RSS is the deployment's process_resident_memory_bytes, the
//     Go heap its go_memstats_heap_inuse_bytes, state its
//     sticky_state_disk_bytes (which Badger refreshes about once a minute);
//     the peak RSS is not measured.
//   - CPU: the deployment's process_cpu_seconds_total instead of /proc.
//
// The counter counts every event the deployment consumes: other producers
// on its topics during the run inflate the figures, and /metrics must be
// served by the one instance that consumes every partition (not a load
// balancer over several). Event ids get the run's tag, so a second run
// against the same deployment is not skipped as duplicates; the users are
// the workload's own, so they accumulate across runs. The Redis baseline,
// when asked for, is still started by the harness, on its own topics of
// the same brokers, with the backlog on its topic before it starts.
//
// # CPU
//
// The target's CPU is the utime + stime of its processes (/proc/<pid>/stat;
// for the baseline its service and redis-server), else its
// process_cpu_seconds_total; the harness's is getrusage(RUSAGE_SELF) of its
// own process, which holds the embedded broker when no brokers are given.
// Both are read at the start and end of each phase: the ingest phase runs
// from the target's start (from the start of production for a deployment)
// until the backlog is applied, the live phase is its measured part after
// the warm-up.
package system
