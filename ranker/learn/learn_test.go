package learn

import (
	"bytes"
	"math"
	"testing"
)

func TestLearnsSeparable(t *testing.T) {
	l := New(3, DefaultParams())
	for i := range 4000 {
		// feature 1 predicts the label, feature 2 is noise; 0 is the bias.
		y := float64(i % 2)
		noise := float64((i / 2) % 2)
		l.Update([]float64{1, y, noise}, 0, y, 1)
	}
	w := l.Weights(nil)
	if w[1] <= 1 || math.Abs(w[2]) >= w[1]/4 {
		t.Fatalf("weights %v: want a large weight on feature 1, a small one on 2", w)
	}
	if p := Sigmoid(Dot(w, []float64{1, 1, 0})); p < 0.8 {
		t.Fatalf("p(y=1 | x1=1) = %v", p)
	}
}

// TestUpdateGradient: a step on the logistic loss's gradient is Update,
// and steps on a softmax's gradient learn which feature marks the choice.
func TestUpdateGradient(t *testing.T) {
	a, b := New(2, DefaultParams()), New(2, DefaultParams())
	x := []float64{1, 0.5}
	for range 50 {
		a.Update(x, 0.2, 1, 0.5)
		g := Sigmoid(0.2+Dot(b.Weights(nil), x)) - 1
		b.UpdateGradient([]float64{g * x[0], g * x[1]}, 0.5)
	}
	wa, wb := a.Weights(nil), b.Weights(nil)
	for i := range wa {
		if math.Abs(wa[i]-wb[i]) > 1e-12 || wa[i] == 0 || a.Examples() != b.Examples() {
			t.Fatalf("UpdateGradient with the logistic gradient differs from Update: %v vs %v", wa, wb)
		}
	}
	// Three candidates, [marked, noise]: the chosen one is marked.
	l := New(2, DefaultParams())
	for i := range 2000 {
		cands := [][]float64{{1, float64(i % 2)}, {0, float64(i / 2 % 2)}, {0, 1}}
		w := l.Weights(nil)
		var sum float64
		p := make([]float64, len(cands))
		for j, c := range cands {
			p[j] = math.Exp(Dot(w, c))
			sum += p[j]
		}
		g := make([]float64, 2)
		for j, c := range cands {
			pj := p[j] / sum
			if j == 0 {
				pj--
			}
			for f, v := range c {
				g[f] += pj * v
			}
		}
		l.UpdateGradient(g, 1)
	}
	if w := l.Weights(nil); w[0] < 1 || math.Abs(w[1]) > w[0]/4 {
		t.Fatalf("weights %v: want a large weight on the mark, a small one on the noise", w)
	}
}

func TestRoundTrip(t *testing.T) {
	l := New(4, DefaultParams())
	l.Update([]float64{1, 0.5, 0, 0.2}, 0.3, 1, 1)
	l.Update([]float64{1, 0, 1, 0}, -0.1, 0, 0.5)
	b := l.AppendBinary(nil)
	m, err := Decode(b, DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.AppendBinary(nil), b) || m.Examples() != 1.5 {
		t.Fatalf("round trip differs")
	}
	for _, bad := range [][]byte{nil, {2}, b[:len(b)-1], append(append([]byte(nil), b...), 0)} {
		if _, err := Decode(bad, DefaultParams()); err == nil {
			t.Fatalf("Decode(%x) succeeded", bad)
		}
	}
}

func TestMergeWeighted(t *testing.T) {
	a, b := New(2, DefaultParams()), New(2, DefaultParams())
	for range 100 {
		a.Update([]float64{1, 1}, 0, 1, 1)
	}
	s := Merge(2, a, b, nil, New(3, DefaultParams()))
	wa := a.Weights(nil)
	if s.Examples != 100 || s.W[0] != wa[0] || s.W[1] != wa[1] {
		t.Fatalf("merge of one trained share = %+v, want its weights %v", s, wa)
	}
}

func FuzzDecode(f *testing.F) {
	l := New(2, DefaultParams())
	l.Update([]float64{1, 1}, 0, 1, 1)
	f.Add(l.AppendBinary(nil))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b, DefaultParams())
		if err != nil {
			return
		}
		if !bytes.Equal(m.AppendBinary(nil), b) {
			t.Fatalf("re-encoding differs")
		}
	})
}
