package baseline

import (
	"slices"
	"testing"

	"github.com/stickyhq/sticky/features"
)

func ids(rs []Ranked) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ItemID
	}
	return out
}

func TestRank(t *testing.T) {
	cat := NewItems([]features.Item{
		{ID: "a1", Category: "A", Available: true}, {ID: "a2", Category: "A", Available: true},
		{ID: "a3", Category: "A", Available: true}, {ID: "a4", Category: "A", Available: true},
		{ID: "b1", Category: "B", Available: true}, {ID: "b2", Category: "B", Available: true, Repeatable: true},
		{ID: "off", Category: "B", Available: false},
	})
	pop := []Scored{{"off", 9}, {"ghost", 8}, {"a1", 4}, {"a2", 4}, {"a3", 4}, {"a4", 4}, {"b1", 4}, {"b2", 4}}

	f := func(name string, in *Inputs, k int, want ...string) {
		t.Helper()
		got := Rank(in, cat, k, 2)
		if !slices.Equal(ids(got), want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	// Equal scores tie by id; unknown (ghost) and unavailable (off) items
	// never appear; a cold user gets popular items, at most two of A.
	f("cold", &Inputs{Popular: pop}, 3, "a1", "a2", "b1")
	f("k=0", &Inputs{Popular: pop}, 0)
	f("nothing known", &Inputs{}, 5)
	// Bought items leave unless repeatable; dismissed items leave.
	f("rules", &Inputs{Popular: pop, Bought: set([]string{"a1", "b2"}), Dismissed: set([]string{"a2"})}, 10,
		"a3", "a4", "b1", "b2")
	// Affinity for B lifts its items; diversity keeps two of A, then fills
	// with A when nothing else remains.
	f("affinity and diversity", &Inputs{Popular: pop, Categories: map[string]float64{"B": 5, "A": 1}}, 5,
		"b1", "b2", "a1", "a2", "a3")
	// A neighbour of a recent item comes first, with its reason.
	in := &Inputs{Popular: pop, Recent: []string{"b1", "b1", "a1"},
		Neighbours: map[string][]Scored{"b1": {{"a4", 3}, {"a3", 1}}, "a1": {{"a3", 1}}}}
	if got := in.Seeds(); !slices.Equal(got, []string{"b1", "a1"}) {
		t.Errorf("seeds %v", got)
	}
	got := Rank(in, cat, 2, 2)
	if !slices.Equal(ids(got), []string{"a3", "a4"}) || got[0].Reason != "often together with a1" || got[1].Reason != "often together with b1" {
		t.Errorf("co-occurrence: %v", got)
	}
}

func TestFoldSeeds(t *testing.T) {
	recent := []string{}
	for _, it := range []string{"x", "y", "x", "z", "w"} {
		recent = pushFront(recent, it, 3)
	}
	if !slices.Equal(recent, []string{"w", "z", "x"}) {
		t.Fatalf("pushFront: %v", recent)
	}
	if got := seeds([]string{"a", "a", "b", "c"}, "b"); !slices.Equal(got, []string{"a"}) {
		t.Errorf("seeds: %v", got)
	}
}
