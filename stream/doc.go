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
// and then folds and publishes the batch holding the gate's turn
// (Gate.Serialize; not while parking dead letters, which waits on the
// broker), so that one worker at a time does and requests keep the other
// cores.
//
//  1. decode: each record is decoded and validated (DecodeRecord); the
//     malformed ones are set aside.
//  2. park: the malformed records are produced to the dead-letter topic.
//  3. read: the user of every event is found: kept decoded since the last
//     flush, else read from the store with the offset its stored vector is
//     current up to (state.Store.UserAt). Nothing has changed yet: a batch
//     that fails here is retried with backoff, and the partition reports
//     itself stalled until it is applied.
//  4. fold: each event is folded into its user in place
//     (features.Extractor.FoldUser), yielding item deltas. With a Trainer,
//     each event first trains the partition's model share.
//  5. publish: the changed users are staged in the store (state.Store.Stage:
//     every reader reads them from then on), users and item deltas handed
//     to the Sink (the ranker's item index and the audience table). The
//     worker keeps no item shares in memory: the deltas reach the stored
//     shares through delta records and checkpoints.
//  6. report: counts, batch latency and freshness go to the Observer.
//  7. flush, when Config.FlushInterval, FlushUsers or FlushDeltas says so
//     (and before a checkpoint, and when the worker stops): the item deltas
//     since the last flush as delta records, each user changed since, once,
//     then the model share and the offset of the last record applied
//     (state.Store.Flush); the last record is marked for the Kafka offset
//     commit.
//  8. checkpoint, after a flush, when one of the Config.Checkpoint limits
//     is reached (and when the worker stops): the delta records since the
//     last checkpoint are folded into the stored shares of the items they
//     touch, which are written whole, and the records deleted
//     (state.Store.CheckpointDeltas). A share is always the stored one plus
//     the delta records since (state.Store.RecoverItemParts), so the
//     checkpoints bound the records kept and the work of a recovery, not
//     its result.
//
// # Exactly once
//
// Each worker owns its partition's keys outright: the users keyed to it and
// its own share of every item's statistics, which are sums and so merge
// exactly. A flush writes the state and then the offset of the last record
// it covers, so after any crash the stored offset is never ahead of the
// state; a flush cut short leaves state ahead of the offset, which recovery
// recognises (each stored user says the offset it is current up to, the
// newest delta record where the stored item deltas end) and does not apply
// again. On assignment a partition resumes after the offset stored in
// Badger, whatever Kafka's committed offset says, and the worker skips any
// record at or below it, so a record re-delivered by Kafka is never applied
// twice; Kafka offsets are committed after Badger, for lag monitoring only.
// An event produced twice (same event_id) is recognised by its user's ring
// of recent event ids. The long version, with the known limits, is in
// docs/design.md ("Exactly-once effect").
//
// The package decides nothing about features or ranking: the fold is
// features', the storage state's, what the Sink does with a batch and what
// the Trainer learns are the caller's.
package stream
