package stream

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/state"
)

// worker applies one partition.
type worker struct {
	c         *Consumer
	cl        *kgo.Client
	partition int32

	recs chan []*kgo.Record
	quit chan struct{}
	done chan struct{}

	last      int64                  // last applied offset; -1 none
	lastKnown bool                   // last was read from the store
	stalled   atomic.Pointer[string] // why the batch in flight keeps failing; nil when it does not
	dlqDone   int64                  // highest offset already parked on the DLQ by this worker
	applied   atomic.Int64
	items     map[string]*features.ItemStats // this partition's item shares, as committed
	deltas    features.Deltas
}

func (w *worker) run() {
	defer close(w.done)
	log := w.c.log.With("partition", w.partition)
	// Load what this partition owns before applying anything.
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		err := w.load()
		if err == nil {
			break
		}
		log.Error("cannot load partition state; retrying", "err", err)
		select {
		case <-w.quit:
			return
		case <-time.After(backoff):
		}
	}
	for {
		select {
		case <-w.quit:
			return
		case recs := <-w.recs:
			if !w.process(recs) {
				return
			}
		}
	}
}

func (w *worker) load() error {
	if !w.lastKnown {
		last, found, err := w.c.deps.Store.Offset(w.c.cfg.EventsTopic, w.partition)
		if err != nil {
			return err
		}
		if !found {
			last = -1
		}
		w.last, w.lastKnown = last, true
		w.applied.Store(last)
	}
	items := make(map[string]*features.ItemStats)
	err := w.c.deps.Store.LoadItemParts(w.partition, func(item string, st *features.ItemStats) error {
		items[item] = st
		return nil
	})
	if err != nil {
		return err
	}
	w.items = items
	return nil
}

// process applies records in batches of at most BatchEvents. Told to quit,
// it stops after the batch in flight: the rest was never applied, so whoever
// owns the partition next fetches it again. It returns false when it quit.
func (w *worker) process(recs []*kgo.Record) bool {
	i := 0
	for i < len(recs) && recs[i].Offset <= w.last {
		i++ // already applied: a re-delivery
	}
	recs = recs[i:]
	for len(recs) > 0 {
		select {
		case <-w.quit:
			return false
		default:
		}
		n := min(len(recs), w.c.cfg.BatchEvents)
		if !w.commit(recs[:n]) {
			return false
		}
		recs = recs[n:]
	}
	return true
}

// commit applies one batch, retrying until it commits or the worker quits;
// a batch too big for one transaction is split in two.
func (w *worker) commit(recs []*kgo.Record) bool {
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		err := w.apply(recs)
		if err == nil {
			w.stalled.Store(nil)
			return true
		}
		if errors.Is(err, state.ErrBatchTooBig) && len(recs) > 1 {
			h := len(recs) / 2
			return w.commit(recs[:h]) && w.commit(recs[h:])
		}
		w.c.log.Error("cannot apply batch; retrying", "partition", w.partition,
			"from", recs[0].Offset, "to", recs[len(recs)-1].Offset, "err", err)
		why := fmt.Sprintf("partition %d is stalled at offset %d: %v", w.partition, recs[0].Offset, err)
		w.stalled.Store(&why)
		select {
		case <-w.quit:
			return false
		case <-time.After(backoff):
		}
	}
}

type badRecord struct {
	rec *kgo.Record
	typ features.Type
	err error
}

// apply folds recs into fresh copies of the state they touch and commits
// them with the offset of the last record. Until the commit succeeds nothing
// the worker keeps (item shares, offset) and nothing readers see changes.
func (w *worker) apply(recs []*kgo.Record) error {
	start := time.Now()
	c, d := w.c, &w.deltas
	d.Reset()
	users := make(map[string]*features.User, len(recs))
	order := make([]*features.User, 0, len(recs))
	var bad []badRecord
	var applied, consumed [256]int // by features.Type
	dups := 0
	zones := c.deps.Folder.Zones()
	for _, rec := range recs {
		ev, err := DecodeRecord(rec, zones, c.cfg.MaxFutureSkew)
		consumed[ev.Type]++
		if err != nil {
			bad = append(bad, badRecord{rec, ev.Type, err})
			continue
		}
		u := users[ev.UserID]
		if u == nil {
			u = new(features.User)
			if _, err := c.deps.Store.User(ev.UserID, u); err != nil {
				if !errors.Is(err, state.ErrCorrupt) {
					return err
				}
				// One unreadable vector must not stall the partition:
				// the user starts afresh, and the operator is told.
				c.log.Error("stored user vector is corrupt; starting the user afresh", "user", ev.UserID, "err", err)
				*u = features.User{ID: ev.UserID}
			}
			users[ev.UserID] = u
			order = append(order, u)
		}
		var item *features.Item
		if ev.ItemID != "" {
			item = c.deps.Catalogue.Get(ev.ItemID)
		}
		if c.deps.Folder.FoldUser(u, &ev, item, d) {
			applied[ev.Type]++
		} else {
			dups++
		}
	}

	dirty := make(map[string]*features.ItemStats, len(d.Pops))
	share := func(id string) *features.ItemStats {
		if s := dirty[id]; s != nil {
			return s
		}
		var s *features.ItemStats
		if base := w.items[id]; base != nil {
			s = base.Clone()
		} else {
			s = new(features.ItemStats)
		}
		dirty[id] = s
		return s
	}
	f := c.deps.Folder
	for _, p := range d.Pops {
		share(p.Item).ApplyPop(p, f)
	}
	for _, p := range d.Pairs {
		share(p.A).ApplyPair(p.B, p.W, p.At, f)
		share(p.B).ApplyPair(p.A, p.W, p.At, f)
	}

	// Park malformed records before committing past them, each once even
	// when this batch is retried or split.
	var dl []*kgo.Record
	for _, b := range bad {
		if b.rec.Offset > w.dlqDone {
			dl = append(dl, deadLetter(c.cfg.DLQTopic, b.rec, b.err))
		}
	}
	if len(dl) > 0 {
		pctx, cancel := context.WithTimeout(context.Background(), c.cfg.DLQTimeout)
		err := c.deps.DLQ.Produce(pctx, dl...)
		cancel()
		if err != nil {
			return fmt.Errorf("cannot park %d malformed records on %s: %w", len(dl), c.cfg.DLQTopic, err)
		}
		w.dlqDone = bad[len(bad)-1].rec.Offset
	}

	last := recs[len(recs)-1]
	b := state.Batch{Topic: c.cfg.EventsTopic, Partition: w.partition, Offset: last.Offset, Users: order,
		Items: make([]state.ItemPart, 0, len(dirty))}
	for id, s := range dirty {
		b.Items = append(b.Items, state.ItemPart{Item: id, Stats: s})
	}
	if err := c.deps.Store.Commit(&b); err != nil {
		return err
	}

	// Committed: publish.
	for id, s := range dirty {
		w.items[id] = s
	}
	w.last = last.Offset
	w.applied.Store(last.Offset)
	if c.deps.Sink != nil {
		c.deps.Sink.Committed(order, d)
	}
	if w.cl != nil {
		w.cl.MarkCommitRecords(last)
	}

	obs := c.deps.Observer
	now := time.Now()
	for t := range applied {
		if consumed[t] > 0 {
			obs.Consumed(features.Type(t), consumed[t])
		}
		if applied[t] > 0 {
			obs.Applied(features.Type(t), applied[t])
		}
	}
	if dups > 0 {
		obs.Duplicates(dups)
	}
	for _, b := range bad {
		field := "body"
		var fe *features.FieldError
		if errors.As(b.err, &fe) {
			field = fe.Field
		}
		obs.Invalid(b.typ, field)
		c.bad.Warn("malformed event parked on the dead-letter topic",
			"partition", b.rec.Partition, "offset", b.rec.Offset, "reason", b.err.Error())
	}
	for _, rec := range recs {
		if !rec.Timestamp.IsZero() {
			obs.Freshness(now.Sub(rec.Timestamp))
		}
	}
	obs.Batch(w.partition, len(recs), now.Sub(start))
	return nil
}
