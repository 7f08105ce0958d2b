package quality

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/stickyhq/sticky/features"
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

// Popularity recommends the items most interacted with so far.
type Popularity struct{ top topList }

// NewPopularity returns the global-popularity baseline.
func NewPopularity() *Popularity {
	return &Popularity{top: topList{n: 100, count: map[string]float64{}}}
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
	at     time.Time
	dirty  bool
}

type windowEvent struct {
	at   time.Time
	item string
}

// NewWindow returns the sliding-window popularity baseline.
func NewWindow(span time.Duration) *Window {
	return &Window{Span: span, counts: map[string]int{}, dirty: true}
}

func (w *Window) Name() string { return "popularity, last " + shortDuration(w.Span) }

func (w *Window) Recommend(ev *features.Event, k int) []string {
	w.expire(ev.Time)
	// Recomputed at most once per instant: a basket's lines share one.
	if w.dirty && !ev.Time.Equal(w.at) || w.cached == nil || len(w.cached) < k && w.dirty {
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
		for _, e := range all[:min(50, len(all))] {
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

// ItemKNN recommends items similar (cosine over co-interacting users) to
// the user's recent items, with a model retrained once per simulated day:
// during a day it only knows the days before.
type ItemKNN struct {
	History   int // recent items per user used for training and scoring; default 30
	Neighbors int // neighbours kept per item; default 30

	hist   map[string][]string
	cooc   map[string]map[string]float64
	n      map[string]float64
	model  map[string][]neighbor
	day    int64
	pop    *Popularity
	scores map[string]float64
}

type neighbor struct {
	item string
	sim  float64
}

// NewItemKNN returns the item-kNN baseline.
func NewItemKNN() *ItemKNN {
	return &ItemKNN{History: 30, Neighbors: 30, hist: map[string][]string{}, cooc: map[string]map[string]float64{},
		n: map[string]float64{}, model: map[string][]neighbor{}, day: -1, pop: NewPopularity(), scores: map[string]float64{}}
}

func (m *ItemKNN) Name() string { return "item-kNN, retrained daily" }

// retrain rebuilds the neighbours from everything seen so far.
func (m *ItemKNN) retrain() {
	model := make(map[string][]neighbor, len(m.cooc))
	better := func(a, b neighbor) bool { return a.sim > b.sim || (a.sim == b.sim && a.item < b.item) }
	for i, row := range m.cooc {
		// The best Neighbors of the row: a bounded insertion list beats
		// sorting rows of thousands.
		ns := make([]neighbor, 0, m.Neighbors)
		for j, c := range row {
			nb := neighbor{j, c / math.Sqrt(m.n[i]*m.n[j])}
			if len(ns) == m.Neighbors && !better(nb, ns[len(ns)-1]) {
				continue
			}
			k := len(ns)
			if k < m.Neighbors {
				ns = append(ns, nb)
			} else {
				k--
				ns[k] = nb
			}
			for k > 0 && better(ns[k], ns[k-1]) {
				ns[k], ns[k-1] = ns[k-1], ns[k]
				k--
			}
		}
		model[i] = ns
	}
	m.model = model
}

func (m *ItemKNN) tick(at time.Time) {
	if d := at.UTC().Unix() / 86400; d != m.day {
		if m.day >= 0 {
			m.retrain()
		}
		m.day = d
	}
}

func (m *ItemKNN) Recommend(ev *features.Event, k int) []string {
	m.tick(ev.Time)
	clear(m.scores)
	for _, i := range m.hist[ev.UserID] {
		for _, nb := range m.model[i] {
			m.scores[nb.item] += nb.sim
		}
	}
	type kv struct {
		item string
		s    float64
	}
	all := make([]kv, 0, len(m.scores))
	for it, s := range m.scores {
		all = append(all, kv{it, s})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if c := cmp.Compare(b.s, a.s); c != 0 {
			return c
		}
		return strings.Compare(a.item, b.item)
	})
	out := make([]string, 0, k)
	for _, e := range all[:min(k, len(all))] {
		out = append(out, e.item)
	}
	for _, it := range m.pop.Recommend(ev, k+len(out)) { // fill with the popular
		if len(out) == k {
			break
		}
		if !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}

func (m *ItemKNN) Observe(ev *features.Event) {
	m.tick(ev.Time)
	m.pop.Observe(ev)
	if ev.Type.Intent() == 0 || ev.Type == features.TypeDismiss {
		return
	}
	j := ev.ItemID
	h := m.hist[ev.UserID]
	if i := slices.Index(h, j); i >= 0 {
		h = slices.Delete(h, i, i+1) // seen: move it to the end, no new pairs
	} else {
		m.n[j]++
		for _, i := range h {
			row := m.cooc[i]
			if row == nil {
				row = map[string]float64{}
				m.cooc[i] = row
			}
			row[j]++
			rj := m.cooc[j]
			if rj == nil {
				rj = map[string]float64{}
				m.cooc[j] = rj
			}
			rj[i]++
		}
	}
	h = append(h, j)
	if len(h) > m.History {
		h = h[len(h)-m.History:]
	}
	m.hist[ev.UserID] = h
}
