package ranker

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/learn"
)

// Model is the ranker's learned scoring. Each partition worker trains its
// own Share as it folds events (Share.Train, before each event is folded
// into its user); a committed share is handed back with Publish, and
// requests read an immutable merged weight set (the example-weighted
// average of the shares' weights plus the prior) through an atomic
// pointer: no lock on the request path.
type Model struct {
	r     *Ranker
	cfg   ModelConfig
	prior [numFeatures]float64
	drop  []int

	snap atomic.Pointer[modelSnapshot]

	mu     sync.Mutex // serialises Publish
	shares map[int32]*learn.Learner

	budget budget // ModelConfig.TrainBudget
}

// budget is a token bucket of CPU time for training, refilled at a share
// of one core of wall time, holding at most a tenth of a second.
type budget struct {
	mu     sync.Mutex
	tokens time.Duration
	at     time.Time
}

// take says whether the budget is not in debt, refilling it first.
func (b *budget) take(rate float64) bool {
	if rate < 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.at.IsZero() {
		b.at = now
	}
	b.tokens = min(b.tokens+time.Duration(float64(now.Sub(b.at))*rate), 100*time.Millisecond)
	b.at = now
	return b.tokens >= 0 // not in debt
}

// spend takes d off the budget.
func (b *budget) spend(d time.Duration) {
	b.mu.Lock()
	b.tokens -= d
	b.mu.Unlock()
}

// modelSnapshot is the weight set requests read: prior + learned.
type modelSnapshot struct {
	w        [numFeatures]float64
	learned  [numFeatures]float64
	examples float64
}

func newModel(r *Ranker) *Model {
	m := &Model{r: r, cfg: r.cfg.Model, prior: r.cfg.Weights.prior(), shares: make(map[int32]*learn.Learner)}
	for _, name := range m.cfg.Drop {
		if i := slices.Index(FeatureNames[:], name); i >= 0 {
			m.drop = append(m.drop, i)
		}
	}
	m.snap.Store(&modelSnapshot{w: m.prior})
	return m
}

// Model returns the ranker's model.
func (r *Ranker) Model() *Model { return r.model }

func (m *Model) weights() *[numFeatures]float64 { return &m.snap.Load().w }

// ModelStats describe the weights requests read.
type ModelStats struct {
	Examples float64            // weight of the examples learned, all shares
	Shares   int                // partition shares merged
	Learned  map[string]float64 // learned weight by feature
	Prior    map[string]float64 // prior weight by feature
}

// Stats returns a snapshot of the model.
func (m *Model) Stats() ModelStats {
	s := m.snap.Load()
	m.mu.Lock()
	n := len(m.shares)
	m.mu.Unlock()
	st := ModelStats{Examples: s.examples, Shares: n, Learned: map[string]float64{}, Prior: map[string]float64{}}
	for i, name := range FeatureNames {
		st.Learned[name], st.Prior[name] = s.learned[i], m.prior[i]
	}
	return st
}

// Share is one partition's part of the model: a learner that only its
// partition worker writes. It is not safe for concurrent use.
type Share struct {
	m        *Model
	l        *learn.Learner
	sample   uint64 // train on one positive event in sample; see Batch
	budgeted bool   // the engine's worker sizes its batches: TrainBudget applies
	steps    uint64 // learning steps taken since decoded
}

// Steps returns the learning steps the share took since it was decoded:
// unchanged, it is what it was.
func (sh *Share) Steps() uint64 { return sh.steps }

// NewShare decodes a share stored by AppendBinary; data nil or empty is
// a fresh share that has learned nothing.
func (m *Model) NewShare(data []byte) (*Share, error) {
	if len(data) == 0 {
		return &Share{m: m, l: learn.New(numFeatures, m.cfg.Params)}, nil
	}
	l, err := learn.Decode(data, m.cfg.Params)
	if err != nil {
		return nil, fmt.Errorf("cannot decode model share: %w", err)
	}
	if l.Dim() != numFeatures {
		// A share of another feature set: start afresh rather than
		// misread its coordinates.
		l = learn.New(numFeatures, m.cfg.Params)
	}
	return &Share{m: m, l: l}, nil
}

// Batch tells the share the size of the batch it is about to train on:
// in a backlog batch (ModelConfig.BacklogBatch) it trains on one positive
// event in BacklogSample, besides Sample, and from then on TrainBudget
// bounds its training. The stream's worker calls it.
func (sh *Share) Batch(n int) {
	sh.budgeted = true
	sh.sample = uint64(sh.m.cfg.Sample)
	if n >= sh.m.cfg.BacklogBatch {
		sh.sample *= uint64(sh.m.cfg.BacklogSample)
	}
}

// AppendBinary appends the share's encoding to dst.
func (sh *Share) AppendBinary(dst []byte) []byte { return sh.l.AppendBinary(dst) }

// Examples returns the weight of the examples the share learned.
func (sh *Share) Examples() float64 { return sh.l.Examples() }

// Publish makes data (a share's encoding) the committed share of a
// partition and rebuilds the merged weights requests read.
func (m *Model) Publish(partition int32, data []byte) error {
	sh, err := m.NewShare(data)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.shares[partition] = sh.l
	ls := make([]*learn.Learner, 0, len(m.shares))
	for _, l := range m.shares {
		ls = append(ls, l)
	}
	merged := learn.Merge(numFeatures, ls...)
	s := &modelSnapshot{examples: merged.Examples}
	// Warm-up: the learned part counts in proportion to the examples
	// behind it until Warmup, so that a model that has seen little does
	// not undo the prior with noise.
	ramp := min(merged.Examples/m.cfg.Warmup, 1)
	for i := range s.w {
		s.learned[i] = merged.W[i]
		s.w[i] = m.prior[i] + ramp*merged.W[i]
	}
	m.snap.Store(s)
	return nil
}

// Train learns from ev, which is about to be folded into u: call it before
// FoldUser, with u as it stands. A positive event (purchase, add to cart,
// click on an item) is a choice of its item among the candidates the
// ranker would have offered (learnChoice); an impression is label-0
// examples (logistic loss) for the items shown, at most Negatives. The
// candidates and features are the ranker's own (gather, featureVector) in
// the event's context, read from the index as it stands:
// a replay after a crash may see slightly different item statistics, but
// trains each event once. Train changes neither u nor the index; an event
// u has already seen (a duplicate FoldUser will skip) is not learned.
func (sh *Share) Train(u *features.User, ev *features.Event) {
	m := sh.m
	if m.cfg.Frozen || u.SeenEvent(ev.ID) {
		return
	}
	var wt float64
	switch ev.Type {
	case features.TypePurchase:
		wt = m.cfg.Purchase
	case features.TypeAddToCart:
		wt = m.cfg.Cart
	case features.TypeClick:
		wt = m.cfg.Click
	case features.TypeImpression:
		wt = m.cfg.Impression
	}
	if wt <= 0 {
		return
	}
	h := xxhash.Sum64String(ev.ID)
	if ev.ID == "" {
		h = xxhash.Sum64String(ev.UserID + "\x00" + ev.ItemID + "\x00" + ev.Time.Format(time.RFC3339Nano))
	}
	sample := sh.sample
	if sample == 0 {
		sample = uint64(m.cfg.Sample)
	}
	if sample > 1 && h%sample != 0 {
		return
	}
	if ev.Type != features.TypeImpression && ev.ItemID == "" {
		return
	}
	if sh.budgeted {
		if !m.budget.take(m.cfg.TrainBudget) {
			return
		}
		start := time.Now()
		defer func() { m.budget.spend(time.Since(start)) }()
	}
	s := m.r.getScorer()
	defer m.r.putScorer(s)
	s.reset(u, ev.Time, ev.Context.TZ, ev.Context.Region, ev.Context.Device)
	s.gather("", m.r.cfg.DefaultK)
	if ev.Type == features.TypeImpression {
		// The items shown, with the co-occurrence the candidates carry
		// (an item that is no candidate now has none).
		list := make([]*candidate, 0, min(len(ev.Items), m.cfg.Negatives))
		for _, id := range ev.Items {
			if len(list) == m.cfg.Negatives {
				break
			}
			c := s.find(id)
			if c == nil {
				c = s.newCandidate(id, m.r.cat.Get(id))
			}
			list = append(list, c)
		}
		for _, c := range s.list {
			s.maxCooc = max(s.maxCooc, c.cooc)
		}
		if len(list) > 0 {
			s.signals(list)
		}
		sh.learn(s, list, 0, wt)
		return
	}
	// The model ranks candidates: an item outside the pool could not have
	// been shown, and learning it would only teach that every feature
	// predicts nothing.
	pos := s.find(ev.ItemID)
	if pos == nil {
		return
	}
	s.signals(s.list)
	sh.learnChoice(s, pos, s.list, wt)
}

// learnChoice learns that the user chose pos among the candidates list
// (which holds it; their signals read): one step on the gradient of the
// softmax cross-entropy of the choice, the listwise loss of a ranker.
//
// Its gradient is the chosen item's features minus the candidates'
// features averaged by the probabilities the model gives them, so the
// candidates the model wrongly ranks high weigh most, in proportion to
// how wrong it is. Training on a few sampled label-0 candidates instead
// (pointwise logistic loss, as before) let the model pick its own
// negatives: those it ranked highest. Whatever feature it weighed up
// filled its negatives, and was weighed down again, so every learned
// weight settled near minus its prior and the score near a constant
// (docs/design.md, "Ranking").
func (sh *Share) learnChoice(s *scorer, pos *candidate, list []*candidate, wt float64) {
	var w [numFeatures]float64
	sh.l.Weights(w[:0]) // fills w: its capacity is the learner's dimension
	for i := range w {
		w[i] += sh.m.prior[i]
	}
	mx := math.Inf(-1)
	for _, c := range list {
		s.featureVector(c)
		c.score = learn.Dot(w[:], c.f[:])
		mx = max(mx, c.score)
	}
	var sum float64
	for _, c := range list {
		c.score = math.Exp(c.score - mx)
		sum += c.score
	}
	var g [numFeatures]float64
	for _, c := range list {
		p := c.score / sum
		if c == pos {
			p--
		}
		for i, v := range c.f {
			g[i] += p * v
		}
	}
	sh.l.UpdateGradient(g[:], wt)
	sh.steps++
}

// learn computes the features of list, whose signals are read, and learns
// them with label y.
func (sh *Share) learn(s *scorer, list []*candidate, y, wt float64) {
	prior := sh.m.prior[:]
	for _, c := range list {
		s.featureVector(c)
		sh.l.Update(c.f[:], learn.Dot(prior, c.f[:]), y, wt)
		sh.steps++
	}
}
