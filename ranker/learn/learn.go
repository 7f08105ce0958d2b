// Package learn holds an online linear model trained with FTRL-Proximal
// (McMahan et al., "Ad Click Prediction: a View from the Trenches", KDD
// 2013) over dense feature vectors of a fixed dimension: a logistic
// regression (Update), or steps on the gradient of any other loss
// (UpdateGradient; the ranker's softmax over candidates).
//
// A Learner is one writer's state (the per-coordinate z and n); Snapshot is
// an immutable weight set merged from several learners for readers. The
// score of an example is prior·x + w·x, where prior is a fixed weight
// vector (hand-set, the cold-start behaviour) and w the learned part, which
// starts at zero.
//
// The package does no I/O and knows nothing of features or ranking.
package learn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Params are FTRL-Proximal's hyper-parameters.
type Params struct {
	Alpha float64 // learning rate scale. Default 0.3.
	Beta  float64 // learning rate smoothing. Default 1.
	L1    float64 // L1 regularisation. Default 0.001.
	L2    float64 // L2 regularisation. Default 0.01.
}

// DefaultParams returns the documented defaults.
func DefaultParams() Params { return Params{Alpha: 0.3, Beta: 1, L1: 0.001, L2: 0.01} }

// Learner is the FTRL-Proximal state of one writer. It is not safe for
// concurrent use.
type Learner struct {
	p        Params
	z, n     []float64
	examples float64 // sum of example weights seen
}

// New returns a learner of dim coordinates, all weights zero.
func New(dim int, p Params) *Learner {
	return &Learner{p: p, z: make([]float64, dim), n: make([]float64, dim)}
}

// Dim returns the number of coordinates.
func (l *Learner) Dim() int { return len(l.z) }

// Examples returns the sum of the weights of the examples learned.
func (l *Learner) Examples() float64 { return l.examples }

// weight returns coordinate i's weight, FTRL's closed form.
func (l *Learner) weight(i int) float64 {
	z := l.z[i]
	if math.Abs(z) <= l.p.L1 {
		return 0
	}
	s := 1.0
	if z < 0 {
		s = -1
	}
	return -(z - s*l.p.L1) / ((l.p.Beta+math.Sqrt(l.n[i]))/l.p.Alpha + l.p.L2)
}

// Weights appends the current weights to dst.
func (l *Learner) Weights(dst []float64) []float64 {
	for i := range l.z {
		dst = append(dst, l.weight(i))
	}
	return dst
}

// Update learns one example: features x, label y (0 or 1), example weight
// wt, and prior, the fixed part of its margin (prior·x).
func (l *Learner) Update(x []float64, prior, y, wt float64) {
	if len(x) != len(l.z) {
		panic(fmt.Sprintf("BUG: learn: example of %d features for a learner of %d", len(x), len(l.z)))
	}
	margin := prior
	for i, v := range x {
		if v != 0 {
			margin += l.weight(i) * v
		}
	}
	g := (Sigmoid(margin) - y) * wt
	for i, v := range x {
		l.step(i, g*v)
	}
	l.examples += wt
}

// UpdateGradient learns one example of weight wt from g, the gradient of
// its loss with respect to the weights (for a softmax over candidates:
// the candidates' features averaged by their probabilities, minus the
// chosen one's).
func (l *Learner) UpdateGradient(g []float64, wt float64) {
	if len(g) != len(l.z) {
		panic(fmt.Sprintf("BUG: learn: gradient of %d coordinates for a learner of %d", len(g), len(l.z)))
	}
	for i, v := range g {
		l.step(i, v*wt)
	}
	l.examples += wt
}

// step is FTRL-Proximal's update of coordinate i with gradient g.
func (l *Learner) step(i int, g float64) {
	if g == 0 {
		return
	}
	sigma := (math.Sqrt(l.n[i]+g*g) - math.Sqrt(l.n[i])) / l.p.Alpha
	l.z[i] += g - sigma*l.weight(i)
	l.n[i] += g * g
}

// Sigmoid is the logistic function.
func Sigmoid(m float64) float64 {
	m = math.Max(-35, math.Min(35, m))
	return 1 / (1 + math.Exp(-m))
}

// Snapshot is an immutable weight set for readers.
type Snapshot struct {
	W        []float64 // learned weights
	Examples float64   // weight of the examples behind them
}

// Merge returns the example-weighted average of the learners' weights;
// learners of another dimension than dim are skipped. With no examples the
// weights are zero.
func Merge(dim int, ls ...*Learner) *Snapshot {
	s := &Snapshot{W: make([]float64, dim)}
	var w []float64
	for _, l := range ls {
		if l == nil || l.Dim() != dim || l.examples <= 0 {
			continue
		}
		w = l.Weights(w[:0])
		for i, v := range w {
			s.W[i] += l.examples * v
		}
		s.Examples += l.examples
	}
	if s.Examples > 0 {
		for i := range s.W {
			s.W[i] /= s.Examples
		}
	}
	return s
}

// Dot returns w·x.
func Dot(w, x []float64) float64 {
	var m float64
	for i, v := range x {
		m += w[i] * v
	}
	return m
}

// encoding: version 1, dim uvarint, examples float64, then z and n as
// float64 little endian; the parameters are configuration, not state.
const version = 1

// ErrCorrupt reports an encoded learner that does not decode.
var ErrCorrupt = errors.New("learn: corrupt learner encoding")

// AppendBinary appends l's compact encoding to dst.
func (l *Learner) AppendBinary(dst []byte) []byte {
	dst = append(dst, version)
	dst = binary.AppendUvarint(dst, uint64(len(l.z)))
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(l.examples))
	for i := range l.z {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(l.z[i]))
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(l.n[i]))
	}
	return dst
}

// Decode returns the learner encoded in b, with parameters p.
func Decode(b []byte, p Params) (*Learner, error) {
	if len(b) < 1 || b[0] != version {
		return nil, fmt.Errorf("unknown version: %w", ErrCorrupt)
	}
	dim, k := binary.Uvarint(b[1:])
	if k <= 0 || dim > 1<<16 || k != len(binary.AppendUvarint(nil, dim)) {
		return nil, fmt.Errorf("bad dimension: %w", ErrCorrupt)
	}
	b = b[1+k:]
	if uint64(len(b)) != 8+16*dim {
		return nil, fmt.Errorf("%d bytes for dimension %d: %w", len(b), dim, ErrCorrupt)
	}
	f := func() float64 {
		v := math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
		return v
	}
	l := New(int(dim), p)
	l.examples = f()
	for i := range l.z {
		l.z[i], l.n[i] = f(), f()
	}
	for _, v := range append(append([]float64{l.examples}, l.z...), l.n...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("non-finite value: %w", ErrCorrupt)
		}
	}
	if l.examples < 0 {
		return nil, fmt.Errorf("negative examples: %w", ErrCorrupt)
	}
	return l, nil
}
