// Package audience keeps the population view of Sticky's users: a compact
// in-memory record of every user's value features, the population
// distributions that turn raw recency, frequency and monetary figures into
// 1-5 RFM scores, counts per RFM segment and lifecycle stage, and the
// BG/NBD and Gamma-Gamma models fitted on the whole population. It answers
// per-user value views (profile) and segment counts without touching the
// state store; targeting rules (Rule) read it too.
//
// The table is fed with the users of every flush of the state (Update; so
// it trails the events by up to a flush interval) and rebuilt from the
// store at start-up, which also restores the last fit of the models;
// every new fit is saved to Config.Store. A background loop (Run) recounts
// segments and stages as time passes and quantiles move, and refits the
// models.
//
// Rebuilding a large population takes seconds (every user vector is read
// and decoded), so it can run while the table is already fed: LoadFit
// restores the fit, BeginLoad marks the table as loading, and LoadUsers
// scans the store in the background while Update carries on. A user the
// scan reads is added only if Update has not put them first: what Update
// puts came from a batch committed after the vector the scan read, or is
// that vector, so a live update is never overwritten by an older one.
// Until LoadUsers is done, Loaded is false and whatever reads the whole
// population must not be trusted: Refit returns ErrLoading, Run neither
// recounts nor refits, views carry no RFM scores, and callers (segment
// counts, rules that read the population, push selection) answer
// ErrLoading. Load does the three steps at once, synchronously.
package audience

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/features/clv"
	"github.com/stickyhq/sticky/internal/num"
)

// Config configures a Table. DefaultConfig holds every default;
// EnsureDefaults gives zero fields theirs.
type Config struct {
	// RecountInterval is how often RFM cut points and the segment and
	// lifecycle counts are recomputed from every record, to follow time
	// passing and quantiles moving (between recounts, counts are kept up to
	// date incrementally). Default 1 minute.
	RecountInterval time.Duration
	// RefitInterval is how often the BG/NBD and Gamma-Gamma models are
	// refitted on the whole population. Default 1 hour.
	RefitInterval time.Duration
	// MinCustomers is the fewest customers with a repeat purchase day for
	// a fit; with fewer, predictions are absent. Default 20.
	MinCustomers int
	// ExpiringWithin is the default window of "points expiring". Default
	// 30 days.
	ExpiringWithin time.Duration
	// CLVMonths is the lifetime value's horizon, in months of 30 days, at
	// most 600. Default 12.
	CLVMonths int
	// DiscountRate is the lifetime value's discount rate, a year, from 0 to
	// 10. Default 0.10; 0 is no discount (only a negative rate takes the
	// default).
	DiscountRate float64
	// Store, if set, keeps every new fit, for Load to restore after a
	// restart. Default none.
	Store Store
	// OnFit is called with every new fit, once it is saved. Default none.
	OnFit func(Fit)
	// LoadHook, if set, is called by LoadUsers before each batch of
	// scanned users joins the table, with the number of users scanned
	// before that batch; it may block (tests hold a load with it). Default
	// none.
	LoadHook func(scanned int)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{RecountInterval: time.Minute, RefitInterval: time.Hour, MinCustomers: 20,
		ExpiringWithin: 30 * 24 * time.Hour, CLVMonths: 12, DiscountRate: 0.10}
}

// EnsureDefaults gives zero (or negative) fields their defaults; a zero
// DiscountRate stays: it means no discount.
func (c *Config) EnsureDefaults() {
	d := DefaultConfig()
	num.Positive(&c.RecountInterval, d.RecountInterval)
	num.Positive(&c.RefitInterval, d.RefitInterval)
	num.Positive(&c.MinCustomers, d.MinCustomers)
	num.Positive(&c.ExpiringWithin, d.ExpiringWithin)
	num.Positive(&c.CLVMonths, d.CLVMonths)
	if c.DiscountRate < 0 {
		c.DiscountRate = d.DiscountRate
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	if c.CLVMonths < 1 || c.CLVMonths > 600 {
		return fmt.Errorf("audience: CLVMonths must be in [1, 600], got %d", c.CLVMonths)
	}
	if !(c.DiscountRate >= 0 && c.DiscountRate <= 10) {
		return fmt.Errorf("audience: DiscountRate must be in [0, 10], got %v", c.DiscountRate)
	}
	return nil
}

// Fit is a pair of fitted models, in days.
type Fit struct {
	BGNBD       clv.BGNBD      `json:"bgnbd"`
	Gamma       clv.GammaGamma `json:"gamma_gamma"`
	HasGamma    bool           `json:"has_gamma_gamma"`
	At          time.Time      `json:"fitted_at"`
	Customers   int            `json:"customers"`        // customers fitted (BG/NBD)
	Repeat      int            `json:"repeat_customers"` // with a repeat purchase day (Gamma-Gamma)
	Took        string         `json:"took"`
	TookSeconds float64        `json:"took_seconds"`
}

// record is what the table keeps of one user.
type record struct {
	first, last, returnedAt int64
	days                    uint32
	monetary, repeatSpend   float64
	points                  []features.PointsBucket

	// What the record is counted under now.
	segment uint8 // index in Segments(), when days > 0
	stage   features.Lifecycle
	mkey    int32 // moneyKey(monetary), kept for recounts (a logarithm each)

	id  string
	idx int // in Table.list

	targeting
}

// Table is the population view. It is safe for concurrent use.
type Table struct {
	cfg Config
	f   *features.Extractor

	mu          sync.RWMutex
	users       map[string]*record
	list        []*record          // the same records, for scans in a fixed order
	r, fr, m    *hist              // last purchase day, purchase days, monetary key (buyers only)
	rc, fc, mc  cdf                // their snapshots at the last recount, for scores
	segments    [numSegments]int64 // by index in Segments()
	stages      [8]int64
	recountedAt time.Time
	changed     int // users updated since the last recount

	// Loading (BeginLoad, LoadUsers).
	loading  bool                           // under mu: a load has begun and is not done
	early    map[string][]features.PushSend // sends recorded for users not in the table yet, while loading
	loaded   atomic.Bool
	loadDone chan struct{} // closed when loaded
	loadTook atomic.Int64  // ns, of the last completed load

	fit   atomic.Pointer[Fit]
	fitMu sync.Mutex // one refit at a time, so the last to start is the one kept
	now   func() time.Time

	names    map[string]uint16 // interned categories and brands
	nameList []string
}

// New returns an empty table.
func New(cfg Config, f *features.Extractor) *Table {
	cfg.EnsureDefaults()
	t := &Table{cfg: cfg, f: f, users: make(map[string]*record), r: newHist(), fr: newHist(), m: newHist(),
		now: time.Now, names: make(map[string]uint16), loadDone: make(chan struct{})}
	// An empty table is a complete population until BeginLoad says
	// otherwise.
	t.loaded.Store(true)
	close(t.loadDone)
	return t
}

func (r *record) dayKey() int64 { return r.last / (24 * 3600 * 1000) }

// Update takes the new vectors of users whose state just changed. Once a
// tenth of the population has changed since the last recount (at least 50
// users), it recounts at once, so that scores never come from a crowd much
// smaller or much earlier than today's: a recount of n users is paid once
// per n/10 updates. While a load runs, it does not recount: the population
// is incomplete, and the load recounts once it is done.
func (t *Table) Update(users []*features.User) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, u := range users {
		t.put(u, now.UnixMilli())
	}
	t.changed += len(users)
	if !t.loading && t.r.n > 0 && t.changed >= max(len(t.users)/10, 50) {
		t.recount(now)
	}
}

func (t *Table) put(u *features.User, now int64) {
	o := &u.Orders
	old := t.users[u.ID]
	if old != nil {
		t.uncount(old)
	}
	rec := &record{first: o.First, last: o.Last, returnedAt: o.ReturnedAt, days: o.Days, monetary: o.Monetary,
		repeatSpend: o.RepeatSpend, points: append([]features.PointsBucket(nil), u.Points...), targeting: t.targetingOf(u),
		mkey: int32(moneyKey(o.Monetary))}
	// Sends acknowledged here but not yet seen as push_sent events: kept
	// by the record replaced, or, while loading, recorded before the user
	// was in the table.
	var acked []features.PushSend
	if old != nil {
		acked = old.sends
	} else if t.early != nil {
		acked = t.early[u.ID]
		delete(t.early, u.ID)
	}
	if len(acked) > 0 {
		p := features.Push{Recent: rec.sends}
		for _, s := range acked {
			p.AddSend(s.At, s.Campaign)
		}
		rec.sends = p.Recent
	}
	rec.id = u.ID
	if old != nil {
		rec.idx = old.idx
	} else {
		rec.idx = len(t.list)
		t.list = append(t.list, nil)
	}
	t.list[rec.idx] = rec
	t.users[u.ID] = rec
	t.count(rec, now)
}

func (t *Table) count(rec *record, now int64) {
	if rec.days > 0 {
		t.r.add(rec.dayKey(), 1)
		t.fr.add(int64(rec.days), 1)
		t.m.add(int64(rec.mkey), 1)
		rec.segment = t.segmentOf(rec)
		t.segments[rec.segment]++
	}
	rec.stage = t.f.Lifecycle(rec.orders(), now)
	t.stages[rec.stage]++
}

func (t *Table) scores(day int64, days uint32, monetary float64) (r, f, m int) {
	return t.rc.score(day), t.fc.score(int64(days)), t.mc.score(moneyKey(monetary))
}

// segmentOf returns the index of rec's segment (rec.days > 0).
func (t *Table) segmentOf(rec *record) uint8 {
	return segmentIndex(t.rc.score(rec.dayKey()), t.fc.score(int64(rec.days)), t.mc.score(int64(rec.mkey)))
}

func (t *Table) uncount(rec *record) {
	if rec.days > 0 {
		t.r.add(rec.dayKey(), -1)
		t.fr.add(int64(rec.days), -1)
		t.m.add(int64(rec.mkey), -1)
		t.segments[rec.segment]--
	}
	t.stages[rec.stage]--
}

func (r *record) orders() *features.Orders {
	return &features.Orders{First: r.first, Last: r.last, ReturnedAt: r.returnedAt, Days: r.days, Monetary: r.monetary, RepeatSpend: r.repeatSpend}
}

// Recount recomputes the RFM cut points from the population and every
// user's segment and stage at now.
func (t *Table) Recount(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.recount(now)
}

func (t *Table) recount(now time.Time) {
	n := now.UnixMilli()
	t.changed = 0
	t.rc, t.fc, t.mc = t.r.cdf(), t.fr.cdf(), t.m.cdf()
	t.segments = [numSegments]int64{}
	t.stages = [8]int64{}
	for _, rec := range t.list { // in memory order: a map walk costs more
		if rec.days > 0 {
			rec.segment = t.segmentOf(rec)
			t.segments[rec.segment]++
		}
		rec.stage = t.f.Lifecycle(rec.orders(), n)
		t.stages[rec.stage]++
	}
	t.recountedAt = now
}

// customers returns the BG/NBD summaries (in days) of every buyer at now.
func (t *Table) customers(now time.Time) []clv.Customer {
	nowDay := float64(now.UnixMilli() / (24 * 3600 * 1000))
	t.mu.RLock()
	defer t.mu.RUnlock()
	cs := make([]clv.Customer, 0, len(t.users))
	for _, rec := range t.users {
		if rec.days == 0 {
			continue
		}
		c := summary(rec.first, rec.last, rec.days, rec.repeatSpend, nowDay)
		cs = append(cs, c)
	}
	return cs
}

func summary(first, last int64, days uint32, repeatSpend, nowDay float64) clv.Customer {
	const d = 24 * 3600 * 1000
	fd := float64(first / d)
	c := clv.Customer{X: float64(days - 1), Tx: float64(last/d) - fd, T: math.Max(nowDay-fd, 0)}
	if days > 1 {
		c.M = repeatSpend / c.X
	}
	return c
}

// Refit fits both models on every buyer's summary at now and makes them
// current. It returns ErrLoading while a load runs. Refits run one at a
// time: one that starts while another runs waits for it, and its own fit
// is the one kept.
func (t *Table) Refit(now time.Time) (Fit, error) {
	t.fitMu.Lock()
	defer t.fitMu.Unlock()
	return t.refitLocked(now)
}

// fitFirst fits at now unless a fit is current by the time it may begin
// (then it returns false and no error).
func (t *Table) fitFirst(now time.Time) (Fit, bool, error) {
	t.fitMu.Lock()
	defer t.fitMu.Unlock()
	if t.CurrentFit() != nil {
		return Fit{}, false, nil
	}
	f, err := t.refitLocked(now)
	return f, err == nil, err
}

func (t *Table) refitLocked(now time.Time) (Fit, error) {
	if !t.Loaded() {
		return Fit{}, ErrLoading
	}
	start := time.Now()
	cs := t.customers(now)
	repeat := 0
	for _, c := range cs {
		if c.X > 0 {
			repeat++
		}
	}
	if repeat < t.cfg.MinCustomers {
		return Fit{}, ErrTooFew
	}
	m, _, err := clv.FitBGNBD(cs)
	if err != nil {
		return Fit{}, err
	}
	fit := Fit{BGNBD: m, At: now.UTC(), Customers: len(cs), Repeat: repeat}
	if g, _, err := clv.FitGammaGamma(cs); err == nil && g.Q > 1 {
		fit.Gamma, fit.HasGamma = g, true
	}
	took := time.Since(start)
	fit.Took, fit.TookSeconds = took.Round(time.Millisecond).String(), took.Seconds()
	t.SetFit(fit)
	if t.cfg.Store != nil {
		if err := saveFit(t.cfg.Store, fit); err != nil {
			t.cfg.Logger.Warn("cannot persist the value models", "err", err)
		}
	}
	if t.cfg.OnFit != nil {
		t.cfg.OnFit(fit)
	}
	return fit, nil
}

// SetFit makes f the current models (e.g. a fit persisted earlier).
func (t *Table) SetFit(f Fit) { t.fit.Store(&f) }

// CurrentFit returns the current models, or nil before the first fit.
func (t *Table) CurrentFit() *Fit { return t.fit.Load() }

// Run recounts every RecountInterval and refits every RefitInterval (at
// once if there is no fit yet) until ctx is canceled. While a load runs it
// does neither; it fits at once when the load is done if there is no fit.
func (t *Table) Run(ctx context.Context) {
	recount := time.NewTicker(t.cfg.RecountInterval)
	defer recount.Stop()
	refit := time.NewTicker(t.cfg.RefitInterval)
	defer refit.Stop()
	// tryFit refits, or with first only fits if there is no fit yet (one
	// given to Refit meanwhile, e.g. by hand, is kept).
	tryFit := func(first bool) {
		var f Fit
		var err error
		if first {
			var fitted bool
			if f, fitted, err = t.fitFirst(t.now()); err == nil && !fitted {
				return
			}
		} else {
			f, err = t.Refit(t.now())
		}
		if err == nil {
			t.cfg.Logger.Info("value models fitted", "customers", f.Customers, "repeat", f.Repeat, "took", f.Took,
				"r", f.BGNBD.R, "alpha", f.BGNBD.Alpha, "a", f.BGNBD.A, "b", f.BGNBD.B)
		} else if !errors.Is(err, ErrTooFew) {
			t.cfg.Logger.Warn("cannot fit value models", "err", err)
		}
	}
	// Until a first fit succeeds, try every few seconds: the population may
	// just be arriving.
	first := time.NewTicker(10 * time.Second)
	defer first.Stop()
	loadDone := t.loadDoneChan()
	if t.Loaded() {
		loadDone = nil
		tryFit(true)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-loadDone:
			loadDone = nil
			tryFit(true)
		case <-first.C:
			if !t.Loaded() {
				continue
			}
			if t.CurrentFit() == nil {
				tryFit(true)
			} else {
				first.Stop()
			}
		case <-recount.C:
			if t.Loaded() {
				t.Recount(t.now())
			}
		case <-refit.C:
			if t.Loaded() {
				tryFit(false)
			}
		}
	}
}

// RFM are a customer's scores (1-5, 5 best) and segment.
type RFM struct {
	R       int    `json:"r"`
	F       int    `json:"f"`
	M       int    `json:"m"`
	Segment string `json:"segment"`
}

// View is the value object of a profile: the user's own figures and those
// relative to the population and the fitted models (absent before a fit or
// without a purchase).
type View struct {
	features.Value
	// RFM is absent without a purchase, and while the audience is loading
	// (AudienceLoading): the scores are relative to the whole population.
	RFM                  *RFM     `json:"rfm,omitempty"`
	PAlive               *float64 `json:"p_alive"`
	ExpectedPurchases90d *float64 `json:"expected_purchases_90d"`
	ExpectedSpend        *float64 `json:"expected_spend"`
	CLV                  *float64 `json:"clv"`
	// Horizon is the expected purchases over a horizon asked for, if any.
	Horizon *Horizon `json:"expected_purchases_horizon,omitempty"`
	// AudienceLoading is true while the population is loading after a
	// restart (RFM is absent until it is loaded).
	AudienceLoading bool `json:"audience_loading,omitempty"`
}

// Horizon is the expected number of purchase days over the next Days.
type Horizon struct {
	Days      int     `json:"days"`
	Purchases float64 `json:"purchases"`
}

// View returns u's value at now; within is the "points expiring" window
// (0: the configured default).
func (t *Table) View(u *features.User, now time.Time, within time.Duration) View {
	return t.ViewHorizon(u, now, within, 0)
}

// ViewHorizon is View with, when days > 0, the expected purchases over the
// next days.
func (t *Table) ViewHorizon(u *features.User, now time.Time, within time.Duration, days int) View {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.viewLocked(u, now, within, days)
}

// viewLocked is ViewHorizon with t.mu held (read or write).
func (t *Table) viewLocked(u *features.User, now time.Time, within time.Duration, days int) View {
	num.Positive(&within, t.cfg.ExpiringWithin)
	v := View{Value: t.f.Value(u, now, within), AudienceLoading: t.loading}
	o := &u.Orders
	if o.Days == 0 {
		return v
	}
	if !t.loading {
		r, f, m := t.scores(o.Last/(24*3600*1000), o.Days, o.Monetary)
		v.RFM = &RFM{R: r, F: f, M: m, Segment: Segment(r, f, m)}
	}
	if fit := t.CurrentFit(); fit != nil {
		c := summary(o.First, o.Last, o.Days, o.RepeatSpend, float64(now.UnixMilli()/(24*3600*1000)))
		v.PAlive = finite(fit.BGNBD.PAlive(c))
		v.ExpectedPurchases90d = finite(fit.BGNBD.ExpectedPurchases(c, 90))
		if days > 0 {
			if h := finite(fit.BGNBD.ExpectedPurchases(c, float64(days))); h != nil {
				v.Horizon = &Horizon{Days: days, Purchases: *h}
			}
		}
		if fit.HasGamma {
			monthly := math.Pow(1+t.cfg.DiscountRate, 1.0/12) - 1
			v.ExpectedSpend = finite(fit.Gamma.ExpectedSpend(c))
			v.CLV = finite(clv.CLV(fit.BGNBD, fit.Gamma, c, t.cfg.CLVMonths, 30, monthly))
		}
	}
	return v
}

// finite returns x rounded to 4 decimals, or nil when it is not a number:
// a prediction the model cannot make is absent, not zero.
func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	r := round4(x)
	return &r
}

func round4(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return num.Round4(x)
}

// Counts are the users per RFM segment and per lifecycle stage.
type Counts struct {
	AsOf      time.Time        `json:"as_of"`        // the last full recount
	Users     int64            `json:"users"`        // every user with an event
	Customers int64            `json:"customers"`    // users with a purchase
	Segments  map[string]int64 `json:"rfm_segments"` // customers per RFM segment
	Lifecycle map[string]int64 `json:"lifecycle"`    // users per stage
	Recency   []float64        `json:"recency_days_quintiles"`
	Frequency []int64          `json:"frequency_quintiles"`
	Monetary  []float64        `json:"monetary_quintiles"`
	Model     *Fit             `json:"model,omitempty"`
}

// Counts returns the current counts (kept up to date by Update and Run;
// no scan of users; the quintiles are read from the histograms). While the
// table is loading (see Loaded) they count part of the population.
func (t *Table) Counts() Counts {
	now := t.now()
	t.mu.RLock()
	defer t.mu.RUnlock()
	c := Counts{AsOf: t.recountedAt.UTC(), Users: int64(len(t.users)), Customers: t.r.n,
		Segments: make(map[string]int64), Lifecycle: make(map[string]int64), Model: t.CurrentFit()}
	for i, s := range segmentNames {
		c.Segments[s] = t.segments[i]
	}
	for _, l := range features.Lifecycles() {
		c.Lifecycle[l.String()] = t.stages[l]
	}
	if t.r.n == 0 { // no customer: no quintiles
		return c
	}
	nowDay := now.UnixMilli() / (24 * 3600 * 1000)
	for _, k := range t.r.cuts(quintiles) {
		c.Recency = append(c.Recency, float64(nowDay-k))
	}
	c.Frequency = t.fr.cuts(quintiles)
	for _, k := range t.m.cuts(quintiles) {
		c.Monetary = append(c.Monetary, round4(moneyOfKey(k)))
	}
	return c
}

// Len returns the number of users in the table.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.users)
}
