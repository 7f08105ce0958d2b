package features

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) // a Monday

func ev(typ Type, item string, at time.Duration, mods ...func(*Event)) Event {
	e := Event{UserID: "u1", Type: typ, ItemID: item, Time: t0.Add(at)}
	for _, m := range mods {
		m(&e)
	}
	return e
}

func withCtx(device, region, tz string) func(*Event) {
	return func(e *Event) { e.Context = Context{Device: device, Region: region, TZ: tz} }
}

func withID(id string) func(*Event) { return func(e *Event) { e.ID = id } }

func withPrice(p, q float64) func(*Event) {
	return func(e *Event) { e.Price, e.Quantity = p, q }
}

var catalogue = map[string]*Item{
	"sku-1": {ID: "sku-1", Category: "Baby", Brand: "Acme", Price: 20, Available: true},
	"sku-2": {ID: "sku-2", Category: "Baby", Brand: "Bolt", Price: 25, Available: true},
	"sku-3": {ID: "sku-3", Category: "Books", Brand: "Acme", Price: 10, Available: true},
	"sku-4": {ID: "sku-4", Category: "Garden", Brand: "Cog", Price: 90, Available: true},
}

func fold(t *testing.T, f *Extractor, evs ...Event) (User, Deltas) {
	t.Helper()
	var u User
	var d Deltas
	for i := range evs {
		if err := evs[i].Validate(f.Zones()); err != nil {
			t.Fatalf("event %d invalid: %v", i, err)
		}
		f.FoldUser(&u, &evs[i], catalogue[evs[i].ItemID], &d)
	}
	return u, d
}

func TestFoldAffinities(t *testing.T) {
	f := NewExtractor(DefaultConfig())
	hl := f.HalfLives()
	u, _ := fold(t, f,
		ev(TypeView, "sku-1", 0),
		ev(TypePurchase, "sku-2", time.Minute),
		ev(TypeView, "sku-3", 2*time.Minute),
		ev(TypeDismiss, "sku-4", 3*time.Minute),
	)
	now := t0.Add(3 * time.Minute).UnixMilli()
	cats := u.Categories.Top(now, hl.Affinity, 0)
	// view 1 + purchase 8 on Baby, view 1 on Books, dismiss -6 on Garden.
	want := []string{"Baby", "Books", "Garden"}
	for i, kv := range cats {
		if kv.Key != want[i] {
			t.Fatalf("categories %v, want order %v", cats, want)
		}
	}
	if !near(cats[0].Value, 9, 1e-4) || !near(cats[2].Value, -6, 1e-6) {
		t.Fatalf("category values %v", cats)
	}
	if b, _ := u.Brands.Get("Acme"); !near(float64(b.V), 2, 1e-4) {
		t.Fatalf("Acme brand affinity %v, want ~2", b)
	}
	// A half-life later every affinity has halved, exactly.
	later := now + hl.Affinity
	for i, kv := range u.Categories.Top(later, hl.Affinity, 0) {
		if !near(kv.Value, cats[i].Value/2, 1e-9) {
			t.Fatalf("after one half-life %v = %v, want %v", kv.Key, kv.Value, cats[i].Value/2)
		}
	}
	if !HasMark(u.Dismissed, "sku-4") || !HasMark(u.Purchased, "sku-2") || HasMark(u.Purchased, "sku-1") {
		t.Fatalf("sets: purchased %v dismissed %v", u.Purchased, u.Dismissed)
	}
	if u.Events != 4 || u.FirstSeen != t0.UnixMilli() || u.LastSeen != now {
		t.Fatalf("counters: events %d first %d last %d", u.Events, u.FirstSeen, u.LastSeen)
	}
}

func TestFoldRecentRing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RecentMax = 3
	f := NewExtractor(cfg)
	u, _ := fold(t, f,
		ev(TypeView, "a", 0),
		ev(TypePurchase, "b", time.Second),
		ev(TypeView, "c", 2*time.Second),
		ev(TypeView, "b", 3*time.Second), // moves to the end, keeps "purchase"
		ev(TypeView, "d", 4*time.Second), // evicts the oldest, a
	)
	got := make([]string, 0, len(u.Recent))
	for _, r := range u.Recent {
		got = append(got, r.Item+":"+r.Type.String())
	}
	if want := "c:view b:purchase d:view"; strings.Join(got, " ") != want {
		t.Fatalf("recent %v, want %s", got, want)
	}
}

func TestFoldDuplicateEventID(t *testing.T) {
	f := NewExtractor(DefaultConfig())
	e := ev(TypePurchase, "sku-1", 0, withID("e-1"), withPrice(10, 2))
	var u User
	var d Deltas
	if !f.FoldUser(&u, &e, catalogue["sku-1"], &d) {
		t.Fatal("first delivery was not applied")
	}
	before := u
	before.Recent = append([]Recent(nil), u.Recent...)
	before.Purchased = append([]Mark(nil), u.Purchased...)
	if f.FoldUser(&u, &e, catalogue["sku-1"], &d) {
		t.Fatal("second delivery of e-1 was applied")
	}
	if !reflect.DeepEqual(before, u) || len(d.Pops) != 1 {
		t.Fatalf("duplicate changed state: %+v vs %+v, pops %d", before, u, len(d.Pops))
	}
	// Ids fall out of the window after SeenIDs newer ones.
	for i := 0; i < SeenIDs; i++ {
		e2 := ev(TypeView, "sku-3", time.Duration(i+1)*time.Second, withID("x"+strings.Repeat("y", i)))
		f.FoldUser(&u, &e2, catalogue["sku-3"], &d)
	}
	if !f.FoldUser(&u, &e, catalogue["sku-1"], &d) {
		t.Fatal("an id older than the window should be applied again")
	}
}

func TestFoldPurchaseStatsAndPriceBand(t *testing.T) {
	f := NewExtractor(DefaultConfig())
	u, _ := fold(t, f,
		ev(TypePurchase, "sku-1", 0, withPrice(10, 2)), // 20
		ev(TypePurchase, "sku-3", time.Hour),           // catalogue price 10, qty 1
		ev(TypePurchase, "sku-4", 2*time.Hour, withPrice(40, 1)),
	)
	o := u.Orders
	if o.Count != 3 || o.Units != 4 || o.Monetary != 70 || o.First != t0.UnixMilli() || o.Last != t0.Add(2*time.Hour).UnixMilli() {
		t.Fatalf("orders %+v", o)
	}
	typical, lo, hi, ok := u.Price.Band()
	if !ok || !(lo < typical && typical < hi) || typical < 12 || typical > 20 {
		t.Fatalf("price band %v [%v, %v] ok=%v", typical, lo, hi, ok)
	}
	if fit10, fit500 := u.Price.Fit(15), u.Price.Fit(500); !(fit10 > 0.5 && fit500 < 0.1) {
		t.Fatalf("price fit: 15 -> %v, 500 -> %v", fit10, fit500)
	}
}

func TestFoldCooccurrence(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CoocMaxPairs = 2
	f := NewExtractor(cfg)
	_, d := fold(t, f,
		ev(TypeView, "a", 0),
		ev(TypeView, "b", time.Minute),
		ev(TypeView, "c", 2*time.Minute),
		ev(TypePurchase, "d", 3*time.Minute), // pairs with c and b (max 2), weight min(8, 1)
		ev(TypeView, "e", 48*time.Hour),      // outside the 24h window: no pairs
		ev(TypeDismiss, "f", 48*time.Hour),   // dismiss: no popularity, no pairs
	)
	var got []string
	for _, p := range d.Pairs {
		got = append(got, p.A+"-"+p.B)
	}
	want := []string{"a-b", "b-c", "a-c", "c-d", "b-d"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pairs %v, want %v", got, want)
	}
	if d.Pairs[3].W != 1 {
		t.Fatalf("purchase after view pairs with weight min(8,1)=1, got %v", d.Pairs[3].W)
	}
	if len(d.Pops) != 5 {
		t.Fatalf("pops %d, want 5 (no pop for dismiss)", len(d.Pops))
	}
}

func TestFoldHabitsInLocalTime(t *testing.T) {
	f := NewExtractor(DefaultConfig())
	// 08:00 UTC is 16:00 in Shanghai: afternoon; 23:30 UTC Monday is Tuesday 07:30 there.
	u, d := fold(t, f,
		ev(TypeView, "sku-1", 0, withCtx("Mobile", "CN-SH", "Asia/Shanghai")),
		ev(TypeView, "sku-3", 15*time.Hour+30*time.Minute), // zone carried over from the user
		ev(TypeImpression, "", time.Hour, func(e *Event) { e.Items = []string{"sku-4"} }),
	)
	if u.TZ != "Asia/Shanghai" || u.Region != "CN-SH" {
		t.Fatalf("tz %q region %q", u.TZ, u.Region)
	}
	if u.Hours.Bins[1*24+16] < 0.9 || u.Hours.Bins[2*24+7] != 1 {
		t.Fatalf("hour-of-week bins Mon 16h=%v Tue 07h=%v", u.Hours.Bins[1*24+16], u.Hours.Bins[2*24+7])
	}
	var sum float32
	for _, v := range u.Hours.Bins {
		sum += v
	}
	if sum > 2.0001 {
		t.Fatalf("impression counted as activity: histogram sum %v", sum)
	}
	if _, ok := u.CtxCategories.Get(CtxDaypartKey(Afternoon, "Baby")); !ok {
		t.Fatalf("no afternoon Baby affinity: %v", u.CtxCategories)
	}
	if _, ok := u.CtxCategories.Get(CtxDeviceKey("mobile", "Baby")); !ok {
		t.Fatalf("no mobile Baby affinity: %v", u.CtxCategories)
	}
	if d.Pops[0].Region != "CN-SH" || d.Pops[0].Daypart != Afternoon || d.Pops[1].Daypart != Morning {
		t.Fatalf("pops %+v", d.Pops)
	}
}

func TestFoldPush(t *testing.T) {
	f := NewExtractor(DefaultConfig())
	u, _ := fold(t, f,
		ev(TypePushSent, "", 0, func(e *Event) { e.CampaignID = "c1" }),
		ev(TypePushOpen, "", time.Minute, func(e *Event) { e.CampaignID = "c1" }),
		ev(TypePushOptOut, "", 2*time.Minute),
	)
	p := u.Push
	if !p.OptedOut || p.Sent != 1 || p.Opens != 1 || p.LastOpen != t0.Add(time.Minute).UnixMilli() {
		t.Fatalf("push %+v", p)
	}
}

func TestItemStatsMergeEqualsSingleFold(t *testing.T) {
	f := NewExtractor(DefaultConfig())
	var all, p0, p1 ItemStats
	for i := 0; i < 40; i++ {
		p := Pop{Item: "x", Type: TypeView, At: t0.Add(time.Duration(i) * 37 * time.Minute).UnixMilli(), W: float32(1 + i%3),
			Region: []string{"CN-SH", "DE-BE", ""}[i%3], Daypart: Daypart(i % 4)}
		all.ApplyPop(p, f)
		all.ApplyPair("n"+string(rune('a'+i%5)), 1, p.At, f)
		part := &p0
		if i%2 == 1 {
			part = &p1
		}
		part.ApplyPop(p, f)
		part.ApplyPair("n"+string(rune('a'+i%5)), 1, p.At, f)
	}
	p0.Merge(&p1, f)
	now := t0.Add(48 * time.Hour).UnixMilli()
	if !near(p0.Popularity(now, f), all.Popularity(now, f), 1e-5) || !near(p0.Trend(now, f), all.Trend(now, f), 1e-5) {
		t.Fatalf("merged pop %v trend %v, single %v %v", p0.Popularity(now, f), p0.Trend(now, f), all.Popularity(now, f), all.Trend(now, f))
	}
	for _, b := range []string{"CN-SH|morning", "*|evening", "DE-BE|afternoon"} {
		if !near(p0.BucketPopularity(b, now, f), all.BucketPopularity(b, now, f), 1e-5) {
			t.Fatalf("bucket %s: merged %v single %v", b, p0.BucketPopularity(b, now, f), all.BucketPopularity(b, now, f))
		}
	}
	mn, an := p0.NeighbourWeights(now, 0, f), all.NeighbourWeights(now, 0, f)
	if len(mn) != len(an) || mn[0].Key != an[0].Key || !near(mn[0].Value, an[0].Value, 1e-5) {
		t.Fatalf("neighbours merged %v single %v", mn, an)
	}
	if p0.Actions != 40 {
		t.Fatalf("actions %d", p0.Actions)
	}
}

func TestTrend(t *testing.T) {
	f := NewExtractor(DefaultConfig())
	var steady, burst ItemStats
	start := t0.Add(-14 * 24 * time.Hour)
	for h := 0; h < 14*24; h++ { // one interaction an hour for two weeks
		steady.ApplyPop(Pop{At: start.Add(time.Duration(h) * time.Hour).UnixMilli(), W: 1}, f)
	}
	for i := 0; i < 30; i++ { // thirty in the last hour
		burst.ApplyPop(Pop{At: t0.Add(-time.Duration(i) * time.Minute).UnixMilli(), W: 1}, f)
	}
	now := t0.UnixMilli()
	if s := steady.Trend(now, f); s < 0.7 || s > 1.5 {
		t.Fatalf("steady trend %v, want about 1", s)
	}
	if b := burst.Trend(now, f); b < 5 {
		t.Fatalf("burst trend %v, want well above 1", b)
	}
}

func TestValidate(t *testing.T) {
	zones := NewZones()
	f := func(mod func(*Event), field string) {
		t.Helper()
		e := Event{UserID: "u", Type: TypeView, ItemID: "i", Time: t0}
		mod(&e)
		err := e.Validate(zones)
		if field == "" {
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != field {
			t.Fatalf("got %v, want error on %s", err, field)
		}
	}
	f(func(*Event) {}, "")
	f(func(e *Event) { e.UserID = "" }, "user_id")
	f(func(e *Event) { e.UserID = strings.Repeat("x", MaxIDLen+1) }, "user_id")
	f(func(e *Event) { e.Type = TypeUnknown }, "type")
	f(func(e *Event) { e.Time = time.Time{} }, "ts")
	f(func(e *Event) { e.ItemID = "" }, "item_id")
	f(func(e *Event) { e.Type, e.ItemID = TypeSearch, "" }, "")
	f(func(e *Event) { e.Type = TypeImpression }, "items")
	f(func(e *Event) { e.Type, e.Items = TypeImpression, []string{""} }, "items")
	f(func(e *Event) { e.Type = TypePushOpen }, "campaign_id")
	f(func(e *Event) { e.Price = -1 }, "price")
	f(func(e *Event) { e.Quantity = 2e6 }, "quantity")
	f(func(e *Event) { e.Context.TZ = "Mars/Olympus" }, "context.tz")
	f(func(e *Event) { e.Context.TZ = "Europe/Berlin" }, "")
	f(func(e *Event) { e.Context.TZ = "Local" }, "context.tz")
	f(func(e *Event) { e.Context.TZ = strings.Repeat("Europe/", 20) }, "context.tz")
	f(func(e *Event) { e.Context.Device = strings.Repeat("d", 65) }, "context.device")
}

func TestParseType(t *testing.T) {
	for _, typ := range Types() {
		if got := ParseType(typ.String()); got != typ {
			t.Fatalf("ParseType(%q) = %v", typ.String(), got)
		}
	}
	if ParseType("buy") != TypeUnknown || ParseType("unknown") != TypeUnknown {
		t.Fatal("unknown names must parse to TypeUnknown")
	}
}

func TestZonesDoNotCacheFailures(t *testing.T) {
	z := NewZones()
	for i := 0; i < 100; i++ {
		if _, err := z.Load(fmt.Sprintf("Nowhere/%d", i)); err == nil {
			t.Fatal("a made-up zone resolved")
		}
	}
	if loc, err := z.Load("Asia/Tokyo"); err != nil || loc.String() != "Asia/Tokyo" {
		t.Fatalf("Asia/Tokyo: %v %v", loc, err)
	}
	if len(z.m) != 1 {
		t.Fatalf("cache holds %d entries, want only the valid zone", len(z.m))
	}
}

func TestConfigRejectsBadWeights(t *testing.T) {
	for _, w := range []float64{math.NaN(), math.Inf(1), 1e9} {
		c := DefaultConfig()
		c.Weights[TypeView] = w
		if err := c.Validate(); err == nil {
			t.Errorf("weight %v accepted", w)
		}
	}
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
}

// TestCoocNeverDecays: the default co-occurrence half-life is none, any
// negative one means none, and a positive one below a millisecond is
// still rejected; a pair's weight is then the same years later.
func TestCoocNeverDecays(t *testing.T) {
	for _, hl := range []time.Duration{NoDecay, -time.Hour} {
		c := DefaultConfig()
		c.CoocHalfLife = hl
		if err := c.Validate(); err != nil {
			t.Fatalf("CoocHalfLife %v rejected: %v", hl, err)
		}
		if got := NewExtractor(c).HalfLives().Cooc; got != 0 {
			t.Fatalf("CoocHalfLife %v: %d ms, want 0 (no decay)", hl, got)
		}
	}
	if DefaultConfig().CoocHalfLife != NoDecay {
		t.Fatalf("default CoocHalfLife %v, want NoDecay", DefaultConfig().CoocHalfLife)
	}
	c := DefaultConfig()
	c.CoocHalfLife = time.Microsecond
	if err := c.Validate(); err == nil {
		t.Fatal("CoocHalfLife 1µs accepted")
	}
	f := NewExtractor(DefaultConfig())
	var s ItemStats
	s.ApplyPair("b", 4, 0, f)
	if got, _ := s.Neighbours.Get("b"); got.Value(10*365*24*3600*1000, f.HalfLives().Cooc) != 4 {
		t.Fatalf("pair weight ten years later: %v, want 4", got)
	}
}

// TestCopyIntoSharesNoSlice: CopyInto copies every slice of a User (found
// by reflection, so that a slice field added later without a copy fails
// here), into the destination's own arrays when they are big enough.
func TestCopyIntoSharesNoSlice(t *testing.T) {
	sc := Scores{{Key: "k", Decayed: Decayed{V: 1, At: 2}}}
	u := &User{ID: "u", Categories: sc, Brands: slices.Clone(sc), CtxCategories: slices.Clone(sc), Devices: slices.Clone(sc),
		Recent: []Recent{{Item: "i", Type: TypeView, At: 3}}, Purchased: []Mark{{Item: "i", At: 3, N: 1}}, Dismissed: []Mark{{Item: "j", At: 4, N: 1}},
		Points: []PointsBucket{{Month: 1, Source: TypePurchase, Points: 5}}, Push: Push{Recent: []PushSend{{At: 5, Campaign: 7}}}}
	reused := &User{Recent: make([]Recent, 0, 8)}
	keep := &reused.Recent[:1][0]
	for _, dst := range []*User{{}, reused} {
		u.CopyInto(dst)
		if !reflect.DeepEqual(dst, u) {
			t.Fatalf("copy %+v\nwant %+v", dst, u)
		}
		var walk func(path string, a, b reflect.Value)
		walk = func(path string, a, b reflect.Value) {
			switch a.Kind() {
			case reflect.Struct:
				for i := range a.NumField() {
					walk(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
				}
			case reflect.Slice:
				if a.Len() == 0 {
					t.Fatalf("%s is empty in the fixture: give it an element", path)
				}
				if a.Pointer() == b.Pointer() {
					t.Fatalf("%s shares its array with the original", path)
				}
			}
		}
		walk("User", reflect.ValueOf(dst).Elem(), reflect.ValueOf(u).Elem())
	}
	if &reused.Recent[0] != keep {
		t.Fatal("CopyInto did not reuse the destination's array")
	}
}
