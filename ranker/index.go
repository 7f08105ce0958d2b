package ranker

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
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
	// TrendingMaxAge: while no batch has been applied since the latest
	// list was computed, that list is reused for moments up to this much
	// later, past its TrendingTTL window (the trend half-lives are hours,
	// so the ranking barely moves). Training ranks each event of a batch
	// at its own time before the batch is applied: without this, a
	// backlog spanning days would recompute the list from all items for
	// nearly every event. Default 10m.
	TrendingMaxAge time.Duration
	// TrendingRefresh bounds how often (in wall-clock time) a list for a
	// new TrendingTTL window is computed while batches are being applied:
	// in between, the latest list serves. Live events and requests are about now, so their windows
	// change every TrendingTTL anyway; events with older timestamps (an
	// import, a replay) would otherwise recompute it from all items for
	// nearly every event. Negative: no bound, every window computed, so
	// that a replay's lists do not depend on the machine's speed (the
	// quality harness). Default 1s.
	TrendingRefresh time.Duration
	// ApplyEvery is how often, at most, the engine applies committed
	// batches to the index (through a Coalescer): under load the batches
	// of that interval are applied together, so that requests meet the
	// index's writer at most once per interval, and an item touched by
	// many batches is copied and re-listed once; when idle a batch is
	// applied at once. Item statistics served are at most this much older
	// than the state (users are not delayed). Negative: every batch at
	// once. Default 50ms (at 5ms, live applies took 0.2 of a core at
	// 5k events/s).
	ApplyEvery time.Duration
}

// DefaultIndexConfig returns the documented defaults.
func DefaultIndexConfig() IndexConfig {
	return IndexConfig{TopN: 200, MaxBuckets: 4096, TrendingN: 100, TrendingTTL: 5 * time.Second, TrendingMinActions: 3,
		TrendingMaxAge: 10 * time.Minute, TrendingRefresh: time.Second,
		ApplyEvery: 50 * time.Millisecond}
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

	amu sync.Mutex // serialises Apply and Add; held, they may read items without mu
	// Apply's scratch maps, under amu, cleared after each apply.
	fresh map[string]*features.ItemStats
	ready map[string]readyNeighbours

	terms terms // numbers of the items' categories and brands

	mu      readerLock // readers are let in while a writer waits (readerLock)
	items   map[string]*entry
	span    float64 // scaledSpan of the extractor's half-lives
	ref     int64   // the reference time of the entries' scaled signals (entry.popR): refOf(maxAt)
	maxAt   int64   // the latest time of any entry's popularity or trend sums
	refSet  bool    // ref and maxAt are set (an entry has been scaled)
	global  *topN
	byCat   map[string]*topN
	byBuck  map[string]*topN
	changes uint64

	tmu      sync.Mutex
	trending map[int64][]*entry // by now / TrendingTTL
	latest   struct {           // the latest list computed
		at      int64
		changes uint64
		list    []*entry
		wall    time.Time // when it was computed
	}
}

// EnsureDefaults gives zero (or negative) fields their defaults.
func (c *IndexConfig) EnsureDefaults() {
	def := DefaultIndexConfig()
	num.Positive(&c.TopN, def.TopN)
	num.Positive(&c.MaxBuckets, def.MaxBuckets)
	num.Positive(&c.TrendingN, def.TrendingN)
	num.Positive(&c.TrendingTTL, def.TrendingTTL)
	num.Positive(&c.TrendingMinActions, def.TrendingMinActions)
	num.Positive(&c.TrendingMaxAge, def.TrendingMaxAge)
	num.Unset(&c.TrendingRefresh, def.TrendingRefresh)
	num.Unset(&c.ApplyEvery, def.ApplyEvery)
}

// NewIndex returns an empty index; zero fields of cfg take their defaults.
func NewIndex(cfg IndexConfig, f *features.Extractor, cat ItemSource) *Index {
	cfg.EnsureDefaults()
	return &Index{
		cfg: cfg, f: f, cat: cat, span: scaledSpan(f.HalfLives()),
		items:  make(map[string]*entry),
		fresh:  make(map[string]*features.ItemStats),
		ready:  make(map[string]readyNeighbours),
		global: newTopN(cfg.TopN),
		byCat:  make(map[string]*topN),
		byBuck: make(map[string]*topN),
	}
}

// entry is an item's merged statistics, with its co-occurrence neighbours
// ready for requests: nb[i] is st.Neighbours[i]'s entry and weight decayed
// to nbAt, the latest of their times. Decay is exponential, so the weights
// at any later moment are these times one common factor: a request pays
// one exp2 per seed rather than one per neighbour, and no map lookup.
//
// Requests hold entries, not ids: candidates, lists and neighbours refer
// to them, so a request hashes an id only to find its seeds. Entries are
// never removed. st, nb and nbAt are read under the index's read lock.
type entry struct {
	id   string
	kh   uint32              // features.KeyHash(id): prepare compares it before the id
	n    uint32              // the entry's number: entries in order of creation, from 0 (scorer's slots)
	st   *features.ItemStats // replaced, never changed, by Apply; never nil
	nb   []nbRef
	nbAt int64

	// spare and nbSpare are the st and nb that Apply replaced last: no
	// request holds them once Apply has released the write lock (requests
	// read st and nb under the read lock and keep neither), so the next
	// Apply copies into their storage rather than allocating (the copies
	// were 245 of 588 MB allocated in 10 s of the harness's live phase:
	// `/debug/pprof/allocs` twice, 10 s apart, of `sticky serve --pprof`
	// under `bin/sticky-bench run --targets sticky --rec-rate 1000`; 29 MB
	// after). Only Apply, under amu, touches them.
	spare   *features.ItemStats
	nbSpare []nbRef

	// The popularity and the trend's two sums scaled to the index's
	// reference time (features.Decayed.Scaled to Index.ref), and the
	// latest time of the three: at any moment at or after sigAt, each is
	// its scaled value times one factor common to all items, so a request
	// pays three exp2 in all rather than three per candidate (lookup).
	popR, shortR, longR float64
	sigAt               int64   // the latest time of the three sums
	sigLo               int64   // the earliest time of those not zero
	actions             float64 // st.Actions, beside the entry for neighbours

	// item caches the catalogue's entry for id as of a catalogue
	// version (scorer.itemRef), so that a request does not look up each
	// candidate in the catalogue.
	item atomic.Pointer[itemRef]
}

// itemRef is a catalogue entry (nil: not in the catalogue) as of a
// catalogue version.
type itemRef struct {
	it         *features.Item
	ver        uint64
	cat, brand int32   // the item's category and brand numbers plus one (terms); 0 none
	lnPrice    float64 // log of its price, if above 0
}

type nbRef struct {
	e *entry
	w float64
}

// Add merges one partition's share of an item into the index: Load of
// one share.
func (x *Index) Add(item string, share *features.ItemStats) {
	x.Load(func(add func(string, *features.ItemStats)) error {
		add(item, share)
		return nil
	})
}

// Load merges partitions' shares into the index, e.g. at start-up: scan
// calls add for each share. Every share is merged first, then each item's
// lists and neighbours are built once — Add builds them again after each
// share, which made loading thousands of items' shares from several
// partitions take seconds. The index is locked throughout.
func (x *Index) Load(scan func(add func(item string, share *features.ItemStats)) error) error {
	x.amu.Lock()
	defer x.amu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	seen := make(map[*entry]struct{})
	var touched []*entry
	err := scan(func(item string, share *features.ItemStats) {
		e := x.entry(item)
		if _, ok := seen[e]; !ok {
			seen[e] = struct{}{}
			touched = append(touched, e)
		}
		e.st.Merge(share, x.f)
	})
	for _, e := range touched {
		x.scale(e)
		x.reindex(e, nil)
	}
	for _, e := range touched {
		x.rebuild(e)
	}
	x.changes++
	return err
}

// Apply folds the item deltas of a committed batch into the index. The
// deltas are applied to copies of the items' statistics while requests go
// on reading the current ones; the write lock is held only to swap the
// copies in and update the lists.
func (x *Index) Apply(d *features.Deltas) {
	if len(d.Pops) == 0 && len(d.Pairs) == 0 {
		return
	}
	x.amu.Lock()
	defer x.amu.Unlock()
	fresh, ready := x.fresh, x.ready
	defer clear(fresh)
	defer clear(ready)
	x.f.ApplyDeltas(d, func(item string) *features.ItemStats {
		if st := fresh[item]; st != nil {
			return st
		}
		st := new(features.ItemStats)
		if e := x.items[item]; e != nil { // no other writer: amu
			st = e.st.CloneInto(e.spare, cloneRoom)
			e.spare = nil // in use until the swap below returns e.st to it
		}
		fresh[item] = st
		return st
	})
	touched := make(map[string][]string, len(d.Pops)) // item -> buckets touched
	for _, p := range d.Pops {
		bs := append(touched[p.Item], features.Bucket(features.AnyRegion, p.Daypart))
		if p.Region != "" {
			bs = append(bs, features.Bucket(p.Region, p.Daypart))
		}
		touched[p.Item] = bs
	}

	// The neighbour lists of the items a pair touched are made ready
	// here too, so that the write lock is held for pointer swaps and list
	// updates only: a writer preempted while holding it stalls every
	// request (readerLock).
	for _, p := range d.Pairs {
		for _, id := range [2]string{p.A, p.B} {
			if _, ok := ready[id]; !ok {
				var old, spare []nbRef
				if e := x.items[id]; e != nil { // no other writer: amu
					old, spare = e.nb, e.nbSpare
					e.nbSpare = nil // in use until install returns e.nb to it
				}
				ready[id] = x.prepare(old, fresh[id], spare)
			}
		}
	}

	x.mu.Lock()
	defer x.mu.Unlock()
	for item, st := range fresh {
		e := x.entry(item)
		e.spare, e.st = e.st, st
		x.scale(e)
	}
	for item, buckets := range touched {
		x.reindex(x.items[item], buckets)
	}
	x.changes++
	for id, r := range ready {
		x.install(x.items[id], r)
	}
}

// cloneRoom is the room Apply's copies of item statistics leave in each
// list: a neighbour or a bucket a delta adds then fits without
// reallocating the list (35 MB of 658 MB allocated in 10 s of the
// harness's live phase were those reallocations: `/debug/pprof/allocs?seconds=10`
// of `sticky serve --pprof` under `bin/sticky-bench run --targets sticky
// --rec-rate 1000`, features.(*ItemStats).ApplyPair's growth).
const cloneRoom = 4

// entry returns item's entry, creating it empty if need be.
func (x *Index) entry(item string) *entry {
	e := x.items[item]
	if e == nil {
		e = &entry{id: item, kh: features.KeyHash(item), n: uint32(len(x.items)), st: new(features.ItemStats)}
		x.items[item] = e
	}
	return e
}

// scale sets e's scaled signals (entry.popR) from e.st, under the write
// lock. The reference time is the latest time of any item's sums rounded
// down to a multiple of half scaleSpan half-lives (refOf): when that
// moves, every entry is scaled again. So scaled values of recent items
// stay far from float64's limits (at most 2^128), and the reference, and
// every scaled value, depends on the statistics alone, not on the order
// they came in: an index loaded at start-up scales them as the one that
// applied them batch by batch did. A move rescales every entry under the
// write lock: about every 32 days of event time with the default
// half-lives (more often in a fast replay of old events).
func (x *Index) scale(e *entry) {
	st, hl := e.st, x.f.HalfLives()
	at := max(st.Pop.At, st.Short.At, st.Long.At)
	if !x.refSet || at > x.maxAt {
		x.maxAt = at
		if r := refOf(at, x.span); !x.refSet || r != x.ref {
			x.ref, x.refSet = r, true
			for _, o := range x.items {
				if o != e {
					x.scaleTo(o, hl)
				}
			}
		}
	}
	x.scaleTo(e, hl)
}

// scaleTo sets e's scaled signals for the current reference time.
func (x *Index) scaleTo(e *entry, hl features.HalfLives) {
	st := e.st
	e.popR, e.shortR, e.longR = st.Pop.Scaled(x.ref, hl.Popularity), st.Short.Scaled(x.ref, hl.Short), st.Long.Scaled(x.ref, hl.Long)
	e.sigAt = max(st.Pop.At, st.Short.At, st.Long.At)
	e.sigLo = math.MaxInt64
	for _, d := range [...]features.Decayed{st.Pop, st.Short, st.Long} {
		if d.V != 0 {
			e.sigLo = min(e.sigLo, d.At)
		}
	}
	e.actions = float64(st.Actions)
}

// refOf is the reference time for the latest time seen: maxAt rounded
// down to a multiple of half the span (any time when the signals do not
// decay).
func refOf(maxAt int64, span float64) int64 {
	if span > 1<<62 {
		return 0
	}
	step := max(int64(span/2), 1)
	q := maxAt / step
	if maxAt%step < 0 {
		q--
	}
	return q * step
}

// scaleSpan, in the shortest of the half-lives: twice how far the
// reference time may lag the latest time (Index.scale), how far before it
// an item's earliest time may be, and half how far from it a request may
// be, to read scaled signals (lookup): 2^±256 and 2^±512 are far from
// float64's limits, so the product of a scaled value and a request's
// factor is the decayed value up to rounding.
const scaleSpan = 256

// scaledSpan is scaleSpan of the shortest of the signals' half-lives, in
// milliseconds.
func scaledSpan(hl features.HalfLives) float64 {
	m := int64(math.MaxInt64)
	for _, h := range [...]int64{hl.Popularity, hl.Short, hl.Long} {
		if h > 0 {
			m = min(m, h)
		}
	}
	return scaleSpan * float64(m)
}

// rebuild rebuilds e's ready-for-requests neighbours from its statistics,
// under the write lock.
func (x *Index) rebuild(e *entry) { x.install(e, x.prepare(e.nb, e.st, nil)) }

// readyNeighbours is an item's neighbour list made ready for requests
// (entry.nb, entry.nbAt) from its statistics st; nb[i].e is nil for each i
// of missing, a neighbour the index has no entry for yet.
type readyNeighbours struct {
	st      *features.ItemStats
	nb      []nbRef
	at      int64
	missing []int
}

// prepare makes st's neighbours ready, in spare's storage if it has the
// room, else in a new list; spare must not be old. Apply calls it
// outside the write lock (under amu, so reading the index is safe). A
// merge keeps each neighbour's place in the list, drops the weakest in
// order and appends new ones (features.Scores), so the item's old list is
// walked alongside to reuse its entries; only new neighbours are looked up
// by id.
func (x *Index) prepare(old []nbRef, st *features.ItemStats, spare []nbRef) readyNeighbours {
	ns := st.Neighbours
	if cap(spare) < len(ns) {
		spare = make([]nbRef, len(ns))
	}
	r := readyNeighbours{st: st, nb: spare[:len(ns)]}
	for _, n := range ns {
		r.at = max(r.at, n.At)
	}
	hl := x.f.HalfLives().Cooc
	j := 0 // old[j:] not yet matched
	for i := range ns {
		n := &ns[i]
		var ref *entry
		h := n.Hash() // ids of one shop share their length and prefix: compare hashes first
		for k := j; k < len(old); k++ {
			if o := old[k].e; o.kh == h && o.id == n.Key {
				ref, j = old[k].e, k+1
				n.Key = o.id // st is this Apply's copy: its key now shares the entry's string, compared by pointer next time
				break
			}
		}
		if ref == nil {
			if ref = x.items[n.Key]; ref == nil {
				r.missing = append(r.missing, i)
			}
		}
		r.nb[i] = nbRef{e: ref, w: n.Value(r.at, hl)}
	}
	return r
}

// install makes r e's neighbours, creating the entries it lacks; under the
// write lock. r must have been prepared from e.st.
func (x *Index) install(e *entry, r readyNeighbours) {
	for _, i := range r.missing {
		r.nb[i].e = x.entry(r.st.Neighbours[i].Key)
	}
	e.nbSpare, e.nb, e.nbAt = e.nb, r.nb, r.at
}

// reindex offers e to the lists it belongs to; buckets nil means all of
// its buckets.
func (x *Index) reindex(e *entry, buckets []string) {
	st := e.st
	key := st.PopKey(x.f)
	x.global.offer(e, key)
	if it := x.cat.Get(e.id); it != nil && it.Category != "" {
		l := x.byCat[it.Category]
		if l == nil {
			l = newTopN(x.cfg.TopN)
			x.byCat[it.Category] = l
		}
		l.offer(e, key)
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
		l.offer(e, st.BucketKey(b, x.f))
	}
}

// list returns the snapshot of a list, strongest first. Snapshots are
// immutable, and rebuilt under the read lock when stale (topN.snapshot).
func (x *Index) list(get func() *topN) []*entry {
	x.mu.RLock()
	defer x.mu.RUnlock()
	l := get()
	if l == nil {
		return nil
	}
	return l.snapshot()
}

// Popular returns up to n of the most popular items overall.
func (x *Index) Popular(n int) []string { return idsOf(x.popular(n)) }

// PopularIn returns up to n of the most popular items of a category.
func (x *Index) PopularIn(category string, n int) []string { return idsOf(x.popularIn(category, n)) }

// PopularAt returns up to n of the most popular items of a context bucket
// (features.Bucket).
func (x *Index) PopularAt(bucket string, n int) []string { return idsOf(x.popularAt(bucket, n)) }

// popular, popularIn and popularAt are Popular, PopularIn and PopularAt
// as shared, read-only lists of entries.
func (x *Index) popular(n int) []*entry {
	return head(x.list(func() *topN { return x.global }), n)
}

func (x *Index) popularIn(category string, n int) []*entry {
	return head(x.list(func() *topN { return x.byCat[category] }), n)
}

func (x *Index) popularAt(bucket string, n int) []*entry {
	return head(x.list(func() *topN { return x.byBuck[bucket] }), n)
}

func head(s []*entry, n int) []*entry {
	if n < len(s) {
		return s[:n]
	}
	return s
}

// Trending returns up to n items whose recent rate most exceeds their usual
// rate at now (Unix ms), strongest first. A list is computed from every item
// once per TrendingTTL window of now and reused within the window; a few
// windows are kept, so requests about other times (replays, "at=")
// do not recompute it on every call. While the index is unchanged, the
// latest list also serves up to TrendingMaxAge later, and a new window's
// list is computed at most once per TrendingRefresh.
func (x *Index) Trending(now int64, n int) []string { return idsOf(x.trendingAt(now, n)) }

// trendingAt is Trending as a shared, read-only list of entries.
func (x *Index) trendingAt(now int64, n int) []*entry {
	x.tmu.Lock()
	defer x.tmu.Unlock()
	w := now / max(x.cfg.TrendingTTL.Milliseconds(), 1)
	l, ok := x.trending[w]
	if !ok {
		x.mu.RLock()
		changes := x.changes
		x.mu.RUnlock()
		lt := &x.latest
		if lt.list != nil && lt.changes == changes && now >= lt.at && now-lt.at <= x.cfg.TrendingMaxAge.Milliseconds() {
			return head(lt.list, n)
		}
		if lt.list != nil && lt.changes != changes && x.cfg.TrendingRefresh > 0 && time.Since(lt.wall) < x.cfg.TrendingRefresh {
			return head(lt.list, n)
		}
		if x.trending == nil || len(x.trending) >= 64 {
			x.trending = make(map[int64][]*entry)
		}
		l = x.computeTrending(now)
		x.trending[w] = l
		x.latest.at, x.latest.changes, x.latest.list, x.latest.wall = now, changes, l, time.Now()
	}
	return head(l, n)
}

func (x *Index) computeTrending(now int64) []*entry {
	longHL := x.f.HalfLives().Long
	t := newTopN(x.cfg.TrendingN)
	x.mu.RLock()
	for _, e := range x.items {
		st := e.st
		if st.Long.Value(now, longHL) < x.cfg.TrendingMinActions {
			continue
		}
		if tr := st.Trend(now, x.f); tr > 1.2 {
			t.offer(e, math.Log(tr))
		}
	}
	x.mu.RUnlock()
	return slices.Clip(t.snapshot())
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

// find returns item's entry, or nil.
func (x *Index) find(item string) *entry {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.items[item]
}

// lookup fills out[i] with the signals of es[i] (nil: an item the index
// does not hold) at now for the given context buckets, under one read
// lock. Bucket popularity is read from the bucket's top-N list
// (2^(key - now/halfLife) is the value at now, exactly); an item outside a
// bucket's top N counts 0 there.
func (x *Index) lookup(es []*entry, now int64, bucket, anyBucket string, out []Signals) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	bl, al := x.byBuck[bucket], x.byBuck[anyBucket]
	at := float64(now) / float64(x.f.HalfLives().Bucket)
	fromKey := func(l *topN, e *entry) float64 {
		if l == nil {
			return 0
		}
		if k, ok := l.key(e); ok {
			return math.Exp2(k - at)
		}
		return 0
	}
	// The popularity and trend of an item last changed at or before now
	// are its scaled values times one factor each (entry.popR); a request
	// about the past or far from the reference time, and an item whose
	// sums are far older than it, decay each item's.
	hl := x.f.HalfLives()
	scaled := x.refSet && math.Abs(float64(now-x.ref)) <= 2*x.span
	lo := x.ref - int64(min(x.span, 1<<62))
	var fPop, fShort, fLong float64
	if scaled {
		fPop, fShort, fLong = features.Factor(now-x.ref, hl.Popularity), features.Factor(now-x.ref, hl.Short), features.Factor(now-x.ref, hl.Long)
	}
	for i, e := range es {
		if e == nil {
			out[i] = Signals{}
			continue
		}
		st := e.st
		sg := Signals{Known: true, Bucket: fromKey(bl, e), AnyBucket: fromKey(al, e),
			Actions: e.actions, Purchases: float64(st.Purchases)}
		if scaled && now >= e.sigAt && e.sigLo >= lo {
			sg.Popularity, sg.Trend = e.popR*fPop, x.f.TrendOf(e.shortR*fShort, e.longR*fLong)
		} else {
			sg.Popularity, sg.Trend = st.Popularity(now, x.f), st.Trend(now, x.f)
		}
		out[i] = sg
	}
}

// neighbour is a co-occurring item of a seed at one moment.
type neighbour struct {
	e *entry
	// raw is the pair's decayed weight.
	raw float64
	// cos is the cosine weight: raw over the square root of the product of
	// the two items' interaction counts, so that popular items do not
	// swamp the neighbours of every seed. Counts are undecayed
	// (ItemStats.Actions) while pair weights decay, which favours recent
	// pairs. hasCos is false when either count is 0.
	cos    float64
	hasCos bool
}

// neighbours appends the co-occurrence neighbours of item at now to dst, in
// no particular order, and returns it with the largest raw weight.
func (x *Index) neighbours(dst []neighbour, item string, now int64) ([]neighbour, float64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e := x.items[item]
	if e == nil {
		return dst, 0
	}
	hl := x.f.HalfLives().Cooc
	top := 0.0
	scale := 1.0
	if now > e.nbAt && hl > 0 {
		scale = math.Exp2(-float64(now-e.nbAt) / float64(hl))
	}
	self := e.actions
	for i, r := range e.nb {
		var v float64
		if now >= e.nbAt {
			v = r.w * scale
		} else {
			v = e.st.Neighbours[i].Value(now, hl) // a request about the past
		}
		top = max(top, v)
		nb := neighbour{e: r.e, raw: v}
		if a := r.e.actions; a > 0 && self > 0 {
			nb.cos, nb.hasCos = v/math.Sqrt(self*a), true
		}
		dst = append(dst, nb)
	}
	return dst, top
}

// Stats returns a copy of an item's merged statistics.
func (x *Index) Stats(item string) (*features.ItemStats, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e := x.items[item]
	if e == nil {
		return nil, false
	}
	return e.st.Clone(), true
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
