package campaigns

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
)

// Store persists campaigns; state.PushStore satisfies it.
type Store interface {
	// PutCampaign writes a generation of a campaign: targets first, then
	// the campaign, atomically making the generation current.
	PutCampaign(id string, gen uint64, campaign []byte, chunks [][]byte) error
	PutAcks(id string, gen uint64, acks map[string][]byte) error
	DeleteCampaign(id string) error
	// Sweep removes the targets and acknowledgements of other generations.
	Sweep(id string, keep uint64) error
	Campaigns(fn func(id string, v []byte) error) error
	Targets(id string, gen uint64, fn func(v []byte) error) error
	Acks(id string, gen uint64, fn func(user string, v []byte) error) error
}

// Observer receives the service's measurements; the command bridges them
// into metrics.
type Observer interface {
	Selected(n int, took time.Duration)
	HandedOut(n int)
	Acked(status string, n int)
	Expired(n int)
}

// Service runs campaigns. It is safe for concurrent use; pulls and
// acknowledgements of one campaign are serialised, so no two pullers get
// the same user.
type Service struct {
	cfg   Config
	aud   *audience.Table
	cat   ItemSource
	store Store
	now   func() time.Time

	mu       sync.RWMutex
	camps    map[string]*campaignState
	creating map[string]bool // ids being created, reserved

	flightMu sync.Mutex
	inflight map[string][]inflight // user -> live leases, across campaigns
}

// inflight is a lease not yet acknowledged: a push that may go out, and
// counts in the caps like one that did.
type inflight struct {
	campaign string
	until    int64
}

// target states
const (
	pending uint8 = iota
	leased
	sent
	failed
)

var stateNames = [...]string{"pending", "leased", "sent", "failed"}

type target struct {
	user       string
	tz         string
	score      float32
	sendAt     int64 // Unix ms
	state      uint8
	attempts   uint8
	leaseUntil int64
	lease      string
}

// campaignState is a campaign with its targets.
type campaignState struct {
	mu         sync.Mutex
	c          Campaign
	gen        uint64 // the stored generation
	selectedAt time.Time
	targets    []target // by send time, then score
	index      map[string]int
}

// New returns a service; zero fields of cfg take their defaults. Load
// restores stored campaigns.
func New(cfg Config, aud *audience.Table, cat ItemSource, store Store) *Service {
	cfg.EnsureDefaults()
	return &Service{cfg: cfg, aud: aud, cat: cat, store: store, now: time.Now, camps: make(map[string]*campaignState),
		creating: make(map[string]bool), inflight: make(map[string][]inflight)}
}

// storedTarget is the persisted form of a selected target.
type storedTarget struct {
	U  string  `json:"u"`
	Z  string  `json:"z,omitempty"`
	S  float32 `json:"s"`
	At int64   `json:"t"`
}

// storedCampaign is the persisted form of a campaign.
type storedCampaign struct {
	Campaign   Campaign  `json:"campaign"`
	SelectedAt time.Time `json:"selected_at"`
	Generation uint64    `json:"generation"`
}

type storedAck struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// Summary describes a campaign and its progress.
type Summary struct {
	Campaign
	SelectedAt time.Time      `json:"selected_at"`
	Targets    int            `json:"targets"`
	States     map[string]int `json:"states"`
}

func (st *campaignState) summary() Summary {
	s := Summary{Campaign: st.c, SelectedAt: st.selectedAt, Targets: len(st.targets), States: map[string]int{}}
	for _, n := range stateNames {
		s.States[n] = 0
	}
	for i := range st.targets {
		s.States[stateNames[st.targets[i].state]]++
	}
	return s
}

// Create validates c, selects its targets and stores it. Errors about the
// campaign are *features.FieldError; ErrExists if the id is taken;
// audience.ErrLoading while the audience is loading (selection reads the
// whole population).
func (s *Service) Create(c Campaign) (Summary, error) {
	now := s.now()
	targetRule, audRule, err := c.prepare(now, s.cfg.Campaigns)
	if err != nil {
		return Summary{}, err
	}
	if !s.aud.Loaded() {
		return Summary{}, fmt.Errorf("campaign %s: cannot select targets: %w", c.ID, audience.ErrLoading)
	}
	// Reserve the id for the time of the selection.
	s.mu.Lock()
	if s.camps[c.ID] != nil || s.creating[c.ID] {
		s.mu.Unlock()
		return Summary{}, fmt.Errorf("campaign %s: %w", c.ID, ErrExists)
	}
	s.creating[c.ID] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.creating, c.ID)
		s.mu.Unlock()
	}()
	p := &plan{c: &c, target: targetRule, audience: audRule, now: now}
	switch {
	case c.Target.Category != "":
		p.nameID = s.aud.NameID(c.Target.Category)
	case c.Target.Brand != "":
		p.nameID = s.aud.NameID(c.Target.Brand)
	case c.Target.ItemID != "":
		p.item = audience.ItemHash(c.Target.ItemID)
		it := s.cat.Get(c.Target.ItemID)
		if it == nil {
			return Summary{}, &features.FieldError{Field: "target.item_id", Reason: "is not in the catalogue"}
		}
		if !it.Available {
			return Summary{}, &features.FieldError{Field: "target.item_id", Reason: "is not available"}
		}
		p.itemCat, p.itemBrand, p.repeatable = s.aud.NameID(it.Category), s.aud.NameID(it.Brand), it.Repeatable
	}
	start := time.Now()
	sel := selectTargets(s.aud, p, s.cfg.Workers)
	took := time.Since(start)
	st := &campaignState{c: c, gen: uint64(now.UnixNano()), selectedAt: now, targets: make([]target, len(sel)), index: make(map[string]int, len(sel))}
	for i, t := range sel {
		st.targets[i] = target{user: t.User, tz: t.TZ, score: float32(t.Score), sendAt: t.SendAt.UnixMilli()}
	}
	st.sort()
	if err := s.persist(st); err != nil {
		return Summary{}, err
	}
	s.mu.Lock()
	s.camps[c.ID] = st
	s.mu.Unlock()
	if s.cfg.Observer != nil {
		s.cfg.Observer.Selected(len(sel), took)
	}
	s.cfg.Logger.Info("campaign created", "id", c.ID, "targets", len(sel), "took", took.Round(time.Millisecond))
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.summary(), nil
}

// sort orders targets by send time, best score first, and rebuilds the index.
func (st *campaignState) sort() {
	slices.SortStableFunc(st.targets, func(a, b target) int {
		if c := cmp.Compare(a.sendAt, b.sendAt); c != 0 {
			return c
		}
		return cmp.Compare(b.score, a.score)
	})
	for i := range st.targets {
		st.index[st.targets[i].user] = i
	}
}

func (s *Service) persist(st *campaignState) error {
	c, err := json.Marshal(storedCampaign{Campaign: st.c, SelectedAt: st.selectedAt, Generation: st.gen})
	if err != nil {
		return err
	}
	var chunks [][]byte
	for i := 0; i < len(st.targets); i += 1000 {
		part := make([]storedTarget, 0, 1000)
		for _, t := range st.targets[i:min(i+1000, len(st.targets))] {
			part = append(part, storedTarget{U: t.user, Z: t.tz, S: t.score, At: t.sendAt})
		}
		b, err := json.Marshal(part)
		if err != nil {
			return err
		}
		chunks = append(chunks, b)
	}
	return s.store.PutCampaign(st.c.ID, st.gen, c, chunks)
}

// Load restores every stored campaign, its targets and acknowledgements;
// sends acknowledged before are noted again for the frequency caps.
func (s *Service) Load() error {
	return s.store.Campaigns(func(id string, v []byte) error {
		var sc storedCampaign
		if err := json.Unmarshal(v, &sc); err != nil {
			return fmt.Errorf("campaign %s: %w", id, err)
		}
		c := sc.Campaign
		if err := c.QuietHours.parse("quiet_hours"); err != nil {
			return err
		}
		if err := c.SendWindow.parse("send_window"); err != nil {
			return err
		}
		st := &campaignState{c: c, gen: sc.Generation, selectedAt: sc.SelectedAt, index: map[string]int{}}
		err := s.store.Targets(id, st.gen, func(v []byte) error {
			var part []storedTarget
			if err := json.Unmarshal(v, &part); err != nil {
				return err
			}
			for _, t := range part {
				st.targets = append(st.targets, target{user: t.U, tz: t.Z, score: t.S, sendAt: t.At})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("targets of campaign %s: %w", id, err)
		}
		st.sort()
		err = s.store.Acks(id, st.gen, func(user string, v []byte) error {
			var a storedAck
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			i, ok := st.index[user]
			if !ok {
				return nil
			}
			switch a.Status {
			case "sent":
				st.targets[i].state = sent
				s.aud.RecordSend(user, a.At, id)
			case "failed":
				st.targets[i].state = failed
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("acknowledgements of campaign %s: %w", id, err)
		}
		// Leftovers of a write or delete a crash interrupted.
		if err := s.store.Sweep(id, st.gen); err != nil {
			return err
		}
		s.mu.Lock()
		s.camps[id] = st
		s.mu.Unlock()
		return nil
	})
}

func (s *Service) get(id string) (*campaignState, error) {
	s.mu.RLock()
	st := s.camps[id]
	s.mu.RUnlock()
	if st == nil {
		return nil, fmt.Errorf("campaign %q: %w", id, ErrNotFound)
	}
	return st, nil
}

// Get returns a campaign's summary.
func (s *Service) Get(id string) (Summary, error) {
	st, err := s.get(id)
	if err != nil {
		return Summary{}, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.summary(), nil
}

// List returns every campaign's summary, by id.
func (s *Service) List() []Summary {
	s.mu.RLock()
	sts := make([]*campaignState, 0, len(s.camps))
	for _, st := range s.camps {
		sts = append(sts, st)
	}
	s.mu.RUnlock()
	out := make([]Summary, 0, len(sts))
	for _, st := range sts {
		st.mu.Lock()
		out = append(out, st.summary())
		st.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Summary) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Delete stops and removes a campaign.
func (s *Service) Delete(id string) error {
	if _, err := s.get(id); err != nil {
		return err
	}
	if err := s.store.DeleteCampaign(id); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.camps, id)
	s.mu.Unlock()
	return nil
}

// Handout is one leased target.
type Handout struct {
	UserID string    `json:"user_id"`
	Score  float64   `json:"score"`
	SendAt time.Time `json:"send_at"`
	TZ     string    `json:"tz"`
}

// Lease is a page of targets handed out together.
type Lease struct {
	ID        string    `json:"lease_id"`
	ExpiresAt time.Time `json:"lease_expires_at"`
	Targets   []Handout `json:"targets"`
	Ended     bool      `json:"ended,omitempty"` // the campaign is over
}

// Pull leases up to limit targets whose send time is at or before until
// (zero: now), best first among those due. A target is skipped, for now,
// if a push at this instant would break the user's caps or fall in their
// quiet hours; if the latter, its send time moves to the next allowed time.
// lease 0 takes the configured lease. While the audience is loading it
// returns audience.ErrLoading: a target the load has not reached yet would
// look gone, and caps read the audience.
func (s *Service) Pull(id string, limit int, until time.Time, lease time.Duration) (Lease, error) {
	st, err := s.get(id)
	if err != nil {
		return Lease{}, err
	}
	if !s.aud.Loaded() {
		return Lease{}, fmt.Errorf("campaign %s: cannot hand out targets: %w", id, audience.ErrLoading)
	}
	now := s.now()
	if until.IsZero() {
		until = now
	}
	if lease <= 0 {
		lease = s.cfg.Lease
	}
	l := Lease{ID: newLeaseID(), ExpiresAt: now.Add(lease), Targets: []Handout{}}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !now.Before(st.c.EndsAt) {
		l.Ended = true
		return l, nil
	}
	n, u, expired := now.UnixMilli(), until.UnixMilli(), 0
	moved := false
	var leasedUsers []string
	for i := range st.targets {
		if len(l.Targets) >= limit {
			break
		}
		t := &st.targets[i]
		if t.state == leased && t.leaseUntil <= n {
			t.state = pending
			expired++
		}
		if t.state != pending || t.sendAt > u {
			continue
		}
		ok := s.aud.User(t.user, func(c *audience.Candidate) {
			if s.atCap(c, st.c.Caps, n) {
				return
			}
			if t.sendAt <= n {
				// Due or late: it goes out now, so now must be allowed.
				lt := now.In(c.Location())
				if !st.c.allowed(lt.Hour()*60 + lt.Minute()) {
					p := &plan{c: &st.c}
					p.compile()
					from := now
					if st.c.StartsAt.After(from) {
						from = st.c.StartsAt
					}
					if at, ok := p.sendAt(c, from); ok {
						t.sendAt, moved = at.UnixMilli(), true
					}
					return
				}
			}
			t.state, t.leaseUntil, t.lease = leased, l.ExpiresAt.UnixMilli(), l.ID
			l.Targets = append(l.Targets, Handout{UserID: t.user, Score: float64(t.score), SendAt: time.UnixMilli(t.sendAt).UTC(), TZ: t.tz})
			leasedUsers = append(leasedUsers, t.user)
		})
		if !ok { // the user is gone from the population: nothing to send to
			t.state = failed
		}
	}
	if moved {
		st.sort()
	}
	s.flightMu.Lock()
	for _, user := range leasedUsers {
		s.inflight[user] = append(s.inflight[user], inflight{campaign: id, until: l.ExpiresAt.UnixMilli()})
	}
	s.flightMu.Unlock()
	if s.cfg.Observer != nil {
		s.cfg.Observer.HandedOut(len(l.Targets))
		if expired > 0 {
			s.cfg.Observer.Expired(expired)
		}
	}
	return l, nil
}

// atCap reports whether a push to the user now would break the caps,
// counting the leases other pullers hold as pushes.
func (s *Service) atCap(c *audience.Candidate, caps Caps, now int64) bool {
	s.flightMu.Lock()
	live := s.inflight[c.ID][:0]
	for _, f := range s.inflight[c.ID] {
		if f.until > now {
			live = append(live, f)
		}
	}
	if len(live) == 0 {
		delete(s.inflight, c.ID)
	} else {
		s.inflight[c.ID] = live
	}
	held := len(live)
	s.flightMu.Unlock()
	return (caps.PerDay > 0 && c.SentWithin(now, 24*time.Hour)+held >= caps.PerDay) ||
		(caps.PerWeek > 0 && c.SentWithin(now, 7*24*time.Hour)+held >= caps.PerWeek)
}

// land removes the in-flight lease of a user in a campaign.
func (s *Service) land(user, campaign string) {
	s.flightMu.Lock()
	defer s.flightMu.Unlock()
	fs := s.inflight[user]
	for i, f := range fs {
		if f.campaign == campaign {
			fs = append(fs[:i], fs[i+1:]...)
			break
		}
	}
	if len(fs) == 0 {
		delete(s.inflight, user)
	} else {
		s.inflight[user] = fs
	}
}

func newLeaseID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Ack is the outcome of one send.
type Ack struct {
	UserID string `json:"user_id"`
	Status string `json:"status"` // sent or failed
}

// AckResult says what became of each acknowledgement.
type AckResult struct {
	Sent    int      `json:"sent"`
	Retry   int      `json:"retry"`   // failed, to be handed out again
	Failed  int      `json:"failed"`  // failed for the last time
	Stale   []string `json:"stale"`   // failed under a lease no longer theirs: ignored
	Unknown []string `json:"unknown"` // not targets of this campaign
}

// Acknowledge records the outcome of sends made under lease leaseID. A
// user acknowledged as sent is never handed out again, whatever lease it
// came under (the push went out). A failure counts only under the lease
// the target is held by, while it lasts: a late failure from a puller whose
// lease expired and went to another is stale. Failed targets are handed out
// again until MaxAttempts. Nothing changes unless the acknowledgements are
// stored. Errors about an acknowledgement are *features.FieldError.
func (s *Service) Acknowledge(id, leaseID string, acks []Ack) (AckResult, error) {
	for i, a := range acks {
		if a.Status != "sent" && a.Status != "failed" {
			return AckResult{}, &features.FieldError{Field: fmt.Sprintf("acks[%d].status", i), Reason: "must be sent or failed"}
		}
		if a.UserID == "" {
			return AckResult{}, &features.FieldError{Field: fmt.Sprintf("acks[%d].user_id", i), Reason: "is required"}
		}
		if a.Status == "failed" && leaseID == "" {
			return AckResult{}, &features.FieldError{Field: "lease_id", Reason: "is required to report failures"}
		}
	}
	st, err := s.get(id)
	if err != nil {
		return AckResult{}, err
	}
	now := s.now()
	n := now.UnixMilli()
	type change struct {
		i     int
		state uint8
	}
	var changes []change
	res := AckResult{Unknown: []string{}, Stale: []string{}}
	stored := map[string][]byte{}
	var sentUsers, landed []string

	st.mu.Lock()
	for _, a := range acks {
		i, ok := st.index[a.UserID]
		if !ok {
			res.Unknown = append(res.Unknown, a.UserID)
			continue
		}
		t := &st.targets[i]
		if t.state == sent || t.state == failed {
			continue // final already
		}
		if a.Status == "sent" {
			changes = append(changes, change{i, sent})
			stored[a.UserID], _ = json.Marshal(storedAck{Status: "sent", At: now.UTC()})
			continue
		}
		if t.state != leased || t.lease != leaseID || t.leaseUntil <= n {
			res.Stale = append(res.Stale, a.UserID)
			continue
		}
		if int(t.attempts)+1 >= s.cfg.MaxAttempts {
			changes = append(changes, change{i, failed})
			stored[a.UserID], _ = json.Marshal(storedAck{Status: "failed", At: now.UTC()})
		} else {
			changes = append(changes, change{i, pending})
		}
	}
	if len(stored) > 0 {
		if err := s.store.PutAcks(id, st.gen, stored); err != nil {
			st.mu.Unlock()
			return AckResult{}, err
		}
	}
	for _, c := range changes {
		t := &st.targets[c.i]
		switch c.state {
		case sent:
			res.Sent++
			sentUsers = append(sentUsers, t.user)
		case failed:
			res.Failed++
		case pending:
			t.attempts++
			res.Retry++
		}
		t.state = c.state
		landed = append(landed, t.user)
	}
	st.mu.Unlock()

	for _, u := range landed {
		s.land(u, id)
	}
	for _, u := range sentUsers {
		s.aud.RecordSend(u, now, id)
	}
	if s.cfg.Observer != nil {
		if res.Sent > 0 {
			s.cfg.Observer.Acked("sent", res.Sent)
		}
		if n := res.Retry + res.Failed; n > 0 {
			s.cfg.Observer.Acked("failed", n)
		}
	}
	return res, nil
}
