package features

import (
	"math"
	"strings"
	"testing"
)

const hour = int64(3600_000)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func TestDecayedValue(t *testing.T) {
	f := func(adds [][2]float64, now int64, hl int64, want float64) {
		t.Helper()
		var d Decayed
		for _, a := range adds {
			d.Add(float32(a[0]), int64(a[1]), hl)
		}
		if got := d.Value(now, hl); !near(got, want, 1e-6) {
			t.Fatalf("adds %v at %d: got %v, want %v", adds, now, got, want)
		}
	}
	f(nil, 10*hour, hour, 0)
	f([][2]float64{{1, 0}}, 0, hour, 1)
	f([][2]float64{{1, 0}}, hour, hour, 0.5)
	f([][2]float64{{1, 0}}, 3*hour, hour, 0.125)
	f([][2]float64{{1, 0}, {1, float64(hour)}}, hour, hour, 1.5)
	// A late event is decayed to the clock, not the other way round.
	f([][2]float64{{1, float64(hour)}, {1, 0}}, hour, hour, 1.5)
	f([][2]float64{{4, float64(hour)}, {-2, float64(hour)}}, 2*hour, hour, 1)
	// Reading before the last update does not grow the value.
	f([][2]float64{{2, float64(hour)}}, 0, hour, 2)
}

func TestDecayedMergeIsOrderFree(t *testing.T) {
	hl := 2 * hour
	obs := []Decayed{{V: 1, At: 0}, {V: 3, At: 5 * hour}, {V: 2, At: hour}, {V: 0.5, At: 9 * hour}, {V: 1, At: 9 * hour}}
	var fwd, rev, left, right Decayed
	for i, o := range obs {
		fwd.Merge(o, hl)
		rev.Merge(obs[len(obs)-1-i], hl)
		if i%2 == 0 {
			left.Merge(o, hl)
		} else {
			right.Merge(o, hl)
		}
	}
	left.Merge(right, hl)
	now := 12 * hour
	for name, d := range map[string]Decayed{"reverse": rev, "split": left} {
		if !near(d.Value(now, hl), fwd.Value(now, hl), 1e-6) {
			t.Errorf("%s: %v, forward: %v", name, d.Value(now, hl), fwd.Value(now, hl))
		}
	}
}

func TestScoresBound(t *testing.T) {
	keys := func(s Scores) string {
		var ks []string
		for _, e := range s {
			ks = append(ks, e.Key)
		}
		return strings.Join(ks, " ")
	}
	var s Scores
	hl := hour
	for i, w := range []float32{5, 1, 3, 8, 2, 7, 4, 6} { // a..h, limit 8
		s.Add(string(rune('a'+i)), w, 0, hl, 8)
	}
	if len(s) != 8 {
		t.Fatalf("len %d", len(s))
	}
	// Full: keep the strongest 5 (three quarters, less the newcomer's
	// place), in their order, then admit the new key.
	s.Add("i", 0.5, 0, hl, 8)
	if got := keys(s); got != "a d f g h i" {
		t.Fatalf("after eviction: %s, want a d f g h i", got)
	}
	// Two more keys fit without ranking anything.
	s.Add("j", 0.1, 0, hl, 8)
	s.Add("k", 0.1, 0, hl, 8)
	if got := keys(s); got != "a d f g h i j k" {
		t.Fatalf("%s", got)
	}
	// Magnitude at the new key's time decides: a strong but old entry
	// goes before a weak recent one; negative values count by magnitude.
	var r Scores
	r.Add("old", 100, 0, hl, 4)
	r.Add("neg", -5, 10*hour, hl, 4)
	r.Add("new", 1, 10*hour, hl, 4)
	r.Add("mid", 2, 10*hour, hl, 4)
	r.Add("x", 1, 10*hour, hl, 4)
	if got := keys(r); got != "neg mid x" {
		t.Fatalf("%s, want neg mid x (old decayed to 0.1, new is weakest after)", got)
	}
	// Existing keys always accumulate.
	r.Add("x", 1, 10*hour, hl, 4)
	if d, _ := r.Get("x"); d.V != 2 {
		t.Fatalf("x = %v, want 2", d.V)
	}
	top := Scores{{"x", Decayed{V: 1, At: 0}}, {"y", Decayed{V: 4, At: 0}}, {"z", Decayed{V: 4, At: hour}}}.Top(hour, hl, 2)
	if len(top) != 2 || top[0].Key != "z" || top[1].Key != "y" || !near(top[1].Value, 2, 1e-9) {
		t.Fatalf("Top = %v", top)
	}
}

func TestPopKeyOrdersLikeValues(t *testing.T) {
	hl := 6 * hour
	ds := []Decayed{{V: 10, At: 0}, {V: 1, At: 20 * hour}, {V: 3, At: 10 * hour}, {V: 0.2, At: 30 * hour}, {V: 50, At: -5 * hour}}
	for _, now := range []int64{30 * hour, 100 * hour, 1000 * hour} {
		for i := range ds {
			for j := range ds {
				vi, vj := ds[i].Value(now, hl), ds[j].Value(now, hl)
				ki, kj := PopKey(ds[i], hl), PopKey(ds[j], hl)
				if (vi < vj) != (ki < kj) && math.Abs(vi-vj) > 1e-12*vi {
					t.Fatalf("at %d: values %v<%v but keys %v<%v", now, vi, vj, ki, kj)
				}
			}
		}
	}
	if !math.IsInf(PopKey(Decayed{}, hl), -1) {
		t.Fatal("PopKey of zero should be -Inf")
	}
}

// TestScoresBoundTiesKeepRecent: among equal magnitudes (values that never
// decay), eviction keeps the entries updated later, so a full list of
// equal weights still takes in what is new rather than freezing on its
// first entries.
func TestScoresBoundTiesKeepRecent(t *testing.T) {
	var s Scores
	for i := range 4 { // a..d at times 0..3, all weight 1, no decay
		s.Add(string(rune('a'+i)), 1, int64(i), 0, 4)
	}
	s.Add("e", 1, 4, 0, 4) // full: keep the 2 most recent of a..d, then e
	var got []string
	for _, e := range s {
		got = append(got, e.Key)
	}
	if strings.Join(got, " ") != "c d e" {
		t.Fatalf("after eviction: %v, want c d e", got)
	}
}
