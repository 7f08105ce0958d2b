package features

import "math"

// ItemStats are the statistics of one item: decayed popularity overall and
// per context bucket, the two trend windows, and co-occurrence neighbours.
// All of them are sums, so the statistics of several sources (one per Kafka
// partition) merge exactly with Merge.
type ItemStats struct {
	Pop        Decayed // PopularityHalfLife
	Short      Decayed // TrendShortHalfLife
	Long       Decayed // TrendLongHalfLife
	Buckets    Scores  // region × daypart (and AnyRegion × daypart), BucketHalfLife
	Neighbours Scores  // co-occurring items, CoocHalfLife
	Actions    uint32  // interactions counted (positive-weight events)
	Purchases  uint32  // purchase events
}

// ApplyDeltas applies the item deltas d to item statistics: each popularity
// contribution to its item, each co-occurrence pair to both of its items.
// stats returns the statistics to change for an item, never nil, and the
// same for an item until ApplyDeltas returns; it is called at least once
// for every item of a contribution or a pair. Every fold of deltas into
// item statistics goes through here (the partition workers' item shares, the
// ranker's Index, the tests' reference fold), so that the live index cannot
// disagree with the one rebuilt from the shares at start-up.
func (f *Extractor) ApplyDeltas(d *Deltas, stats func(item string) *ItemStats) {
	for _, p := range d.Pops {
		stats(p.Item).ApplyPop(p, f)
	}
	// An event's pairs share their first item (the event's, paired with
	// each recent one): it is looked up once per run of pairs.
	var a *ItemStats
	for i, p := range d.Pairs {
		if i == 0 || p.A != d.Pairs[i-1].A {
			a = stats(p.A)
		}
		a.ApplyPair(p.B, p.W, p.At, f)
		stats(p.B).ApplyPair(p.A, p.W, p.At, f)
	}
}

// ApplyPop folds one popularity contribution into s; Extractor.ApplyDeltas
// applies a batch's.
func (s *ItemStats) ApplyPop(p Pop, f *Extractor) {
	hl, c := &f.p, &f.cfg
	s.Pop.Add(p.W, p.At, hl.Popularity)
	s.Short.Add(p.W, p.At, hl.Short)
	s.Long.Add(p.W, p.At, hl.Long)
	s.Buckets.Add(Bucket(AnyRegion, p.Daypart), p.W, p.At, hl.Bucket, c.BucketsMax)
	if p.Region != "" {
		s.Buckets.Add(Bucket(p.Region, p.Daypart), p.W, p.At, hl.Bucket, c.BucketsMax)
	}
	s.Actions++
	if p.Type == TypePurchase {
		s.Purchases++
	}
}

// ApplyPair folds a co-occurrence with item other into s; Extractor.ApplyDeltas
// applies a batch's, in both directions.
func (s *ItemStats) ApplyPair(other string, w float32, at int64, f *Extractor) {
	s.Neighbours.Add(other, w, at, f.p.Cooc, f.cfg.NeighboursMax)
}

// Merge adds o into s.
func (s *ItemStats) Merge(o *ItemStats, f *Extractor) {
	hl, c := &f.p, &f.cfg
	s.Pop.Merge(o.Pop, hl.Popularity)
	s.Short.Merge(o.Short, hl.Short)
	s.Long.Merge(o.Long, hl.Long)
	s.Buckets.MergeAll(o.Buckets, hl.Bucket, c.BucketsMax)
	s.Neighbours.MergeAll(o.Neighbours, hl.Cooc, c.NeighboursMax)
	s.Actions += o.Actions
	s.Purchases += o.Purchases
}

// Clone returns a deep copy of s.
func (s *ItemStats) Clone() *ItemStats { return s.CloneWithRoom(0) }

// CloneWithRoom returns a deep copy of s whose lists have room for n more
// entries each: a copy made to apply deltas to (ranker.Index.Apply) does
// not reallocate a list when a delta adds to it.
func (s *ItemStats) CloneWithRoom(n int) *ItemStats { return s.CloneInto(nil, n) }

// CloneInto is CloneWithRoom into dst, whose lists' storage is reused
// where it has the room: an owner that keeps the copy it replaced (one no
// reader holds any longer, as ranker.Index does) copies without
// allocating. A nil dst allocates; dst is returned.
func (s *ItemStats) CloneInto(dst *ItemStats, n int) *ItemStats {
	if dst == nil {
		dst = new(ItemStats)
	}
	b, nb := dst.Buckets, dst.Neighbours
	*dst = *s
	dst.Buckets, dst.Neighbours = s.Buckets.copyInto(b, n), s.Neighbours.copyInto(nb, n)
	return dst
}

// copyInto returns a copy of s with room for n more entries, in dst's
// storage when it has the room; nil if s is empty and n is 0.
func (s Scores) copyInto(dst Scores, n int) Scores {
	if len(s)+n == 0 {
		return nil
	}
	if cap(dst) < len(s)+n {
		dst = make(Scores, 0, len(s)+n)
	}
	return append(dst[:0], s...)
}

// Popularity returns the decayed popularity at now (Unix ms).
func (s *ItemStats) Popularity(now int64, f *Extractor) float64 {
	return s.Pop.Value(now, f.p.Popularity)
}

// BucketPopularity returns the decayed popularity in a context bucket.
func (s *ItemStats) BucketPopularity(bucket string, now int64, f *Extractor) float64 {
	d, ok := s.Buckets.Get(bucket)
	if !ok {
		return 0
	}
	return d.Value(now, f.p.Bucket)
}

// Trend compares the item's recent rate of interactions with its long-run
// rate at now: 1 is steady, 3 means three times busier than usual. A decayed
// sum with half-life h estimates rate × h/ln2, so the rates are the sums
// divided by their half-lives; prior (interactions per long half-life) damps
// items with little history.
func (s *ItemStats) Trend(now int64, f *Extractor) float64 {
	return f.TrendOf(s.Short.Value(now, f.p.Short), s.Long.Value(now, f.p.Long))
}

// TrendOf is ItemStats.Trend from the values of the short and long sums
// at the moment asked about.
func (f *Extractor) TrendOf(short, long float64) float64 {
	const prior = 2
	short /= float64(f.p.Short)
	long /= float64(f.p.Long)
	p := prior / float64(f.p.Long)
	return (short + p) / (long + p)
}

// NeighbourWeights returns the co-occurrence neighbours at now, strongest
// first, at most n (n <= 0: all).
func (s *ItemStats) NeighbourWeights(now int64, n int, f *Extractor) []KV {
	return s.Neighbours.Top(now, f.p.Cooc, n)
}

// TopBuckets returns the item's context buckets at now, strongest first.
func (s *ItemStats) TopBuckets(now int64, n int, f *Extractor) []KV {
	return s.Buckets.Top(now, f.p.Bucket, n)
}

// PopKey returns a time-invariant ranking key of a decayed value: for two
// values with the same half-life, PopKey orders them as their values at any
// common instant would be ordered. It lets a top-N list stay sorted while
// every value in it decays. Zero and negative values map to -Inf.
func PopKey(d Decayed, halfLife int64) float64 {
	if d.V <= 0 {
		return math.Inf(-1)
	}
	return math.Log2(float64(d.V)) + float64(d.At)/float64(halfLife)
}

// PopKey returns the popularity ranking key of s.
func (s *ItemStats) PopKey(f *Extractor) float64 { return PopKey(s.Pop, f.p.Popularity) }

// BucketKey returns the ranking key of s in a context bucket.
func (s *ItemStats) BucketKey(bucket string, f *Extractor) float64 {
	d, ok := s.Buckets.Get(bucket)
	if !ok {
		return math.Inf(-1)
	}
	return PopKey(d, f.p.Bucket)
}
