package baseline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/stream"
)

// Item is what the baseline keeps of a catalogue entry.
type Item struct {
	Category   string
	Brand      string
	Available  bool
	Repeatable bool // may be recommended again after purchase
}

// Catalogue answers what the consumer and the ranker need about an item.
type Catalogue interface {
	// Lookup returns the item with id, and whether it is in the catalogue.
	Lookup(id string) (Item, bool)
}

// Items is an in-memory Catalogue safe for concurrent readers and one
// writer.
type Items struct {
	mu sync.RWMutex
	m  map[string]Item
}

// NewItems returns a catalogue holding items.
func NewItems(items []features.Item) *Items {
	c := &Items{m: make(map[string]Item, len(items))}
	for i := range items {
		c.Put(&items[i])
	}
	return c
}

// Lookup implements Catalogue.
func (c *Items) Lookup(id string) (Item, bool) {
	c.mu.RLock()
	it, ok := c.m[id]
	c.mu.RUnlock()
	return it, ok
}

// Put adds or replaces an item.
func (c *Items) Put(it *features.Item) {
	c.mu.Lock()
	c.m[it.ID] = Item{Category: it.Category, Brand: it.Brand, Available: it.Available, Repeatable: it.Repeatable}
	c.mu.Unlock()
}

// Delete removes an item.
func (c *Items) Delete(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// Len returns the number of items.
func (c *Items) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// loadCatalogue reads the items topic from the start into items, calls
// loaded once it has read everything that was on the topic when it started
// (the end offsets it lists first), and follows the topic until ctx ends.
func loadCatalogue(ctx context.Context, o *Options, items *Items, loaded func(), log *slog.Logger) error {
	ends, err := itemEnds(ctx, o, log)
	if err != nil || ctx.Err() != nil {
		return err
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(o.Brokers...),
		kgo.ConsumeTopics(o.ItemsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(time.Second),
	)
	if err != nil {
		return fmt.Errorf("cannot create catalogue consumer: %w", err)
	}
	defer cl.Close()

	// Caught up once a record at or past end-1 of each partition has been
	// read. Compaction keeps the latest record of every key, and the
	// producers of the items topic are not transactional, so the record
	// at end-1 exists (a tombstone removed after delete.retention.ms
	// would hold the load back until the next update).
	next := make(map[int32]int64, len(ends)) // next offset to read, per partition
	caughtUp := func() bool {
		for p, end := range ends {
			if next[p] < end {
				return false
			}
		}
		return true
	}
	done := false
	if caughtUp() {
		loaded()
		done = true
	}
	bad := newOnceLog(log)
	for {
		fs := cl.PollRecords(ctx, 10000)
		if fs.IsClientClosed() || ctx.Err() != nil {
			return nil
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				log.Warn("catalogue fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			next[r.Partition] = r.Offset + 1
			if r.Value == nil { // tombstone
				items.Delete(string(r.Key))
				return
			}
			it, err := stream.DecodeItem(r.Key, r.Value)
			if err != nil {
				bad.Warn("malformed catalogue item skipped", err.Error(), "partition", r.Partition, "offset", r.Offset)
				return
			}
			items.Put(&it)
		})
		if !done && caughtUp() {
			log.Info("catalogue loaded", "items", items.Len())
			loaded()
			done = true
		}
	}
}

// itemEnds lists the end offsets of the items topic, retrying while the
// topic does not exist yet.
func itemEnds(ctx context.Context, o *Options, log *slog.Logger) (map[int32]int64, error) {
	adm, err := kgo.NewClient(kgo.SeedBrokers(o.Brokers...))
	if err != nil {
		return nil, fmt.Errorf("cannot create catalogue admin client: %w", err)
	}
	defer adm.Close()
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		ends := make(map[int32]int64)
		listed, err := kadm.NewClient(adm).ListEndOffsets(ctx, o.ItemsTopic)
		if err == nil {
			listed.Each(func(lo kadm.ListedOffset) {
				if lo.Err != nil {
					err = lo.Err
				}
				ends[lo.Partition] = lo.Offset
			})
		}
		if err == nil && len(ends) == 0 {
			err = fmt.Errorf("topic %s has no partitions", o.ItemsTopic)
		}
		if err == nil {
			return ends, nil
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		log.Warn("catalogue topic not ready; retrying", "topic", o.ItemsTopic, "err", err)
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(backoff):
		}
	}
}

// onceLog logs each distinct reason once (up to 100 reasons, then nothing
// new), so that a stream of bad records cannot flood the log.
type onceLog struct {
	l    *slog.Logger
	mu   sync.Mutex
	seen map[string]struct{}
}

func newOnceLog(l *slog.Logger) *onceLog { return &onceLog{l: l, seen: make(map[string]struct{})} }

func (o *onceLog) Warn(msg, reason string, args ...any) {
	o.mu.Lock()
	_, dup := o.seen[reason]
	full := len(o.seen) >= 100
	if !dup && !full {
		o.seen[reason] = struct{}{}
	}
	o.mu.Unlock()
	if !dup && !full {
		o.l.Warn(msg, append([]any{"reason", reason, "note", "logged once per reason"}, args...)...)
	}
}
