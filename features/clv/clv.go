// Package clv holds the customer-base models of Fader, Hardie and Lee:
// BG/NBD ("Counting Your Customers the Easy Way", Marketing Science 2005)
// for the number of future transactions and the probability that a
// customer is still alive, and Gamma-Gamma ("RFM and CLV: Using Iso-Value
// Curves for Customer Base Analysis", JMR 2005) for the value of a
// transaction; their maximum-likelihood fits over a population, and
// customer lifetime value from the two.
//
// A customer is summarised as in the papers: x repeat transactions, t_x the
// time of the last one and T the time since the first, both from the first
// transaction, in any one unit of time (the fitted α is in that unit), and
// m the mean value of the repeat transactions.
//
// The package is pure: no clock, no I/O, no goroutines.
package clv

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/optimize"
)

// Customer is the summary of one customer's purchases.
type Customer struct {
	X  float64 // repeat transactions
	Tx float64 // time of the last transaction, from the first
	T  float64 // time since the first transaction
	M  float64 // mean value of the repeat transactions (Gamma-Gamma; 0 if X == 0)
}

// BGNBD holds the parameters of the BG/NBD model: transactions while alive
// follow a Poisson process whose rate is Gamma(r, α) across customers; after
// each transaction a customer dies with a probability that is Beta(a, b)
// across customers.
type BGNBD struct {
	R, Alpha, A, B float64
}

// GammaGamma holds the parameters of the Gamma-Gamma spend model.
type GammaGamma struct {
	P, Q, Gamma float64
}

// lbeta is ln B(a, b).
func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

func lgamma(x float64) float64 { v, _ := math.Lgamma(x); return v }

// LogLikelihood returns the BG/NBD log-likelihood of one customer.
func (m BGNBD) LogLikelihood(c Customer) float64 {
	ll, _ := m.llGrad(c, 1, nil, false)
	return ll
}

// PAlive returns the probability that the customer is still alive at T.
func (m BGNBD) PAlive(c Customer) float64 {
	if c.X <= 0 {
		return 1
	}
	lr := (m.R+c.X)*(math.Log(m.Alpha+c.T)-math.Log(m.Alpha+c.Tx)) + math.Log(m.A) - math.Log(m.B+c.X-1)
	return 1 / (1 + math.Exp(lr))
}

// ExpectedPurchases returns the expected number of transactions in the next
// t units of time (equation 10 of the paper).
func (m BGNBD) ExpectedPurchases(c Customer, t float64) float64 {
	if t <= 0 {
		return 0
	}
	r, a, b, x := m.R, m.A, m.B, c.X
	if math.Abs(a-1) < 1e-6 {
		// The formula divides by a−1; its limit at a = 1 is continuous, so
		// step just off the singular point.
		a = 1 + 1e-6
	}
	aT := m.Alpha + c.T
	z := t / (aT + t)
	hyp := mathext.Hypergeo(r+x, b+x, a+b+x-1, z)
	num := (a + b + x - 1) / (a - 1) * (1 - math.Exp((r+x)*math.Log(aT/(aT+t)))*hyp)
	den := 1.0
	if x > 0 {
		den += a / (b + x - 1) * math.Exp((r+x)*(math.Log(aT)-math.Log(m.Alpha+c.Tx)))
	}
	return num / den
}

// ExpectedPurchasesNew returns the expected transactions of a new customer
// in a period of length t (equation 9).
func (m BGNBD) ExpectedPurchasesNew(t float64) float64 {
	r, a, b := m.R, m.A, m.B
	if math.Abs(a-1) < 1e-6 {
		a = 1 + 1e-6
	}
	z := t / (m.Alpha + t)
	return (a + b - 1) / (a - 1) * (1 - math.Pow(m.Alpha/(m.Alpha+t), r)*mathext.Hypergeo(r, b, a+b-1, z))
}

// ExpectedSpend returns the expected value of a customer's transactions
// given their repeat transactions: a weighted mean of the population mean
// and the customer's own mean.
func (g GammaGamma) ExpectedSpend(c Customer) float64 {
	if c.X <= 0 {
		return g.PopulationMean()
	}
	return g.P * (g.Gamma + c.X*c.M) / (g.P*c.X + g.Q - 1)
}

// PopulationMean is the mean transaction value across customers.
func (g GammaGamma) PopulationMean() float64 {
	if g.Q <= 1 {
		return math.NaN()
	}
	return g.P * g.Gamma / (g.Q - 1)
}

// LogLikelihood returns the Gamma-Gamma log-likelihood of one repeat
// customer's mean spend (c.X > 0, c.M > 0).
func (g GammaGamma) LogLikelihood(c Customer) float64 {
	px := g.P * c.X
	return lgamma(px+g.Q) - lgamma(px) - lgamma(g.Q) + g.Q*math.Log(g.Gamma) +
		(px-1)*math.Log(c.M) + px*math.Log(c.X) - (px+g.Q)*math.Log(g.Gamma+c.M*c.X)
}

// CLV is the discounted value of a customer's expected transactions over
// horizon periods of length period (in the model's unit of time), each
// discounted at rate per period: Σ (E[X(i·period)] − E[X((i−1)·period)]) ·
// E[spend] / (1+rate)^i.
func CLV(m BGNBD, g GammaGamma, c Customer, periods int, period, rate float64) float64 {
	spend := g.ExpectedSpend(c)
	total, prev := 0.0, 0.0
	for i := 1; i <= periods; i++ {
		cum := m.ExpectedPurchases(c, float64(i)*period)
		total += (cum - prev) * spend / math.Pow(1+rate, float64(i))
		prev = cum
	}
	return total
}

// weighted is a distinct customer summary and how many customers share it.
type weighted struct {
	Customer
	n float64
}

// compress merges identical summaries.
func compress(cs []Customer, keep func(Customer) bool) []weighted {
	m := make(map[Customer]float64, len(cs))
	for _, c := range cs {
		if keep(c) {
			m[c]++
		}
	}
	out := make([]weighted, 0, len(m))
	for c, n := range m {
		out = append(out, weighted{c, n})
	}
	// A fixed order: sums in floating point depend on it.
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Customer, out[j].Customer
		if a.X != b.X {
			return a.X < b.X
		}
		if a.Tx != b.Tx {
			return a.Tx < b.Tx
		}
		if a.T != b.T {
			return a.T < b.T
		}
		return a.M < b.M
	})
	return out
}

// llGrad returns n times the log-likelihood of c and, if grad is true, adds
// n times its gradient with respect to (r, α, a, b) to g.
func (m BGNBD) llGrad(c Customer, n float64, g []float64, grad bool) (float64, bool) {
	r, al, a, b, x := m.R, m.Alpha, m.A, m.B, c.X
	lT := math.Log(al + c.T)
	u1 := lbeta(a, b+x) - (r+x)*lT
	s := u1
	w1, w2 := 1.0, 0.0
	var ltx, u2 float64
	if x > 0 {
		ltx = math.Log(al + c.Tx)
		u2 = lbeta(a+1, b+x-1) - (r+x)*ltx
		mx := math.Max(u1, u2)
		s = mx + math.Log(math.Exp(u1-mx)+math.Exp(u2-mx))
		w1, w2 = math.Exp(u1-s), math.Exp(u2-s)
	}
	ll := lgamma(r+x) - lgamma(r) + r*math.Log(al) - lbeta(a, b) + s
	if !grad {
		return n * ll, true
	}
	ps := mathext.Digamma
	dr := ps(r+x) - ps(r) + math.Log(al) - w1*lT
	dal := r/al - w1*(r+x)/(al+c.T)
	da := -(ps(a) - ps(a+b)) + w1*(ps(a)-ps(a+b+x))
	db := -(ps(b) - ps(a+b)) + w1*(ps(b+x)-ps(a+b+x))
	if x > 0 {
		dr -= w2 * ltx
		dal -= w2 * (r + x) / (al + c.Tx)
		da += w2 * (ps(a+1) - ps(a+b+x))
		db += w2 * (ps(b+x-1) - ps(a+b+x))
	}
	g[0] += n * dr
	g[1] += n * dal
	g[2] += n * da
	g[3] += n * db
	return n * ll, true
}

// bgData is a population prepared for the BG/NBD likelihood: distinct
// summaries sorted by x, and the distinct values of t_x and T, so that
// ln(α+t) is computed once per value rather than once per customer.
type bgData struct {
	ws      []weighted
	vals    []float64 // distinct t_x and T values
	iT, iTx []int32   // per summary, index into vals
	lv, iv  []float64 // scratch: ln(α+v), 1/(α+v)
}

func newBGData(ws []weighted) *bgData {
	idx := map[float64]int32{}
	d := &bgData{ws: ws, iT: make([]int32, len(ws)), iTx: make([]int32, len(ws))}
	at := func(v float64) int32 {
		i, ok := idx[v]
		if !ok {
			i = int32(len(d.vals))
			idx[v] = i
			d.vals = append(d.vals, v)
		}
		return i
	}
	for k, w := range ws {
		d.iT[k], d.iTx[k] = at(w.T), at(w.Tx)
	}
	d.lv, d.iv = make([]float64, len(d.vals)), make([]float64, len(d.vals))
	return d
}

// bgnbdTotal returns the weighted log-likelihood of the population and, if
// g is not nil, adds its gradient with respect to (r, α, a, b) to g. The
// terms that depend only on x (log-gamma, log-beta and digamma values) are
// computed once per distinct x, ln(α+t) once per distinct t, and the rest
// per distinct (x, t_x, T).
func (m BGNBD) bgnbdTotal(d *bgData, g []float64) float64 {
	ws := d.ws
	r, al, a, b := m.R, m.Alpha, m.A, m.B
	for k, v := range d.vals {
		d.lv[k], d.iv[k] = math.Log(al+v), 1/(al+v)
	}
	ps := mathext.Digamma
	lal := math.Log(al)
	base := -lgamma(r) + r*lal - lbeta(a, b)
	var psR, psAB, psA, psB, psA1 float64
	if g != nil {
		psR, psAB, psA, psB, psA1 = ps(r), ps(a+b), ps(a), ps(b), ps(a+1)
	}
	var ll float64
	for i := 0; i < len(ws); {
		x := ws[i].X
		j := i
		for j < len(ws) && ws[j].X == x {
			j++
		}
		// Per x.
		c0 := lgamma(r+x) + base
		lb1 := lbeta(a, b+x)
		var lb2 float64
		if x > 0 {
			lb2 = lbeta(a+1, b+x-1)
		}
		var dRx, dA1, dB1, dA2, dB2 float64
		if g != nil {
			psABx := ps(a + b + x)
			dRx = ps(r+x) - psR + lal
			dA1, dB1 = psA-psABx, ps(b+x)-psABx
			if x > 0 {
				dA2, dB2 = psA1-psABx, ps(b+x-1)-psABx
			}
		}
		var sdr, sdal, sda, sdb, sn float64
		for k := i; k < j; k++ {
			w := &ws[k]
			lT := d.lv[d.iT[k]]
			u1 := lb1 - (r+x)*lT
			s, w1, w2 := u1, 1.0, 0.0
			var ltx float64
			if x > 0 {
				ltx = d.lv[d.iTx[k]]
				// ln(e^u1 + e^u2) with one exp and one log.
				u2 := lb2 - (r+x)*ltx
				if u1 >= u2 {
					e := math.Exp(u2 - u1)
					s, w1 = u1+math.Log1p(e), 1/(1+e)
				} else {
					e := math.Exp(u1 - u2)
					s, w1 = u2+math.Log1p(e), e/(1+e)
				}
				w2 = 1 - w1
			}
			ll += w.n * (c0 + s)
			if g != nil {
				sn += w.n
				sdr -= w.n * (w1*lT + w2*ltx)
				sdal -= w.n * (r + x) * (w1*d.iv[d.iT[k]] + w2*d.iv[d.iTx[k]])
				sda += w.n * (w1*dA1 + w2*dA2)
				sdb += w.n * (w1*dB1 + w2*dB2)
			}
		}
		if g != nil {
			g[0] += sn*dRx + sdr
			g[1] += sn*r/al + sdal
			g[2] += -sn*(psA-psAB) + sda
			g[3] += -sn*(psB-psAB) + sdb
		}
		i = j
	}
	return ll
}

// FitBGNBD returns the maximum-likelihood BG/NBD parameters for cs.
// Customers with T <= 0 carry no information and are skipped.
func FitBGNBD(cs []Customer) (BGNBD, float64, error) {
	ws := compress(cs, func(c Customer) bool { return c.T > 0 && c.X >= 0 && c.Tx >= 0 && c.Tx <= c.T })
	if len(ws) == 0 {
		return BGNBD{}, 0, ErrNoData
	}
	var total float64
	for _, w := range ws {
		total += w.n
	}
	at := func(th []float64) BGNBD {
		return BGNBD{R: math.Exp(th[0]), Alpha: math.Exp(th[1]), A: math.Exp(th[2]), B: math.Exp(th[3])}
	}
	data := newBGData(ws)
	// Objective: mean negative log-likelihood over log-parameters.
	p := optimize.Problem{
		Func: func(th []float64) float64 {
			ll := at(th).bgnbdTotal(data, nil)
			if math.IsNaN(ll) {
				return math.Inf(1)
			}
			return -ll / total
		},
		Grad: func(grad, th []float64) {
			m := at(th)
			g := make([]float64, 4)
			m.bgnbdTotal(data, g)
			par := []float64{m.R, m.Alpha, m.A, m.B}
			for i := range grad {
				grad[i] = -g[i] * par[i] / total // chain rule through exp
			}
		},
	}
	// Start from the population's mean rate: α ≈ r·(mean T)/(mean x + 1).
	var sx, sT float64
	for _, w := range ws {
		sx += w.n * w.X
		sT += w.n * w.T
	}
	init := []float64{0, math.Log(math.Max(sT/(sx+total), 1e-3)), 0, 0}
	res, err := optimize.Minimize(p, init, &optimize.Settings{GradientThreshold: 1e-7}, &optimize.BFGS{})
	if err != nil && res == nil {
		return BGNBD{}, 0, fmt.Errorf("cannot fit BG/NBD: %w", err)
	}
	m := at(res.X)
	if invalid(m.R, m.Alpha, m.A, m.B) {
		return BGNBD{}, 0, fmt.Errorf("cannot fit BG/NBD: no finite optimum (%+v)", m)
	}
	return m, -res.F * total, nil
}

// FitGammaGamma returns the maximum-likelihood Gamma-Gamma parameters for
// the customers of cs with repeat transactions (X > 0, M > 0).
func FitGammaGamma(cs []Customer) (GammaGamma, float64, error) {
	ws := compress(cs, func(c Customer) bool { return c.X > 0 && c.M > 0 })
	if len(ws) == 0 {
		return GammaGamma{}, 0, ErrNoData
	}
	var total, sm float64
	for _, w := range ws {
		total += w.n
		sm += w.n * w.M
	}
	at := func(th []float64) GammaGamma {
		return GammaGamma{P: math.Exp(th[0]), Q: math.Exp(th[1]), Gamma: math.Exp(th[2])}
	}
	// What does not depend on the parameters, once: (px-1)·ln m + px·ln x
	// = p·x·(ln m + ln x) − ln m.
	lm := make([]float64, len(ws))
	var slm float64 // Σ n·ln m
	for i, w := range ws {
		lm[i] = math.Log(w.M)
		slm += w.n * lm[i]
	}
	ps := mathext.Digamma
	// total returns the weighted log-likelihood and, if grad is not nil,
	// its gradient with respect to (p, q, γ); per-x terms once per x.
	ggTotal := func(g GammaGamma, grad []float64) float64 {
		lq, lgq := math.Log(g.Gamma), lgamma(g.Q)
		var ll, dp, dq, dg float64
		var psQ float64
		if grad != nil {
			psQ = ps(g.Q)
		}
		for i := 0; i < len(ws); {
			x := ws[i].X
			j := i
			for j < len(ws) && ws[j].X == x {
				j++
			}
			px := g.P * x
			cx := lgamma(px+g.Q) - lgamma(px) - lgq + g.Q*lq
			lx := math.Log(x)
			var psPQ, psP float64
			if grad != nil {
				psPQ, psP = ps(px+g.Q), ps(px)
			}
			for k := i; k < j; k++ {
				w := &ws[k]
				lxm := math.Log(g.Gamma + w.M*x)
				ll += w.n * (cx + px*(lm[k]+lx) - (px+g.Q)*lxm)
				if grad != nil {
					dp += w.n * x * (psPQ - psP + lm[k] + lx - lxm)
					dq += w.n * (psPQ - psQ + lq - lxm)
					dg += w.n * (g.Q/g.Gamma - (px+g.Q)/(g.Gamma+w.M*x))
				}
			}
			i = j
		}
		if grad != nil {
			grad[0], grad[1], grad[2] = dp, dq, dg
		}
		return ll - slm
	}
	p := optimize.Problem{
		Func: func(th []float64) float64 {
			ll := ggTotal(at(th), nil)
			if math.IsNaN(ll) {
				return math.Inf(1)
			}
			return -ll / total
		},
		Grad: func(grad, th []float64) {
			g := at(th)
			ggTotal(g, grad)
			grad[0] *= -g.P / total
			grad[1] *= -g.Q / total
			grad[2] *= -g.Gamma / total
		},
	}
	init := []float64{0, 0, math.Log(math.Max(sm/total, 1e-3))}
	res, err := optimize.Minimize(p, init, &optimize.Settings{GradientThreshold: 1e-7}, &optimize.BFGS{})
	if err != nil && res == nil {
		return GammaGamma{}, 0, fmt.Errorf("cannot fit Gamma-Gamma: %w", err)
	}
	g := at(res.X)
	if invalid(g.P, g.Q, g.Gamma) {
		return GammaGamma{}, 0, fmt.Errorf("cannot fit Gamma-Gamma: no finite optimum (%+v)", g)
	}
	return g, -res.F * total, nil
}

func invalid(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			return true
		}
	}
	return false
}
