package baseline

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// readInputs reads what Rank needs for user in two pipelined round trips:
// the user's keys and the global popular items, then the neighbours of the
// seeds and the popular items of the top categories.
func readInputs(ctx context.Context, rdb *redis.Client, user string) (*Inputs, error) {
	p := rdb.Pipeline()
	cats := p.HGetAll(ctx, catKey(user))
	brands := p.HGetAll(ctx, brandKey(user))
	recent := p.LRange(ctx, recentKey(user), 0, coocSeeds-1)
	bought := p.SMembers(ctx, boughtKey(user))
	dismissed := p.SMembers(ctx, dismissedKey(user))
	pop := p.ZRevRangeWithScores(ctx, popKey, 0, globalPopularRd-1)
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("cannot read user %q: %w", user, err)
	}
	in := &Inputs{Recent: recent.Val(), Popular: scored(pop.Val()),
		Bought: set(bought.Val()), Dismissed: set(dismissed.Val()),
		Neighbours: make(map[string][]Scored), CategoryPopular: make(map[string][]Scored)}
	var err error
	if in.Categories, err = floats(cats.Val()); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", catKey(user), err)
	}
	if in.Brands, err = floats(brands.Val()); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", brandKey(user), err)
	}

	seeds, top := in.Seeds(), in.TopCategories()
	if len(seeds)+len(top) == 0 {
		return in, nil
	}
	p = rdb.Pipeline()
	nb := make([]*redis.ZSliceCmd, len(seeds))
	for i, s := range seeds {
		nb[i] = p.ZRevRangeWithScores(ctx, coKey(s), 0, neighboursRead-1)
	}
	cp := make([]*redis.ZSliceCmd, len(top))
	for i, c := range top {
		cp[i] = p.ZRevRangeWithScores(ctx, catPopKey(c), 0, catPopularRead-1)
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("cannot read candidates of user %q: %w", user, err)
	}
	for i, s := range seeds {
		in.Neighbours[s] = scored(nb[i].Val())
	}
	for i, c := range top {
		in.CategoryPopular[c] = scored(cp[i].Val())
	}
	return in, nil
}

func scored(zs []redis.Z) []Scored {
	out := make([]Scored, len(zs))
	for i, z := range zs {
		out[i] = Scored{ID: fmt.Sprint(z.Member), Score: z.Score}
	}
	return out
}

func set(members []string) map[string]struct{} {
	m := make(map[string]struct{}, len(members))
	for _, s := range members {
		m[s] = struct{}{}
	}
	return m
}

func floats(h map[string]string) (map[string]float64, error) {
	m := make(map[string]float64, len(h))
	for k, v := range h {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
		m[k] = f
	}
	return m, nil
}
