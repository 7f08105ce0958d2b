package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/state"
)

// worker applies one partition: it loads what the partition owns, then
// applies the records the poll loop hands it, batch by batch, until told to
// quit. It is the only writer of its partition's users, item shares and
// offset.
type worker struct {
	c         *Consumer
	cl        *kgo.Client
	partition int32

	recs   chan []*kgo.Record
	queued []*kgo.Record // gather's buffer, reused
	quit   chan struct{}
	done   chan struct{}

	last      int64                  // last applied offset; -1 none
	lastKnown bool                   // last was read from the store
	stalled   atomic.Pointer[string] // why the batch in flight keeps failing; nil when it does not
	dlqDone   int64                  // highest offset already parked on the DLQ by this worker
	applied   atomic.Int64
	items     map[string]*features.ItemStats // this partition's item shares, as committed; publish changes them in place
	deltas    features.Deltas                // the batch in flight's item deltas; reused
	events    []features.Event               // the batch in flight's valid events; reused
	model     []byte                         // the partition's model share, as committed; nil none
	batchMax  int                            // records per batch: BatchEvents, less after a batch did not fit a transaction

	// Since the last checkpoint of the item shares (see Config.CheckpointBatches):
	dirty     map[string]struct{} // the items whose share changed
	pending   int                 // delta records committed
	pendingN  int                 // item deltas in them
	since     time.Time           // when the first of them was committed
	nextCheck time.Time           // after a failed checkpoint: no new attempt before
}

// newWorker returns the worker of a partition whose last applied offset is
// last (-1: none), read from the store unless lastKnown is false; run starts
// it.
func newWorker(c *Consumer, cl *kgo.Client, partition int32, last int64, lastKnown bool) *worker {
	w := &worker{c: c, cl: cl, partition: partition, last: last, lastKnown: lastKnown, dlqDone: -1,
		recs: make(chan []*kgo.Record, 4), quit: make(chan struct{}), done: make(chan struct{})}
	w.applied.Store(last)
	return w
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
	// Stopping, checkpoint what is pending: the next owner in this
	// process (or this one after a restart) then replays nothing.
	defer func() {
		if w.pending > 0 {
			if err := w.checkpoint(); err != nil {
				log.Warn("cannot checkpoint item shares on release (recovery replays their deltas)", "err", err)
			}
		}
	}()
	tick := time.NewTicker(w.c.cfg.CheckpointInterval)
	defer tick.Stop()
	for {
		select {
		case <-w.quit:
			return
		case now := <-tick.C:
			w.maybeCheckpoint(now)
		case recs := <-w.recs:
			recs = w.gather(recs)
			ok := w.process(recs)
			clear(w.queued) // the records are applied: do not pin them
			if !ok {
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
	// The shares as checkpointed plus the delta records written since;
	// the items those records touch are dirty until the next checkpoint,
	// which deletes the records.
	items := make(map[string]*features.ItemStats)
	dirty := make(map[string]struct{})
	var pending, pendingN int
	f := w.c.deps.Extractor
	fold := func(d *features.Deltas, stats func(string) *features.ItemStats) {
		pending++
		pendingN += len(d.Pops) + len(d.Pairs)
		f.ApplyDeltas(d, func(id string) *features.ItemStats {
			dirty[id] = struct{}{}
			return stats(id)
		})
	}
	err := w.c.deps.Store.RecoverItemParts(w.partition, fold, func(item string, st *features.ItemStats) error {
		items[item] = st
		return nil
	})
	if err != nil {
		return err
	}
	w.items, w.dirty, w.pending, w.pendingN = items, dirty, pending, pendingN
	w.since = time.Now()
	if t := w.c.deps.Trainer; t != nil {
		model, err := w.c.deps.Store.Model(w.partition)
		if err != nil {
			return err
		}
		if _, err := t.Share(model); err != nil {
			// An unreadable share must not stall the partition: the
			// model starts afresh, and the operator is told.
			w.c.log.Error("stored model share is corrupt; starting it afresh", "partition", w.partition, "err", err)
			model = nil
		}
		w.model = model
		t.Committed(w.partition, model)
	}
	return nil
}

// gather returns recs followed by the records already queued behind them
// for this partition, up to BatchEvents: a worker that fell behind applies
// what waits in one batch, with one commit, rather than a batch per fetch.
// Nothing waits for records that have not arrived.
func (w *worker) gather(recs []*kgo.Record) []*kgo.Record {
	limit := w.c.cfg.BatchEvents
	if len(recs) >= limit || len(w.recs) == 0 {
		return recs
	}
	buf := append(w.queued[:0], recs...)
	for len(buf) < limit && len(w.recs) > 0 {
		more := <-w.recs // only this worker receives: it cannot block
		// A fetch that starts again below what buf holds (a re-delivery)
		// joins from where buf ends, as process would have skipped what
		// the batch before it applied.
		i := 0
		for i < len(more) && more[i].Offset <= buf[len(buf)-1].Offset {
			i++
		}
		buf = append(buf, more[i:]...)
	}
	w.queued = buf
	return buf
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
		if w.batchMax <= 0 {
			w.batchMax = w.c.cfg.BatchEvents
		}
		n := min(len(recs), w.batchMax)
		if !w.applyRetrying(recs[:n]) {
			return false
		}
		recs = recs[n:]
	}
	return true
}

// applyRetrying applies one batch, retrying until it commits or the worker
// quits; a batch too big for one transaction is split in two.
func (w *worker) applyRetrying(recs []*kgo.Record) bool {
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		err := w.apply(recs)
		if err == nil {
			w.stalled.Store(nil)
			if len(recs) == w.batchMax { // it fitted: try a little more next time
				w.batchMax = min(w.batchMax+w.batchMax/8+1, w.c.cfg.BatchEvents)
			}
			return true
		}
		if errors.Is(err, state.ErrBatchTooBig) && len(recs) > 1 {
			// Folding a batch costs far more than committing it: batches
			// that follow are cut to what fits, rather than folded twice.
			w.batchMax = max(len(recs)/2, 1)
			h := len(recs) / 2
			return w.applyRetrying(recs[:h]) && w.applyRetrying(recs[h:])
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

// batch is one batch of records in flight and what applying it produced so
// far; apply's steps fill it in turn.
type batch struct {
	recs  []*kgo.Record
	start time.Time
	yield time.Duration // what is left of Config.YieldMax for this batch

	bad   []badRecord      // malformed records, in offset order
	users []*features.User // the users the batch changed, in order of first event
	model []byte           // the model share after the batch; nil without a Trainer

	consumed, applied [256]int // records by features.Type
	dups              int      // events skipped as duplicates
}

// badRecord is a malformed record, to be parked on the dead-letter topic.
type badRecord struct {
	rec *kgo.Record
	typ features.Type
	err error
}

// apply applies one batch of records: it folds them into fresh copies of the
// users they touch and commits those, the item deltas and the offset of the
// last record. Until the commit succeeds nothing the worker keeps (item
// shares, offset) and nothing readers see changes, so a failed batch can be
// applied again; after it, the deltas are applied to the item shares kept,
// which are checkpointed when one of the Checkpoint limits is reached.
func (w *worker) apply(recs []*kgo.Record) error {
	b := batch{recs: recs, yield: w.c.cfg.YieldMax}
	w.yield(&b)
	b.start = time.Now()
	// While requests are in flight, one worker at a time folds, and
	// commits and publishes, so that the workers leave the other cores to
	// them; not while parking dead letters, which waits on the broker.
	release := w.turn()
	w.decode(&b)
	err := w.foldUsers(&b)
	release()
	if err != nil {
		return err
	}
	if err := w.park(&b); err != nil {
		return err
	}
	release = w.turn()
	defer release()
	if err := w.commit(&b); err != nil {
		return err
	}
	w.publish(&b)
	w.report(&b)
	w.maybeCheckpoint(time.Now())
	return nil
}

// turn takes the background tasks' turn while API requests are in flight
// (Deps.Priority, Gate.Serialize) and returns its release; with YieldMax
// negative it takes none.
func (w *worker) turn() (release func()) {
	if w.c.cfg.YieldMax <= 0 {
		return func() {}
	}
	return w.c.deps.Priority.Serialize()
}

// yield waits for the API requests in flight to finish (Deps.Priority),
// from what is left of the batch's YieldMax.
func (w *worker) yield(b *batch) {
	if b.yield > 0 {
		b.yield -= w.c.deps.Priority.Wait(b.yield)
	}
}

// decode decodes and validates the batch's records into w.events; the
// malformed ones go to b.bad.
func (w *worker) decode(b *batch) {
	c := w.c
	zones := c.deps.Extractor.Zones()
	w.events = w.events[:0]
	for _, rec := range b.recs {
		ev, err := DecodeRecord(rec, zones, c.cfg.MaxFutureSkew)
		b.consumed[ev.Type]++
		if err != nil {
			b.bad = append(b.bad, badRecord{rec, ev.Type, err})
			continue
		}
		w.events = append(w.events, ev)
	}
}

// foldUsers folds the decoded events into their users, each loaded from the
// store once per batch, and collects the item deltas in w.deltas.
func (w *worker) foldUsers(b *batch) error {
	c, d := w.c, &w.deltas
	d.Reset()
	defer clear(w.events) // keep no event past its batch
	users := make(map[string]*features.User, len(b.recs))
	b.users = make([]*features.User, 0, len(b.recs))
	// The share trains from the committed one, so a batch that fails and
	// is applied again trains each event once.
	var share TrainerShare
	if t := c.deps.Trainer; t != nil {
		var err error
		if share, err = t.Share(w.model); err != nil {
			return fmt.Errorf("cannot decode the committed model share: %w", err)
		}
		if bs, ok := share.(BatchSizer); ok {
			bs.Batch(len(b.recs))
		}
	}
	for i := range w.events {
		if i%64 == 63 {
			w.yield(b)
		}
		ev := &w.events[i]
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
			b.users = append(b.users, u)
		}
		var item *features.Item
		if ev.ItemID != "" {
			item = c.deps.Catalogue.Get(ev.ItemID)
		}
		if share != nil {
			share.Train(u, ev)
		}
		if c.deps.Extractor.FoldUser(u, ev, item, d) {
			b.applied[ev.Type]++
		} else {
			b.dups++
		}
	}
	if share != nil {
		b.model = share.AppendBinary(nil)
	}
	return nil
}

// park produces the malformed records to the dead-letter topic before the
// commit moves past them, each once even when this batch is retried or
// split.
func (w *worker) park(b *batch) error {
	c := w.c
	var dl []*kgo.Record
	for _, bad := range b.bad {
		if bad.rec.Offset > w.dlqDone {
			dl = append(dl, deadLetter(c.cfg.DLQTopic, bad.rec, bad.err))
		}
	}
	if len(dl) == 0 {
		return nil
	}
	pctx, cancel := context.WithTimeout(context.Background(), c.cfg.DLQTimeout)
	err := c.deps.DLQ.Produce(pctx, dl...)
	cancel()
	if err != nil {
		return fmt.Errorf("cannot park %d malformed records on %s: %w", len(dl), c.cfg.DLQTopic, err)
	}
	w.dlqDone = b.bad[len(b.bad)-1].rec.Offset
	return nil
}

// commit writes the batch's users, item deltas, model share and the offset
// of its last record in one Badger transaction.
func (w *worker) commit(b *batch) error {
	c := w.c
	return c.deps.Store.Commit(&state.Batch{Topic: c.cfg.EventsTopic, Partition: w.partition, Offset: b.recs[len(b.recs)-1].Offset,
		Users: b.users, Deltas: &w.deltas, Model: b.model})
}

// publish makes a committed batch the worker's state (its item deltas
// applied to the item shares kept), hands its users and item deltas to the
// Sink (the index and the audience), and marks its last record for the
// Kafka offset commit.
func (w *worker) publish(b *batch) {
	if n := len(w.deltas.Pops) + len(w.deltas.Pairs); n > 0 {
		if w.dirty == nil {
			w.dirty = make(map[string]struct{})
		}
		w.c.deps.Extractor.ApplyDeltas(&w.deltas, w.share)
		if w.pending == 0 {
			w.since = b.start
		}
		w.pending++
		w.pendingN += n
	}
	if b.model != nil {
		w.model = b.model
		w.c.deps.Trainer.Committed(w.partition, b.model)
	}
	last := b.recs[len(b.recs)-1]
	w.last = last.Offset
	w.applied.Store(last.Offset)
	if w.c.deps.Sink != nil {
		w.c.deps.Sink.Committed(b.users, &w.deltas)
	}
	if w.cl != nil {
		w.cl.MarkCommitRecords(last)
	}
}

// share returns the kept share of item id to change, creating it, and marks
// it for the next checkpoint.
func (w *worker) share(id string) *features.ItemStats {
	s := w.items[id]
	if s == nil {
		s = new(features.ItemStats)
		w.items[id] = s
	}
	w.dirty[id] = struct{}{}
	return s
}

// maybeCheckpoint checkpoints the item shares when one of the Checkpoint
// limits is reached. A failed checkpoint leaves recovery exact (the delta
// records stay until one succeeds): it is logged and tried again later.
func (w *worker) maybeCheckpoint(now time.Time) {
	cfg := &w.c.cfg
	if w.pending == 0 || now.Before(w.nextCheck) ||
		w.pending < cfg.CheckpointBatches && w.pendingN < cfg.CheckpointDeltas && now.Sub(w.since) < cfg.CheckpointInterval {
		return
	}
	if err := w.checkpoint(); err != nil {
		w.c.log.Error("cannot checkpoint item shares; retrying later", "partition", w.partition, "err", err)
		w.nextCheck = now.Add(min(5*time.Second, cfg.CheckpointInterval))
	}
}

// checkpoint writes the item shares changed since the last checkpoint, as
// of the last committed offset, and deletes the delta records they cover.
func (w *worker) checkpoint() error {
	t0 := time.Now()
	ids := make([]string, 0, len(w.dirty))
	for id := range w.dirty {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	parts := make([]state.ItemPart, len(ids))
	for i, id := range ids {
		parts[i] = state.ItemPart{Item: id, Stats: w.items[id]}
	}
	if err := w.c.deps.Store.Checkpoint(w.partition, w.last, parts); err != nil {
		return err
	}
	w.c.log.Debug("item shares checkpointed", "partition", w.partition, "offset", w.last, "batches", w.pending,
		"item_deltas", w.pendingN, "items", len(parts), "took", time.Since(t0).Round(time.Millisecond))
	clear(w.dirty)
	w.pending, w.pendingN = 0, 0
	return nil
}

// report tells the Observer what a committed batch did, and logs its
// malformed records (rate-limited).
func (w *worker) report(b *batch) {
	c := w.c
	obs := c.deps.Observer
	now := time.Now()
	for t := range b.applied {
		if b.consumed[t] > 0 {
			obs.Consumed(features.Type(t), b.consumed[t])
		}
		if b.applied[t] > 0 {
			obs.Applied(features.Type(t), b.applied[t])
		}
	}
	if b.dups > 0 {
		obs.Duplicates(b.dups)
	}
	for _, bad := range b.bad {
		field := "body"
		var fe *features.FieldError
		if errors.As(bad.err, &fe) {
			field = fe.Field
		}
		obs.Invalid(bad.typ, field)
		c.bad.Warn("malformed event parked on the dead-letter topic",
			"partition", bad.rec.Partition, "offset", bad.rec.Offset, "reason", bad.err.Error())
	}
	for _, rec := range b.recs {
		if !rec.Timestamp.IsZero() {
			obs.Freshness(now.Sub(rec.Timestamp))
		}
	}
	obs.Batch(w.partition, len(b.recs), now.Sub(b.start))
}
