package quality

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/stickyhq/sticky/features"
)

// refItemKNN is the daily item-kNN as it was before it became incremental:
// every simulated day it rebuilds every neighbour list from scratch. The
// tests check that ItemKNN gives the same lists.
type refItemKNN struct {
	History   int // recent items per user used for training and scoring; default 30
	Neighbors int // neighbours kept per item; default 30

	hist   map[string][]string
	cooc   map[string]map[string]float64
	n      map[string]float64
	model  map[string][]refNeighbor
	day    int64
	pop    *Popularity
	scores map[string]float64
}

type refNeighbor struct {
	item string
	sim  float64
}

// newRefItemKNN returns the item-kNN baseline.
func newRefItemKNN() *refItemKNN {
	return &refItemKNN{History: 30, Neighbors: 30, hist: map[string][]string{}, cooc: map[string]map[string]float64{},
		n: map[string]float64{}, model: map[string][]refNeighbor{}, day: -1, pop: NewPopularity(), scores: map[string]float64{}}
}

func (m *refItemKNN) Name() string { return "item-kNN, retrained daily" }

// retrain rebuilds the neighbours from everything seen so far.
func (m *refItemKNN) retrain() {
	model := make(map[string][]refNeighbor, len(m.cooc))
	better := func(a, b refNeighbor) bool { return a.sim > b.sim || (a.sim == b.sim && a.item < b.item) }
	for i, row := range m.cooc {
		// The best Neighbors of the row: a bounded insertion list beats
		// sorting rows of thousands.
		ns := make([]refNeighbor, 0, m.Neighbors)
		for j, c := range row {
			nb := refNeighbor{j, c / math.Sqrt(m.n[i]*m.n[j])}
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

func (m *refItemKNN) tick(at time.Time) {
	if d := at.UTC().Unix() / 86400; d != m.day {
		if m.day >= 0 {
			m.retrain()
		}
		m.day = d
	}
}

func (m *refItemKNN) Recommend(ev *features.Event, k int) []string {
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

func (m *refItemKNN) Observe(ev *features.Event) {
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
