package stream

import (
	"log/slog"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/internal/bytesize"
	"github.com/stickyhq/sticky/internal/num"
)

// Config configures Sticky's Kafka clients.
type Config struct {
	// Brokers are the seed brokers. Required.
	Brokers []string
	// ClientOpts are extra franz-go options for every client (TLS, SASL,
	// client id). Default none.
	ClientOpts []kgo.Opt

	// Group is the consumer group of the events consumer. Default "sticky".
	Group string
	// InstanceID, when set, makes this consumer a static group member
	// (KIP-345): a restarted process with the same id takes its partitions
	// back without a rebalance, within SessionTimeout. Default "" (dynamic).
	InstanceID string
	// SessionTimeout is how long the group waits for a silent member before
	// moving its partitions. Default 45s.
	SessionTimeout time.Duration
	// EventsTopic carries shopper events, key = user_id. Default "sticky.events".
	EventsTopic string
	// ItemsTopic is the compacted catalogue, key = item_id. Default "sticky.items".
	ItemsTopic string
	// DLQTopic receives malformed events and items, with the reason in the
	// "sticky-error" header. Default "sticky.events.dlq".
	DLQTopic string

	// Partitions is the partition count of topics Sticky creates (events,
	// DLQ). Existing topics are left as they are. Default 8.
	Partitions int
	// ItemsPartitions is the partition count of a created items topic.
	// Default 1.
	ItemsPartitions int
	// ReplicationFactor of created topics; -1 is the broker default.
	// Default -1.
	ReplicationFactor int16

	// MaxPollRecords bounds the records taken per poll, over all partitions;
	// a rebalance waits for at most this many records to be applied.
	// Default 10000.
	MaxPollRecords int
	// BatchEvents bounds the events applied in one Badger commit. Larger
	// batches coalesce more writes of the same user. Default 2000.
	BatchEvents int
	// YieldMax bounds how long a worker waits, per batch, for the API
	// requests in flight (Deps.Priority) to finish before it folds: before
	// the batch and every 64 events of it. While requests are in flight,
	// the workers also apply one batch at a time, leaving the other cores
	// to the requests. Requests then get the cores first and ingest takes
	// the gaps between them; the bound keeps ingest going, and freshness
	// bounded, under a steady stream of requests. Negative: never wait,
	// and apply batches at once whatever is in flight. Default 2ms.
	YieldMax time.Duration
	// FetchMaxBytes bounds one fetch response (at most 2 GiB), counted
	// as the broker sends it: compressed batches take several times this
	// once decompressed and decoded into records, which the consumer holds
	// until the workers have applied them. Default 4 MiB.
	FetchMaxBytes bytesize.Size
	// ProducerLinger is how long the ingest producer waits to fill a batch.
	// Keep it at a few ms: it adds directly to POST /v1/events latency.
	// Default 1ms.
	ProducerLinger time.Duration
	// LagInterval is how often consumer lag is measured. Default 1s.
	LagInterval time.Duration
	// DLQTimeout bounds one attempt to park dead letters; a batch whose
	// dead letters cannot be parked is retried (and the partition reported
	// stalled) until they are. Default 30s.
	DLQTimeout time.Duration
	// MaxFutureSkew: an event dated more than this after its record's
	// timestamp (or, over HTTP, after now) is rejected. Default 1h.
	MaxFutureSkew time.Duration

	// Write-behind. A batch changes the state in memory and what readers
	// see at once; each worker makes what it applied durable by flushes
	// (state.Store.Flush): the users changed since the last flush, once
	// each however many events they had, the item deltas of those events
	// and the offset, when the first of these limits is reached, and when
	// it stops. A crash loses what was not flushed, which the events topic
	// still holds: the partition resumes after the last flush. The limits
	// bound that replay, the memory of staged users and how far Kafka's
	// committed offsets (lag monitoring) trail, not correctness.

	// FlushInterval is the age of the oldest batch not yet flushed after
	// which a flush is written; negative: flush after every batch. Default
	// 1s.
	FlushInterval time.Duration
	// FlushUsers is the number of users changed since the last flush
	// (kept decoded, and encoded for readers, until it) after which a
	// flush is written. Default 2048.
	FlushUsers int
	// FlushDeltas is the number of item deltas of the events applied since
	// the last flush (about 50 bytes each in memory) after which a flush
	// is written. Default 50,000.
	FlushDeltas int

	// Item-share checkpoints. A flush writes the item deltas of its events
	// (compact records), not the item shares they change; each worker
	// checkpoints its partition's shares from the store: beside the
	// worker, which goes on applying, it folds the delta records into the
	// stored shares they touch, writes those whole and deletes the records
	// (one partition at a time in a consumer), when the first of these
	// limits is reached, and when it stops (revocation, shutdown).
	// Recovery reads the shares and applies the records written since, so
	// the limits bound the work of a restart after a crash and the space of
	// the records, not correctness.

	// CheckpointBatches is the number of flushes with item deltas after
	// which a checkpoint is written. Default 4096.
	CheckpointBatches int
	// CheckpointDeltas is the number of item deltas (popularity
	// contributions and co-occurrence pairs, about 40 bytes each stored)
	// after which a checkpoint is written. Default 500,000.
	CheckpointDeltas int
	// CheckpointInterval is the age of the oldest delta record after which
	// a checkpoint is written. Default 1m.
	CheckpointInterval time.Duration

	// Logger for the stream's own messages. Default slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the documented defaults, without brokers.
func DefaultConfig() Config {
	return Config{
		Group: "sticky", SessionTimeout: 45 * time.Second, EventsTopic: "sticky.events", ItemsTopic: "sticky.items", DLQTopic: "sticky.events.dlq",
		Partitions: 8, ItemsPartitions: 1, ReplicationFactor: -1,
		MaxPollRecords: 10000, BatchEvents: 2000, FetchMaxBytes: 4 * bytesize.MiB, YieldMax: 2 * time.Millisecond,
		ProducerLinger: time.Millisecond, LagInterval: time.Second, MaxFutureSkew: time.Hour, DLQTimeout: 30 * time.Second,
		FlushInterval: time.Second, FlushUsers: 2048, FlushDeltas: 50_000,
		CheckpointBatches: 4096, CheckpointDeltas: 500_000, CheckpointInterval: time.Minute,
	}
}

// WithTopicPrefix names the three topics after prefix: <prefix>.events,
// <prefix>.items and <prefix>.events.dlq.
func (c *Config) WithTopicPrefix(prefix string) {
	c.EventsTopic, c.ItemsTopic, c.DLQTopic = prefix+".events", prefix+".items", prefix+".events.dlq"
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	d := DefaultConfig()
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&c.Group, d.Group)
	num.Positive(&c.SessionTimeout, d.SessionTimeout)
	set(&c.EventsTopic, d.EventsTopic)
	set(&c.ItemsTopic, d.ItemsTopic)
	set(&c.DLQTopic, d.DLQTopic)
	num.Positive(&c.Partitions, d.Partitions)
	num.Positive(&c.ItemsPartitions, d.ItemsPartitions)
	num.Unset(&c.ReplicationFactor, d.ReplicationFactor)
	num.Positive(&c.MaxPollRecords, d.MaxPollRecords)
	num.Positive(&c.BatchEvents, d.BatchEvents)
	num.Positive(&c.FetchMaxBytes, d.FetchMaxBytes)
	c.FetchMaxBytes = min(c.FetchMaxBytes, math.MaxInt32)
	num.Unset(&c.YieldMax, d.YieldMax)
	num.Positive(&c.ProducerLinger, d.ProducerLinger)
	num.Positive(&c.LagInterval, d.LagInterval)
	num.Positive(&c.DLQTimeout, d.DLQTimeout)
	num.Positive(&c.MaxFutureSkew, d.MaxFutureSkew)
	num.Unset(&c.FlushInterval, d.FlushInterval)
	num.Positive(&c.FlushUsers, d.FlushUsers)
	num.Positive(&c.FlushDeltas, d.FlushDeltas)
	num.Positive(&c.CheckpointBatches, d.CheckpointBatches)
	num.Positive(&c.CheckpointDeltas, d.CheckpointDeltas)
	num.Positive(&c.CheckpointInterval, d.CheckpointInterval)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func (c *Config) clientOpts(extra ...kgo.Opt) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	opts = append(opts, c.ClientOpts...)
	return append(opts, extra...)
}
