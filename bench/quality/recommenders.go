package quality

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stickyhq/sticky/bench/baseline"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker"
)

// topList keeps the n items with the largest counts, when counts only grow.
type topList struct {
	n     int
	items []string
	count map[string]float64
}

func (t *topList) add(item string, w float64) {
	t.count[item] += w
	c := t.count[item]
	i := slices.Index(t.items, item)
	if i < 0 {
		if len(t.items) == t.n && c <= t.count[t.items[len(t.items)-1]] {
			return
		}
		if len(t.items) == t.n {
			t.items = t.items[:len(t.items)-1]
		}
		t.items = append(t.items, item)
		i = len(t.items) - 1
	}
	for i > 0 && t.count[t.items[i-1]] < c {
		t.items[i-1], t.items[i] = t.items[i], t.items[i-1]
		i--
	}
}

// Popularity recommends the items most interacted with so far (the top
// 500: enough for the harness to drop a user's seen items and keep K).
type Popularity struct{ top topList }

// NewPopularity returns the global-popularity baseline.
func NewPopularity() *Popularity {
	return &Popularity{top: topList{n: 500, count: map[string]float64{}}}
}

func (p *Popularity) Name() string { return "global popularity" }

func (p *Popularity) Recommend(_ *features.Event, k int) []string {
	return slices.Clone(p.top.items[:min(k, len(p.top.items))])
}

func (p *Popularity) Observe(ev *features.Event) {
	if ev.Type.Intent() > 0 && ev.Type != features.TypeDismiss {
		p.top.add(ev.ItemID, 1)
	}
}

// Window recommends the items most interacted with in the last Span.
type Window struct {
	Span   time.Duration
	queue  []windowEvent
	counts map[string]int
	cached []string
	depth  int // items cached: 50, or the most ever asked for
	at     time.Time
	dirty  bool
}

type windowEvent struct {
	at   time.Time
	item string
}

// NewWindow returns the sliding-window popularity baseline.
func NewWindow(span time.Duration) *Window {
	return &Window{Span: span, counts: map[string]int{}, depth: 50, dirty: true}
}

func (w *Window) Name() string { return "popularity, last " + shortDuration(w.Span) }

func (w *Window) Recommend(ev *features.Event, k int) []string {
	w.expire(ev.Time)
	// Recomputed at most once per instant (a basket's lines share one),
	// or when asked for more than is cached.
	deeper := k > w.depth && len(w.cached) == w.depth
	w.depth = max(w.depth, k)
	if w.dirty && !ev.Time.Equal(w.at) || w.cached == nil || len(w.cached) < k && w.dirty || deeper {
		type kv struct {
			item string
			n    int
		}
		all := make([]kv, 0, len(w.counts))
		for it, n := range w.counts {
			all = append(all, kv{it, n})
		}
		slices.SortFunc(all, func(a, b kv) int {
			if c := cmp.Compare(b.n, a.n); c != 0 {
				return c
			}
			return strings.Compare(a.item, b.item)
		})
		w.cached = w.cached[:0]
		for _, e := range all[:min(w.depth, len(all))] {
			w.cached = append(w.cached, e.item)
		}
		w.at, w.dirty = ev.Time, false
	}
	return slices.Clone(w.cached[:min(k, len(w.cached))])
}

func (w *Window) expire(now time.Time) {
	cut := now.Add(-w.Span)
	i := 0
	for i < len(w.queue) && w.queue[i].at.Before(cut) {
		if w.counts[w.queue[i].item]--; w.counts[w.queue[i].item] == 0 {
			delete(w.counts, w.queue[i].item)
		}
		i++
	}
	if i > 0 {
		w.queue = w.queue[i:]
		w.dirty = true
	}
}

func (w *Window) Observe(ev *features.Event) {
	if ev.Type.Intent() == 0 || ev.Type == features.TypeDismiss {
		return
	}
	w.queue = append(w.queue, windowEvent{ev.Time, ev.ItemID})
	w.counts[ev.ItemID]++
	w.dirty = true
}

func shortDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// Standard returns the recommenders every evaluation compares, in table
// order: Sticky's ranker (under fc and rc), the Redis baseline's rules
// (bench/baseline's Memory), the streaming and the daily item-kNN, global
// popularity and 7-day popularity. Sticky's MaxK is raised to at least
// 1,000: the harness asks for more than K when the protocol removes items.
//
// bench/quality imports bench/baseline (not the other way round), so this
// is where Memory is checked to be a Recommender.
func Standard(items []features.Item, fc features.Config, rc ranker.Config) []Recommender {
	rc.MaxK = max(rc.MaxK, 1000)
	return []Recommender{
		NewSticky("sticky", items, fc, rc),
		baseline.NewMemory(items, rc.MaxPerCategory),
		NewStreamingKNN(),
		NewItemKNN(),
		NewPopularity(),
		NewWindow(7 * 24 * time.Hour),
	}
}
