package ranker

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/num"
)

// ItemSource looks up catalogue entries; state.Catalogue satisfies it.
type ItemSource interface {
	Get(id string) *features.Item
}

// IndexConfig sizes the Index. DefaultIndexConfig holds every default;
// EnsureDefaults gives zero fields theirs.
type IndexConfig struct {
	// TopN is how many items each popularity list keeps (global, per
	// category, per context bucket). Default 200.
	TopN int
	// MaxBuckets bounds the number of context-bucket lists (region ×
	// daypart); buckets past it are not indexed. Default 4096.
	MaxBuckets int
	// TrendingN is how many trending items are kept. Default 100.
	TrendingN int
	// TrendingTTL is how long a trending list is reused before it is
	// recomputed from all items. Default 5s.
	TrendingTTL time.Duration
	// TrendingMinActions is the decayed long-window volume an item needs to
	// count as trending, so that one click on a new item is not a trend.
	// Default 3.
	TrendingMinActions float64
}

// DefaultIndexConfig returns the documented defaults.
func DefaultIndexConfig() IndexConfig {
	return IndexConfig{TopN: 200, MaxBuckets: 4096, TrendingN: 100, TrendingTTL: 5 * time.Second, TrendingMinActions: 3}
}

// Index holds the merged statistics of every item (the sum of all partitions'
// shares) and the candidate lists built from them: most popular overall, per
// category and per context bucket, and trending. Partition workers feed it
// the deltas of each committed batch (Apply); the ranker reads it. It is safe
// for concurrent use.
type Index struct {
	cfg IndexConfig
	f   *features.Extractor
	cat ItemSource

	mu      sync.RWMutex
	items   map[string]*features.ItemStats
	global  *topN
	byCat   map[string]*topN
	byBuck  map[string]*topN
	changes uint64

	tmu      sync.Mutex
	trending map[int64][]string // by now / TrendingTTL
}

// EnsureDefaults gives zero (or negative) fields their defaults.
func (c *IndexConfig) EnsureDefaults() {
	def := DefaultIndexConfig()
	num.Positive(&c.TopN, def.TopN)
	num.Positive(&c.MaxBuckets, def.MaxBuckets)
	num.Positive(&c.TrendingN, def.TrendingN)
	num.Positive(&c.TrendingTTL, def.TrendingTTL)
	num.Positive(&c.TrendingMinActions, def.TrendingMinActions)
}

// NewIndex returns an empty index; zero fields of cfg take their defaults.
func NewIndex(cfg IndexConfig, f *features.Extractor, cat ItemSource) *Index {
	cfg.EnsureDefaults()
	return &Index{
		cfg: cfg, f: f, cat: cat,
		items:  make(map[string]*features.ItemStats),
		global: newTopN(cfg.TopN),
		byCat:  make(map[string]*topN),
		byBuck: make(map[string]*topN),
	}
}

// Add merges one partition's share of an item into the index, e.g. while
// loading state at start-up.
func (x *Index) Add(item string, share *features.ItemStats) {
	x.mu.Lock()
	defer x.mu.Unlock()
	st := x.stats(item)
	st.Merge(share, x.f)
	x.reindex(item, st, nil)
	x.changes++
}

// Apply folds the item deltas of a committed batch into the index.
func (x *Index) Apply(d *features.Deltas) {
	if len(d.Pops) == 0 && len(d.Pairs) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.f.ApplyDeltas(d, x.stats)
	touched := make(map[string][]string, len(d.Pops)) // item -> buckets touched
	for _, p := range d.Pops {
		bs := append(touched[p.Item], features.Bucket(features.AnyRegion, p.Daypart))
		if p.Region != "" {
			bs = append(bs, features.Bucket(p.Region, p.Daypart))
		}
		touched[p.Item] = bs
	}
	for item, buckets := range touched {
		x.reindex(item, x.items[item], buckets)
	}
	x.changes++
}

func (x *Index) stats(item string) *features.ItemStats {
	st := x.items[item]
	if st == nil {
		st = new(features.ItemStats)
		x.items[item] = st
	}
	return st
}

// reindex offers item to the lists it belongs to; buckets nil means all of
// its buckets.
func (x *Index) reindex(item string, st *features.ItemStats, buckets []string) {
	key := st.PopKey(x.f)
	x.global.offer(item, key)
	if it := x.cat.Get(item); it != nil && it.Category != "" {
		l := x.byCat[it.Category]
		if l == nil {
			l = newTopN(x.cfg.TopN)
			x.byCat[it.Category] = l
		}
		l.offer(item, key)
	}
	if buckets == nil {
		for _, b := range st.Buckets {
			buckets = append(buckets, b.Key)
		}
	}
	for _, b := range buckets {
		l := x.byBuck[b]
		if l == nil {
			if len(x.byBuck) >= x.cfg.MaxBuckets {
				continue
			}
			l = newTopN(x.cfg.TopN)
			x.byBuck[b] = l
		}
		l.offer(item, st.BucketKey(b, x.f))
	}
}

// list returns the snapshot of a list, strongest first. Snapshots are
// immutable; refreshing one needs the write lock, taken only when dirty.
func (x *Index) list(get func() *topN) []string {
	x.mu.RLock()
	l := get()
	if l == nil {
		x.mu.RUnlock()
		return nil
	}
	if !l.dirt {
		s := l.snap
		x.mu.RUnlock()
		return s
	}
	x.mu.RUnlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	return l.refresh()
}

// Popular returns up to n of the most popular items overall.
func (x *Index) Popular(n int) []string {
	return head(x.list(func() *topN { return x.global }), n)
}

// PopularIn returns up to n of the most popular items of a category.
func (x *Index) PopularIn(category string, n int) []string {
	return head(x.list(func() *topN { return x.byCat[category] }), n)
}

// PopularAt returns up to n of the most popular items of a context bucket
// (features.Bucket).
func (x *Index) PopularAt(bucket string, n int) []string {
	return head(x.list(func() *topN { return x.byBuck[bucket] }), n)
}

func head(s []string, n int) []string {
	if n < len(s) {
		return s[:n]
	}
	return s
}

// Trending returns up to n items whose recent rate most exceeds their usual
// rate at now (Unix ms), strongest first. A list is computed from every item
// once per TrendingTTL window of now and reused within the window; a few
// windows are kept, so requests about other times (replays, "at=")
// do not recompute it on every call.
func (x *Index) Trending(now int64, n int) []string {
	x.tmu.Lock()
	defer x.tmu.Unlock()
	w := now / max(x.cfg.TrendingTTL.Milliseconds(), 1)
	l, ok := x.trending[w]
	if !ok {
		if x.trending == nil || len(x.trending) >= 64 {
			x.trending = make(map[int64][]string)
		}
		l = x.computeTrending(now)
		x.trending[w] = l
	}
	return head(l, n)
}

func (x *Index) computeTrending(now int64) []string {
	longHL := x.f.HalfLives().Long
	t := newTopN(x.cfg.TrendingN)
	x.mu.RLock()
	for item, st := range x.items {
		if st.Long.Value(now, longHL) < x.cfg.TrendingMinActions {
			continue
		}
		if tr := st.Trend(now, x.f); tr > 1.2 {
			t.offer(item, math.Log(tr))
		}
	}
	x.mu.RUnlock()
	return slices.Clip(t.refresh())
}

// Signals are the statistics of one item that scoring needs, read at one
// instant.
type Signals struct {
	Known      bool
	Popularity float64
	Trend      float64
	Bucket     float64 // popularity in the request's region × daypart
	AnyBucket  float64 // popularity in the request's daypart, all regions
	Actions    float64 // interactions counted, undecayed
	Purchases  float64 // purchases counted, undecayed
}

// Lookup fills out[i] with the signals of items[i] at now for the given
// context buckets, under one read lock. Bucket popularity is read from the
// bucket's top-N list (a map lookup: 2^(key - now/halfLife) is the value at
// now, exactly); an item outside a bucket's top N counts 0 there.
func (x *Index) Lookup(items []string, now int64, bucket, anyBucket string, out []Signals) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	bl, al := x.byBuck[bucket], x.byBuck[anyBucket]
	at := float64(now) / float64(x.f.HalfLives().Bucket)
	fromKey := func(l *topN, id string) float64 {
		if l == nil {
			return 0
		}
		if k, ok := l.key(id); ok {
			return math.Exp2(k - at)
		}
		return 0
	}
	for i, id := range items {
		st := x.items[id]
		if st == nil {
			out[i] = Signals{}
			continue
		}
		out[i] = Signals{Known: true, Popularity: st.Popularity(now, x.f), Trend: st.Trend(now, x.f),
			Bucket: fromKey(bl, id), AnyBucket: fromKey(al, id), Actions: float64(st.Actions), Purchases: float64(st.Purchases)}
	}
}

// Neighbours appends the co-occurrence neighbours of item, decayed to now,
// to dst, in no particular order, and returns it with the largest weight.
func (x *Index) Neighbours(dst []features.KV, item string, now int64) ([]features.KV, float64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	st := x.items[item]
	if st == nil {
		return dst, 0
	}
	hl := x.f.HalfLives().Cooc
	top := 0.0
	for _, n := range st.Neighbours {
		v := n.Value(now, hl)
		top = max(top, v)
		dst = append(dst, features.KV{Key: n.Key, Value: v})
	}
	return dst, top
}

// Cosine appends the co-occurrence neighbours of item to dst with their
// cosine weight at now: the pair's decayed weight over the square root of
// the product of the two items' interaction counts, so that popular items
// do not swamp the neighbours of every seed. Counts are undecayed
// (ItemStats.Actions) while pair weights decay, which favours recent pairs.
func (x *Index) Cosine(dst []features.KV, item string, now int64) []features.KV {
	x.mu.RLock()
	defer x.mu.RUnlock()
	st := x.items[item]
	if st == nil || st.Actions == 0 {
		return dst
	}
	hl := x.f.HalfLives().Cooc
	for _, n := range st.Neighbours {
		o := x.items[n.Key]
		if o == nil || o.Actions == 0 {
			continue
		}
		v := n.Value(now, hl) / math.Sqrt(float64(st.Actions)*float64(o.Actions))
		dst = append(dst, features.KV{Key: n.Key, Value: v})
	}
	return dst
}

// Stats returns a copy of an item's merged statistics.
func (x *Index) Stats(item string) (*features.ItemStats, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	st := x.items[item]
	if st == nil {
		return nil, false
	}
	return st.Clone(), true
}

// IndexStats is a snapshot of the index's size.
type IndexStats struct {
	Items      int
	Categories int
	Buckets    int
	Changes    uint64 // batches applied
}

// Size returns a snapshot of the index's size.
func (x *Index) Size() IndexStats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return IndexStats{Items: len(x.items), Categories: len(x.byCat), Buckets: len(x.byBuck), Changes: x.changes}
}

// daypartPhrase names a daypart in a reason: "this morning", "tonight".
func daypartPhrase(d features.Daypart) string {
	switch d {
	case features.Morning:
		return "this morning"
	case features.Afternoon:
		return "this afternoon"
	case features.Evening:
		return "this evening"
	}
	return "tonight"
}
