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
// quit. It is the only writer of its partition's users, item shares (which
// it keeps in the store alone: see checkpoint) and offset.
//
// Applying a batch changes the state in memory and what readers see at
// once; it becomes durable at the next flush (Config.FlushInterval), which
// writes the users changed since the last one, their events' item deltas,
// the model share and the offset (state.Store.Flush).
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
	events    []features.Event // the batch in flight's valid events; reused
	offsets   []int64          // their offsets
	model     []byte           // the partition's model share, as applied; nil none
	trained   TrainerShare     // model decoded, if it is: the next batch trains it

	// Since the last flush:
	staged     map[string]*userState // users changed, decoded; the next batches fold into them
	pend       features.Deltas       // item deltas of the events applied, in offset order
	marks      []state.DeltaMark     // where each event's deltas end in pend
	unflushed  int                   // batches applied
	firstSince time.Time             // when the first of them was applied
	flushRec   kgo.Record            // the last record applied (topic, partition, offset, epoch), marked for Kafka at the flush
	nextFlush  time.Time             // after a failed flush: no new attempt before
	scratch    features.Deltas       // deltas of replayed events already in delta records: dropped

	// After a crash, the records between the stored offset and the last
	// delta record (DeltasUpTo) have their item deltas stored already.
	deltasUpTo int64
	// Marks whose delta records a failed flush wrote: the retry does not
	// write them again (state.Flush.DeltasFrom).
	deltasDone int

	// Since the last checkpoint of the item shares (see Config.CheckpointBatches):
	pending   int       // flushes that wrote delta records (at load: delta records)
	pendingN  int       // item deltas applied (flushed, but for those in w.pend)
	since     time.Time // when the first of them was applied
	nextCheck time.Time // after a failed checkpoint: no new attempt before

	// The checkpoint running beside the worker (startCheckpoint); nil none.
	checking *checkpointRun
}

// checkpointRun is a checkpoint running in its own goroutine, which the
// worker owns: it waits for it (checkpointed) before starting another and
// before it stops.
type checkpointRun struct {
	pending, pendingN int        // what it covers of the worker's counts
	done              chan error // its result, once
}

// userState is a user a worker folds into: its vector, staged in the store
// once changed, and the offset the vector was current up to when read from
// the store (-1: it did not say).
type userState struct {
	st      *state.Staged
	upTo    int64
	changed bool // in the batch in flight
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
	defer w.release()
	every := w.c.cfg.CheckpointInterval
	if f := w.c.cfg.FlushInterval; f > 0 {
		every = min(every, f)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-w.quit:
			return
		case err := <-w.checkingDone():
			w.checkpointResult(err)
		case now := <-tick.C:
			if !w.maybeFlush(now) {
				return
			}
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

// release is what a worker does when it stops: it flushes what is applied
// and checkpoints what is pending, so that the next owner in this process
// (or this one after a restart) replays nothing. A checkpoint running ends
// first (checkpointResult logs a failure; recovery then folds the records
// it would have covered). When the flush fails, the users it staged are
// unstaged: the next owner replays from the last flush, reading the users
// as that flush stored them; left staged, they would say they hold events
// that nothing stores, and the replay would skip those events.
func (w *worker) release() {
	w.checkpointed(true)
	if w.unflushed > 0 {
		if err := w.flush(); err != nil {
			w.c.log.Error("cannot flush on release; the next owner replays from the last flush", "partition", w.partition, "offset", w.last, "err", err)
			staged := make([]*state.Staged, 0, len(w.staged))
			for _, u := range w.staged {
				staged = append(staged, u.st)
			}
			w.c.deps.Store.Unstage(staged)
			return
		}
	}
	if w.pending > 0 {
		w.checkpoint()
	}
}

func (w *worker) load() error {
	st := w.c.deps.Store
	if !w.lastKnown {
		last, found, err := st.Offset(w.c.cfg.EventsTopic, w.partition)
		if err != nil {
			return err
		}
		if !found {
			last = -1
		}
		w.last, w.lastKnown = last, true
		w.applied.Store(last)
	}
	// Delta records above the stored offset: a flush cut short wrote
	// them, and the shares below hold them already.
	w.deltasUpTo = -1
	if d, found, err := st.DeltasUpTo(w.partition); err != nil {
		return err
	} else if found {
		w.deltasUpTo = d
	}
	// The delta records written since the last checkpoint: the next one
	// folds them into the shares and deletes them.
	pending, pendingN, err := st.PendingDeltas(w.partition)
	if err != nil {
		return err
	}
	w.pending, w.pendingN = pending, pendingN
	w.since = time.Now()
	w.staged = make(map[string]*userState)
	if t := w.c.deps.Trainer; t != nil {
		model, err := st.Model(w.partition)
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
// what waits in one batch rather than a batch per fetch. Nothing waits for
// records that have not arrived.
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

// process applies records in batches of at most BatchEvents, flushing when
// a flush is due. Told to quit, it stops after the batch in flight: the rest
// was never applied, so whoever owns the partition next fetches it again.
// It returns false when it quit.
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
		if !w.applyRetrying(recs[:n]) {
			return false
		}
		recs = recs[n:]
		if !w.maybeFlush(time.Now()) {
			return false
		}
	}
	return true
}

// applyRetrying applies one batch, retrying until it is applied or the
// worker quits.
func (w *worker) applyRetrying(recs []*kgo.Record) bool {
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		err := w.apply(recs)
		if err == nil {
			w.stalled.Store(nil)
			return true
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

	bad    []badRecord      // malformed records, in offset order
	users  []*features.User // the users the batch changed, in order of first event
	staged []*state.Staged  // the same, as staged in the store
	model  []byte           // the model share after the batch; nil if it did not change
	share  TrainerShare     // the share trained; nil without a Trainer

	pops, pairs int // where the batch's item deltas start in worker.pend

	consumed, applied [256]int // records by features.Type
	dups              int      // events skipped as duplicates
	replayed          int      // events skipped as already in their user's stored vector
}

// badRecord is a malformed record, to be parked on the dead-letter topic.
type badRecord struct {
	rec *kgo.Record
	typ features.Type
	err error
}

// apply applies one batch of records: it folds them into their users and
// the partition's item shares, and hands the result to readers. Every step
// that can fail (parking dead letters, reading users) comes before the
// first change, so a failed batch has changed nothing and can be applied
// again; the fold itself cannot fail.
func (w *worker) apply(recs []*kgo.Record) error {
	b := batch{recs: recs, yield: w.c.cfg.YieldMax}
	w.yield(&b)
	b.start = time.Now()
	// While requests are in flight, one worker at a time decodes and folds,
	// so that the workers leave the other cores to them; not while parking
	// dead letters, which waits on the broker.
	release := w.turn()
	w.decode(&b)
	release()
	if err := w.park(&b); err != nil {
		return err
	}
	release = w.turn()
	defer release()
	users, err := w.readUsers(&b)
	if err != nil {
		return err
	}
	w.fold(&b, users)
	w.publish(&b)
	w.report(&b)
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
	w.events, w.offsets = w.events[:0], w.offsets[:0]
	for _, rec := range b.recs {
		ev, err := DecodeRecord(rec, zones, c.cfg.MaxFutureSkew)
		b.consumed[ev.Type]++
		if err != nil {
			b.bad = append(b.bad, badRecord{rec, ev.Type, err})
			continue
		}
		w.events = append(w.events, ev)
		w.offsets = append(w.offsets, rec.Offset)
	}
}

// readUsers returns the user of every event of the batch: as folded by an
// earlier batch since the last flush, else read from the store.
func (w *worker) readUsers(b *batch) (map[string]*userState, error) {
	c := w.c
	users := make(map[string]*userState, len(b.recs))
	for i := range w.events {
		id := w.events[i].UserID
		if _, ok := users[id]; ok {
			continue
		}
		if us := w.staged[id]; us != nil {
			users[id] = us
			continue
		}
		u := new(features.User)
		_, upTo, err := c.deps.Store.UserAt(id, u)
		if err != nil {
			if !errors.Is(err, state.ErrCorrupt) {
				return nil, err
			}
			// One unreadable vector must not stall the partition:
			// the user starts afresh, and the operator is told.
			c.log.Error("stored user vector is corrupt; starting the user afresh", "user", id, "err", err)
			*u, upTo = features.User{ID: id}, -1
		}
		users[id] = &userState{st: &state.Staged{User: u}, upTo: upTo}
	}
	return users, nil
}

// fold folds the decoded events into their users, appending their item
// deltas to w.pend (marked per event in w.marks) and training the model
// share on each first. An event a user's stored vector already holds (a
// flush cut short by a crash wrote it) is skipped; the item deltas of an
// event at or below w.deltasUpTo, already in a delta record, are dropped.
func (w *worker) fold(b *batch, users map[string]*userState) {
	c := w.c
	defer clear(w.events) // keep no event past its batch
	b.users = make([]*features.User, 0, len(users))
	b.staged = make([]*state.Staged, 0, len(users))
	b.pops, b.pairs = len(w.pend.Pops), len(w.pend.Pairs)
	// The share trains from the applied one: the share the last
	// committed batch trained (publish hands it over), else decoded from
	// w.model (after a batch that failed once trained, at start). A
	// stored share that cannot be decoded was replaced at load.
	share := w.trained
	w.trained = nil
	if t := c.deps.Trainer; t != nil && share == nil {
		var err error
		if share, err = t.Share(w.model); err != nil {
			c.log.Error("model share is corrupt; starting it afresh", "partition", w.partition, "err", err)
			share, _ = t.Share(nil)
		}
	}
	if bs, ok := share.(BatchSizer); ok {
		bs.Batch(len(b.recs))
	}
	var before uint64
	sc, counts := share.(StepCounter)
	if counts {
		before = sc.Steps()
	}
	for i := range w.events {
		if i%64 == 63 {
			w.yield(b)
		}
		ev, off := &w.events[i], w.offsets[i]
		us := users[ev.UserID]
		if off <= us.upTo {
			b.replayed++
			continue
		}
		u := us.st.User
		var item *features.Item
		if ev.ItemID != "" {
			if item = c.deps.Catalogue.Get(ev.ItemID); item != nil {
				// The catalogue's copy of the id (it keeps items by their
				// ID): the keys it becomes in users, item shares and the
				// index then share one string, and comparing them stops
				// at its pointer.
				ev.ItemID = item.ID
			}
		}
		if share != nil {
			share.Train(u, ev)
		}
		d := &w.pend
		if off <= w.deltasUpTo {
			d = &w.scratch
			d.Reset()
		}
		us.st.Lock() // readers copy staged users under the read lock
		folded := c.deps.Extractor.FoldUser(u, ev, item, d)
		us.st.Unlock()
		if !folded {
			b.dups++
			continue
		}
		b.applied[ev.Type]++
		if d == &w.pend {
			if m := w.marks; len(m) == 0 || m[len(m)-1].Pops != len(d.Pops) || m[len(m)-1].Pairs != len(d.Pairs) {
				w.marks = append(w.marks, state.DeltaMark{Offset: off, Pops: len(d.Pops), Pairs: len(d.Pairs)})
			}
		}
		if !us.changed {
			us.changed = true
			b.users = append(b.users, u)
			b.staged = append(b.staged, us.st)
			w.staged[ev.UserID] = us
		}
	}
	for _, us := range users {
		us.changed = false
	}
	if share != nil && (!counts || sc.Steps() != before) {
		b.model = share.AppendBinary(nil) // it learned: publish and store it
	}
	b.share = share
}

// park produces the malformed records to the dead-letter topic before the
// batch is applied, each once even when this batch is retried.
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

// publish makes a folded batch what readers see: its users are staged in
// the store, its item deltas handed with them to the Sink (the index and
// the audience), and its model share to the Trainer. The next flush makes
// them durable, the deltas as delta records, which the next checkpoint
// folds into the partition's item shares.
func (w *worker) publish(b *batch) {
	last := b.recs[len(b.recs)-1]
	w.c.deps.Store.Stage(last.Offset, b.staged)
	d := features.Deltas{Pops: w.pend.Pops[b.pops:], Pairs: w.pend.Pairs[b.pairs:]}
	if b.model != nil {
		w.model = b.model
		w.c.deps.Trainer.Committed(w.partition, b.model)
	}
	w.trained = b.share
	w.last = last.Offset
	w.applied.Store(last.Offset)
	w.flushRec = kgo.Record{Topic: last.Topic, Partition: last.Partition, Offset: last.Offset, LeaderEpoch: last.LeaderEpoch}
	if w.unflushed == 0 {
		w.firstSince = b.start
	}
	w.unflushed++
	if n := len(d.Pops) + len(d.Pairs); n > 0 {
		if w.pendingN == 0 {
			w.since = b.start
		}
		w.pendingN += n
	}
	if w.c.deps.Sink != nil {
		w.c.deps.Sink.Applied(b.users, &d)
	}
}

// maybeFlush flushes when a flush is due (Config.FlushInterval,
// FlushUsers, FlushDeltas) or a checkpoint of the item shares is, which
// then starts beside the worker (startCheckpoint). A failed flush is
// logged and tried again later; only when what waits for one reaches four
// times a limit does the worker stop applying, retrying until a flush
// succeeds or it is told to quit (then it returns false).
func (w *worker) maybeFlush(now time.Time) bool {
	cfg := &w.c.cfg
	w.checkpointed(false) // collect a checkpoint that has ended
	over := func(k int) bool {
		return len(w.staged) >= k*cfg.FlushUsers || len(w.pend.Pops)+len(w.pend.Pairs) >= k*cfg.FlushDeltas
	}
	due := w.unflushed > 0 && (cfg.FlushInterval < 0 || now.Sub(w.firstSince) >= cfg.FlushInterval || over(1) || w.checkpointDue(now))
	for backoff := 100 * time.Millisecond; due; backoff = min(2*backoff, 5*time.Second) {
		if now.Before(w.nextFlush) && !over(4) {
			return true
		}
		err := w.flush()
		if err == nil {
			w.stalled.Store(nil)
			break
		}
		w.c.log.Error("cannot flush applied state; retrying", "partition", w.partition, "offset", w.last, "err", err)
		w.nextFlush = now.Add(backoff)
		if !over(4) {
			return true
		}
		why := fmt.Sprintf("partition %d cannot flush at offset %d: %v", w.partition, w.last, err)
		w.stalled.Store(&why)
		select {
		case <-w.quit:
			return false
		case <-time.After(backoff):
		}
		now = time.Now()
	}
	if w.unflushed == 0 && w.checkpointDue(now) {
		w.startCheckpoint()
	}
	return true
}

// flush makes what the worker applied since the last flush durable (see
// state.Store.Flush) and marks its last record for the Kafka offset commit.
func (w *worker) flush() error {
	ids := make([]string, 0, len(w.staged))
	for id := range w.staged {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	f := state.Flush{Topic: w.c.cfg.EventsTopic, Partition: w.partition, Offset: w.last,
		Users: ids, Deltas: &w.pend, Marks: w.marks, Model: w.model, DeltasFrom: w.deltasDone}
	err := w.c.deps.Store.Flush(&f)
	w.deltasDone = f.DeltasDone
	if err != nil {
		return err
	}
	w.deltasDone = 0
	if len(w.pend.Pops)+len(w.pend.Pairs) > 0 {
		w.pending++ // delta records to checkpoint
	}
	if sink := w.c.deps.Sink; sink != nil && len(w.staged) > 0 {
		users := make([]*features.User, len(ids))
		for i, id := range ids {
			users[i] = w.staged[id].st.User
		}
		sink.Flushed(users)
	}
	// A backlog grows the buffers to FlushDeltas; live flushes hold far
	// fewer: do not keep a backlog's arrays for the rest of the run.
	w.pend.Pops, w.pend.Pairs, w.marks = emptied(w.pend.Pops), emptied(w.pend.Pairs), emptied(w.marks)
	clear(w.staged)
	w.unflushed = 0
	if w.cl != nil {
		w.cl.MarkCommitRecords(&w.flushRec)
	}
	return nil
}

// emptied returns s empty, keeping its array unless it is more than twice
// what s held (and than 4096).
func emptied[T any](s []T) []T {
	if cap(s) > 2*max(len(s), 4096) {
		return nil
	}
	return s[:0]
}

// checkpointDue says whether one of the Checkpoint limits is reached (the
// item shares are then checkpointed after a flush). A failed checkpoint
// leaves recovery exact (the delta records stay until one succeeds): it is
// logged and tried again later.
func (w *worker) checkpointDue(now time.Time) bool {
	cfg := &w.c.cfg
	return w.pending > 0 && w.checking == nil && !now.Before(w.nextCheck) &&
		(w.pending >= cfg.CheckpointBatches || w.pendingN >= cfg.CheckpointDeltas || now.Sub(w.since) >= cfg.CheckpointInterval)
}

// checkpoint folds the delta records written since the last checkpoint
// into the stored item shares and deletes them (state.Store.CheckpointDeltas):
// the worker keeps no shares in memory (the index holds every item's
// statistics, summed over the partitions, for requests), so a partition
// costs its records and nothing more between checkpoints. The worker calls
// it, or startCheckpoint, with nothing unflushed and no checkpoint running:
// every delta applied up to the last offset applied is in a record. It
// covers the records up to that offset only: while the worker replays
// records whose deltas a flush cut short had stored (deltasUpTo), the
// records above it stay, so that a restart before the replay has passed
// them still finds them (DeltasUpTo) and does not apply those deltas
// again. checkpoint runs it at once (when the worker stops).
func (w *worker) checkpoint() error {
	w.checking = w.newCheckpoint()
	return w.checkpointResult(w.runCheckpoint(w.last, false))
}

// startCheckpoint starts a checkpoint in its own goroutine: the worker goes
// on applying and flushing (its new delta records are above the
// checkpoint's offset, which it leaves alone) and collects the result
// from checkingDone (checkpointResult). One checkpoint of the consumer's
// partitions runs at a time.
func (w *worker) startCheckpoint() {
	run := w.newCheckpoint()
	upTo := w.last
	w.checking = run
	go func() { run.done <- w.runCheckpoint(upTo, true) }()
}

func (w *worker) newCheckpoint() *checkpointRun {
	return &checkpointRun{pending: w.pending, pendingN: w.pendingN, done: make(chan error, 1)}
}

// runCheckpoint checkpoints the records up to upTo. It reads nothing of
// the worker's but its partition and dependencies, which do not change.
func (w *worker) runCheckpoint(upTo int64, queue bool) error {
	if sem := w.c.checkpointing; queue && sem != nil {
		sem <- struct{}{}
		defer func() { <-sem }()
	}
	t0 := time.Now()
	records, items, err := w.c.deps.Store.CheckpointDeltas(w.partition, upTo, w.c.deps.Extractor.ApplyDeltas)
	if err != nil {
		return err
	}
	w.c.log.Debug("item shares checkpointed", "partition", w.partition, "offset", upTo,
		"records", records, "items", items, "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// checkingDone is the running checkpoint's result channel; nil (never
// ready) when none runs.
func (w *worker) checkingDone() <-chan error {
	if w.checking == nil {
		return nil
	}
	return w.checking.done
}

// checkpointed waits for the running checkpoint, if any (wait), or
// collects its result if it has ended, and returns its error.
func (w *worker) checkpointed(wait bool) error {
	if w.checking == nil {
		return nil
	}
	if wait {
		return w.checkpointResult(<-w.checking.done)
	}
	select {
	case err := <-w.checking.done:
		return w.checkpointResult(err)
	default:
		return nil
	}
}

// checkpointResult ends the running checkpoint with its result: what it
// covered is no longer pending; a failure is logged and tried again later
// (the records stay, so recovery stays exact).
func (w *worker) checkpointResult(err error) error {
	run := w.checking
	w.checking = nil
	if err != nil {
		w.c.log.Error("cannot checkpoint item shares; retrying later", "partition", w.partition, "err", err)
		w.nextCheck = time.Now().Add(min(5*time.Second, w.c.cfg.CheckpointInterval))
		return err
	}
	w.pending -= run.pending
	w.pendingN -= run.pendingN
	if w.pendingN > 0 {
		w.since = time.Now() // roughly: the batches applied while it ran
	}
	return nil
}

// report tells the Observer what an applied batch did, and logs its
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
	if b.replayed > 0 {
		obs.Replayed(b.replayed)
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
