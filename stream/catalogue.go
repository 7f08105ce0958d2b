package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/state"
)

// CatalogueLoader keeps the catalogue in step with the compacted items
// topic. Every instance reads every partition (no group): each needs the
// whole catalogue. Changes are written to the store with the offset they
// came from, in one transaction, then published to the in-memory catalogue;
// a restart resumes after the stored offsets.
type CatalogueLoader struct {
	cfg   Config
	store *state.Store
	cat   *state.Catalogue
	dlq   *Producer
	log   *slog.Logger
	bad   *limitedLog

	caughtUp     chan struct{}
	caughtUpOnce sync.Once
	mu           sync.Mutex
	next         map[int32]int64 // next offset to read, per partition
	dlqParked    map[int32]int64 // offsets below are already on the DLQ, per partition (Run's goroutine only)
	target       map[int32]int64 // end offsets at start
	invalid      uint64
}

// NewCatalogueLoader returns a loader; Run starts it.
func NewCatalogueLoader(cfg Config, store *state.Store, cat *state.Catalogue, dlq *Producer) *CatalogueLoader {
	cfg.EnsureDefaults()
	return &CatalogueLoader{cfg: cfg, store: store, cat: cat, dlq: dlq, log: cfg.Logger,
		bad: newLimitedLog(cfg.Logger, 10), caughtUp: make(chan struct{})}
}

// CaughtUp is closed once the loader has applied every item that was on the
// topic when it started.
func (l *CatalogueLoader) CaughtUp() <-chan struct{} { return l.caughtUp }

// Invalid returns how many malformed items were parked on the DLQ.
func (l *CatalogueLoader) Invalid() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.invalid
}

// Run loads until ctx is canceled.
func (l *CatalogueLoader) Run(ctx context.Context) error {
	// The partitions and where to start; retried while the cluster does
	// not know the topic yet (it may just have been created).
	var start map[int32]kgo.Offset
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		var err error
		if start, err = l.prepare(ctx); err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		l.log.Warn("catalogue topic not ready; retrying", "topic", l.cfg.ItemsTopic, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
	}
	l.checkCaughtUp()

	cl, err := kgo.NewClient(l.cfg.clientOpts(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{l.cfg.ItemsTopic: start}),
		kgo.FetchMaxBytes(int32(l.cfg.FetchMaxBytes)),
		kgo.FetchMaxWait(time.Second),
	)...)
	if err != nil {
		return fmt.Errorf("cannot create catalogue consumer: %w", err)
	}
	defer cl.Close()
	for {
		fetches := cl.PollRecords(ctx, l.cfg.MaxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				l.log.Warn("catalogue fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		var applyErr error
		fetches.EachPartition(func(ftp kgo.FetchTopicPartition) {
			if applyErr == nil && len(ftp.Records) > 0 {
				applyErr = l.applyChunks(ctx, ftp.Partition, ftp.Records, catalogueChunk)
			}
		})
		if applyErr != nil {
			if ctx.Err() != nil {
				return nil
			}
			// The client has moved past these records; it cannot rewind
			// safely, so stop and let the process restart from the store.
			return applyErr
		}
		l.checkCaughtUp()
	}
}

// prepare lists the partitions of the items topic with their end offsets
// and the stored offset of each, and returns where to start reading.
func (l *CatalogueLoader) prepare(ctx context.Context) (map[int32]kgo.Offset, error) {
	adm, err := kgo.NewClient(l.cfg.clientOpts()...)
	if err != nil {
		return nil, fmt.Errorf("cannot create catalogue admin client: %w", err)
	}
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, l.cfg.ItemsTopic)
	adm.Close()
	if err != nil {
		return nil, fmt.Errorf("cannot list partitions of %s: %w", l.cfg.ItemsTopic, err)
	}
	start := make(map[int32]kgo.Offset)
	next, target := make(map[int32]int64), make(map[int32]int64)
	var listErr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			listErr = o.Err
			return
		}
		last, found, err := l.store.Offset(l.cfg.ItemsTopic, o.Partition)
		if err != nil {
			listErr = err
			return
		}
		target[o.Partition] = o.Offset
		if found {
			start[o.Partition] = kgo.NewOffset().At(last + 1)
			next[o.Partition] = last + 1
		} else {
			start[o.Partition] = kgo.NewOffset().AtStart()
			next[o.Partition] = 0
		}
	})
	if listErr != nil {
		return nil, fmt.Errorf("cannot prepare catalogue partitions of %s: %w", l.cfg.ItemsTopic, listErr)
	}
	if len(start) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions yet", l.cfg.ItemsTopic)
	}
	l.mu.Lock()
	l.next, l.target, l.dlqParked = next, target, make(map[int32]int64)
	l.mu.Unlock()
	return start, nil
}

// catalogueChunk is how many catalogue records one transaction starts with.
const catalogueChunk = 1000

// applyChunks applies records in chunks of at most n, each committed with
// its last offset; a chunk too big for one transaction is halved.
func (l *CatalogueLoader) applyChunks(ctx context.Context, partition int32, recs []*kgo.Record, n int) error {
	for len(recs) > 0 {
		m := min(n, len(recs))
		err := l.apply(ctx, partition, recs[:m])
		if errors.Is(err, state.ErrBatchTooBig) && m > 1 {
			if err := l.applyChunks(ctx, partition, recs[:m], max(m/2, 1)); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		recs = recs[m:]
	}
	return nil
}

// apply writes one chunk of a partition's records, retrying until it
// commits; ErrBatchTooBig is returned at once, having written nothing.
func (l *CatalogueLoader) apply(ctx context.Context, partition int32, recs []*kgo.Record) error {
	// Last change per item wins, in log order.
	latest := make(map[string]*features.Item, len(recs))
	var order []string
	var bad []*kgo.Record
	for _, rec := range recs {
		id := string(rec.Key)
		if rec.Value == nil { // tombstone
			if id == "" {
				bad = append(bad, deadLetter(l.cfg.DLQTopic, rec, &features.FieldError{Field: "key", Reason: "is required on a tombstone"}))
				continue
			}
			if _, ok := latest[id]; !ok {
				order = append(order, id)
			}
			latest[id] = nil
			continue
		}
		it, err := DecodeItem(rec.Key, rec.Value)
		if err != nil {
			bad = append(bad, deadLetter(l.cfg.DLQTopic, rec, err))
			l.bad.Warn("malformed catalogue item parked on the dead-letter topic", "partition", partition, "offset", rec.Offset, "reason", err.Error())
			continue
		}
		if _, ok := latest[it.ID]; !ok {
			order = append(order, it.ID)
		}
		latest[it.ID] = &it
	}
	var puts []features.Item
	var dels []string
	for _, id := range order {
		if it := latest[id]; it != nil {
			puts = append(puts, *it)
		} else {
			dels = append(dels, id)
		}
	}
	last := recs[len(recs)-1].Offset
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		// Each dead letter once, however often this chunk is retried or split.
		var fresh []*kgo.Record
		for _, b := range bad {
			if off, _ := strconv.ParseInt(string(headerValue(b, HeaderSrcOffset)), 10, 64); off >= l.dlqParked[partition] {
				fresh = append(fresh, b)
			}
		}
		err := l.dlq.Produce(ctx, fresh...)
		if err == nil && len(fresh) > 0 {
			off, _ := strconv.ParseInt(string(headerValue(fresh[len(fresh)-1], HeaderSrcOffset)), 10, 64)
			l.dlqParked[partition] = off + 1
		}
		if err == nil {
			err = l.store.CommitCatalogue(l.cfg.ItemsTopic, partition, last, puts, dels)
		}
		if err == nil {
			break
		}
		if errors.Is(err, state.ErrBatchTooBig) {
			return err
		}
		l.log.Error("cannot apply catalogue batch; retrying", "partition", partition, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
	}
	l.cat.Apply(puts, dels)
	l.mu.Lock()
	l.next[partition] = last + 1
	l.invalid += uint64(len(bad))
	l.mu.Unlock()
	return nil
}

func (l *CatalogueLoader) checkCaughtUp() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p, end := range l.target {
		if l.next[p] < end {
			return
		}
	}
	l.caughtUpOnce.Do(func() { close(l.caughtUp) })
}
