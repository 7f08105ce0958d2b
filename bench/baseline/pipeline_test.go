package baseline

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/stickyhq/sticky/features"
)

// smallShop: seven Electronics items (e7 unavailable), four Books, two Baby
// items (n1 repeatable), three Toys.
func smallShop() []features.Item {
	var items []features.Item
	add := func(id, cat, brand string, available, repeatable bool) {
		items = append(items, features.Item{ID: id, Category: cat, Brand: brand, Available: available, Repeatable: repeatable})
	}
	for i := 1; i <= 7; i++ {
		add(fmt.Sprintf("e%d", i), "Electronics", "Acme", i != 7, false)
	}
	for i := 1; i <= 4; i++ {
		add(fmt.Sprintf("b%d", i), "Books", "Pen", true, false)
	}
	add("n1", "Baby", "Soft", true, true)
	add("n2", "Baby", "Soft", true, false)
	for i := 1; i <= 3; i++ {
		add(fmt.Sprintf("t%d", i), "Toys", "Fun", true, false)
	}
	return items
}

// script builds a stream of events one minute apart.
type script struct {
	at  time.Time
	evs []features.Event
}

func (s *script) add(user string, typ features.Type, item string) {
	s.at = s.at.Add(time.Minute)
	s.evs = append(s.evs, features.Event{UserID: user, Type: typ, ItemID: item, Time: s.at,
		Context: features.Context{Device: "mobile", Region: "CN-SH"}})
}

func TestPipeline(t *testing.T) {
	e := newEnv(t, 3)
	shop := smallShop()
	e.produceItems(t, shop)

	s := &script{at: time.Now().Add(-time.Hour).Truncate(time.Second)}
	for _, it := range shop { // bob makes every item known to popularity
		s.add("bob", features.TypeView, it.ID)
	}
	s.add("alice", features.TypeView, "e1")
	s.add("alice", features.TypeClick, "e1")
	s.add("alice", features.TypePurchase, "e1") // not repeatable: excluded
	s.add("alice", features.TypeView, "e2")
	s.add("alice", features.TypeDismiss, "e2") // excluded
	s.add("alice", features.TypeView, "e3")
	s.add("alice", features.TypeView, "e4")
	s.add("alice", features.TypePurchase, "n1") // repeatable: stays eligible
	s.add("alice", features.TypeView, "e5")
	s.add("alice", features.TypeSearch, "") // an event without item still counts in the profile
	e.produceEvents(t, s.evs)

	before := goleak.IgnoreCurrent()
	r := e.run(t, func(o *Options) { o.MaxPerCategory = 3 }) // the diversity rule is checked below
	e.waitConsumed(t, r.base, len(s.evs))

	t.Run("profile", func(t *testing.T) {
		var p Profile
		code, b := e.get(t, r.base+"/v1/users/alice/profile", &p)
		if code != http.StatusOK || p.Events != 10 || p.Device != "mobile" || p.Region != "CN-SH" ||
			p.LastTS != s.at.UTC().Format(time.RFC3339Nano) {
			t.Fatalf("profile of alice: %d %s", code, b)
		}
		// Electronics: 1+2+8 (e1) + 1-6 (e2) + 1+1+1 (e3, e4, e5) = 9; Baby: 8.
		want := []CategoryAff{{"Electronics", 9}, {"Baby", 8}}
		if !slices.Equal(p.TopCategories, want) {
			t.Errorf("top categories %v, want %v", p.TopCategories, want)
		}
		code, b = e.get(t, r.base+"/v1/users/nobody/profile", nil)
		if code != http.StatusNotFound || string(b) != `{"error":"user \"nobody\" has no events yet","field":"id"}`+"\n" {
			t.Errorf("profile of an unknown user: %d %s", code, b)
		}
	})

	t.Run("rules", func(t *testing.T) {
		category := map[string]string{}
		for _, it := range shop {
			category[it.ID] = it.Category
		}
		all := e.recommend(t, r.base, "alice", 20)
		var got []string
		for _, it := range all {
			got = append(got, it.ItemID)
		}
		slices.Sort(got)
		want := []string{"b1", "b2", "b3", "b4", "e3", "e4", "e5", "e6", "n1", "n2", "t1", "t2", "t3"}
		if !slices.Equal(got, want) {
			t.Errorf("eligible items for alice %v, want %v (no bought e1, dismissed e2, unavailable e7)", got, want)
		}
		top := e.recommend(t, r.base, "alice", 10)
		if len(top) != 10 || category[top[0].ItemID] != "Electronics" {
			t.Fatalf("alice's top 10 should start with Electronics: %v", top)
		}
		per := map[string]int{}
		for _, it := range top {
			per[category[it.ItemID]]++
		}
		if per["Electronics"] != 3 {
			t.Errorf("diversity: %d Electronics items in alice's top 10, want 3: %v", per["Electronics"], top)
		}
		for i := 1; i < len(top); i++ {
			if top[i].Score > top[i-1].Score {
				t.Errorf("not sorted by score: %v", top)
			}
		}
		if top[0].Reason != "often together with e5" {
			t.Errorf("reason of %s is %q", top[0].ItemID, top[0].Reason)
		}
	})

	t.Run("cold user", func(t *testing.T) {
		cold := e.recommend(t, r.base, "zed", 5)
		// e1 is the most popular (bob 1, alice 1+2+8).
		if len(cold) != 5 || cold[0].ItemID != "e1" || cold[0].Reason != "popular" {
			t.Errorf("cold user: %v", cold)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		f := func(query, field string) {
			t.Helper()
			var body apiError
			code, b := e.get(t, r.base+"/v1/recommendations"+query, &body)
			if code != http.StatusBadRequest || body.Field != field || body.Error == "" {
				t.Errorf("%s: %d %s, want 400 naming %q", query, code, b, field)
			}
		}
		f("", "user_id")
		f("?k=3", "user_id")
		f("?user_id=alice&k=0", "k")
		f("?user_id=alice&k=abc", "k")
		f("?user_id=alice&k=101", "k")
		f("?user_id=alice&k=1.5", "k")
		if code, _ := e.get(t, r.base+"/v1/nothing", nil); code != http.StatusNotFound {
			t.Errorf("unknown path: %d", code)
		}
	})

	t.Run("malformed records are skipped", func(t *testing.T) {
		e.produce(t,
			&kgo.Record{Topic: e.topic, Key: []byte("x"), Value: []byte("not json")},
			&kgo.Record{Topic: e.topic, Key: []byte("x"), Value: []byte(`{"user_id":"x","type":"view","item_id":"e1"}`)}, // no ts
		)
		more := &script{at: s.at}
		more.add("carol", features.TypeView, "t1")
		more.add("carol", features.TypeClick, "t1")
		e.produceEvents(t, more.evs)
		e.waitConsumed(t, r.base, len(s.evs)+2+len(more.evs))
		if got := e.metric(t, r.base, "sticky_baseline_events_invalid_total"); got != 2 {
			t.Errorf("invalid records: %v, want 2", got)
		}
		var p Profile
		if code, b := e.get(t, r.base+"/v1/users/carol/profile", &p); code != http.StatusOK || p.Events != 2 {
			t.Errorf("carol after the malformed records: %d %s", code, b)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		_, b := e.get(t, r.base+"/metrics", nil)
		for _, name := range []string{"sticky_baseline_batch_write_seconds_count", "go_goroutines", "process_cpu_seconds_total",
			`sticky_baseline_http_request_duration_seconds_count{code="400",route="/v1/recommendations"}`} {
			if !slices.ContainsFunc(splitLines(b), func(l string) bool { return len(l) > len(name) && l[:len(name)] == name }) {
				t.Errorf("%s not on /metrics", name)
			}
		}
	})

	t.Run("redis down", func(t *testing.T) {
		if err := e.redis.Close(); err != nil {
			t.Fatal(err)
		}
		var body apiError
		code, b := e.get(t, r.base+"/v1/recommendations?user_id=alice", &body)
		if code != http.StatusServiceUnavailable || body.Error == "" {
			t.Errorf("with redis down: %d %s, want a 503 with a JSON error", code, b)
		}
	})

	// Run returns nil after cancel and leaves no goroutine behind.
	r.stop(t)
	e.http.CloseIdleConnections()
	// The broker's side of connections (the test producer's, and closed
	// ones winding down) belongs to kfake.
	goleak.VerifyNone(t, before,
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).read"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).read.func1"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).write"))
}

func splitLines(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return out
}
