package ranker

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
	"github.com/stickyhq/sticky/state"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// userMap is an in-memory Users for unit tests of pure ranking logic.
type userMap map[string]*features.User

func (m userMap) User(id string, u *features.User) (bool, error) {
	if v, ok := m[id]; ok {
		*u = *v
		return true, nil
	}
	*u = features.User{ID: id}
	return false, nil
}

// world is a small shop: a catalogue, users folded from events, an index.
type world struct {
	f     *features.Extractor
	cat   *state.Catalogue
	users userMap
	idx   *Index
	r     *Ranker
}

// base is a Monday, 00:00 UTC; users below live in UTC.
var base = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func newWorld(t testing.TB) *world {
	t.Helper()
	f := features.NewExtractor(features.DefaultConfig())
	cat := state.NewCatalogue()
	var items []features.Item
	for _, c := range []struct {
		name, brand string
		price       float64
	}{{"Baby", "Acme", 20}, {"Electronics", "Volt", 300}, {"Books", "Paper", 12}, {"Garden", "Cog", 45}} {
		for i := 0; i < 12; i++ {
			items = append(items, features.Item{
				ID: fmt.Sprintf("%s-%02d", strings.ToLower(c.name[:3]), i), Title: fmt.Sprintf("%s item %d", c.name, i),
				Category: c.name, Brand: c.brand, Price: c.price * (1 + float64(i)/10), Available: true,
				Repeatable: c.name == "Baby" && i == 0, // nappies
			})
		}
	}
	items[5].Available = false // bab-05 is out of stock
	cat.Apply(items, nil)
	w := &world{f: f, cat: cat, users: userMap{}, idx: NewIndex(DefaultIndexConfig(), f, cat)}
	w.r = New(DefaultConfig(), f, w.users, cat, w.idx)

	// Background shoppers give the items popularity and co-occurrence:
	// bab-01 and bab-02 are bought together, ele-00 and ele-01 too.
	rng := rand.New(rand.NewPCG(1, 2))
	for s := 0; s < 60; s++ {
		uid := fmt.Sprint("bg-", s)
		at := base.Add(-time.Duration(s) * time.Hour)
		region := []string{"CN-SH", "DE-BE"}[s%2]
		w.fold(t, uid, features.TypePurchase, "bab-01", at, "mobile", region)
		w.fold(t, uid, features.TypePurchase, "bab-02", at.Add(time.Minute), "mobile", region)
		w.fold(t, uid, features.TypeView, "ele-00", at.Add(2*time.Hour), "desktop", region)
		w.fold(t, uid, features.TypePurchase, "ele-01", at.Add(2*time.Hour+time.Minute), "desktop", region)
		for j := 0; j < 4; j++ {
			id := items[rng.IntN(len(items))].ID
			w.fold(t, uid, features.TypeView, id, at.Add(time.Duration(3+j)*time.Hour), "desktop", region)
		}
	}
	// Evening shoppers in CN-SH buy garden items gar-07 and gar-08.
	for s := 0; s < 40; s++ {
		at := base.Add(-time.Duration(s%4)*24*time.Hour - 4*time.Hour + time.Duration(s)*time.Minute) // 20:00 the days before
		w.fold(t, fmt.Sprint("eve-", s), features.TypePurchase, "gar-07", at, "mobile", "CN-SH")
		w.fold(t, fmt.Sprint("eve-", s), features.TypePurchase, "gar-08", at.Add(time.Minute), "mobile", "CN-SH")
	}
	return w
}

func (w *world) fold(t testing.TB, uid string, typ features.Type, item string, at time.Time, device, region string) {
	t.Helper()
	u := w.users[uid]
	if u == nil {
		u = &features.User{ID: uid}
		w.users[uid] = u
	}
	ev := features.Event{UserID: uid, Type: typ, ItemID: item, Time: at, Context: features.Context{Device: device, Region: region, TZ: "UTC"}}
	if err := ev.Validate(w.f.Zones()); err != nil {
		t.Fatal(err)
	}
	var d features.Deltas
	w.f.FoldUser(u, &ev, w.cat.Get(item), &d)
	w.idx.Apply(&d)
}

func (w *world) recommend(t testing.TB, req Request) Response {
	t.Helper()
	resp, err := w.r.Recommend(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func ids(r Response) []string {
	out := make([]string, len(r.Items))
	for i, it := range r.Items {
		out[i] = it.ItemID
	}
	return out
}

func TestContextChangesRanking(t *testing.T) {
	w := newWorld(t)
	// Two weeks of habits: Baby on mobile at breakfast, Electronics on the
	// desktop late at night; as much of each overall.
	for d := 0; d < 14; d++ {
		day := base.Add(-time.Duration(14-d) * 24 * time.Hour)
		for j := 0; j < 3; j++ {
			w.fold(t, "parent", features.TypeView, fmt.Sprintf("bab-%02d", 6+j), day.Add(8*time.Hour+time.Duration(j)*time.Minute), "mobile", "")
			w.fold(t, "parent", features.TypeView, fmt.Sprintf("ele-%02d", 6+j), day.Add(22*time.Hour+time.Duration(j)*time.Minute), "desktop", "")
		}
	}
	morning := w.recommend(t, Request{UserID: "parent", K: 6, Context: Context{Time: base.Add(8 * time.Hour), Device: "mobile"}})
	night := w.recommend(t, Request{UserID: "parent", K: 6, Context: Context{Time: base.Add(22 * time.Hour), Device: "desktop"}})
	if slices.Equal(ids(morning), ids(night)) {
		t.Fatalf("same ranking at 08:00 on mobile and 22:00 on desktop: %v", ids(morning))
	}
	if c := morning.Items[0].Category; c != "Baby" {
		t.Fatalf("08:00 mobile: first item is %s (%v), want Baby", c, ids(morning))
	}
	if c := night.Items[0].Category; c != "Electronics" {
		t.Fatalf("22:00 desktop: first item is %s (%v), want Electronics", c, ids(night))
	}
	if !hasReason(morning.Items[0], "context", "on mobile") {
		t.Fatalf("08:00 mobile: reasons of first item %+v lack the context", morning.Items[0].Reasons)
	}
}

func hasReason(it Item, code, text string) bool {
	for _, r := range it.Reasons {
		if r.Code == code && strings.Contains(r.Text, text) {
			return true
		}
	}
	return false
}

func TestColdStartGetsKItems(t *testing.T) {
	w := newWorld(t)
	resp := w.recommend(t, Request{UserID: "stranger", K: 10, Context: Context{Time: base, Region: "CN-SH"}})
	if resp.KnownUser || len(resp.Items) != 10 {
		t.Fatalf("cold start: known=%v, %d items", resp.KnownUser, len(resp.Items))
	}
	for _, it := range resp.Items {
		if len(it.Reasons) == 0 {
			t.Fatalf("item %s without reasons", it.ItemID)
		}
	}
	// An empty index still yields K items from the catalogue.
	f := features.NewExtractor(features.DefaultConfig())
	idx := NewIndex(DefaultIndexConfig(), f, w.cat)
	r := New(DefaultConfig(), f, userMap{}, w.cat, idx)
	resp, err := r.Recommend(context.Background(), Request{UserID: "x", K: 7})
	if err != nil || len(resp.Items) != 7 {
		t.Fatalf("empty index: %d items, err %v", len(resp.Items), err)
	}
}

func TestContextBucketTrend(t *testing.T) {
	w := newWorld(t)
	evening := w.recommend(t, Request{UserID: "stranger", K: 5, Context: Context{Time: base.Add(20 * time.Hour), Region: "CN-SH"}})
	if !slices.Contains(ids(evening)[:2], "gar-07") && !slices.Contains(ids(evening)[:2], "gar-08") {
		t.Fatalf("CN-SH evening: %v, want gar-07/gar-08 near the top", ids(evening))
	}
	var it Item
	for _, x := range evening.Items {
		if x.ItemID == "gar-07" {
			it = x
		}
	}
	if !hasReason(it, "context_trend", "trending in CN-SH this evening") {
		t.Fatalf("gar-07 reasons %+v", it.Reasons)
	}
}

func TestExclusionRules(t *testing.T) {
	w := newWorld(t)
	at := base.Add(-time.Hour)
	w.fold(t, "u", features.TypePurchase, "bab-01", at, "mobile", "")
	w.fold(t, "u", features.TypePurchase, "bab-00", at, "mobile", "") // repeatable
	w.fold(t, "u", features.TypeDismiss, "bab-02", at, "mobile", "")
	resp := w.recommend(t, Request{UserID: "u", K: 40, Exclude: []string{"ele-01"}, Context: Context{Time: base, ItemID: "bab-03"}})
	got := ids(resp)
	for _, banned := range []string{"bab-01", "bab-02", "bab-05", "ele-01", "bab-03"} {
		if slices.Contains(got, banned) {
			t.Errorf("%s recommended: %v", banned, got)
		}
	}
	if !slices.Contains(got, "bab-00") {
		t.Errorf("repeatable bab-00 should stay eligible after purchase: %v", got)
	}
}

// TestDiversity: with no cap (the default) a fan of one category gets
// its items; with MaxPerCategory 3, at most 3 of them and the list is
// still full.
func TestDiversity(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 12; i++ {
		w.fold(t, "fan", features.TypeAddToCart, fmt.Sprintf("ele-%02d", i), base.Add(-time.Duration(i)*time.Minute), "desktop", "")
	}
	count := func(resp Response) int {
		n := 0
		for _, it := range resp.Items {
			if it.Category == "Electronics" {
				n++
			}
		}
		return n
	}
	if n := count(w.recommend(t, Request{UserID: "fan", K: 8, Context: Context{Time: base}})); n <= 3 {
		t.Fatalf("%d Electronics items in top 8 with no cap, want more than 3", n)
	}
	cfg := DefaultConfig()
	cfg.MaxPerCategory = 3
	w.r = New(cfg, w.f, w.users, w.cat, w.idx)
	resp := w.recommend(t, Request{UserID: "fan", K: 8, Context: Context{Time: base}})
	if n := count(resp); n > 3 {
		t.Fatalf("%d Electronics items in top 8: %v", n, ids(resp))
	}
	if len(resp.Items) != 8 {
		t.Fatalf("%d items", len(resp.Items))
	}
}

func TestCooccurrenceReason(t *testing.T) {
	w := newWorld(t)
	w.fold(t, "buyer", features.TypePurchase, "ele-00", base.Add(-time.Hour), "desktop", "")
	resp := w.recommend(t, Request{UserID: "buyer", K: 5, Context: Context{Time: base}})
	if resp.Items[0].ItemID != "ele-01" || !hasReason(resp.Items[0], "co_occurrence", "bought with Electronics item 0 (ele-00)") {
		t.Fatalf("top item %+v, want ele-01 bought with ele-00", resp.Items[0])
	}
}

func TestBadRequest(t *testing.T) {
	w := newWorld(t)
	if _, err := w.r.Recommend(context.Background(), Request{}); err == nil {
		t.Fatal("empty user id accepted")
	}
	if _, err := w.r.Recommend(context.Background(), Request{UserID: "u", Context: Context{TZ: "Nowhere/Land"}}); err == nil {
		t.Fatal("unknown tz accepted")
	}
}

// TestGolden pins the full output of a few requests: any change to scoring
// shows up as a diff under testdata/. Run with -update to accept it.
func TestGolden(t *testing.T) {
	w := newWorld(t)
	w.fold(t, "g1", features.TypeView, "bab-01", base.Add(-3*time.Hour), "mobile", "CN-SH")
	w.fold(t, "g1", features.TypeAddToCart, "bab-01", base.Add(-2*time.Hour), "mobile", "CN-SH")
	w.fold(t, "g1", features.TypeView, "boo-03", base.Add(-time.Hour), "mobile", "CN-SH")
	cases := map[string]Request{
		"known_user_morning": {UserID: "g1", K: 5, Context: Context{Time: base.Add(9 * time.Hour), Device: "mobile"}},
		"known_user_on_pdp":  {UserID: "g1", K: 5, Context: Context{Time: base.Add(21 * time.Hour), ItemID: "ele-00", Page: "pdp"}},
		"cold_start_evening": {UserID: "new", K: 5, Context: Context{Time: base.Add(20 * time.Hour), Region: "CN-SH"}},
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(w.recommend(t, req), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if strings.TrimSpace(string(want)) != string(got) {
				t.Fatalf("output differs from %s (run with -update to accept):\n%s", path, got)
			}
		})
	}
}

// coldWorld is a catalogue of n items and nothing else.
func coldWorld(n int) (*Ranker, *state.Catalogue) {
	f := features.NewExtractor(features.DefaultConfig())
	cat := state.NewCatalogue()
	var items []features.Item
	for i := 0; i < n; i++ {
		items = append(items, features.Item{ID: fmt.Sprintf("it-%05d", i), Category: fmt.Sprint("c", i%20), Available: true})
	}
	cat.Apply(items, nil)
	return New(DefaultConfig(), f, userMap{}, cat, NewIndex(DefaultIndexConfig(), f, cat)), cat
}

func TestColdStartIsDeterministic(t *testing.T) {
	r, _ := coldWorld(3000)
	var first []string
	for i := 0; i < 20; i++ {
		resp, err := r.Recommend(context.Background(), Request{UserID: "new", K: 5, Context: Context{Time: base}})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = ids(resp)
		} else if !slices.Equal(first, ids(resp)) {
			t.Fatalf("same request, different answers: %v vs %v", first, ids(resp))
		}
	}
}

// Recommend reads the catalogue while the catalogue loader writes it; no
// lock may be taken twice by one reader (a queued writer would deadlock it).
func TestRecommendWhileCatalogueChanges(t *testing.T) {
	r, cat := coldWorld(20000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					if _, err := r.Recommend(context.Background(), Request{UserID: "new", K: 100}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				cat.Apply([]features.Item{{ID: "x", Available: true}}, nil)
			}
		}()
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Recommend and Catalogue.Apply are stuck")
	}
}

func TestBoostsAndAudience(t *testing.T) {
	w := newWorld(t)
	cfg := DefaultConfig()
	cfg.Boosts = []Boost{{When: "points_balance > 0", Category: "Garden", Factor: 10, Reason: "spend your points on the garden"}}
	r := New(cfg, w.f, w.users, w.cat, w.idx)
	aud := audience.New(audience.DefaultConfig(), w.f)
	if err := r.WithAudience(aud); err != nil {
		t.Fatal(err)
	}
	w.fold(t, "member", features.TypePurchase, "boo-01", base.Add(-time.Hour), "desktop", "") // earns points
	w.fold(t, "browser", features.TypeView, "boo-01", base.Add(-time.Hour), "desktop", "")    // no points
	var us []*features.User
	for _, u := range w.users {
		us = append(us, u)
	}
	aud.Update(us)

	garden := func(resp Response, boosted bool) int {
		n := 0
		for _, it := range resp.Items[:5] {
			if it.Category == "Garden" {
				n++
				if boosted && !hasReason(it, "boost", "spend your points") {
					t.Fatalf("boosted item without the boost's reason: %+v", it)
				}
			}
		}
		return n
	}
	rec := func(user string, rule string) Response {
		t.Helper()
		req := Request{UserID: user, K: 8, Context: Context{Time: base}}
		if rule != "" {
			rl, err := audience.ParseRule(rule)
			if err != nil {
				t.Fatal(err)
			}
			req.Audience = rl
		}
		resp, err := r.Recommend(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	plain, err := w.r.Recommend(context.Background(), Request{UserID: "member", K: 8, Context: Context{Time: base}})
	if err != nil {
		t.Fatal(err)
	}
	if n, before := garden(rec("member", ""), true), garden(plain, false); n <= before {
		t.Fatalf("%d Garden items in the member's top 5 with the boost, %d without", n, before)
	}
	for _, it := range rec("browser", "").Items {
		if hasReason(it, "boost", "") {
			t.Fatalf("browser without points got a boosted item: %+v", it)
		}
	}
	if resp := rec("browser", "points_balance > 0"); len(resp.Items) != 0 || resp.Audience == nil || resp.Audience.Matched {
		t.Fatalf("audience rule not met: %+v", resp)
	}
	if resp := rec("member", "points_balance > 0"); len(resp.Items) != 8 || !resp.Audience.Matched {
		t.Fatalf("audience rule met: %d items, %+v", len(resp.Items), resp.Audience)
	}
	bad := cfg
	bad.Boosts = []Boost{{When: "colour = red", Factor: 2}}
	if err := New(bad, w.f, w.users, w.cat, w.idx).WithAudience(aud); err == nil {
		t.Fatal("a boost with an unknown field was accepted")
	}
}
