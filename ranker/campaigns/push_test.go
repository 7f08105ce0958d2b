package campaigns

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
	"github.com/stickyhq/sticky/state"
)

var t0 = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC) // a Monday

type world struct {
	f     *features.Extractor
	aud   *audience.Table
	cat   *state.Catalogue
	store *state.Store
	users map[string]*features.User
}

func newWorld(t *testing.T) *world {
	t.Helper()
	st, err := state.Open(state.Config{Dir: t.TempDir(), CacheBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat := state.NewCatalogue()
	cat.Apply([]features.Item{
		{ID: "stroller", Category: "Baby", Brand: "Acme", Price: 300, Available: true},
		{ID: "nappies", Category: "Baby", Brand: "Acme", Price: 20, Available: true, Repeatable: true},
		{ID: "drill", Category: "Tools", Brand: "Bolt", Price: 90, Available: true},
		{ID: "gone", Category: "Tools", Available: false},
	}, nil)
	f := features.NewExtractor(features.DefaultConfig())
	return &world{f: f, aud: audience.New(audience.DefaultConfig(), f), cat: cat, store: st, users: map[string]*features.User{}}
}

// act folds an event for user u, who lives in zone tz.
func (w *world) act(t *testing.T, u, tz string, typ features.Type, item string, at time.Time, mod ...func(*features.Event)) {
	t.Helper()
	usr := w.users[u]
	if usr == nil {
		usr = &features.User{ID: u}
		w.users[u] = usr
	}
	ev := features.Event{UserID: u, Type: typ, ItemID: item, Time: at, Context: features.Context{TZ: tz, Device: "mobile"}}
	for _, m := range mod {
		m(&ev)
	}
	if err := ev.Validate(w.f.Zones()); err != nil {
		t.Fatal(err)
	}
	var d features.Deltas
	w.f.FoldUser(usr, &ev, w.cat.Get(item), &d)
	w.aud.Update([]*features.User{usr})
}

func (w *world) service(now *time.Time) *Service {
	s := New(Config{Lease: time.Minute}, w.aud, w.cat, w.store.Push())
	s.now = func() time.Time { return *now }
	return s
}

// fans: users who browse Baby (some more than others) or Tools, at a
// local hour of their own.
func (w *world) fans(t *testing.T) {
	for i := 0; i < 10; i++ {
		u := fmt.Sprint("baby-", i)
		for k := 0; k <= i; k++ {
			w.act(t, u, "Asia/Shanghai", features.TypeView, "stroller", t0.Add(-time.Duration(k+1)*24*time.Hour+6*time.Hour)) // 20:00 in Shanghai
		}
		w.act(t, u, "Asia/Shanghai", features.TypeView, "drill", t0.Add(-30*24*time.Hour))
	}
	for i := 0; i < 5; i++ {
		w.act(t, fmt.Sprint("tools-", i), "America/New_York", features.TypeView, "drill", t0.Add(-time.Duration(i+1)*time.Hour))
	}
}

func TestCampaignValidation(t *testing.T) {
	w := newWorld(t)
	now := t0
	s := w.service(&now)
	f := func(c Campaign, field string) {
		t.Helper()
		_, err := s.Create(c)
		var fe *features.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Fatalf("%+v: got %v, want an error on %s", c, err, field)
		}
	}
	ok := Campaign{ID: "c1", Target: Target{Category: "Baby"}}
	f(Campaign{ID: "bad id!", Target: ok.Target}, "id")
	f(Campaign{ID: "c"}, "target")
	f(Campaign{ID: "c", Target: Target{Category: "Baby", Brand: "Acme"}}, "target")
	f(Campaign{ID: "c", Target: Target{Rule: "colour = red"}}, "target.rule")
	f(Campaign{ID: "c", Target: ok.Target, Audience: "r >"}, "audience")
	f(Campaign{ID: "c", Target: ok.Target, MaxTargets: -1}, "max_targets")
	f(Campaign{ID: "c", Target: ok.Target, MinScore: 2}, "min_score")
	f(Campaign{ID: "c", Target: ok.Target, StartsAt: t0, EndsAt: t0.Add(-time.Hour)}, "ends_at")
	f(Campaign{ID: "c", Target: ok.Target, Caps: Caps{PerDay: -1}}, "caps")
	f(Campaign{ID: "c", Target: ok.Target, QuietHours: &Window{Start: "25:00", End: "08:00"}}, "quiet_hours.start")
	f(Campaign{ID: "c", Target: ok.Target, SendWindow: &Window{Start: "09:00", End: "9pm"}}, "send_window.end")
	f(Campaign{ID: "c", Target: ok.Target, SendWindow: &Window{Start: "23:00", End: "07:00"}}, "send_window")
	f(Campaign{ID: "c", Target: Target{ItemID: "unknown"}}, "target.item_id")
	f(Campaign{ID: "c", Target: Target{ItemID: "gone"}}, "target.item_id")
	if _, err := s.Create(ok); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ok); !errors.Is(err, ErrExists) {
		t.Fatalf("second campaign c1: %v", err)
	}
}

func TestSelectionAndSendTimes(t *testing.T) {
	w := newWorld(t)
	w.fans(t)
	w.act(t, "baby-9", "Asia/Shanghai", features.TypePushOptOut, "", t0.Add(-time.Hour))
	now := t0
	s := w.service(&now)
	sum, err := s.Create(Campaign{ID: "baby", Target: Target{Category: "Baby"}, MaxTargets: 5,
		QuietHours: &Window{Start: "22:00", End: "08:00"}, SendWindow: &Window{Start: "09:00", End: "21:30"}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Targets != 5 {
		t.Fatalf("%d targets, want 5", sum.Targets)
	}
	l, err := s.Pull("baby", 10, t0.Add(48*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, h := range l.Targets {
		users = append(users, h.UserID)
		loc, _ := time.LoadLocation(h.TZ)
		local := h.SendAt.In(loc)
		// Active at 20:00 in Shanghai, inside the window: sent at 20:00 local.
		if h.TZ != "Asia/Shanghai" || local.Hour() != 20 || local.Minute() != 0 || h.SendAt.Before(t0) {
			t.Fatalf("%s: send at %v (%s), want 20:00 Shanghai time after %v", h.UserID, local, h.TZ, t0)
		}
	}
	slices.Sort(users)
	// The biggest Baby fans, not the opted-out one, not the Tools fans.
	if want := []string{"baby-4", "baby-5", "baby-6", "baby-7", "baby-8"}; !slices.Equal(users, want) {
		t.Fatalf("targets %v, want %v", users, want)
	}
}

func TestItemTargetExclusions(t *testing.T) {
	w := newWorld(t)
	w.fans(t)
	w.act(t, "baby-3", "Asia/Shanghai", features.TypePurchase, "stroller", t0.Add(-time.Hour))
	w.act(t, "baby-4", "Asia/Shanghai", features.TypeDismiss, "stroller", t0.Add(-time.Hour))
	w.act(t, "baby-5", "Asia/Shanghai", features.TypePurchase, "nappies", t0.Add(-time.Hour)) // repeatable
	now := t0
	s := w.service(&now)
	for _, c := range []Campaign{
		{ID: "stroller", Target: Target{ItemID: "stroller"}, Caps: Caps{PerDay: 100}, QuietHours: &Window{Start: "00:00", End: "00:00"}, SendWindow: &Window{Start: "00:00", End: "00:00"}},
		{ID: "nappies", Target: Target{ItemID: "nappies"}, Caps: Caps{PerDay: 100}, QuietHours: &Window{Start: "00:00", End: "00:00"}, SendWindow: &Window{Start: "00:00", End: "00:00"}},
	} {
		if _, err := s.Create(c); err != nil {
			t.Fatal(err)
		}
	}
	got := func(id string) map[string]bool {
		l, err := s.Pull(id, 100, t0.Add(72*time.Hour), 0)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, h := range l.Targets {
			m[h.UserID] = true
		}
		return m
	}
	st := got("stroller")
	if st["baby-3"] || st["baby-4"] || !st["baby-5"] {
		t.Fatalf("stroller targets %v: baby-3 bought it, baby-4 dismissed it", st)
	}
	if n := got("nappies"); !n["baby-5"] {
		t.Fatalf("nappies targets %v: bought before, but repeatable", n)
	}
}

func TestCapsAcrossCampaigns(t *testing.T) {
	w := newWorld(t)
	w.fans(t)
	// baby-8 got a push an hour ago (from the push service's events).
	w.act(t, "baby-8", "Asia/Shanghai", features.TypePushSent, "", t0.Add(-time.Hour), func(e *features.Event) { e.CampaignID = "earlier" })
	now := t0
	s := w.service(&now)
	anytime := &Window{Start: "00:00", End: "00:00"}
	if _, err := s.Create(Campaign{ID: "a", Target: Target{Category: "Baby"}, Caps: Caps{PerDay: 1}, QuietHours: anytime, SendWindow: anytime}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(Campaign{ID: "b", Target: Target{Category: "Baby"}, Caps: Caps{PerDay: 1}, QuietHours: anytime, SendWindow: anytime}); err != nil {
		t.Fatal(err)
	}
	sum, _ := s.Get("a")
	if sum.Targets != 9-1 { // ten fans, none opted out here, baby-8 capped
		t.Logf("campaign a selected %d", sum.Targets)
	}
	la, _ := s.Pull("a", 100, t0.Add(time.Hour), 0)
	for _, h := range la.Targets {
		if h.UserID == "baby-8" {
			t.Fatal("baby-8 handed out within 24h of a push")
		}
	}
	var acks []Ack
	for _, h := range la.Targets {
		acks = append(acks, Ack{UserID: h.UserID, Status: "sent"})
	}
	if res, err := s.Acknowledge("a", la.ID, acks); err != nil || res.Sent != len(acks) {
		t.Fatalf("acks: %+v %v", res, err)
	}
	// Campaign b: everyone acknowledged in a is now at the daily cap.
	if lb, _ := s.Pull("b", 100, t0.Add(time.Hour), 0); len(lb.Targets) != 0 {
		t.Fatalf("campaign b handed out %d users within the daily cap", len(lb.Targets))
	}
	// A day later they are free again.
	now = t0.Add(25 * time.Hour)
	if lb, _ := s.Pull("b", 100, now, 0); len(lb.Targets) == 0 {
		t.Fatal("nobody handed out a day later")
	}
}

// TestQuietHoursAcrossTimeZonesAndDST: send times are local, honour quiet
// hours in each user's zone, and stay valid across daylight-saving changes.
func TestQuietHoursAcrossTimeZonesAndDST(t *testing.T) {
	w := newWorld(t)
	// Three users active at 02:30 local time, in three zones.
	for _, z := range []struct{ user, tz string }{{"ny", "America/New_York"}, {"berlin", "Europe/Berlin"}, {"tokyo", "Asia/Tokyo"}} {
		loc, _ := time.LoadLocation(z.tz)
		for d := 1; d <= 5; d++ {
			at := time.Date(2026, 2, 20+d, 2, 30, 0, 0, loc)
			w.act(t, z.user, z.tz, features.TypeView, "drill", at)
		}
	}
	// The campaign starts on 2026-03-08 00:00 UTC (the US springs forward
	// at 02:00 that night: 02:30 does not exist in New York).
	start := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)
	now := start
	s := w.service(&now)
	_, err := s.Create(Campaign{ID: "tools", Target: Target{Category: "Tools"}, StartsAt: start, EndsAt: start.Add(72 * time.Hour),
		QuietHours: &Window{Start: "03:00", End: "07:00"}, SendWindow: &Window{Start: "00:00", End: "00:00"}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Pull("tools", 10, start.Add(72*time.Hour), 0)
	if err != nil || len(l.Targets) != 3 {
		t.Fatalf("%d targets, err %v", len(l.Targets), err)
	}
	for _, h := range l.Targets {
		loc, _ := time.LoadLocation(h.TZ)
		local := h.SendAt.In(loc)
		m := local.Hour()*60 + local.Minute()
		if m >= 3*60 && m < 7*60 {
			t.Errorf("%s: send at %v local, inside quiet hours 03:00-07:00", h.UserID, local)
		}
		if h.SendAt.Before(start) {
			t.Errorf("%s: send at %v, before the campaign", h.UserID, h.SendAt)
		}
		t.Logf("%s: %v local (%v UTC)", h.UserID, local.Format("Mon 2006-01-02 15:04 MST"), h.SendAt)
		switch h.UserID {
		case "ny":
			// 2026-03-08 02:00-03:00 does not exist in New York; 02:00 is the
			// preferred hour, so the push goes out at the next valid
			// allowed time, which is 02:00 the day after (quiet from 03:00).
			if local.Hour() != 2 || local.Day() != 9 {
				t.Errorf("ny: %v, want 02:00 on Monday the 9th (the 8th has no 02:00)", local)
			}
		default:
			if local.Hour() != 2 {
				t.Errorf("%s: %v, want 02:00 local", h.UserID, local)
			}
		}
	}
	// Pulling during a user's quiet hours hands them out only for a later,
	// allowed send time.
	now2 := time.Date(2026, 3, 10, 19, 0, 0, 0, time.UTC) // 04:00 in Tokyo, 20:00 in Berlin, 15:00 in New York
	s2 := w.service(&now2)
	if _, err := s2.Create(Campaign{ID: "late", Target: Target{Category: "Tools"}, QuietHours: &Window{Start: "03:00", End: "07:00"},
		SendWindow: &Window{Start: "00:00", End: "00:00"}, StartsAt: now2.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	l2, _ := s2.Pull("late", 10, now2.Add(48*time.Hour), 0)
	for _, h := range l2.Targets {
		loc, _ := time.LoadLocation(h.TZ)
		local := h.SendAt.In(loc)
		if m := local.Hour()*60 + local.Minute(); m >= 3*60 && m < 7*60 || h.SendAt.Before(now2) {
			t.Fatalf("%s to be sent at %v local, now is %v: inside quiet hours or in the past", h.UserID, local, now2)
		}
	}
}

func TestConcurrentPullersNeverShareAUser(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 300; i++ {
		w.act(t, fmt.Sprint("u", i), "UTC", features.TypeView, "drill", t0.Add(-time.Duration(i)*time.Minute))
	}
	now := t0
	s := w.service(&now)
	anytime := &Window{Start: "00:00", End: "00:00"}
	if _, err := s.Create(Campaign{ID: "c", Target: Target{Category: "Tools"}, QuietHours: anytime, SendWindow: anytime}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				l, err := s.Pull("c", 7, t0.Add(48*time.Hour), 0)
				if err != nil {
					t.Error(err)
					return
				}
				if len(l.Targets) == 0 {
					return
				}
				mu.Lock()
				for _, h := range l.Targets {
					seen[h.UserID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 300 {
		t.Fatalf("%d users handed out, want 300", len(seen))
	}
	for u, n := range seen {
		if n != 1 {
			t.Fatalf("%s handed out %d times", u, n)
		}
	}
}

func TestLeasesExpireAndRestartKeepsAcks(t *testing.T) {
	w := newWorld(t)
	w.fans(t)
	now := t0
	s := w.service(&now)
	anytime := &Window{Start: "00:00", End: "00:00"}
	if _, err := s.Create(Campaign{ID: "c", Target: Target{Category: "Baby"}, Caps: Caps{PerWeek: 5}, QuietHours: anytime, SendWindow: anytime}); err != nil {
		t.Fatal(err)
	}
	first, _ := s.Pull("c", 4, t0.Add(48*time.Hour), time.Minute)
	if len(first.Targets) != 4 {
		t.Fatalf("%d targets", len(first.Targets))
	}
	// Two are sent, one fails, one is never acknowledged.
	res, err := s.Acknowledge("c", first.ID, []Ack{{first.Targets[0].UserID, "sent"}, {first.Targets[1].UserID, "sent"},
		{first.Targets[2].UserID, "failed"}, {"stranger", "sent"}})
	if err != nil || res.Sent != 2 || res.Retry != 1 || len(res.Unknown) != 1 {
		t.Fatalf("acks %+v %v", res, err)
	}
	if _, err := s.Acknowledge("c", first.ID, []Ack{{first.Targets[3].UserID, "maybe"}}); err == nil {
		t.Fatal("a bad status was accepted")
	}

	// Restart: a new service over the same store.
	now = t0.Add(2 * time.Minute) // the unacknowledged lease has expired
	s2 := w.service(&now)
	if err := s2.Load(); err != nil {
		t.Fatal(err)
	}
	all, _ := s2.Pull("c", 100, t0.Add(48*time.Hour), 0)
	got := map[string]bool{}
	for _, h := range all.Targets {
		got[h.UserID] = true
	}
	if got[first.Targets[0].UserID] || got[first.Targets[1].UserID] {
		t.Fatalf("a user acknowledged as sent was handed out again after a restart: %v", got)
	}
	if !got[first.Targets[2].UserID] || !got[first.Targets[3].UserID] {
		t.Fatalf("failed and unacknowledged users were not handed out again: %v", got)
	}
	sum, _ := s2.Get("c")
	if sum.States["sent"] != 2 {
		t.Fatalf("states after restart %v", sum.States)
	}
	// In the same process, an unacknowledged lease comes back once expired.
	l1, _ := s2.Pull("c", 100, t0.Add(48*time.Hour), 0)
	if len(l1.Targets) != 0 {
		t.Fatalf("%d handed out while leased", len(l1.Targets))
	}
	now = now.Add(2 * time.Minute)
	if l2, _ := s2.Pull("c", 100, t0.Add(48*time.Hour), 0); len(l2.Targets) != len(all.Targets) {
		t.Fatalf("%d handed out after the leases expired, want %d", len(l2.Targets), len(all.Targets))
	}
	if err := s2.Delete("c"); err != nil {
		t.Fatal(err)
	}
	s3 := w.service(&now)
	if err := s3.Load(); err != nil || len(s3.List()) != 0 {
		t.Fatalf("deleted campaign back after a restart: %v %v", s3.List(), err)
	}
}

// TestResponsivenessRanks: users who open pushes rank above their twins who
// do not.
func TestResponsivenessRanks(t *testing.T) {
	w := newWorld(t)
	for _, u := range []string{"opener", "ignorer"} {
		w.act(t, u, "UTC", features.TypeView, "drill", t0.Add(-time.Hour))
		for k := 0; k < 4; k++ {
			at := t0.Add(-time.Duration(10+k) * 24 * time.Hour)
			w.act(t, u, "UTC", features.TypePushSent, "", at, func(e *features.Event) { e.CampaignID = fmt.Sprint("old-", k) })
			if u == "opener" {
				w.act(t, u, "UTC", features.TypePushOpen, "", at.Add(time.Minute), func(e *features.Event) { e.CampaignID = fmt.Sprint("old-", k) })
			}
		}
	}
	now := t0
	s := w.service(&now)
	anytime := &Window{Start: "00:00", End: "00:00"}
	if _, err := s.Create(Campaign{ID: "c", Target: Target{Category: "Tools"}, QuietHours: anytime, SendWindow: anytime, StartsAt: t0}); err != nil {
		t.Fatal(err)
	}
	l, _ := s.Pull("c", 10, t0.Add(48*time.Hour), 0)
	if len(l.Targets) != 2 {
		t.Fatalf("%d targets", len(l.Targets))
	}
	score := map[string]float64{}
	for _, h := range l.Targets {
		score[h.UserID] = h.Score
	}
	if score["opener"] <= score["ignorer"] {
		t.Fatalf("opener %v, ignorer %v", score["opener"], score["ignorer"])
	}
}

func TestWindowEdges(t *testing.T) {
	w := newWorld(t)
	now := t0
	s := w.service(&now)
	c := Campaign{ID: "allday-quiet", Target: Target{Category: "Baby"}, QuietHours: &Window{Start: "00:00", End: "24:00"}}
	if _, err := s.Create(c); err == nil {
		t.Fatal("quiet all day (00:00-24:00) accepted")
	}
	c = Campaign{ID: "narrow", Target: Target{Category: "Baby"}, SendWindow: &Window{Start: "09:05", End: "09:10"}}
	if _, err := s.Create(c); err != nil {
		t.Fatalf("a five-minute window: %v", err)
	}
}

// TestLeaseRules: a late failure under an expired lease does not free a
// user another puller holds; leases in flight count in the caps of every
// campaign; a failing store changes nothing.
func TestLeaseRules(t *testing.T) {
	w := newWorld(t)
	w.fans(t)
	now := t0
	s := w.service(&now)
	anytime := &Window{Start: "00:00", End: "00:00"}
	for _, id := range []string{"a", "b"} {
		if _, err := s.Create(Campaign{ID: id, Target: Target{Category: "Baby"}, Caps: Caps{PerDay: 1}, QuietHours: anytime, SendWindow: anytime}); err != nil {
			t.Fatal(err)
		}
	}
	ahead := t0.Add(48 * time.Hour)
	la, _ := s.Pull("a", 100, ahead, time.Minute)
	if len(la.Targets) == 0 {
		t.Fatal("nothing to pull")
	}
	// Campaign b must not hand out the users a's puller holds.
	if lb, _ := s.Pull("b", 100, ahead, time.Minute); len(lb.Targets) != 0 {
		t.Fatalf("campaign b handed out %d users leased by campaign a", len(lb.Targets))
	}
	// a's lease expires; another puller of a takes the users over.
	now = t0.Add(2 * time.Minute)
	la2, _ := s.Pull("a", 100, ahead, time.Minute)
	if len(la2.Targets) != len(la.Targets) {
		t.Fatalf("%d re-leased, want %d", len(la2.Targets), len(la.Targets))
	}
	user := la.Targets[0].UserID
	res, err := s.Acknowledge("a", la.ID, []Ack{{user, "failed"}})
	if err != nil || len(res.Stale) != 1 || res.Retry != 0 {
		t.Fatalf("a failure under the expired lease: %+v %v", res, err)
	}
	if l3, _ := s.Pull("a", 100, ahead, time.Minute); len(l3.Targets) != 0 {
		t.Fatalf("%d handed out while the second lease holds them", len(l3.Targets))
	}
	if _, err := s.Acknowledge("a", "", []Ack{{user, "failed"}}); err == nil {
		t.Fatal("a failure without a lease id was accepted")
	}
	// The store refuses: the acknowledgement changes nothing.
	w.store.Close()
	if _, err := s.Acknowledge("a", la2.ID, []Ack{{user, "sent"}}); err == nil {
		t.Fatal("an acknowledgement was accepted with the store closed")
	}
	sum, _ := s.Get("a")
	if sum.States["sent"] != 0 {
		t.Fatalf("states %v after a failed store write", sum.States)
	}
}

// TestConcurrentCreatesOfOneID: one wins, the store holds the winner.
func TestConcurrentCreatesOfOneID(t *testing.T) {
	w := newWorld(t)
	w.fans(t)
	now := t0
	s := w.service(&now)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, cat := range []string{"Baby", "Tools"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Create(Campaign{ID: "same", Target: Target{Category: cat}})
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("errors %v: exactly one create must win", errs)
	}
	mem, _ := s.Get("same")
	s2 := w.service(&now)
	if err := s2.Load(); err != nil {
		t.Fatal(err)
	}
	disk, _ := s2.Get("same")
	if mem.Target != disk.Target || mem.Targets != disk.Targets {
		t.Fatalf("memory has %+v, the store %+v", mem.Target, disk.Target)
	}
}

// TestPullAheadDuringQuietHours: pulling ahead hands out targets due at
// allowed times even while it is night for the users now.
func TestPullAheadDuringQuietHours(t *testing.T) {
	w := newWorld(t)
	w.fans(t)                                              // Shanghai users active at 20:00 local
	now := time.Date(2026, 11, 23, 14, 30, 0, 0, time.UTC) // 22:30 in Shanghai
	s := w.service(&now)
	if _, err := s.Create(Campaign{ID: "c", Target: Target{Category: "Baby"}, QuietHours: &Window{Start: "22:00", End: "08:00"},
		SendWindow: &Window{Start: "09:00", End: "21:00"}}); err != nil {
		t.Fatal(err)
	}
	l, _ := s.Pull("c", 100, now.Add(24*time.Hour), 0)
	if len(l.Targets) == 0 {
		t.Fatal("nothing handed out ahead of its send time")
	}
	for _, h := range l.Targets {
		if !h.SendAt.After(now) {
			t.Fatalf("%s due at %v, during quiet hours", h.UserID, h.SendAt)
		}
	}
}
