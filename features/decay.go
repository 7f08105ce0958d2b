package features

import (
	"math"
	"slices"
	"time"
)

// Decayed is an exponentially time-decayed sum: V as of At (Unix
// milliseconds). Its value at any later time t is V·2^(-(t-At)/halfLife),
// computed exactly on read, so a Decayed never needs a background sweep.
// The zero value is an empty sum.
type Decayed struct {
	V  float32
	At int64
}

// factor returns 2^(-dt/hl) for dt, hl in milliseconds; hl <= 0 means no decay.
func factor(dt, hl int64) float64 {
	if hl <= 0 || dt == 0 {
		return 1
	}
	return math.Exp2(-float64(dt) / float64(hl))
}

// Add folds weight w observed at time at (Unix ms) into d. Observations older
// than d.At are decayed to d.At, so the order of equal-time events does not
// matter and a late event never moves the clock backwards.
func (d *Decayed) Add(w float32, at, halfLife int64) {
	d.Merge(Decayed{V: w, At: at}, halfLife)
}

// Merge adds o into d, both decayed to the later of their times.
func (d *Decayed) Merge(o Decayed, halfLife int64) {
	switch {
	case d.V == 0 && d.At == 0:
		*d = o
	case o.At >= d.At:
		d.V = float32(float64(d.V)*factor(o.At-d.At, halfLife) + float64(o.V))
		d.At = o.At
	default:
		d.V = float32(float64(d.V) + float64(o.V)*factor(d.At-o.At, halfLife))
	}
}

// Value returns d decayed to now (Unix ms). A now before d.At returns d.V.
func (d Decayed) Value(now, halfLife int64) float64 {
	if d.V == 0 || now <= d.At {
		return float64(d.V)
	}
	return float64(d.V) * factor(now-d.At, halfLife)
}

// Score is a keyed Decayed value: a category affinity, a device share, a
// co-occurring item, a context bucket.
type Score struct {
	Key string
	Decayed
}

// Scores is a small bounded set of keyed decayed values, in insertion order.
// Lookups are linear: the sets Sticky keeps are tens of entries, where a scan
// beats a map and keeps the codec trivial.
type Scores []Score

// pruneBelow is the magnitude under which a decayed score is dropped when a
// set is full: the entry has faded to noise.
const pruneBelow = 1e-3

// Add folds weight w at time at into the score named key. When the set
// already holds limit entries, faded entries are pruned first; if it is still
// full, the weakest entry (smallest magnitude at time at) is replaced, unless
// the new observation is weaker still, in which case it is dropped.
func (s *Scores) Add(key string, w float32, at, halfLife int64, limit int) {
	s.merge(key, Decayed{V: w, At: at}, halfLife, limit)
}

func (s *Scores) merge(key string, d Decayed, halfLife int64, limit int) {
	ss := *s
	for i := range ss {
		if ss[i].Key == key {
			ss[i].Merge(d, halfLife)
			return
		}
	}
	if limit <= 0 {
		return
	}
	if len(ss) >= limit {
		ss = slices.DeleteFunc(ss, func(e Score) bool {
			return math.Abs(e.Value(d.At, halfLife)) < pruneBelow
		})
	}
	if len(ss) >= limit {
		weakest, wv := -1, math.Inf(1)
		for i := range ss {
			if v := math.Abs(ss[i].Value(d.At, halfLife)); v < wv {
				weakest, wv = i, v
			}
		}
		if math.Abs(float64(d.V)) < wv {
			*s = ss
			return
		}
		ss = slices.Delete(ss, weakest, weakest+1)
	}
	*s = append(ss, Score{Key: key, Decayed: d})
}

// MergeAll adds every score of o into s.
func (s *Scores) MergeAll(o Scores, halfLife int64, limit int) {
	for _, e := range o {
		s.merge(e.Key, e.Decayed, halfLife, limit)
	}
}

// Get returns the score named key.
func (s Scores) Get(key string) (Decayed, bool) {
	for i := range s {
		if s[i].Key == key {
			return s[i].Decayed, true
		}
	}
	return Decayed{}, false
}

// KV is a key with its value decayed to some instant.
type KV struct {
	Key   string  `json:"key"`
	Value float64 `json:"value"`
}

// Top returns up to n entries of s decayed to now, strongest first (ties by
// key). n <= 0 returns all.
func (s Scores) Top(now, halfLife int64, n int) []KV {
	out := make([]KV, 0, len(s))
	for _, e := range s {
		out = append(out, KV{Key: e.Key, Value: e.Value(now, halfLife)})
	}
	slices.SortFunc(out, func(a, b KV) int {
		if a.Value != b.Value {
			if a.Value > b.Value {
				return -1
			}
			return 1
		}
		if a.Key < b.Key {
			return -1
		}
		if a.Key > b.Key {
			return 1
		}
		return 0
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// ms converts a duration to whole milliseconds.
func ms(d time.Duration) int64 { return d.Milliseconds() }
