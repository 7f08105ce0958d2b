// Package state holds Sticky's durable state and its codec.
//
// A Store keeps, in one embedded Badger database: user feature vectors, each
// partition's share of the item statistics, the catalogue, and for every
// consumed topic partition the offset of the last record applied. A
// partition worker's Batch (its users, its item deltas and its offset) is
// written in one Badger transaction, so after a crash the state and the
// offset agree and no record is applied twice. Encoded user vectors are
// cached in fastcache, refreshed after each commit. Badger runs with
// timestamps the store hands out (managed mode): reads are of each key's
// latest version and never wait for commits in flight, which holds because
// each key has one writer at a time (a partition's worker) and nothing
// reads across partitions while their workers run.
//
// Item shares are not rewritten by every batch: a batch stores its item
// deltas as one record, and the partition's worker checkpoints the shares
// now and then (Checkpoint), which deletes the records they cover. Readers
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
