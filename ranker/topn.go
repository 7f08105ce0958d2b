package ranker

import (
	"container/heap"
	"math"
	"slices"
	"strings"
)

// topN keeps the n items with the largest keys. Keys are time-invariant
// (features.PopKey) and only ever grow, so the list is exact: an item that
// falls out can only come back by being updated, and then it is offered
// again. Not safe for concurrent use; Index guards it.
type topN struct {
	n    int
	h    keyHeap        // min-heap: h.e[0] is the weakest member
	pos  map[string]int // item -> index in h.e
	snap []string       // members strongest first; rebuilt by refresh when dirty
	dirt bool
}

func newTopN(n int) *topN {
	t := &topN{n: n, pos: make(map[string]int, n)}
	t.h.pos = &t.pos
	return t
}

// offer sets item's key, adding it if it is strong enough.
func (t *topN) offer(item string, key float64) {
	if math.IsInf(key, -1) || math.IsNaN(key) {
		return
	}
	if i, ok := t.pos[item]; ok {
		if t.h.e[i].key != key {
			t.h.e[i].key = key
			heap.Fix(&t.h, i)
			t.dirt = true
		}
		return
	}
	if len(t.h.e) < t.n {
		heap.Push(&t.h, keyed{item: item, key: key})
		t.dirt = true
		return
	}
	if key <= t.h.e[0].key {
		return
	}
	delete(t.pos, t.h.e[0].item)
	t.h.e[0] = keyed{item: item, key: key}
	t.pos[item] = 0
	heap.Fix(&t.h, 0)
	t.dirt = true
}

// key returns item's key if it is in the list.
func (t *topN) key(item string) (float64, bool) {
	i, ok := t.pos[item]
	if !ok {
		return 0, false
	}
	return t.h.e[i].key, true
}

// refresh rebuilds the snapshot if the list changed; it returns the snapshot,
// which callers must not modify.
func (t *topN) refresh() []string {
	if !t.dirt {
		return t.snap
	}
	es := slices.Clone(t.h.e)
	slices.SortFunc(es, func(a, b keyed) int {
		if a.key != b.key {
			if a.key > b.key {
				return -1
			}
			return 1
		}
		return strings.Compare(a.item, b.item)
	})
	snap := make([]string, len(es))
	for i, e := range es {
		snap[i] = e.item
	}
	t.snap, t.dirt = snap, false
	return snap
}

type keyed struct {
	item string
	key  float64
}

// keyHeap is a min-heap of keyed that keeps topN.pos in step.
type keyHeap struct {
	e   []keyed
	pos *map[string]int
}

func (h keyHeap) Len() int           { return len(h.e) }
func (h keyHeap) Less(i, j int) bool { return h.e[i].key < h.e[j].key }
func (h keyHeap) Swap(i, j int) {
	h.e[i], h.e[j] = h.e[j], h.e[i]
	(*h.pos)[h.e[i].item] = i
	(*h.pos)[h.e[j].item] = j
}
func (h *keyHeap) Push(x any) {
	k := x.(keyed)
	(*h.pos)[k.item] = len(h.e)
	h.e = append(h.e, k)
}
func (h *keyHeap) Pop() any {
	k := h.e[len(h.e)-1]
	h.e = h.e[:len(h.e)-1]
	delete(*h.pos, k.item)
	return k
}
