package clv

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// simulate draws n customers from a BG/NBD world with the given parameters,
// each observed for a whole number of days up to maxT since their first
// purchase, with Gamma-Gamma spend.
func simulate(n int, m BGNBD, g GammaGamma, maxT int, seed uint64) []Customer {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	gamma := func(shape, scale float64) float64 { // Marsaglia-Tsang
		if shape < 1 {
			return gammaDraw(rng, shape+1) * math.Pow(rng.Float64(), 1/shape) * scale
		}
		return gammaDraw(rng, shape) * scale
	}
	cs := make([]Customer, n)
	for i := range cs {
		lambda := gamma(m.R, 1/m.Alpha)
		x1, x2 := gamma(m.A, 1), gamma(m.B, 1)
		p := x1 / (x1 + x2)
		T := float64(1 + rng.IntN(maxT))
		var x, tx float64
		t := 0.0
		for {
			t += rng.ExpFloat64() / lambda
			if t > T {
				break
			}
			x, tx = x+1, math.Floor(t)
			if rng.Float64() < p {
				break // dies after this purchase
			}
		}
		c := Customer{X: x, Tx: tx, T: T}
		if x > 0 {
			nu := gamma(g.Q, 1/g.Gamma)
			var sum float64
			for k := 0; k < int(x); k++ {
				sum += gamma(g.P, 1/nu)
			}
			c.M = sum / x
		}
		cs[i] = c
	}
	return cs
}

func gammaDraw(rng *rand.Rand, shape float64) float64 {
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// TestFitRecoversSimulatedParameters: fitting customers drawn from a known
// model gives that model back.
func TestFitRecoversSimulatedParameters(t *testing.T) {
	want := BGNBD{R: 0.5, Alpha: 20, A: 0.8, B: 2.5}
	wantG := GammaGamma{P: 6, Q: 4, Gamma: 15}
	cs := simulate(60000, want, wantG, 365, 1)
	m, _, err := FitBGNBD(cs)
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := FitGammaGamma(cs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("recovered BG/NBD %+v, Gamma-Gamma %+v", m, g)
	for _, c := range []struct{ got, want, tol float64 }{
		{m.R, want.R, 0.1}, {m.Alpha, want.Alpha, 0.15}, {m.A, want.A, 0.2}, {m.B, want.B, 0.25},
		{g.P, wantG.P, 0.15}, {g.Q, wantG.Q, 0.15}, {g.Gamma, wantG.Gamma, 0.2},
	} {
		if math.Abs(c.got-c.want) > c.tol*c.want {
			t.Errorf("recovered %v, simulated with %v", c.got, c.want)
		}
	}
}

// BenchmarkFit1M fits both models on a million simulated customers
// (observed up to two years, in days), as the engine's background refit
// does.
func BenchmarkFit1M(b *testing.B) {
	cs := simulate(1_000_000, BGNBD{R: 0.5, Alpha: 20, A: 0.8, B: 2.5}, GammaGamma{P: 6, Q: 4, Gamma: 15}, 730, 2)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, _, err := FitBGNBD(cs); err != nil {
			b.Fatal(err)
		}
		bg := time.Since(start)
		if _, _, err := FitGammaGamma(cs); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(bg.Seconds(), "bgnbd-s")
		b.ReportMetric((time.Since(start) - bg).Seconds(), "gammagamma-s")
	}
}
