// Package stream connects Sticky to Kafka: it decodes and validates events
// (DecodeEvent, DecodeRecord), creates the topics (EnsureTopics), keeps the
// catalogue in step with the items topic (CatalogueLoader), produces events
// and dead letters (Producer), and runs the events consumer (Consumer),
// Sticky's core loop.
//
// # The core loop
//
// A Consumer joins the consumer group and, on each assignment, starts one
// worker goroutine per partition it was given (group.go); revocation stops a
// worker after its batch in flight and waits for it. A worker (worker.go)
// applies its partition's records in batches of at most Config.BatchEvents,
// each batch in steps (worker.apply). Before the steps, while API requests
// are in flight (Deps.Priority), it waits up to Config.YieldMax for them,
// and then folds, commits and publishes the batch holding the gate's turn
// (Gate.Serialize; not while parking dead letters, which waits on the
// broker), so that one worker at a time does and requests keep the other
// cores.
//
//  1. decode: each record is decoded and validated (DecodeRecord); the
//     malformed ones are set aside.
//  2. fold: each event is folded into its user, loaded from the state once
//     per batch (features.Extractor.FoldUser), yielding the batch's item
//     deltas. With a Trainer, each event first trains the partition's model
//     share, decoded afresh from the committed one, before it is folded.
//  3. park: the malformed records are produced to the dead-letter topic,
//     before the commit moves past them.
//  4. commit: the batch's users, its item deltas (one compact record, not
//     the item shares they change), its model share and the offset of its
//     last record are written in one Badger transaction
//     (state.Store.Commit).
//  5. publish: the item deltas are applied to the partition's item shares,
//     which the worker keeps in memory (features.Extractor.ApplyDeltas);
//     the committed users and item deltas go to the Sink (the ranker's
//     item index and the audience table), and the last record is marked for
//     the Kafka offset commit.
//  6. report: counts, batch latency and freshness go to the Observer.
//  7. checkpoint, when one of the Config.Checkpoint limits is reached (and
//     when the worker stops): the item shares changed since the last
//     checkpoint are written whole and the delta records they cover deleted
//     (state.Store.Checkpoint). On assignment a worker recovers the shares
//     as checkpointed plus the delta records since (state.Store.RecoverItemParts),
//     so the checkpoints bound the work of a restart, not its result.
//
// A batch that fails before its commit has changed nothing the worker keeps
// or a reader sees (its dead letters excepted, which are parked once): it is
// retried with backoff, split in two if too big for one transaction, and the
// partition reports itself stalled until it commits.
//
// # Exactly once
//
// Each worker owns its partition's keys outright: the users keyed to it and
// its own share of every item's statistics, which are sums and so merge
// exactly. A batch's state and the offset of its last record commit
// together, so after any crash the two agree. On assignment a partition
// resumes after the offset stored in Badger, whatever Kafka's committed
// offset says, and the worker skips any record at or below it, so a record
// re-delivered by Kafka is never applied twice; Kafka offsets are committed
// after Badger, for lag monitoring only. An event produced twice (same
// event_id) is recognised by its user's ring of recent event ids. The long
// version, with the known limits, is in docs/design.md ("Exactly-once
// effect").
//
// The package decides nothing about features or ranking: the fold is
// features', the storage state's, what the Sink does with a batch and what
// the Trainer learns are the caller's.
package stream
