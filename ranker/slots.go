package ranker

import "math/bits"

// slots maps the index's entries (by entry.n) to values for one request:
// the scorer's candidates and the user's own marks. It is an open-addressed
// table with linear probing, cleared between requests without freeing, and
// cheaper than a Go map keyed by *entry on the ranker's hot path, where a
// request makes several hundred lookups (the seeds' neighbours, the lists,
// the user's history): no hashing of pointers, no tombstones (nothing is
// deleted), one cache line per probe for small tables.
type slots[V any] struct {
	keys  []uint32 // entry.n + 1; 0: empty
	vals  []V
	used  int
	shift uint8 // 32 - log2(len(keys))
}

// minSlots is the smallest table: a request admits about 200 candidates.
const minSlots = 512

// slot returns the position of key n, and whether it is present; if
// absent, the position is where it would go.
func (t *slots[V]) slot(n uint32) (int, bool) {
	if len(t.keys) == 0 {
		t.grow()
	}
	k := n + 1
	mask := len(t.keys) - 1
	i := int((k * 0x9E3779B1) >> t.shift)
	for {
		switch t.keys[i] {
		case k:
			return i, true
		case 0:
			return i, false
		}
		i = (i + 1) & mask
	}
}

// get returns the value of n and whether n is present.
func (t *slots[V]) get(n uint32) (V, bool) {
	if t.used == 0 {
		var zero V
		return zero, false
	}
	i, ok := t.slot(n)
	if !ok {
		var zero V
		return zero, false
	}
	return t.vals[i], true
}

// ref returns a pointer to n's value, adding n with the zero value if
// absent. The pointer is valid until the next call that adds a key.
func (t *slots[V]) ref(n uint32) *V {
	i, ok := t.slot(n)
	if ok {
		return &t.vals[i]
	}
	if 2*(t.used+1) > len(t.keys) {
		t.grow()
		i, _ = t.slot(n)
	}
	t.keys[i] = n + 1
	t.used++
	return &t.vals[i]
}

// set sets n's value.
func (t *slots[V]) set(n uint32, v V) { *t.ref(n) = v }

// len returns the number of keys.
func (t *slots[V]) len() int { return t.used }

// reset empties the table, keeping its memory.
func (t *slots[V]) reset() {
	if t.used == 0 {
		return
	}
	clear(t.keys)
	clear(t.vals)
	t.used = 0
}

// grow doubles the table (or makes the first one) and reinserts the keys.
func (t *slots[V]) grow() {
	oldK, oldV := t.keys, t.vals
	size := max(2*len(oldK), minSlots)
	t.keys, t.vals, t.used = make([]uint32, size), make([]V, size), 0
	t.shift = uint8(32 - bits.TrailingZeros(uint(size)))
	for i, k := range oldK {
		if k != 0 {
			*t.ref(k - 1) = oldV[i]
		}
	}
}
