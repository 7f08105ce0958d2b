package audience

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/stickyhq/sticky/features"
)

// A Rule is a predicate over one user's features, written as text:
//
//	segment in (at_risk, cant_lose) and points_expiring(7) > 0
//	lifecycle = churned or (p_alive < 0.3 and clv >= 100)
//	not tier = bronze
//
// Comparisons are =, !=, <, <=, >, >= and [not] in (…); they combine with
// and, or, not and parentheses. Words and "quoted strings" are strings.
// A comparison on a figure the user does not have (p_alive before a model
// is fitted, RFM scores of a user who never bought) is false. Fields:
//
//	segment, lifecycle, tier                        strings
//	r, f, m                                         RFM scores, 1-5
//	recency_days, frequency, monetary               raw RFM figures
//	p_alive, expected_purchases_90d, clv            model predictions
//	points_balance, points_earned                   loyalty points
//	points_expiring(days)                           points expiring within days
type Rule struct {
	src        string
	root       node
	population bool
}

// String returns the rule's text.
func (r *Rule) String() string { return r.src }

// ReadsPopulation reports whether the rule reads a field relative to the
// whole population (segment, r, f, m): while the table is loading, such a
// rule cannot be answered (see Table.Loaded).
func (r *Rule) ReadsPopulation() bool { return r.population }

// fieldKind says what a field holds, whether it takes an argument, and
// whether it is relative to the population.
type fieldKind struct {
	str bool
	arg bool
	pop bool
}

var fields = map[string]fieldKind{
	"segment": {str: true, pop: true}, "lifecycle": {str: true}, "tier": {str: true},
	"r": {pop: true}, "f": {pop: true}, "m": {pop: true}, "recency_days": {}, "frequency": {}, "monetary": {},
	"p_alive": {}, "expected_purchases_90d": {}, "clv": {},
	"points_balance": {}, "points_earned": {}, "points_expiring": {arg: true},
}

// ParseRule parses a rule.
func ParseRule(src string) (*Rule, error) {
	p := &parser{toks: nil, src: src}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if len(p.toks) == 0 {
		return nil, fmt.Errorf("rule is empty")
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("rule %q: unexpected %q", src, p.toks[p.i].s)
	}
	return &Rule{src: src, root: n, population: readsPopulation(n)}, nil
}

func readsPopulation(n node) bool {
	switch n := n.(type) {
	case andNode:
		return readsPopulation(n.a) || readsPopulation(n.b)
	case orNode:
		return readsPopulation(n.a) || readsPopulation(n.b)
	case notNode:
		return readsPopulation(n.a)
	case cmpNode:
		return fields[n.field].pop
	}
	panic(fmt.Sprintf("BUG: rule node %T", n))
}

// Match reports whether u, at now, satisfies the rule.
func (r *Rule) Match(t *Table, u *features.User, now time.Time) bool {
	return r.root.eval(&subject{t: t, u: u, now: now})
}

// subject computes a user's fields on demand, once each.
type subject struct {
	t      *Table
	u      *features.User
	now    time.Time
	view   *View
	locked bool // the caller holds t.mu
}

func (s *subject) v() *View {
	if s.view == nil {
		var v View
		if s.locked {
			v = s.t.viewLocked(s.u, s.now, s.t.cfg.ExpiringWithin, 0)
		} else {
			v = s.t.View(s.u, s.now, 0)
		}
		s.view = &v
	}
	return s.view
}

// value returns a field's value: a number, or a string when str.
func (s *subject) value(name string, arg float64) (num float64, str string, ok bool) {
	switch name {
	case "points_expiring":
		p := s.t.f.Points(s.u, s.now, time.Duration(arg*24*float64(time.Hour)))
		return p.Expiring, "", true
	case "points_balance":
		return s.t.f.Points(s.u, s.now, 0).Balance, "", true
	case "points_earned":
		return s.t.f.Points(s.u, s.now, 0).Earned, "", true
	case "tier":
		return 0, s.t.f.Points(s.u, s.now, 0).Tier, true
	case "lifecycle":
		return 0, s.t.f.Lifecycle(&s.u.Orders, s.now.UnixMilli()).String(), true
	case "frequency":
		return float64(s.u.Orders.Days), "", true
	case "monetary":
		return s.u.Orders.Monetary, "", true
	}
	v := s.v()
	opt := func(p *float64) (float64, string, bool) {
		if p == nil {
			return 0, "", false
		}
		return *p, "", true
	}
	switch name {
	case "recency_days":
		return v.RecencyDays, "", v.Frequency > 0
	case "p_alive":
		return opt(v.PAlive)
	case "expected_purchases_90d":
		return opt(v.ExpectedPurchases90d)
	case "clv":
		return opt(v.CLV)
	}
	if v.RFM == nil {
		return 0, "", false
	}
	switch name {
	case "segment":
		return 0, v.RFM.Segment, true
	case "r":
		return float64(v.RFM.R), "", true
	case "f":
		return float64(v.RFM.F), "", true
	case "m":
		return float64(v.RFM.M), "", true
	}
	panic("BUG: field " + name + " has no value")
}

type node interface{ eval(*subject) bool }

type andNode struct{ a, b node }
type orNode struct{ a, b node }
type notNode struct{ a node }

func (n andNode) eval(s *subject) bool { return n.a.eval(s) && n.b.eval(s) }
func (n orNode) eval(s *subject) bool  { return n.a.eval(s) || n.b.eval(s) }
func (n notNode) eval(s *subject) bool { return !n.a.eval(s) }

// cmpNode compares a field with literals.
type cmpNode struct {
	field string
	arg   float64
	op    string // = != < <= > >= in notin
	nums  []float64
	strs  []string
}

func (n cmpNode) eval(s *subject) bool {
	num, str, ok := s.value(n.field, n.arg)
	if !ok {
		return false
	}
	if fields[n.field].str {
		in := false
		for _, v := range n.strs {
			if strings.EqualFold(v, str) {
				in = true
			}
		}
		switch n.op {
		case "=", "in":
			return in
		default: // != and "not in"
			return !in
		}
	}
	switch n.op {
	case "=", "in":
		for _, v := range n.nums {
			if num == v {
				return true
			}
		}
		return false
	case "!=", "notin":
		for _, v := range n.nums {
			if num == v {
				return false
			}
		}
		return true
	case "<":
		return num < n.nums[0]
	case "<=":
		return num <= n.nums[0]
	case ">":
		return num > n.nums[0]
	case ">=":
		return num >= n.nums[0]
	}
	panic("BUG: operator " + n.op)
}

func isOp(s string) bool {
	switch s {
	case "=", "!=", "<", "<=", ">", ">=":
		return true
	}
	return false
}

type token struct {
	s      string
	quoted bool
}

type parser struct {
	src  string
	toks []token
	i    int
}

func (p *parser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case strings.ContainsRune("(),", c):
			p.toks = append(p.toks, token{s: string(c)})
			i++
		case strings.ContainsRune("=!<>", c):
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			op := s[i:j]
			if op == "!" {
				return fmt.Errorf("rule %q: '!' must be '!='", p.src)
			}
			if op == "==" {
				op = "="
			}
			p.toks = append(p.toks, token{s: op})
			i = j
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return fmt.Errorf("rule %q: unterminated string", p.src)
			}
			p.toks = append(p.toks, token{s: s[i+1 : i+1+j], quoted: true})
			i += j + 2
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && !strings.ContainsRune("(),=!<>\"", rune(s[j])) {
				j++
			}
			p.toks = append(p.toks, token{s: s[i:j]})
			i = j
		}
	}
	return nil
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

func (p *parser) keyword(k string) bool {
	if t, ok := p.peek(); ok && !t.quoted && strings.EqualFold(t.s, k) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(s string) error {
	if t, ok := p.peek(); ok && !t.quoted && t.s == s {
		p.i++
		return nil
	}
	return fmt.Errorf("rule %q: expected %q", p.src, s)
}

func (p *parser) or() (node, error) {
	n, err := p.and()
	for err == nil && p.keyword("or") {
		var m node
		if m, err = p.and(); err == nil {
			n = orNode{n, m}
		}
	}
	return n, err
}

func (p *parser) and() (node, error) {
	n, err := p.unary()
	for err == nil && p.keyword("and") {
		var m node
		if m, err = p.unary(); err == nil {
			n = andNode{n, m}
		}
	}
	return n, err
}

func (p *parser) unary() (node, error) {
	if p.keyword("not") {
		n, err := p.unary()
		return notNode{n}, err
	}
	if t, ok := p.peek(); ok && !t.quoted && t.s == "(" {
		p.i++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		return n, p.expect(")")
	}
	return p.comparison()
}

func (p *parser) comparison() (node, error) {
	t, ok := p.peek()
	if !ok || t.quoted {
		return nil, fmt.Errorf("rule %q: expected a field", p.src)
	}
	name := strings.ToLower(t.s)
	kind, known := fields[name]
	if !known {
		return nil, fmt.Errorf("rule %q: unknown field %q", p.src, t.s)
	}
	p.i++
	n := cmpNode{field: name}
	if kind.arg {
		if err := p.expect("("); err != nil {
			return nil, fmt.Errorf("rule %q: %s takes an argument: %s(7)", p.src, name, name)
		}
		a, ok := p.peek()
		v, err := strconv.ParseFloat(a.s, 64)
		if !ok || err != nil || v < 0 || v > 36500 || math.IsNaN(v) {
			return nil, fmt.Errorf("rule %q: %s needs a number of days from 0 to 36500", p.src, name)
		}
		p.i++
		n.arg = v
		if err := p.expect(")"); err != nil {
			return nil, err
		}
	}
	switch {
	case p.keyword("in"):
		n.op = "in"
	case p.keyword("not"):
		if !p.keyword("in") {
			return nil, fmt.Errorf("rule %q: expected 'in' after 'not'", p.src)
		}
		n.op = "notin"
	default:
		op, ok := p.peek()
		if !ok || op.quoted || !isOp(op.s) {
			return nil, fmt.Errorf("rule %q: expected a comparison after %s", p.src, name)
		}
		p.i++
		n.op = op.s
	}
	var lits []token
	if n.op == "in" || n.op == "notin" {
		if err := p.expect("("); err != nil {
			return nil, err
		}
		for {
			l, ok := p.peek()
			if !ok {
				return nil, fmt.Errorf("rule %q: unterminated list", p.src)
			}
			p.i++
			lits = append(lits, l)
			if p.keyword(")") {
				break
			}
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
	} else {
		l, ok := p.peek()
		if !ok {
			return nil, fmt.Errorf("rule %q: %s %s needs a value", p.src, name, n.op)
		}
		p.i++
		lits = append(lits, l)
	}
	if kind.str {
		if n.op != "=" && n.op != "!=" && n.op != "in" && n.op != "notin" {
			return nil, fmt.Errorf("rule %q: %s is a name: use =, != or in", p.src, name)
		}
		for _, l := range lits {
			n.strs = append(n.strs, strings.ToLower(l.s))
		}
		return n, nil
	}
	for _, l := range lits {
		v, err := strconv.ParseFloat(l.s, 64)
		if err != nil || l.quoted || math.IsNaN(v) {
			return nil, fmt.Errorf("rule %q: %s compares with numbers, not %q", p.src, name, l.s)
		}
		n.nums = append(n.nums, v)
	}
	return n, nil
}
