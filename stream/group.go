package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/priority"
	"github.com/stickyhq/sticky/state"
)

// Sink learns what the workers change. It must not keep what it is handed
// (the worker changes users in place in later batches, and reuses d), and
// must not change it.
type Sink interface {
	// Applied hands over each batch once it is applied (readers see it;
	// the next flush makes it durable): the vectors of the users it
	// changed and the item-statistics deltas of its events.
	Applied(users []*features.User, d *features.Deltas)
	// Flushed hands over the vectors of the users a flush wrote, each
	// once however many batches changed it since the flush before.
	Flushed(users []*features.User)
}

// Trainer learns from events as they are folded (the engine wires the
// ranker's model to it). Each partition trains its own share, which the
// worker stores with its offset, so that every event trains exactly once.
type Trainer interface {
	// Share decodes a partition's share as stored (nil: a fresh one).
	Share(data []byte) (TrainerShare, error)
	// Committed says data is now the applied share of partition (the
	// next flush stores it), e.g. to rebuild what requests read. It must
	// not keep a reference to data it changes.
	Committed(partition int32, data []byte)
}

// TrainerShare is one partition's share of a Trainer, written only by the
// partition's worker.
type TrainerShare interface {
	// Train learns from ev, about to be folded into u (which it must not
	// change).
	Train(u *features.User, ev *features.Event)
	AppendBinary(dst []byte) []byte
}

// StepCounter is an optional part of a TrainerShare: the learning steps
// it took since decoded. A batch that leaves the count unchanged learned
// nothing: the worker neither encodes nor publishes the share again.
type StepCounter interface {
	Steps() uint64
}

// BatchSizer is an optional part of a TrainerShare: the worker tells it
// the number of records of each batch before training on its events, e.g.
// so that it trains on fewer events of a backlog.
type BatchSizer interface {
	Batch(records int)
}

// Deps are what the consumer folds into and reports to.
type Deps struct {
	Store     *state.Store
	Extractor *features.Extractor
	Catalogue *state.Catalogue
	Sink      Sink      // may be nil
	Trainer   Trainer   // may be nil: no training
	Observer  Observer  // may be nil
	DLQ       *Producer // required: malformed records are parked there
	// Priority, if set, counts the API requests in flight; workers wait
	// for them (up to Config.YieldMax per batch) before and while folding,
	// and fold one at a time meanwhile (Gate.Serialize).
	Priority *priority.Gate
}

// Consumer applies the events topic to state. It joins the consumer group
// and runs one worker goroutine per assigned partition; each worker applies
// its records in batches, and each batch commits the partition's users, its
// share of the item statistics and the offset of its last record in one
// Badger transaction. On assignment a worker resumes after the offset stored
// in Badger, and skips any record at or below it, so a record re-delivered
// by Kafka is never applied twice. Kafka offsets are committed too, after
// Badger, for lag monitoring only.
type Consumer struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	bad  *limitedLog
	adm  *kadm.Client

	mu       sync.Mutex
	workers  map[int32]*worker
	joined   bool
	ends     map[int32]int64 // latest end offsets measured
	endsAt   time.Time
	faults   map[int32]string // partitions whose state and log disagree
	stopping atomic.Bool

	// checkpointing is held by the partition whose item-share checkpoint
	// runs: one at a time, so that they neither take both cores from the
	// live path nor hold several partitions' shares at once. nil: no limit.
	checkpointing chan struct{}
}

// NewConsumer returns a consumer; Run starts it.
func NewConsumer(cfg Config, deps Deps) (*Consumer, error) {
	cfg.EnsureDefaults()
	if deps.Store == nil || deps.Extractor == nil || deps.Catalogue == nil || deps.DLQ == nil {
		return nil, errors.New("cannot create consumer: Store, Extractor, Catalogue and DLQ are required")
	}
	if deps.Observer == nil {
		deps.Observer = NopObserver{}
	}
	c := &Consumer{cfg: cfg, deps: deps, log: cfg.Logger, bad: newLimitedLog(cfg.Logger, 10), workers: make(map[int32]*worker), faults: make(map[int32]string),
		checkpointing: make(chan struct{}, 1)}
	return c, nil
}

// Run consumes until ctx is canceled, then shuts down in order: stop
// polling, let every worker finish its batch in flight, commit the applied
// offsets to Kafka, leave the group. It returns nil on a clean shutdown.
func (c *Consumer) Run(ctx context.Context) error {
	// A client of its own for listing offsets (lag, adjust): the group
	// client's callbacks may run as soon as it exists.
	admCl, err := kgo.NewClient(c.cfg.clientOpts()...)
	if err != nil {
		return fmt.Errorf("cannot create admin client: %w", err)
	}
	defer admCl.Close()
	c.adm = kadm.NewClient(admCl)
	opts := []kgo.Opt{kgo.SessionTimeout(c.cfg.SessionTimeout)}
	if c.cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(c.cfg.InstanceID))
	}
	cl, err := kgo.NewClient(c.cfg.clientOpts(append(opts,
		kgo.ConsumerGroup(c.cfg.Group),
		kgo.ConsumeTopics(c.cfg.EventsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(c.assigned),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
		kgo.AdjustFetchOffsetsFn(c.adjust),
		kgo.AutoCommitMarks(),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxBytes(int32(c.cfg.FetchMaxBytes)),
		kgo.FetchMaxWait(time.Second),
	)...)...)
	if err != nil {
		return fmt.Errorf("cannot create consumer: %w", err)
	}

	var wg sync.WaitGroup
	lagCtx, stopLag := context.WithCancel(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); c.lagLoop(lagCtx) }()

	c.poll(ctx, cl)

	// Shut down: workers first (each finishes its batch in flight), then
	// the final Kafka commit, then leave the group.
	c.stopping.Store(true)
	stopLag()
	wg.Wait()
	c.mu.Lock()
	all := make([]int32, 0, len(c.workers))
	for p := range c.workers {
		all = append(all, p)
	}
	c.mu.Unlock()
	c.stopWorkers(all)
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := cl.CommitMarkedOffsets(cctx); err != nil {
		c.log.Warn("final offset commit to Kafka failed (state is unaffected)", "err", err)
	}
	cancel()
	cl.AllowRebalance()
	cl.Close()
	return nil
}

func (c *Consumer) poll(ctx context.Context, cl *kgo.Client) {
	for {
		fetches := cl.PollRecords(ctx, c.cfg.MaxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				c.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		fetches.EachPartition(func(ftp kgo.FetchTopicPartition) {
			if len(ftp.Records) == 0 {
				return
			}
			c.mu.Lock()
			w := c.workers[ftp.Partition]
			c.mu.Unlock()
			if w == nil { // BlockRebalanceOnPoll makes this impossible
				panic(fmt.Sprintf("BUG: records for partition %d without a worker", ftp.Partition))
			}
			select {
			case w.recs <- ftp.Records:
			case <-ctx.Done():
			}
		})
		cl.AllowRebalance()
	}
}

// assigned starts a worker per new partition. It runs before adjust.
func (c *Consumer) assigned(_ context.Context, cl *kgo.Client, assigned map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.joined = true
	for _, p := range assigned[c.cfg.EventsTopic] {
		if _, ok := c.workers[p]; ok {
			continue
		}
		last, found, err := c.deps.Store.Offset(c.cfg.EventsTopic, p)
		if err != nil {
			// Without the stored offset the partition cannot resume safely;
			// the worker will keep retrying the read before applying anything.
			c.log.Error("cannot read stored offset", "partition", p, "err", err)
		}
		if !found {
			last = -1
		}
		w := newWorker(c, cl, p, last, err == nil)
		c.workers[p] = w
		go w.run()
	}
	c.log.Info("partitions assigned", "partitions", assigned[c.cfg.EventsTopic])
}

// adjust makes every newly assigned partition resume after the offset stored
// in Badger, whatever Kafka's committed offset says; a partition with no
// stored offset starts at the beginning of the log, since none of it is in
// the state. A stored offset beyond the end of the log means the log and the
// state disagree (topic recreated, broker data lost): that is reported as a
// fault, loudly, since records up to the stored offset would be skipped.
func (c *Consumer) adjust(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	stored := make(map[int32]int64)
	for p := range offsets[c.cfg.EventsTopic] {
		last, found, err := c.deps.Store.Offset(c.cfg.EventsTopic, p)
		if err != nil {
			return nil, fmt.Errorf("cannot read stored offset of partition %d: %w", p, err)
		}
		if found {
			stored[p] = last
			offsets[c.cfg.EventsTopic][p] = kgo.NewOffset().At(last + 1).WithEpoch(-1)
		} else {
			offsets[c.cfg.EventsTopic][p] = kgo.NewOffset().AtStart().WithEpoch(-1)
		}
	}
	if len(stored) > 0 {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ends, err := c.adm.ListEndOffsets(lctx, c.cfg.EventsTopic)
		cancel()
		if err != nil {
			c.log.Warn("cannot check stored offsets against the log end", "err", err)
		} else {
			ends.Each(func(o kadm.ListedOffset) {
				last, ok := stored[o.Partition]
				if !ok || o.Err != nil || last+1 <= o.Offset {
					return
				}
				fault := fmt.Sprintf("partition %d: stored offset %d is beyond the log end %d (topic recreated or broker data lost?); "+
					"records up to offset %d will be skipped", o.Partition, last, o.Offset, last)
				c.log.Error("state and log disagree", "fault", fault)
				c.mu.Lock()
				c.faults[o.Partition] = fault
				c.mu.Unlock()
			})
		}
	}
	return offsets, nil
}

func (c *Consumer) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	c.stopWorkers(revoked[c.cfg.EventsTopic])
	if len(revoked[c.cfg.EventsTopic]) > 0 {
		c.log.Info("partitions revoked", "partitions", revoked[c.cfg.EventsTopic])
	}
	if err := cl.CommitMarkedOffsets(ctx); err != nil && !c.stopping.Load() {
		c.log.Warn("offset commit to Kafka on revoke failed (state is unaffected)", "err", err)
	}
}

func (c *Consumer) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	c.stopWorkers(lost[c.cfg.EventsTopic])
	if len(lost[c.cfg.EventsTopic]) > 0 {
		c.log.Warn("partitions lost", "partitions", lost[c.cfg.EventsTopic])
	}
}

// stopWorkers stops the workers of partitions and waits for each to finish
// its batch in flight.
func (c *Consumer) stopWorkers(partitions []int32) {
	c.mu.Lock()
	var ws []*worker
	for _, p := range partitions {
		if w := c.workers[p]; w != nil {
			delete(c.workers, p)
			close(w.quit)
			ws = append(ws, w)
		}
	}
	c.mu.Unlock()
	for _, w := range ws {
		<-w.done
	}
}

// lagLoop measures the end offsets of the events topic every LagInterval.
func (c *Consumer) lagLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.LagInterval)
	defer t.Stop()
	for {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ends, err := c.adm.ListEndOffsets(lctx, c.cfg.EventsTopic)
		cancel()
		if err == nil {
			m := make(map[int32]int64)
			ends.Each(func(o kadm.ListedOffset) {
				if o.Err == nil && o.Topic == c.cfg.EventsTopic {
					m[o.Partition] = o.Offset
				}
			})
			c.mu.Lock()
			c.ends, c.endsAt = m, time.Now()
			c.mu.Unlock()
		} else if ctx.Err() == nil {
			c.log.Debug("cannot list end offsets", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Status is a snapshot of the consumer's progress.
type Status struct {
	Joined     bool            // the group assigned partitions at least once
	Partitions []int32         // assigned now
	Applied    map[int32]int64 // last applied offset per assigned partition (-1: none)
	Lag        map[int32]int64 // records behind the end offset, per assigned partition
	TotalLag   int64
	MeasuredAt time.Time // when end offsets were last listed (zero: never)
	Faults     []string  // conditions that need an operator
	Stalled    []string  // partitions whose batch in flight keeps failing, and why
}

// Status returns a snapshot of the consumer's progress.
func (c *Consumer) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{Joined: c.joined, Applied: make(map[int32]int64), Lag: make(map[int32]int64), MeasuredAt: c.endsAt}
	for p, w := range c.workers {
		s.Partitions = append(s.Partitions, p)
		if why := w.stalled.Load(); why != nil {
			s.Stalled = append(s.Stalled, *why)
		}
		last := w.applied.Load()
		s.Applied[p] = last
		if end, ok := c.ends[p]; ok {
			lag := max(end-(last+1), 0)
			s.Lag[p] = lag
			s.TotalLag += lag
		}
	}
	slices.Sort(s.Partitions)
	for _, f := range c.faults {
		s.Faults = append(s.Faults, f)
	}
	slices.Sort(s.Faults)
	slices.Sort(s.Stalled)
	return s
}
