package audience

import (
	"slices"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/stickyhq/sticky/features"
)

// The targeting part of a record: what push selection needs of every user,
// in a compact form, so that scoring a million users never reads the store.

// maxAff is how many categories and brands a record keeps.
const maxAff = 8

// aff is an interned name with the user's affinity for it, relative to
// their strongest (-127..127). Decay is the same for all of a user's
// affinities, so the relative values do not change between updates.
type aff struct {
	id    uint16
	score int8
}

// recentRef is an item the user acted on lately, by hash, with the
// strongest action.
type recentRef struct {
	hash   uint32
	intent uint8 // 1 view, 2 click/share/review, 3 cart, 4 purchase
}

// targeting is the targeting part of a record.
type targeting struct {
	loc       *time.Location
	lastSeen  int64
	hours     [24]uint8   // activity by local hour of day, busiest = 255
	cats      [maxAff]aff // id 0: unused
	brands    [maxAff]aff
	catMax    features.Decayed // the strongest category affinity, absolute
	brandMax  features.Decayed
	recent    []recentRef
	bought    []uint32 // sorted item hashes
	dismissed []uint32 // sorted item hashes
	optedOut  bool
	sends     []features.PushSend
	sentD     features.Decayed
	openD     features.Decayed
	hasHabits bool
}

// ItemHash is the compact form of an item id in targeting records.
func ItemHash(id string) uint32 { return uint32(xxhash.Sum64String(id)) }

// intern returns the id of a category or brand name, adding it if needed;
// past 65,535 names it returns 0 (not kept).
func (t *Table) intern(name string) uint16 {
	if id, ok := t.names[name]; ok {
		return id
	}
	if len(t.nameList) >= 1<<16-1 {
		return 0
	}
	t.nameList = append(t.nameList, name)
	id := uint16(len(t.nameList)) // 0 means none
	t.names[name] = id
	return id
}

// NameID returns the id of a category or brand, or 0 if no user has it.
func (t *Table) NameID(name string) uint16 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.names[name]
}

// affs keeps the strongest scores of s, relative to the strongest, and the
// strongest itself.
func (t *Table) affs(s features.Scores, now, hl int64) (out [maxAff]aff, strongest features.Decayed) {
	top := s.Top(now, hl, maxAff)
	m := 0.0
	for _, kv := range top {
		m = max(m, abs(kv.Value))
	}
	if m == 0 {
		return out, strongest
	}
	for i, kv := range top {
		out[i] = aff{id: t.intern(kv.Key), score: int8(127 * kv.Value / m)}
	}
	return out, features.Decayed{V: float32(m), At: now}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// targetingOf extracts the targeting part of u. Called under t.mu.
func (t *Table) targetingOf(u *features.User) targeting {
	hl := t.f.HalfLives()
	at := u.LastSeen
	tg := targeting{
		lastSeen: u.LastSeen,
		optedOut: u.Push.OptedOut,
		sends:    slices.Clone(u.Push.Recent),
		sentD:    u.Push.SentD,
		openD:    u.Push.OpenD,
	}
	tg.cats, tg.catMax = t.affs(u.Categories, at, hl.Affinity)
	tg.brands, tg.brandMax = t.affs(u.Brands, at, hl.Affinity)
	if loc, err := t.f.Zones().Load(u.TZ); err == nil {
		tg.loc = loc
	} else {
		tg.loc = time.UTC
	}
	var byHour [24]float64
	top := 0.0
	for i, v := range u.Hours.Bins {
		byHour[i%24] += float64(v)
	}
	for _, v := range byHour {
		top = max(top, v)
	}
	if top > 0 {
		tg.hasHabits = true
		for h, v := range byHour {
			tg.hours[h] = uint8(255 * v / top)
		}
	}
	n := min(len(u.Recent), 16)
	for _, r := range u.Recent[len(u.Recent)-n:] {
		tg.recent = append(tg.recent, recentRef{hash: ItemHash(r.Item), intent: uint8(r.Type.Intent())})
	}
	for _, m := range u.Purchased {
		tg.bought = append(tg.bought, ItemHash(m.Item))
	}
	slices.Sort(tg.bought)
	for _, m := range u.Dismissed {
		tg.dismissed = append(tg.dismissed, ItemHash(m.Item))
	}
	slices.Sort(tg.dismissed)
	return tg
}

// RecordSend notes a push sent to a user (an acknowledged send), for
// frequency caps, until the push service's push_sent event confirms it.
// While loading, a send to a user the load has not reached yet is kept for
// when it does.
func (t *Table) RecordSend(user string, at time.Time, campaign string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := t.users[user]
	if rec == nil {
		if t.loading { // the load may not have reached them yet
			p := features.Push{Recent: t.early[user]}
			if p.AddSend(at.UnixMilli(), features.CampaignHash(campaign)) {
				t.early[user] = p.Recent
			}
		}
		return
	}
	p := features.Push{Recent: rec.sends}
	if p.AddSend(at.UnixMilli(), features.CampaignHash(campaign)) {
		rec.sends = p.Recent
	}
}

// Candidate is what push selection reads of one user. It is valid only
// during the callback it is passed to.
type Candidate struct {
	ID  string
	rec *record
	t   *Table
}

// Location is the user's time zone (UTC if unknown).
func (c *Candidate) Location() *time.Location { return c.rec.loc }

// OptedOut reports whether the user opted out of pushes.
func (c *Candidate) OptedOut() bool { return c.rec.optedOut }

// LastSeen is the Unix ms of the user's latest event.
func (c *Candidate) LastSeen() int64 { return c.rec.lastSeen }

// HourActivity is the user's activity in a local hour of day, 0..255
// relative to their busiest hour; ok is false without any habit.
func (c *Candidate) HourActivity(h int) (uint8, bool) { return c.rec.hours[h], c.rec.hasHabits }

// Affinity returns the user's affinity for a category or brand id (see
// NameID) at now, in the units of the event weights (a view is 1),
// decayed: the relative score times the user's strongest affinity.
func (c *Candidate) Affinity(id uint16, now int64) float64 {
	if id == 0 {
		return 0
	}
	hl := c.t.f.HalfLives().Affinity
	for _, a := range &c.rec.cats {
		if a.id == id {
			return float64(a.score) / 127 * c.rec.catMax.Value(now, hl)
		}
	}
	for _, a := range &c.rec.brands {
		if a.id == id {
			return float64(a.score) / 127 * c.rec.brandMax.Value(now, hl)
		}
	}
	return 0
}

// Intent returns the strongest recent action on an item (by ItemHash): 0
// none, 1 view, 2 click, 3 cart, 4 purchase.
func (c *Candidate) Intent(item uint32) uint8 {
	for _, r := range c.rec.recent {
		if r.hash == item {
			return r.intent
		}
	}
	return 0
}

// Bought and Dismissed report whether the user bought or dismissed an item.
func (c *Candidate) Bought(item uint32) bool {
	_, ok := slices.BinarySearch(c.rec.bought, item)
	return ok
}

// Dismissed: see Bought.
func (c *Candidate) Dismissed(item uint32) bool {
	_, ok := slices.BinarySearch(c.rec.dismissed, item)
	return ok
}

// SentWithin counts pushes sent to the user in (now-d, now].
func (c *Candidate) SentWithin(now int64, d time.Duration) int {
	p := features.Push{Recent: c.rec.sends}
	return p.SentWithin(now, d)
}

// Responsiveness estimates how likely the user is to open a push (0..1).
func (c *Candidate) Responsiveness(now int64) float64 {
	p := features.Push{SentD: c.rec.sentD, OpenD: c.rec.openD}
	return c.t.f.Responsiveness(&p, now)
}

// Match evaluates a rule on the user at now.
func (c *Candidate) Match(r *Rule, now time.Time) bool {
	u := features.User{ID: c.ID, Orders: *c.rec.orders(), Points: c.rec.points}
	return r.root.eval(&subject{t: c.t, u: &u, now: now, locked: true})
}

// Each calls fn for every user, under the table's read lock, from workers
// goroutines each on its own contiguous share of the users (fn must be safe
// for concurrent use; worker says which share). It returns when all are
// done.
func (t *Table) Each(workers int, fn func(worker int, c *Candidate)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	workers = max(workers, 1)
	done := make(chan struct{}, workers)
	per := (len(t.list) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		go func(w int) {
			defer func() { done <- struct{}{} }()
			c := Candidate{t: t}
			for _, r := range t.list[min(w*per, len(t.list)):min((w+1)*per, len(t.list))] {
				c.ID, c.rec = r.id, r
				fn(w, &c)
			}
		}(w)
	}
	for range workers {
		<-done
	}
}

// User returns the candidate view of one user, for fn, or false.
func (t *Table) User(id string, fn func(c *Candidate)) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	rec := t.users[id]
	if rec == nil {
		return false
	}
	fn(&Candidate{ID: id, rec: rec, t: t})
	return true
}
