package baseline

import (
	"cmp"
	"math"
	"slices"
)

// Scored is an item with a score, as a sorted set holds it.
type Scored struct {
	ID    string
	Score float64
}

// Inputs are what the service reads for one user: the user's keys, and the
// sorted sets those point to. Memory builds the same from its maps.
type Inputs struct {
	Categories map[string]float64  // u:U:cat
	Brands     map[string]float64  // u:U:brand
	Recent     []string            // u:U:recent, most recent first (the first coocSeeds entries are used)
	Bought     map[string]struct{} // u:U:bought
	Dismissed  map[string]struct{} // u:U:dismissed
	// Neighbours holds, for each seed (Seeds), the top of co:<seed>,
	// strongest first.
	Neighbours map[string][]Scored
	// CategoryPopular holds, for each of TopCategories, the top of
	// pop:<category>, most popular first.
	CategoryPopular map[string][]Scored
	// Popular is the top of pop, most popular first.
	Popular []Scored
}

// Seeds returns the recent items whose co-occurrence neighbours are
// candidates: the distinct items among the first three of Recent.
func (in *Inputs) Seeds() []string { return seeds(in.Recent, "") }

// TopCategories returns the user's three categories of highest positive
// affinity, ties broken by name.
func (in *Inputs) TopCategories() []string {
	return topKeys(in.Categories, topCategories)
}

// topKeys returns the n keys of m with the highest positive values, ties
// broken by key.
func topKeys(m map[string]float64, n int) []string {
	var kv []Scored
	for k, v := range m {
		if v > 0 {
			kv = append(kv, Scored{k, v})
		}
	}
	slices.SortFunc(kv, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	out := make([]string, 0, min(n, len(kv)))
	for i := 0; i < len(kv) && i < n; i++ {
		out = append(out, kv[i].ID)
	}
	return out
}

// Ranked is one recommended item.
type Ranked struct {
	ItemID string  `json:"item_id"`
	Score  float64 `json:"score"`
	Reason string  `json:"reason"`
}

// Weights of the score's terms, each term normalised to at most 1.
const (
	weightCooc     = 1.0 // co-occurrence with a seed / the seed's strongest neighbour
	weightCategory = 0.8 // affinity of the item's category / the user's largest |affinity|
	weightBrand    = 0.3 // same, for the brand
	weightPop      = 0.5 // popularity / the most popular item's
)

// Rank ranks the candidates of in: the neighbours of the seeds, the
// popular items of the top categories and the globally popular items. The
// rules are Sticky's: items not in the catalogue, unavailable, dismissed,
// or bought (unless repeatable) are left out; at most maxPerCategory items
// of one category, unless too few others remain. Scores tie by item id, so
// the result depends on in and cat only.
func Rank(in *Inputs, cat Catalogue, k, maxPerCategory int) []Ranked {
	if k <= 0 {
		return []Ranked{}
	}
	type cand struct {
		id   string
		item Item
		cooc float64 // normalised, best over seeds
		seed string  // the seed that gave cooc
		pop  float64 // raw popularity, when a popularity list holds the item
	}
	cands := make(map[string]*cand)
	out := make(map[string]struct{})
	admit := func(id string) *cand {
		if c, ok := cands[id]; ok {
			return c
		}
		if _, ok := out[id]; ok {
			return nil
		}
		it, ok := cat.Lookup(id)
		_, dismissed := in.Dismissed[id]
		_, bought := in.Bought[id]
		if !ok || !it.Available || dismissed || (bought && !it.Repeatable) {
			out[id] = struct{}{}
			return nil
		}
		c := &cand{id: id, item: it}
		cands[id] = c
		return c
	}

	for _, s := range in.Seeds() {
		nb := in.Neighbours[s]
		top := maxScore(nb)
		if top <= 0 {
			continue
		}
		for _, n := range nb {
			if n.Score <= 0 {
				continue
			}
			if c := admit(n.ID); c != nil && n.Score/top > c.cooc {
				c.cooc, c.seed = n.Score/top, s
			}
		}
	}
	popular := func(list []Scored) {
		for _, p := range list {
			if c := admit(p.ID); c != nil {
				c.pop = max(c.pop, p.Score)
			}
		}
	}
	for _, c := range in.TopCategories() {
		popular(in.CategoryPopular[c])
	}
	popular(in.Popular)

	catNorm, brandNorm, popTop := maxAbs(in.Categories), maxAbs(in.Brands), maxScore(in.Popular)
	for _, c := range in.CategoryPopular {
		popTop = max(popTop, maxScore(c))
	}
	ranked := make([]Ranked, 0, len(cands))
	category := make(map[string]string, len(cands))
	for _, c := range cands {
		coocT := weightCooc * c.cooc
		catT := weightCategory * norm(in.Categories[c.item.Category], catNorm)
		brandT := weightBrand * norm(in.Brands[c.item.Brand], brandNorm)
		popT := weightPop * norm(c.pop, popTop)
		reason := "popular"
		switch {
		case coocT > 0 && coocT >= catT && coocT >= popT:
			reason = "often together with " + c.seed
		case catT > 0 && catT >= popT:
			reason = "popular in " + c.item.Category
		}
		ranked = append(ranked, Ranked{ItemID: c.id, Score: coocT + catT + brandT + popT, Reason: reason})
		category[c.id] = c.item.Category
	}
	byScore := func(a, b Ranked) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ItemID, b.ItemID)
	}
	slices.SortFunc(ranked, byScore)

	// Diversity: at most maxPerCategory per category; held-back items fill
	// the list if the rule leaves it short.
	picked := make([]Ranked, 0, min(k, len(ranked)))
	var held []Ranked
	perCat := make(map[string]int)
	for _, r := range ranked {
		if len(picked) == k {
			break
		}
		if c := category[r.ItemID]; c != "" && maxPerCategory > 0 && perCat[c] >= maxPerCategory {
			held = append(held, r)
			continue
		}
		perCat[category[r.ItemID]]++
		picked = append(picked, r)
	}
	for _, r := range held {
		if len(picked) == k {
			break
		}
		picked = append(picked, r)
	}
	slices.SortFunc(picked, byScore)
	return picked
}

func maxScore(list []Scored) float64 {
	m := 0.0
	for _, s := range list {
		m = max(m, s.Score)
	}
	return m
}

func maxAbs(m map[string]float64) float64 {
	x := 0.0
	for _, v := range m {
		x = max(x, math.Abs(v))
	}
	return x
}

// norm returns v/scale clamped to [-1, 1], or 0 when scale is 0.
func norm(v, scale float64) float64 {
	if scale <= 0 {
		return 0
	}
	return max(-1, min(1, v/scale))
}
