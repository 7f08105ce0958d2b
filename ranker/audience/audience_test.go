package audience

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
)

func TestHistCuts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	h := newHist()
	var all []int64
	for i := 0; i < 5000; i++ {
		k := int64(rng.IntN(300))
		h.add(k, 1)
		all = append(all, k)
	}
	for i := 0; i < 1000; i++ { // deletions
		h.add(all[i], -1)
	}
	all = all[1000:]
	slices.Sort(all)
	got := h.cuts(quintiles)
	for i, q := range quintiles {
		idx := int(q*float64(len(all))+0.999999) - 1
		if want := all[idx]; got[i] != want {
			t.Fatalf("cut %v: %d, want %d", q, got[i], want)
		}
	}
	if h.n != 4000 {
		t.Fatalf("n = %d", h.n)
	}
}

func TestSegmentGridUsesEveryName(t *testing.T) {
	seen := map[string]bool{}
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			for m := 1; m <= 5; m++ {
				seen[Segment(r, f, m)] = true
			}
		}
	}
	for _, s := range Segments() {
		if !seen[s] {
			t.Errorf("segment %s never assigned", s)
		}
	}
	if len(seen) != 11 {
		t.Fatalf("%d segments", len(seen))
	}
	if Segment(5, 5, 5) != Champions || Segment(1, 1, 1) != Lost || Segment(1, 5, 5) != CantLose || Segment(5, 1, 1) != NewCustomers {
		t.Fatal("corners of the grid")
	}
}

// shop folds a synthetic shop's history into users.
func shop(t testing.TB, users int, days int, end time.Time) (*features.Extractor, map[string]*features.User) {
	f := features.NewExtractor(features.DefaultConfig())
	w := synth.New(synth.Config{Seed: 4, Users: users, Items: 500})
	cat := map[string]*features.Item{}
	for i := range w.Items {
		cat[w.Items[i].ID] = &w.Items[i]
	}
	us := map[string]*features.User{}
	var d features.Deltas
	for _, ev := range w.History(days, end) {
		u := us[ev.UserID]
		if u == nil {
			u = &features.User{ID: ev.UserID}
			us[ev.UserID] = u
		}
		f.FoldUser(u, &ev, cat[ev.ItemID], &d)
		d.Reset()
	}
	return f, us
}

// TestCountsStayExact: counts kept incrementally equal a recount from
// scratch, and both equal what each user's own view says.
func TestCountsStayExact(t *testing.T) {
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f, us := shop(t, 200, 60, end)
	tb := New(DefaultConfig(), f)
	tb.now = func() time.Time { return end }
	all := make([]*features.User, 0, len(us))
	for _, u := range us {
		all = append(all, u)
	}
	tb.Update(all)
	tb.Recount(end)
	// More purchases for some users, applied incrementally.
	var d features.Deltas
	for i, u := range all[:60] {
		ev := features.Event{UserID: u.ID, Type: features.TypePurchase, ItemID: "sku-1", Price: float64(10 + i), Time: end.Add(-time.Hour)}
		f.FoldUser(u, &ev, nil, &d)
		tb.Update([]*features.User{u})
	}
	inc := tb.Counts()
	want := map[string]int64{}
	stages := map[string]int64{}
	for _, u := range all {
		v := tb.View(u, end, 0)
		if v.RFM != nil {
			want[v.RFM.Segment]++
		}
		stages[v.Lifecycle]++
	}
	for _, s := range Segments() {
		if inc.Segments[s] != want[s] {
			t.Errorf("incremental %s = %d, views say %d", s, inc.Segments[s], want[s])
		}
	}
	for st, n := range stages {
		if inc.Lifecycle[st] != n {
			t.Errorf("incremental lifecycle %s = %d, views say %d", st, inc.Lifecycle[st], n)
		}
	}
	tb.Recount(end)
	full := tb.Counts()
	if fmt.Sprint(full.Lifecycle) != fmt.Sprint(inc.Lifecycle) || full.Users != int64(len(us)) {
		t.Errorf("recount %v vs incremental %v", full.Lifecycle, inc.Lifecycle)
	}
	var customers int64
	for _, n := range full.Segments {
		customers += n
	}
	if customers != full.Customers || customers == 0 {
		t.Fatalf("segments sum to %d, customers %d", customers, full.Customers)
	}
	t.Logf("%d users, %d customers: %v; %v", full.Users, full.Customers, full.Segments, full.Lifecycle)
}

func TestRefitAndView(t *testing.T) {
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f, us := shop(t, 250, 60, end)
	var fitted []Fit
	cfg := DefaultConfig()
	cfg.OnFit = func(f Fit) { fitted = append(fitted, f) }
	tb := New(cfg, f)
	tb.now = func() time.Time { return end }
	for _, u := range us {
		tb.Update([]*features.User{u})
	}
	tb.Recount(end)
	fit, err := tb.Refit(end)
	if err != nil {
		t.Fatal(err)
	}
	if len(fitted) != 1 || !fit.HasGamma || fit.Repeat < 20 {
		t.Fatalf("fit %+v (persisted %d)", fit, len(fitted))
	}
	t.Logf("fit on %d customers (%d repeat): %+v %+v in %s", fit.Customers, fit.Repeat, fit.BGNBD, fit.Gamma, fit.Took)
	var buyer *features.User
	for _, u := range us {
		if u.Orders.Days > 3 {
			buyer = u
			break
		}
	}
	v := tb.View(buyer, end, 0)
	if v.RFM == nil || v.PAlive == nil || v.ExpectedPurchases90d == nil || v.CLV == nil || *v.PAlive <= 0 || *v.PAlive > 1 || *v.CLV <= 0 {
		t.Fatalf("view %+v", v)
	}
	// Later, with no new purchase, P(alive) falls.
	later := tb.View(buyer, end.Add(200*24*time.Hour), 0)
	if *later.PAlive >= *v.PAlive {
		t.Fatalf("P(alive) %v a while later, %v now", *later.PAlive, *v.PAlive)
	}
}

func TestRules(t *testing.T) {
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f, us := shop(t, 150, 45, end)
	var d features.Deltas
	for i := 0; i < 25; i++ { // visitors who never bought
		u := &features.User{ID: fmt.Sprint("visitor-", i)}
		ev := features.Event{UserID: u.ID, Type: features.TypeView, ItemID: "sku-3", Time: end.Add(-time.Hour)}
		f.FoldUser(u, &ev, nil, &d)
		us[u.ID] = u
	}
	tb := New(DefaultConfig(), f)
	tb.now = func() time.Time { return end }
	for _, u := range us {
		tb.Update([]*features.User{u})
	}
	tb.Recount(end)
	match := func(src string) int {
		t.Helper()
		r, err := ParseRule(src)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, u := range us {
			if r.Match(tb, u, end) {
				n++
			}
		}
		return n
	}
	all := len(us)
	buyers := match("frequency > 0")
	if buyers == 0 || buyers == all {
		t.Fatalf("%d buyers of %d", buyers, all)
	}
	if a, b := match("lifecycle = prospect"), match("lifecycle != prospect"); a+b != all || a != all-buyers {
		t.Fatalf("prospects %d + others %d != %d (buyers %d)", a, b, all, buyers)
	}
	if n := match("segment in (champions, loyal) or segment not in (champions, loyal)"); n != buyers {
		t.Fatalf("a segment rule matched %d users, want only the %d buyers", n, buyers)
	}
	if n := match(`tier in ("BRONZE", silver, gold, platinum)`); n != all {
		t.Fatalf("some tier matched %d of %d", n, all)
	}
	if n := match("tier = bronze"); n < 25 {
		t.Fatalf("tier bronze matched %d users, fewer than the visitors", n)
	}
	if n := match("points_expiring(365) > 0"); n == 0 || n > buyers {
		t.Fatalf("points expiring within a year: %d users (%d buyers)", n, buyers)
	}
	if n := match("p_alive < 2"); n != 0 {
		t.Fatalf("p_alive matched %d users before any fit", n)
	}
	if n := match("not segment in (champions)"); n != all-match("segment = champions") {
		t.Fatalf("not: %d", n)
	}
	if a, b := match("r >= 4"), match("r < 4"); a+b != buyers {
		t.Fatalf("r >= 4: %d, r < 4: %d, buyers %d", a, b, buyers)
	}
	for _, bad := range []string{"", "segment", "segment >", "segment > champions", "colour = red", "r = high",
		"points_expiring > 3", "points_expiring(x) > 3", "(r > 3", "r > 3 and", "r ! 3", `segment = "x`, "r not 3",
		"points_expiring(365) >= 0 and points_balance >= points_expiring"} {
		if _, err := ParseRule(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestScoresFollowAShiftingPopulation: when every customer keeps buying,
// the scores come from today's crowd, not the one of the first update,
// without anyone calling Recount.
func TestScoresFollowAShiftingPopulation(t *testing.T) {
	f := features.NewExtractor(features.DefaultConfig())
	tb := New(DefaultConfig(), f)
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tb.now = func() time.Time { return end }
	users := make([]*features.User, 500)
	for i := range users {
		users[i] = &features.User{ID: fmt.Sprint("u", i)}
	}
	var d features.Deltas
	for round := 0; round < 20; round++ {
		for i, u := range users {
			if (i+round)%3 == 0 {
				continue // not everyone buys every round
			}
			ev := features.Event{UserID: u.ID, Type: features.TypePurchase, ItemID: "x", Price: float64(1 + i%40),
				Time: end.Add(-time.Duration(40-round*2) * 24 * time.Hour)}
			f.FoldUser(u, &ev, nil, &d)
			tb.Update([]*features.User{u})
		}
	}
	c := tb.Counts()
	spread := 0
	for _, n := range c.Segments {
		if n > 0 {
			spread++
		}
	}
	if c.Segments[Champions] > c.Customers/2 || spread < 4 {
		t.Fatalf("segments %v of %d customers: scores from a stale crowd", c.Segments, c.Customers)
	}
}

func TestCountsWithoutCustomers(t *testing.T) {
	f := features.NewExtractor(features.DefaultConfig())
	tb := New(DefaultConfig(), f)
	tb.Update([]*features.User{{ID: "visitor", Events: 1, LastSeen: 1}})
	c := tb.Counts()
	if c.Customers != 0 || len(c.Recency) != 0 || len(c.Monetary) != 0 || c.Users != 1 {
		t.Fatalf("counts without customers: %+v", c)
	}
}
