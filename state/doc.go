// Package state holds Sticky's durable state and its codec.
//
// A Store keeps, in one embedded Badger database: user feature vectors, each
// partition's share of the item statistics, the catalogue, and for every
// consumed topic partition the offset of the last record applied.
//
// A partition worker writes behind: it Stages the users it changes (pinned
// in memory as Staged values it keeps changing under their lock; every
// reader — User, UserAt, Views, ScanUsers — reads them first) and now and
// then Flushes: its item deltas as delta records, each staged user once,
// stored with the offset it is current up to, then its model share and
// offset. After a crash the stored offset is never ahead of the state, and
// what a flush cut short wrote ahead of it says how far it went (UserAt,
// DeltasUpTo), so that no record is applied twice. Commit writes a Batch
// (users, item shares, item deltas, offset) in one transaction, for
// callers that apply and store at once. Encoded user vectors are cached in
// fastcache, refreshed at each flush and commit. Badger runs with
// timestamps the store hands out (managed mode): reads are of each key's
// latest version and never wait for commits in flight, which holds because
// each key has one writer at a time (a partition's worker) and nothing
// reads across partitions while their workers run.
//
// Item shares are not rewritten by every flush: a flush stores its item
// deltas as records, and the partition's worker checkpoints the shares
// now and then (CheckpointDeltas folds the records into the stored shares;
// Checkpoint writes shares given whole), which deletes the records they
// cover. Readers
// recover a share as checkpointed plus the records since, applied in offset
// order with the fold they are given (RecoverItemParts, or
// Config.ApplyDeltas for LoadItemParts and ScanItemParts): the store keeps
// bytes, the fold is features'.
//
// The codec (AppendUser, DecodeUser, AppendItemStats, DecodeItemStats,
// AppendDeltas, DecodeDeltas) is a compact, versioned binary format: the
// first byte of each value is its version.
//
// The package does not import Kafka or Prometheus: Stats returns a snapshot
// that the command bridges into metrics.
package state
