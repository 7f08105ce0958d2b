package baseline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/stream"
)

// consumer folds the events topic into Redis (see the package doc).
type consumer struct {
	o     *Options
	rdb   *redis.Client
	cat   Catalogue
	m     *metrics
	log   *slog.Logger
	bad   *onceLog
	zones *features.Zones
}

// writeTimeout bounds one attempt at writing a poll's batch.
const writeTimeout = 30 * time.Second

// run consumes until ctx ends. The batch in flight when it does is still
// written and committed; then the client leaves the group.
func (c *consumer) run(ctx context.Context) error {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(c.o.Brokers...),
		kgo.ConsumerGroup(c.o.Group),
		kgo.ConsumeTopics(c.o.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return fmt.Errorf("cannot create events consumer: %w", err)
	}
	defer cl.Close()
	for {
		fs := cl.PollRecords(ctx, c.o.Batch)
		if fs.IsClientClosed() || ctx.Err() != nil {
			cl.AllowRebalance()
			return nil
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				c.log.Warn("events fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		recs := fs.Records()
		if len(recs) > 0 {
			if err := c.write(ctx, recs); err != nil {
				cl.AllowRebalance()
				return nil // ctx ended while Redis was failing: not written, not committed
			}
			// Committed even if ctx has just ended: Redis has the batch.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := cl.CommitRecords(cctx, recs...); err != nil {
				c.log.Warn("cannot commit offsets; the batch will be delivered again after a restart or rebalance", "err", err)
			}
			cancel()
			c.m.consumed.Add(float64(len(recs)))
		}
		cl.AllowRebalance()
	}
}

// write decodes recs and writes their events to Redis, retrying with
// backoff until it succeeds; it gives up (returning ctx's error) only once
// ctx has ended.
func (c *consumer) write(ctx context.Context, recs []*kgo.Record) error {
	evs := make([]features.Event, 0, len(recs))
	invalid := 0
	for _, r := range recs {
		ev, err := stream.DecodeEvent(r.Value, c.zones)
		if err != nil {
			invalid++
			c.bad.Warn("malformed event skipped", err.Error(), "partition", r.Partition, "offset", r.Offset)
			continue
		}
		evs = append(evs, ev)
	}
	start := time.Now()
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		// An attempt in flight finishes even if ctx ends meanwhile.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		err := c.writeOnce(wctx, evs)
		cancel()
		if err == nil {
			break
		}
		c.log.Error("cannot write batch to redis; retrying", "events", len(evs), "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
	}
	c.m.batchWrite.Observe(time.Since(start).Seconds())
	c.m.invalid.Add(float64(invalid))
	return nil
}

// writeOnce reads the recent items of the batch's users (one pipeline),
// then writes every event's updates (one pipeline).
func (c *consumer) writeOnce(ctx context.Context, evs []features.Event) error {
	prev := make(map[string][]string)
	read := c.rdb.Pipeline()
	cmds := make(map[string]*redis.StringSliceCmd)
	for i := range evs {
		ev := &evs[i]
		if _, ok := cmds[ev.UserID]; !ok && ev.ItemID != "" && weights[ev.Type] > 0 {
			cmds[ev.UserID] = read.LRange(ctx, recentKey(ev.UserID), 0, coocSeeds-1)
		}
	}
	if len(cmds) > 0 {
		if _, err := read.Exec(ctx); err != nil {
			return fmt.Errorf("cannot read recent items: %w", err)
		}
		for u, cmd := range cmds {
			prev[u] = cmd.Val()
		}
	}
	pipe := c.rdb.Pipeline()
	w := &redisWriter{ctx: ctx, p: pipe, recentMax: int64(c.o.RecentMax)}
	for i := range evs {
		ev := &evs[i]
		p := prev[ev.UserID]
		if fold(ev, c.cat, p, w) {
			prev[ev.UserID] = pushFront(p, ev.ItemID, coocSeeds)
		}
	}
	if pipe.Len() == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("cannot write %d events: %w", len(evs), err)
	}
	return nil
}

// redisWriter queues an event's updates on a pipeline.
type redisWriter struct {
	ctx       context.Context
	p         redis.Pipeliner
	recentMax int64
}

func (w *redisWriter) touch(user string, ts time.Time, device, region string) {
	vals := []any{"last_ts", ts.UTC().Format(time.RFC3339Nano)}
	if device != "" {
		vals = append(vals, "device", device)
	}
	if region != "" {
		vals = append(vals, "region", region)
	}
	w.p.HSet(w.ctx, userKey(user), vals...)
	w.p.HIncrBy(w.ctx, userKey(user), "events", 1)
}

func (w *redisWriter) affinity(user string, brand bool, name string, v float64) {
	key := catKey(user)
	if brand {
		key = brandKey(user)
	}
	w.p.HIncrByFloat(w.ctx, key, name, v)
}

func (w *redisWriter) pushRecent(user, item string) {
	w.p.LPush(w.ctx, recentKey(user), item)
	w.p.LTrim(w.ctx, recentKey(user), 0, w.recentMax-1)
}

func (w *redisWriter) bought(user, item string)    { w.p.SAdd(w.ctx, boughtKey(user), item) }
func (w *redisWriter) dismissed(user, item string) { w.p.SAdd(w.ctx, dismissedKey(user), item) }

func (w *redisWriter) pop(item, category string, v float64) {
	w.p.ZIncrBy(w.ctx, popKey, v, item)
	if category != "" {
		w.p.ZIncrBy(w.ctx, catPopKey(category), v, item)
	}
}

func (w *redisWriter) cooc(a, b string) {
	w.p.ZIncrBy(w.ctx, coKey(a), 1, b)
	w.p.ZIncrBy(w.ctx, coKey(b), 1, a)
}
