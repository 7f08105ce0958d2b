package features

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
)

// User is one shopper's feature vector. Every field is updated
// incrementally, one event at a time, by Extractor.FoldUser.
type User struct {
	ID string // not part of the encoded vector: the storage key holds it

	FirstSeen int64  // Unix ms of the first event
	LastSeen  int64  // Unix ms of the latest event
	Events    uint32 // events folded (duplicates excluded)

	Categories    Scores // category affinity, AffinityHalfLife; dismiss pushes it down
	Brands        Scores // brand affinity, AffinityHalfLife
	CtxCategories Scores // category affinity by daypart and by device, HabitHalfLife
	Devices       Scores // device mix, HabitHalfLife
	Hours         Hours  // hour-of-week activity, HabitHalfLife

	Recent    []Recent // newest last, one entry per item, at most RecentMax
	Purchased []Mark   // sorted by item, at most PurchasedMax
	Dismissed []Mark   // sorted by item, at most DismissedMax

	Region string // last seen
	TZ     string // last seen IANA zone

	Price  PriceBand
	Orders Orders
	Points []PointsBucket // loyalty points by month and source, sorted
	Push   Push

	// Seen holds hashes of the latest event ids, so that an event produced
	// twice (same event_id, different offsets) is folded once.
	Seen [SeenIDs]uint64
}

// CopyInto makes dst a copy of u that shares no memory a later change of u
// writes: every slice is copied, into dst's own arrays where their
// capacity allows; strings, which never change, are shared.
func (u *User) CopyInto(dst *User) {
	cats, brands, ctx, devices := dst.Categories[:0], dst.Brands[:0], dst.CtxCategories[:0], dst.Devices[:0]
	recent, purchased, dismissed, points, pushed := dst.Recent[:0], dst.Purchased[:0], dst.Dismissed[:0], dst.Points[:0], dst.Push.Recent[:0]
	*dst = *u
	dst.Categories = append(cats, u.Categories...)
	dst.Brands = append(brands, u.Brands...)
	dst.CtxCategories = append(ctx, u.CtxCategories...)
	dst.Devices = append(devices, u.Devices...)
	dst.Recent = append(recent, u.Recent...)
	dst.Purchased = append(purchased, u.Purchased...)
	dst.Dismissed = append(dismissed, u.Dismissed...)
	dst.Points = append(points, u.Points...)
	dst.Push.Recent = append(pushed, u.Push.Recent...)
}

// SeenIDs is how many recent event ids a user remembers for de-duplication.
const SeenIDs = 16

// Recent is an item in the recent-items ring.
type Recent struct {
	Item string
	Type Type  // strongest interaction so far (view < click < add_to_cart < purchase)
	At   int64 // Unix ms of the latest interaction
}

// Mark is an item in the purchased or dismissed set.
type Mark struct {
	Item string
	At   int64  // Unix ms of the latest time
	N    uint32 // how many times
}

// Hours is a decayed hour-of-week activity histogram (0 = Sunday 00:00 local).
// All bins share one clock, so decaying the histogram is one factor.
type Hours struct {
	Bins [168]float32
	At   int64
}

// add folds one unit of activity at hour-of-week how, at time at.
func (h *Hours) add(how int, at, hl int64) {
	switch {
	case at > h.At:
		if h.At != 0 {
			f := float32(factor(at-h.At, hl))
			for i := range h.Bins {
				h.Bins[i] *= f
			}
		}
		h.At = at
		h.Bins[how]++
	default:
		h.Bins[how] += float32(factor(h.At-at, hl))
	}
}

// Decay returns the factor that decays every bin from h.At to now (Unix ms)
// with the half-life hl: 1 when now is not after h.At.
func (h *Hours) Decay(now, hl int64) float64 { return factor(max(now-h.At, 0), hl) }

// PriceBand is a decayed mean and variance of log(unit price paid).
type PriceBand struct {
	W    float64 // decayed count of purchases with a price
	Mean float64 // mean of log(price)
	M2   float64 // decayed sum of squared deviations
	At   int64
}

// add folds one paid unit price at time at (West's weighted update, with
// the past decayed by the half-life).
func (p *PriceBand) add(price float64, at, hl int64) {
	x := math.Log(price)
	f := 1.0
	if p.At != 0 && at > p.At {
		f = factor(at-p.At, hl)
	}
	w := 1.0
	if at < p.At {
		w = factor(p.At-at, hl)
	}
	p.W *= f
	p.M2 *= f
	p.W += w
	d := x - p.Mean
	p.Mean += d * w / p.W
	p.M2 += w * d * (x - p.Mean)
	if at > p.At {
		p.At = at
	}
}

// Band returns the typical price and a one-sigma band; ok is false when no
// priced purchase has been seen.
func (p PriceBand) Band() (typical, lo, hi float64, ok bool) {
	if p.W <= 0 {
		return 0, 0, 0, false
	}
	sd := 0.0
	if p.W > 0 {
		sd = math.Sqrt(math.Max(p.M2/p.W, 0))
	}
	return math.Exp(p.Mean), math.Exp(p.Mean - sd), math.Exp(p.Mean + sd), true
}

// Fit returns how well a price fits the band, in (0, 1]: 1 at the typical
// price, falling off as a Gaussian in log space. Without a band it is 0.5.
func (p PriceBand) Fit(price float64) float64 {
	if p.W <= 0 || price <= 0 {
		return 0.5
	}
	return p.FitSpread(price, p.Spread())
}

// Spread is the band's spread in log space as Fit reads it: at least
// 0.25, since a single purchase is not a precise taste. A caller fitting
// many prices to one band computes it once and calls FitSpread.
func (p PriceBand) Spread() float64 {
	return math.Max(math.Sqrt(math.Max(p.M2/p.W, 0)), 0.25)
}

// FitSpread is Fit for a band with W > 0 and a price > 0, given its Spread.
func (p PriceBand) FitSpread(price, spread float64) float64 {
	return p.FitLogSpread(math.Log(price), spread)
}

// FitLogSpread is FitSpread given the price's natural logarithm.
func (p PriceBand) FitLogSpread(lnPrice, spread float64) float64 {
	z := (lnPrice - p.Mean) / spread
	return math.Exp(-z * z / 2)
}

// Orders holds the sufficient statistics of a user's purchases for RFM and
// lifetime-value models.
//
// Purchases are grouped into purchase days (UTC calendar days): the
// transactions of the BG/NBD model. Days counts them; the spend of the first
// and of the latest day and the spend of all days after the first (the
// repeat transactions of the Gamma-Gamma model) are kept.
type Orders struct {
	First    int64   // Unix ms of the first purchase
	Last     int64   // Unix ms of the latest purchase
	Count    uint32  // purchase events
	Units    float64 // units bought
	Monetary float64 // sum of price × quantity

	Days          uint32  // distinct purchase days
	FirstDaySpend float64 // spend on the first purchase day
	LastDaySpend  float64 // spend on the latest purchase day
	RepeatSpend   float64 // spend on purchase days after the first
	ReturnedAt    int64   // Unix ms of the latest purchase that ended an at-risk silence
}

// msPerDay is the length of a purchase day.
const msPerDay = 24 * 3600 * 1000

// dayOf returns the UTC day number of a Unix ms time.
func dayOf(ms int64) int64 {
	d := ms / msPerDay
	if ms < 0 && ms%msPerDay != 0 {
		d--
	}
	return d
}

// Push holds the user's push history for frequency caps and responsiveness.
type Push struct {
	OptedOut bool
	Sent     uint32
	Opens    uint32
	LastSent int64
	LastOpen int64
	Recent   []PushSend // the latest sends, oldest first, at most PushRecentMax
	SentD    Decayed    // sends, HabitHalfLife
	OpenD    Decayed    // opens, HabitHalfLife
}

// PushSend is one push sent to the user.
type PushSend struct {
	At       int64  // Unix ms
	Campaign uint32 // hash of the campaign id (CampaignHash)
}

// PushRecentMax bounds the sends a user remembers for frequency caps.
const PushRecentMax = 16

// CampaignHash is the compact form of a campaign id kept with each send.
func CampaignHash(id string) uint32 { return uint32(xxhash.Sum64String(id)) }

// Responsiveness estimates how likely the user is to open a push: decayed
// opens over decayed sends, with one open in two sends as the prior.
func (f *Extractor) Responsiveness(p *Push, now int64) float64 {
	hl := f.p.Habit
	return min((p.OpenD.Value(now, hl)+1)/(p.SentD.Value(now, hl)+2), 1)
}

// SentWithin counts the sends in (now-d, now].
func (p *Push) SentWithin(now int64, d time.Duration) int {
	n := 0
	for _, s := range p.Recent {
		if s.At > now-d.Milliseconds() && s.At <= now {
			n++
		}
	}
	return n
}

// AddSend records a send, unless the same campaign's send is already known
// within an hour of it (the push service's push_sent event and Sticky's own
// acknowledgement of the same push).
func (p *Push) AddSend(at int64, campaign uint32) bool {
	for _, s := range p.Recent {
		if s.Campaign == campaign && abs64(s.At-at) < 3600_000 {
			return false
		}
	}
	i := len(p.Recent)
	for i > 0 && p.Recent[i-1].At > at {
		i--
	}
	p.Recent = slices.Insert(p.Recent, i, PushSend{At: at, Campaign: campaign})
	if len(p.Recent) > PushRecentMax {
		p.Recent = slices.Delete(p.Recent, 0, len(p.Recent)-PushRecentMax)
	}
	return true
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// Extractor is the feature logic under one configuration: it folds events
// into user vectors and item deltas (FoldUser, ApplyDeltas) and reads decayed
// features, value and points back. It is safe for concurrent use: it holds
// only its configuration and a time-zone cache.
type Extractor struct {
	cfg   Config
	p     params
	zones *Zones
}

// NewExtractor returns a Extractor for cfg; cfg must be valid (Config.Validate).
func NewExtractor(cfg Config) *Extractor {
	return &Extractor{cfg: cfg, p: cfg.params(), zones: NewZones()}
}

// Config returns the extractor's configuration.
func (f *Extractor) Config() *Config { return &f.cfg }

// Zones returns the extractor's time-zone cache.
func (f *Extractor) Zones() *Zones { return f.zones }

// Pop is one event's contribution to an item's popularity.
type Pop struct {
	Item    string
	Type    Type
	At      int64
	W       float32
	Region  string
	Daypart Daypart
}

// Pair says items A and B co-occurred for one user: weight W at time At.
type Pair struct {
	A, B string
	W    float32
	At   int64
}

// Deltas collects the item-statistics updates of the events folded into
// users. Reset it between batches; its slices are reused.
type Deltas struct {
	Pops  []Pop
	Pairs []Pair
}

// Reset empties d, keeping its capacity.
func (d *Deltas) Reset() { d.Pops, d.Pairs = d.Pops[:0], d.Pairs[:0] }

// SeenEvent says whether u has folded an event with this id recently, so
// FoldUser would skip it as a duplicate. An empty id is never seen.
func (u *User) SeenEvent(id string) bool {
	return id != "" && slices.Contains(u.Seen[:], xxhash.Sum64String(id)|1)
}

// FoldUser folds ev into u in place, appending the item-statistics updates
// it causes to d. item is the catalogue entry of ev.ItemID, or nil when it is
// unknown. It returns false, changing nothing, when ev repeats an event id u
// has seen recently.
func (f *Extractor) FoldUser(u *User, ev *Event, item *Item, d *Deltas) bool {
	if ev.ID != "" {
		h := xxhash.Sum64String(ev.ID) | 1 // 0 marks an empty slot
		if slices.Contains(u.Seen[:], h) {
			return false
		}
		copy(u.Seen[1:], u.Seen[:SeenIDs-1])
		u.Seen[0] = h
	}
	at := ev.Time.UnixMilli()
	if u.Events == 0 || at < u.FirstSeen {
		u.FirstSeen = at
	}
	u.LastSeen = max(u.LastSeen, at)
	u.Events++
	if ev.Context.Region != "" {
		u.Region = ev.Context.Region
	}
	// Local time: the event's zone, else the user's last seen, else UTC.
	if ev.Context.TZ != "" {
		u.TZ = ev.Context.TZ
	}
	loc, err := f.zones.Load(u.TZ)
	if err != nil {
		loc = time.UTC
	}
	local := ev.Time.In(loc)
	daypart := DaypartOf(local.Hour())
	device := strings.ToLower(ev.Context.Device)

	cfg, p := &f.cfg, &f.p
	switch ev.Type {
	case TypeImpression, TypePushSent:
		// Not the shopper's own activity: no habits.
	default:
		u.Hours.add(HourOfWeek(local), at, p.Habit)
		if device != "" {
			u.Devices.Add(device, 1, at, p.Habit, cfg.DevicesMax)
		}
	}

	var qty, price float64
	if ev.Type == TypePurchase {
		qty = ev.Quantity
		if qty == 0 {
			qty = 1
		}
		price = ev.Price
		if price == 0 && item != nil {
			price = item.Price
		}
	}
	f.earn(u, ev.Type, price*qty, at)

	switch ev.Type {
	case TypePushSent:
		// The same campaign's push twice within an hour (an ack and the
		// push service's event, say) counts once.
		if u.Push.AddSend(at, CampaignHash(ev.CampaignID)) {
			u.Push.Sent++
			u.Push.LastSent = max(u.Push.LastSent, at)
			u.Push.SentD.Add(1, at, p.Habit)
		}
		return true
	case TypePushOpen:
		u.Push.Opens++
		u.Push.LastOpen = max(u.Push.LastOpen, at)
		u.Push.OpenD.Add(1, at, p.Habit)
		return true
	case TypePushOptOut:
		u.Push.OptedOut = true
		return true
	}
	if !ev.Type.NeedsItem() {
		return true
	}

	w := p.weights[ev.Type]
	var category, brand string
	if item != nil {
		category, brand = item.Category, item.Brand
	}
	if w != 0 && category != "" {
		u.Categories.Add(category, w, at, p.Affinity, cfg.AffinityMax)
		u.CtxCategories.Add(CtxDaypartKey(daypart, category), w, at, p.Habit, cfg.CtxAffinityMax)
		if device != "" {
			u.CtxCategories.Add(CtxDeviceKey(device, category), w, at, p.Habit, cfg.CtxAffinityMax)
		}
	}
	if w != 0 && brand != "" {
		u.Brands.Add(brand, w, at, p.Affinity, cfg.AffinityMax)
	}

	if ev.Type == TypeDismiss {
		u.Dismissed = addMark(u.Dismissed, ev.ItemID, at, cfg.DismissedMax)
		return true
	}

	if w > 0 {
		d.Pops = append(d.Pops, Pop{Item: ev.ItemID, Type: ev.Type, At: at, W: w, Region: ev.Context.Region, Daypart: daypart})
		// Pair with the most recent other items acted on within the window.
		n := 0
		for i := len(u.Recent) - 1; i >= 0 && n < cfg.CoocMaxPairs; i-- {
			r := &u.Recent[i]
			if r.Item == ev.ItemID {
				continue
			}
			if at-r.At > p.win || r.At-at > p.win {
				break
			}
			pw := min(w, p.weights[r.Type])
			if pw > 0 {
				d.Pairs = append(d.Pairs, Pair{A: r.Item, B: ev.ItemID, W: pw, At: at})
			}
			n++
		}
	}
	u.Recent = addRecent(u.Recent, ev.ItemID, ev.Type, at, cfg.RecentMax)

	if ev.Type == TypePurchase {
		u.Purchased = addMark(u.Purchased, ev.ItemID, at, cfg.PurchasedMax)
		f.addOrder(&u.Orders, at, qty, price)
		if price > 0 {
			u.Price.add(price, at, p.Price)
		}
	}
	return true
}

// addOrder folds one purchase of qty units at price, at time at.
func (f *Extractor) addOrder(o *Orders, at int64, qty, price float64) {
	v := price * qty
	o.Units += qty
	o.Monetary += v
	o.Count++
	if o.Days == 0 {
		o.First, o.Last, o.Days = at, at, 1
		o.FirstDaySpend, o.LastDaySpend = v, v
		return
	}
	d, fd, ld := dayOf(at), dayOf(o.First), dayOf(o.Last)
	switch {
	case d == ld:
		o.LastDaySpend += v
		if fd == ld {
			o.FirstDaySpend += v
		} else {
			o.RepeatSpend += v
		}
	case d > ld:
		// A new purchase day. If the silence before it was long for this
		// customer, they have come back.
		if float64(d-ld) > f.cfg.AtRiskFactor*f.interPurchaseDays(o) {
			o.ReturnedAt = at
		}
		o.Days++
		o.LastDaySpend = v
		o.RepeatSpend += v
	case d == fd:
		o.FirstDaySpend += v
	case d < fd:
		// A late event before the first day: the old first day becomes a
		// repeat day.
		o.Days++
		o.RepeatSpend += o.FirstDaySpend
		o.FirstDaySpend = v
	default:
		// Between the first and the latest day: counted as another day
		// (days in between are not kept, so a day seen twice out of order
		// counts twice).
		o.Days++
		o.RepeatSpend += v
	}
	o.First = min(o.First, at)
	o.Last = max(o.Last, at)
}

// interPurchaseDays is the customer's mean time between purchase days, or
// the configured default for a customer with one purchase day.
func (f *Extractor) interPurchaseDays(o *Orders) float64 {
	if o.Days < 2 {
		return max(f.cfg.DefaultInterPurchase.Hours()/24, 1)
	}
	return max(float64(dayOf(o.Last)-dayOf(o.First))/float64(o.Days-1), 1)
}

// addRecent moves item to the newest end of the ring, keeping its strongest
// interaction type.
func addRecent(rs []Recent, item string, t Type, at int64, limit int) []Recent {
	for i := range rs {
		if rs[i].Item == item {
			r := rs[i]
			if t.Intent() > r.Type.Intent() {
				r.Type = t
			}
			r.At = max(r.At, at)
			copy(rs[i:], rs[i+1:])
			rs[len(rs)-1] = r
			return rs
		}
	}
	if len(rs) >= limit {
		rs = slices.Delete(rs, 0, len(rs)-limit+1)
	}
	return append(rs, Recent{Item: item, Type: t, At: at})
}

// addMark records item in a sorted set, dropping the oldest entry when the
// set is full.
func addMark(ms []Mark, item string, at int64, limit int) []Mark {
	i, found := slices.BinarySearchFunc(ms, item, func(m Mark, k string) int { return strings.Compare(m.Item, k) })
	if found {
		ms[i].At = max(ms[i].At, at)
		ms[i].N++
		return ms
	}
	if len(ms) >= limit {
		oldest := 0
		for j := range ms {
			if ms[j].At < ms[oldest].At {
				oldest = j
			}
		}
		ms = slices.Delete(ms, oldest, oldest+1)
		if oldest < i {
			i--
		}
	}
	return slices.Insert(ms, i, Mark{Item: item, At: at, N: 1})
}

// HasMark reports whether the sorted set holds item.
func HasMark(ms []Mark, item string) bool {
	_, found := slices.BinarySearchFunc(ms, item, func(m Mark, k string) int { return strings.Compare(m.Item, k) })
	return found
}

// HalfLives returns the configured half-lives in milliseconds.
func (f *Extractor) HalfLives() HalfLives { return f.p.HalfLives }

// Weight returns the configured weight of an event type.
func (f *Extractor) Weight(t Type) float64 {
	if t >= numTypes {
		return 0
	}
	return float64(f.p.weights[t])
}
