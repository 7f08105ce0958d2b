// Package state holds Sticky's durable state and its codec.
//
// A Store keeps, in one embedded Badger database: user feature vectors, each
// partition's share of the item statistics, the catalogue, and for every
// consumed topic partition the offset of the last record applied. A
// partition worker's Batch (its users, its item shares and its offset) is
// written in one Badger transaction, so after a crash the state and the
// offset agree and no record is applied twice. Encoded user vectors are
// cached in fastcache, refreshed after each commit.
//
// The codec (AppendUser, DecodeUser, AppendItemStats, DecodeItemStats) is a
// compact, versioned binary format: the first byte of each value is its
// version.
//
// The package does not import Kafka or Prometheus: Stats returns a snapshot
// that the command bridges into metrics.
package state
