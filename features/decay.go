package features

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Decayed is an exponentially time-decayed sum: V as of At (Unix
// milliseconds). Its value at any later time t is V·2^(-(t-At)/halfLife),
// computed exactly on read, so a Decayed never needs a background sweep.
// The zero value is an empty sum.
type Decayed struct {
	V float32
	// kh is the hash of the key of the Score holding this value
	// (Score.SetKey), which Scores.find compares before the key; 0 for a
	// value outside a Score or one set without SetKey. It is not part of
	// the value: Merge keeps the receiver's, codecs do not store it. It
	// sits in what would otherwise be padding.
	kh uint32
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
		kh := d.kh
		*d = o
		d.kh = kh
	case o.At >= d.At:
		d.V = float32(float64(d.V)*factor(o.At-d.At, halfLife) + float64(o.V))
		d.At = o.At
	default:
		d.V = float32(float64(d.V) + float64(o.V)*factor(d.At-o.At, halfLife))
	}
}

// Factor returns 2^(-dt/halfLife), what a decayed value keeps of itself
// over dt milliseconds (more than 1 for a negative dt); a halfLife <= 0
// means no decay.
func Factor(dt, halfLife int64) float64 { return factor(dt, halfLife) }

// Scaled returns d's value at ref, decayed to it or, for a ref before
// d.At, grown back to it (Value never grows): V·2^((At-ref)/halfLife).
// For any ref, and any now at or after d.At, Value(now) is
// Scaled(ref)·Factor(now-ref) up to rounding, so values scaled to one
// ref are all decayed to now by one factor.
func (d Decayed) Scaled(ref, halfLife int64) float64 {
	if d.V == 0 {
		return 0
	}
	return float64(d.V) * factor(ref-d.At, halfLife)
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
	Key string // set with SetKey, or by the Scores methods, so that find sees it
	Decayed
}

// SetKey sets the score's key, and the hash of it Scores.find compares
// first. Code that sets Key directly leaves a stale hash behind on a
// reused Score: find would miss it.
func (s *Score) SetKey(key string) { s.Key, s.kh = key, KeyHash(key) }

// Hash returns the hash of the score's key that Scores.find compares
// (KeyHash of Key).
func (s *Score) Hash() uint32 {
	if s.kh != 0 {
		return s.kh
	}
	return KeyHash(s.Key)
}

// KeyHash is the hash Scores keep of each key (Decayed.kh): FNV-1a of key,
// never 0. Equal keys have equal hashes, so a differing hash rules a key
// out without reading it.
func KeyHash(key string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return h | 1
}

// Scores is a small bounded set of keyed decayed values, in insertion order.
// Lookups are linear: the sets Sticky keeps are tens of entries, where a scan
// beats a map and keeps the codec trivial.
type Scores []Score

// Add folds weight w at time at into the score named key. A new key is
// always admitted: when the set already holds limit entries it first keeps
// only its strongest three quarters (by magnitude at time at), so the cost
// of ranking the set is paid once per limit/4 new keys, not on every one.
func (s *Scores) Add(key string, w float32, at, halfLife int64, limit int) {
	s.merge(key, Decayed{V: w, At: at}, halfLife, limit)
}

func (s *Scores) merge(key string, d Decayed, halfLife int64, limit int) {
	ss := *s
	if i := ss.find(key); i >= 0 {
		ss[i].Merge(d, halfLife)
		return
	}
	if limit <= 0 {
		return
	}
	if len(ss) >= limit {
		ss = ss.keepStrongest(max(limit-limit/4, 1)-1, d.At, halfLife)
	}
	sc := Score{Decayed: d}
	sc.SetKey(key)
	*s = append(ss, sc)
}

// keepStrongest keeps the n entries of largest magnitude at time at, in
// their original order; ties keep the entry updated later, then the
// earlier one. Ties are common in values that never decay (small integer
// weights): keeping the first-come among them would freeze a full list on
// its oldest entries.
func (s Scores) keepStrongest(n int, at, halfLife int64) Scores {
	if n >= len(s) {
		return s
	}
	type ranked struct {
		mag float64
		at  int64
		idx int
	}
	var buf [64]ranked
	r := buf[:0]
	for i := range s {
		r = append(r, ranked{math.Abs(s[i].Value(at, halfLife)), s[i].At, i})
	}
	slices.SortFunc(r, func(a, b ranked) int {
		if a.mag != b.mag {
			if a.mag > b.mag {
				return -1
			}
			return 1
		}
		if a.at != b.at {
			return cmp.Compare(b.at, a.at)
		}
		return a.idx - b.idx
	})
	var keep [64]bool
	var keepMap []bool
	if len(s) > len(keep) {
		keepMap = make([]bool, len(s))
	} else {
		keepMap = keep[:len(s)]
	}
	for _, e := range r[:n] {
		keepMap[e.idx] = true
	}
	out := s[:0]
	for i := range s {
		if keepMap[i] {
			out = append(out, s[i])
		}
	}
	clear(s[len(out):]) // drop references to evicted keys
	return out
}

// MergeAll adds every score of o into s.
func (s *Scores) MergeAll(o Scores, halfLife int64, limit int) {
	for _, e := range o {
		s.merge(e.Key, e.Decayed, halfLife, limit)
	}
}

// Get returns the score named key.
func (s Scores) Get(key string) (Decayed, bool) {
	if i := s.find(key); i >= 0 {
		d := s[i].Decayed
		d.kh = 0 // the value alone: a copy into another key's Score must not carry this key's hash
		return d, true
	}
	return Decayed{}, false
}

// find returns the index of the score named key, or -1. Each entry's key
// hash (Score.SetKey) is compared before its key: keys of one list tend
// to share their length and prefix ("item-00123"), and comparing them
// reads each key's bytes, a cache miss per entry where the hashes sit in
// the list itself. An entry without a hash (a Score built by hand) is
// compared by key.
func (s Scores) find(key string) int {
	h := KeyHash(key)
	for i := range s {
		if e := &s[i]; (e.kh == h || e.kh == 0) && e.Key == key {
			return i
		}
	}
	return -1
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
