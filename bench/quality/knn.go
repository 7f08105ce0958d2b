package quality

import (
	"math"
	"strings"
	"time"

	"github.com/stickyhq/sticky/features"
)

// The two item-kNN baselines share dense item numbers and co-occurrence
// rows held as slices (a position map per row for updates), so that
// scoring a user walks slices, not maps.

// itemNums numbers item ids densely, in order of first appearance.
type itemNums struct {
	num  map[string]int32
	name []string
}

func (t *itemNums) get(id string) int32 {
	if n, ok := t.num[id]; ok {
		return n
	}
	if t.num == nil {
		t.num = make(map[string]int32)
	}
	n := int32(len(t.name))
	t.num[id] = n
	t.name = append(t.name, id)
	return n
}

// cell is one co-occurrence count of a row.
type cell struct {
	j int32
	c float64
}

// coocRows holds C(i, j) as rows[i], a slice in order of first
// co-occurrence; pos[i] finds j's cell in rows[i].
type coocRows struct {
	rows [][]cell
	pos  []map[int32]int32
}

func (r *coocRows) grow(n int) {
	for len(r.rows) < n {
		r.rows = append(r.rows, nil)
		r.pos = append(r.pos, nil)
	}
}

// add adds w to C(i, j).
func (r *coocRows) add(i, j int32, w float64) {
	r.grow(int(max(i, j)) + 1)
	p, ok := r.pos[i][j]
	if !ok {
		if r.pos[i] == nil {
			r.pos[i] = make(map[int32]int32)
		}
		p = int32(len(r.rows[i]))
		r.pos[i][j] = p
		r.rows[i] = append(r.rows[i], cell{j: j})
	}
	r.rows[i][p].c += w
}

// scored is an item number with a score.
type scored struct {
	j int32
	s float64
}

// bestOf keeps the n best of what it is offered, by score descending then
// item id ascending: a bounded insertion list, one comparison for most
// offers.
type bestOf struct {
	n     int
	list  []scored
	names []string
}

func (b *bestOf) reset(n int, names []string) {
	b.n, b.list, b.names = n, b.list[:0], names
}

func (b *bestOf) better(x, y scored) bool {
	return x.s > y.s || (x.s == y.s && strings.Compare(b.names[x.j], b.names[y.j]) < 0)
}

func (b *bestOf) offer(x scored) {
	if b.n <= 0 || len(b.list) == b.n && !b.better(x, b.list[len(b.list)-1]) {
		return
	}
	k := len(b.list)
	if k < b.n {
		b.list = append(b.list, x)
	} else {
		k--
		b.list[k] = x
	}
	for k > 0 && b.better(b.list[k], b.list[k-1]) {
		b.list[k], b.list[k-1] = b.list[k-1], b.list[k]
		k--
	}
}

// scores accumulates item scores for one request and hands out the best:
// add as often as needed, then top, which also clears them for the next
// request.
type scores struct {
	score []float64
	touch []int32
	best  bestOf
}

func (a *scores) grow(n int) {
	for len(a.score) < n {
		a.score = append(a.score, 0)
	}
}

func (a *scores) add(j int32, s float64) {
	if a.score[j] == 0 {
		a.touch = append(a.touch, j)
	}
	a.score[j] += s
}

// top returns the k best item names, best first, and clears the scores.
func (a *scores) top(k int, names []string) []string {
	a.best.reset(k, names)
	for _, j := range a.touch {
		a.best.offer(scored{j, a.score[j]})
		a.score[j] = 0
	}
	a.touch = a.touch[:0]
	out := make([]string, 0, k)
	for _, b := range a.best.list {
		out = append(out, names[b.j])
	}
	return out
}

// fillPopular appends the most popular items not yet in out until out
// holds k.
func fillPopular(out []string, pop *Popularity, ev *features.Event, k int) []string {
	if len(out) >= k {
		return out
	}
	in := make(map[string]struct{}, len(out))
	for _, id := range out {
		in[id] = struct{}{}
	}
	for _, id := range pop.Recommend(ev, k+len(out)) {
		if len(out) == k {
			break
		}
		if _, ok := in[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// StreamingKNN is item-kNN updated with every event, as a team would
// write it in an afternoon: each user's last History distinct positive
// items (click, add_to_cart, purchase); on a positive x of user u, for
// every other item i among u's last positives, C(i,x) and C(x,i) grow by
// one, and n_x grows by one. A candidate j scores Σ C(i,j)/√(n_i·n_j)
// over the user's last positives i (cosine co-occurrence). The list is
// filled with the most popular items when the user's neighbours run out.
// Work per event is at most 2·History count updates; per request, a walk
// of History rows (no maps) and one comparison per candidate for most
// candidates.
type StreamingKNN struct {
	History int // last distinct positives per user; default 20

	ids  itemNums
	hist map[string][]int32 // oldest first
	co   coocRows
	n    []float64
	inv  []float64 // 1/√n
	pop  *Popularity
	acc  scores
}

// NewStreamingKNN returns the streaming item-kNN baseline.
func NewStreamingKNN() *StreamingKNN {
	return &StreamingKNN{History: 20, hist: map[string][]int32{}, pop: NewPopularity()}
}

func (m *StreamingKNN) Name() string { return "item-kNN (streaming)" }

// positive reports whether t says the user wants the item.
func positive(t features.Type) bool {
	return t == features.TypeClick || t == features.TypeAddToCart || t == features.TypePurchase
}

func (m *StreamingKNN) Observe(ev *features.Event) {
	m.pop.Observe(ev)
	if !positive(ev.Type) || ev.ItemID == "" {
		return
	}
	x := m.ids.get(ev.ItemID)
	for len(m.n) <= int(x) {
		m.n = append(m.n, 0)
		m.inv = append(m.inv, 0)
	}
	m.acc.grow(len(m.n))
	m.n[x]++
	m.inv[x] = 1 / math.Sqrt(m.n[x])
	h := m.hist[ev.UserID]
	at := -1
	for p, i := range h {
		if i == x {
			at = p
			continue
		}
		m.co.add(i, x, 1)
		m.co.add(x, i, 1)
	}
	if at >= 0 {
		h = append(h[:at], h[at+1:]...)
	}
	h = append(h, x)
	if len(h) > m.History {
		h = h[len(h)-m.History:]
	}
	m.hist[ev.UserID] = h
}

func (m *StreamingKNN) Recommend(ev *features.Event, k int) []string {
	h := m.hist[ev.UserID]
	for _, i := range h {
		if int(i) >= len(m.co.rows) {
			continue
		}
		wi := m.inv[i]
		for _, c := range m.co.rows[i] {
			m.acc.add(c.j, c.c*wi*m.inv[c.j])
		}
	}
	return fillPopular(m.acc.top(k, m.ids.name), m.pop, ev, k)
}

// ItemKNN recommends items similar (cosine over co-interacting users) to
// the user's recent items, with a model retrained once per simulated day:
// during a day it only knows the days before. Counts accumulate as events
// arrive; at a day boundary only the neighbour lists that can have changed
// are recomputed (see retrain), which gives the lists a full rebuild
// would.
type ItemKNN struct {
	History   int // recent items per user used for training and scoring; default 30
	Neighbors int // neighbours kept per item; default 30

	ids   itemNums
	hist  map[string][]int32 // oldest first
	co    coocRows
	n     []float64
	model [][]scored // per item, best first
	day   int64
	pop   *Popularity

	rowDirty, nDirty []bool // since the last retrain
	dirty            []int32
	acc              scores

	// Rescans counts the neighbour lists recomputed, for the tests.
	Rescans int
}

// NewItemKNN returns the daily item-kNN baseline.
func NewItemKNN() *ItemKNN {
	return &ItemKNN{History: 30, Neighbors: 30, hist: map[string][]int32{}, day: -1, pop: NewPopularity()}
}

func (m *ItemKNN) Name() string { return "item-kNN, retrained daily" }

func (m *ItemKNN) grow(n int) {
	for len(m.n) < n {
		m.n = append(m.n, 0)
		m.model = append(m.model, nil)
		m.rowDirty = append(m.rowDirty, false)
		m.nDirty = append(m.nDirty, false)
	}
	m.acc.grow(n)
}

func (m *ItemKNN) markRow(i int32) {
	if !m.rowDirty[i] && !m.nDirty[i] {
		m.dirty = append(m.dirty, i)
	}
	m.rowDirty[i] = true
}

func (m *ItemKNN) markN(i int32) {
	if !m.rowDirty[i] && !m.nDirty[i] {
		m.dirty = append(m.dirty, i)
	}
	m.nDirty[i] = true
}

// retrain brings the neighbour lists up to date with the counts. The list
// of item i orders its neighbours j by C(i,j)/√(n_i·n_j). It can only
// change if row i changed, n_i changed, or n_j grew for a j on the list:
// a j off the list whose n_j grew only scores lower, and stays off. Every
// other list is kept as it is.
func (m *ItemKNN) retrain() {
	if len(m.dirty) == 0 {
		return
	}
	for i := range m.model {
		if m.rowDirty[i] || m.nDirty[i] {
			m.rescan(int32(i))
			continue
		}
		for _, nb := range m.model[i] {
			if m.nDirty[nb.j] {
				m.rescan(int32(i))
				break
			}
		}
	}
	for _, i := range m.dirty {
		m.rowDirty[i], m.nDirty[i] = false, false
	}
	m.dirty = m.dirty[:0]
}

func (m *ItemKNN) rescan(i int32) {
	m.Rescans++
	if int(i) >= len(m.co.rows) || len(m.co.rows[i]) == 0 {
		m.model[i] = nil
		return
	}
	best := &m.acc.best
	best.reset(m.Neighbors, m.ids.name)
	for _, c := range m.co.rows[i] {
		best.offer(scored{c.j, c.c / math.Sqrt(m.n[i]*m.n[c.j])})
	}
	m.model[i] = append(m.model[i][:0], best.list...)
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
	for _, i := range m.hist[ev.UserID] {
		for _, nb := range m.model[i] {
			m.acc.add(nb.j, nb.s)
		}
	}
	return fillPopular(m.acc.top(k, m.ids.name), m.pop, ev, k)
}

func (m *ItemKNN) Observe(ev *features.Event) {
	m.tick(ev.Time)
	m.pop.Observe(ev)
	if ev.Type.Intent() == 0 || ev.Type == features.TypeDismiss {
		return
	}
	j := m.ids.get(ev.ItemID)
	m.grow(int(j) + 1)
	h := m.hist[ev.UserID]
	at := -1
	for p, i := range h {
		if i == j {
			at = p
			break
		}
	}
	if at >= 0 {
		h = append(h[:at], h[at+1:]...) // seen: move it to the end, no new pairs
	} else {
		m.n[j]++
		m.markN(j)
		for _, i := range h {
			m.co.add(i, j, 1)
			m.co.add(j, i, 1)
			m.markRow(i)
		}
		if len(h) > 0 {
			m.markRow(j)
		}
	}
	h = append(h, j)
	if len(h) > m.History {
		h = h[len(h)-m.History:]
	}
	m.hist[ev.UserID] = h
}
