package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stickyhq/sticky/bench/system"
)

// displayName is how a target is named in tables: "Sticky", "Redis
// baseline", or the target's own name.
func displayName(t *system.Target) string {
	switch t.Name {
	case "sticky":
		return "Sticky"
	case "redis-baseline":
		return "Redis baseline"
	case "":
		return "(unnamed)"
	}
	return t.Name
}

// better says which way a figure improves, for the ratio column.
type better int

const (
	neutral better = iota // no better side: the ratio is shown without a verdict
	higher
	lower
)

// figure is one row of the figures table.
type figure struct {
	label string // with its unit: "ingest (events/s)"
	// value is the target's figure; ok is false when it was not measured.
	value  func(t *system.Target) (v float64, ok bool)
	format func(float64) string
	better better
	// goal, if set, is the goal on this figure and Sticky's verdict; ok is
	// false when r.Goals sets no such goal.
	goal func(g system.Goals, t *system.Target) (v verdict, ok bool)
	// optional figures are left out when no target has them (results
	// written before the harness measured them).
	optional bool
}

// verdict is a goal and whether a target met it.
type verdict struct {
	goal   string // "≥ 100k events/s"
	status string // "met", "missed", "no data", or "not shown (…)"
}

// section is a group of figures under a heading.
type section struct {
	title   string
	figures []figure
}

// positive is a value function for figures where zero means "not measured".
func positive(f func(t *system.Target) float64) func(t *system.Target) (float64, bool) {
	return func(t *system.Target) (float64, bool) {
		v := f(t)
		return v, finite(v) && v > 0
	}
}

// any0 is a value function for counts, where zero is a measurement.
func any0(f func(t *system.Target) float64) func(t *system.Target) (float64, bool) {
	return func(t *system.Target) (float64, bool) {
		v := f(t)
		return v, finite(v)
	}
}

// freshnessTotal is the number of freshness samples including the missing
// ones: Values holds the visible samples, and Samples may or may not count
// the missing, so the larger reading is taken.
func freshnessTotal(f *system.Freshness) int {
	return max(f.Samples, len(f.Values)+f.Missing)
}

// maxMissingShare is the share of missing freshness samples above which
// the p99 cannot be met whatever the visible samples say.
const maxMissingShare = 0.01

func ingestGoal(g system.Goals, t *system.Target) (verdict, bool) {
	if g.IngestPerSecond <= 0 {
		return verdict{}, false
	}
	v := verdict{goal: "≥ " + fmtRateShort(g.IngestPerSecond) + " events/s"}
	switch p := t.Ingest.PerSecond; {
	case !finite(p) || p <= 0:
		v.status = "no data"
	case p >= g.IngestPerSecond:
		v.status = "met"
	default:
		v.status = "missed"
	}
	return v, true
}

func freshnessGoal(g system.Goals, t *system.Target) (verdict, bool) {
	if g.FreshnessP99 <= 0 {
		return verdict{}, false
	}
	f := &t.Freshness
	v := verdict{goal: "p99 ≤ " + fmtMSShort(g.FreshnessP99) + " ms"}
	total := freshnessTotal(f)
	switch {
	case total == 0:
		v.status = "no data"
	case float64(f.Missing) > maxMissingShare*float64(total):
		v.status = fmt.Sprintf("missed (%s of %s never visible)", fmtCount(int64(f.Missing)), fmtCount(int64(total)))
	case !finite(f.P99) || f.P99 <= 0:
		v.status = "no data"
	case f.P99 <= g.FreshnessP99:
		v.status = "met"
	default:
		v.status = "missed"
	}
	return v, true
}

func latencyGoal(g system.Goals, t *system.Target) (verdict, bool) {
	if g.LatencyP99 <= 0 {
		return verdict{}, false
	}
	l := &t.Latency
	v := verdict{goal: "p99 ≤ " + fmtMSShort(g.LatencyP99) + " ms"}
	if g.LatencyAtRate > 0 {
		v.goal += " at " + fmtRateShort(g.LatencyAtRate) + " req/s"
	}
	switch {
	case l.Requests == 0 || !finite(l.P99) || l.P99 <= 0:
		v.status = "no data"
	case l.P99 > g.LatencyP99:
		v.status = "missed"
	case g.LatencyAtRate > 0 && l.Rate < g.LatencyAtRate:
		// Met, but at a lighter load than the goal is stated for.
		v.status = "not shown (ran at " + fmtRateShort(l.Rate) + " req/s)"
	default:
		v.status = "met"
	}
	return v, true
}

// sections lists every figure of the report, in order.
func sections(r *system.Result) []section {
	title := func(s, detail string) string {
		if detail == "" {
			return s
		}
		return s + " — " + detail
	}
	ingest := ""
	if r.Workload.Backlog > 0 {
		ingest = "backlog of " + fmtCount(int64(r.Workload.Backlog)) + " events, as fast as possible"
	}
	live := ""
	if r.Workload.LiveRate > 0 && r.Workload.LiveSeconds > 0 {
		live = fmt.Sprintf("during %s s of live events at %s events/s", trimZeros(fmtSeconds(r.Workload.LiveSeconds)), fmtRateShort(r.Workload.LiveRate))
	}
	cpu := []section{
		cpuSection("CPU, user + system — ingest phase, until the whole backlog is applied", func(t *system.Target) system.PhaseCPU { return t.CPU.Ingest }),
		cpuSection("CPU, user + system — live phase, after the warm-up", func(t *system.Target) system.PhaseCPU { return t.CPU.Live }),
	}
	if !hasCPU(r) {
		cpu = nil // a result of a harness that did not measure it
	}
	return slices.Concat([]section{
		{title: title("Ingest", ingest), figures: []figure{
			{label: "ingest (events/s)", value: positive(func(t *system.Target) float64 { return t.Ingest.PerSecond }), format: fmtRate, better: higher, goal: ingestGoal},
			{label: "raw consume (events/s)", value: positive(func(t *system.Target) float64 { return t.Ingest.RawPerSecond }), format: fmtRate},
			{label: "ingest / raw", value: positive(func(t *system.Target) float64 { return t.Ingest.Ratio }), format: fmtPercent, better: higher},
			{label: "events", value: positive(func(t *system.Target) float64 { return float64(t.Ingest.Events) }), format: fmtCountF},
			{label: "startup (s)", value: positive(func(t *system.Target) float64 { return t.Ingest.StartupSeconds }), format: fmtSeconds, better: lower},
		}},
		{title: title("Freshness, produce → visible in the API", live), figures: []figure{
			{label: "p50 (ms)", value: positive(func(t *system.Target) float64 { return t.Freshness.P50 }), format: fmtMS, better: lower},
			{label: "p99 (ms)", value: positive(func(t *system.Target) float64 { return t.Freshness.P99 }), format: fmtMS, better: lower, goal: freshnessGoal},
			{label: "max (ms)", value: positive(func(t *system.Target) float64 { return t.Freshness.Max }), format: fmtMS, better: lower},
			{label: "samples", value: any0(func(t *system.Target) float64 { return float64(t.Freshness.Samples) }), format: fmtCountF},
			{label: "missing", value: any0(func(t *system.Target) float64 { return float64(t.Freshness.Missing) }), format: fmtCountF, better: lower},
			{label: "poll interval (ms)", value: positive(func(t *system.Target) float64 { return t.Freshness.PollSeconds }), format: fmtMS},
			{label: "profile polls", value: positive(func(t *system.Target) float64 { return float64(t.Freshness.Polls) }), format: fmtCountF, optional: true},
		}},
		{title: title("Recommendations, open loop", live), figures: []figure{
			{label: "rate (req/s)", value: positive(func(t *system.Target) float64 { return t.Latency.Rate }), format: fmtRate},
			{label: "achieved (req/s)", value: positive(func(t *system.Target) float64 { return t.Latency.Achieved }), format: fmtRate, better: higher},
			{label: "requests", value: any0(func(t *system.Target) float64 { return float64(t.Latency.Requests) }), format: fmtCountF},
			{label: "p50 (ms)", value: positive(func(t *system.Target) float64 { return t.Latency.P50 }), format: fmtMS, better: lower},
			{label: "p90 (ms)", value: positive(func(t *system.Target) float64 { return t.Latency.P90 }), format: fmtMS, better: lower},
			{label: "p99 (ms)", value: positive(func(t *system.Target) float64 { return t.Latency.P99 }), format: fmtMS, better: lower, goal: latencyGoal},
			{label: "p99.9 (ms)", value: positive(func(t *system.Target) float64 { return t.Latency.P999 }), format: fmtMS, better: lower},
			{label: "max (ms)", value: positive(func(t *system.Target) float64 { return t.Latency.Max }), format: fmtMS, better: lower},
			{label: "server p50 (ms)", value: positive(func(t *system.Target) float64 { return t.Latency.ServerP50 }), format: fmtMS, better: lower, optional: true},
			{label: "server p99 (ms)", value: positive(func(t *system.Target) float64 { return t.Latency.ServerP99 }), format: fmtMS, better: lower, optional: true},
			{label: "outside the server p50 (ms)", value: positive(func(t *system.Target) float64 { return t.Latency.OutsideP50 }), format: fmtMS, better: lower, optional: true},
			{label: "outside the server p99 (ms)", value: positive(func(t *system.Target) float64 { return t.Latency.OutsideP99 }), format: fmtMS, better: lower, optional: true},
			{label: "harness send lag p50 (ms)", value: positive(func(t *system.Target) float64 { return t.Latency.SendLagP50 }), format: fmtMS, optional: true},
			{label: "harness send lag p99 (ms)", value: positive(func(t *system.Target) float64 { return t.Latency.SendLagP99 }), format: fmtMS, optional: true},
			{label: "errors", value: any0(func(t *system.Target) float64 { return float64(t.Latency.Errors) }), format: fmtCountF, better: lower},
			{label: "empty lists", value: any0(func(t *system.Target) float64 { return float64(t.Latency.EmptyLists) }), format: fmtCountF, better: lower},
		}},
	}, cpu, []section{
		{title: "Memory, end of the live phase", figures: []figure{
			{label: "RSS", value: positive(func(t *system.Target) float64 { return float64(t.Memory.RSSBytes) }), format: fmtBytes, better: lower},
			{label: "peak RSS", value: positive(func(t *system.Target) float64 { return float64(t.Memory.PeakRSSBytes) }), format: fmtBytes, better: lower},
			{label: "RSS anonymous", value: positive(func(t *system.Target) float64 { return float64(t.Memory.AnonRSSBytes) }), format: fmtBytes, better: lower},
			{label: "RSS file-backed", value: positive(func(t *system.Target) float64 { return float64(t.Memory.FileRSSBytes) }), format: fmtBytes, better: lower},
			{label: "Go heap", value: positive(func(t *system.Target) float64 { return float64(t.Memory.HeapBytes) }), format: fmtBytes, better: lower},
			{label: "state", value: positive(func(t *system.Target) float64 { return float64(t.Memory.StateBytes) }), format: fmtBytes, better: lower},
			{label: "users in state", value: positive(func(t *system.Target) float64 { return float64(t.Memory.Users) }), format: fmtCountF},
			{label: "state per user", value: positive(func(t *system.Target) float64 { return t.Memory.BytesPerUser }), format: fmtBytes, better: lower},
		}},
	})
}

// hasCPU reports whether any target has a CPU figure (results of older
// harnesses have none).
func hasCPU(r *system.Result) bool {
	for i := range r.Targets {
		c := &r.Targets[i].CPU
		if c.Ingest != (system.PhaseCPU{}) || c.Live != (system.PhaseCPU{}) {
			return true
		}
	}
	return false
}

// cpuSection is the CPU figures of one phase: the target's CPU seconds
// and average busy cores, the harness's, and the phase's length.
func cpuSection(title string, phase func(t *system.Target) system.PhaseCPU) section {
	return section{title: title, figures: []figure{
		{label: "target CPU (s)", value: positive(func(t *system.Target) float64 { return phase(t).TargetSeconds }), format: fmtSeconds, better: lower},
		{label: "target cores (avg)", value: positive(func(t *system.Target) float64 { return phase(t).TargetCores() }), format: fmtCores},
		{label: "harness CPU (s)", value: positive(func(t *system.Target) float64 { return phase(t).HarnessSeconds }), format: fmtSeconds},
		{label: "harness cores (avg)", value: positive(func(t *system.Target) float64 { return phase(t).HarnessCores() }), format: fmtCores},
		{label: "phase length (s)", value: positive(func(t *system.Target) float64 { return phase(t).Seconds }), format: fmtSeconds},
	}}
}

// cpuLine is a target's CPU in one line: "ingest: target 12.3 s (1.84
// cores avg), harness 2.10 s (0.31 cores avg) over 6.70 s; live: …", or
// "" when nothing was measured.
func cpuLine(t *system.Target) string {
	var parts []string
	for _, x := range []struct {
		name string
		p    system.PhaseCPU
	}{{"ingest", t.CPU.Ingest}, {"live", t.CPU.Live}} {
		p := x.p
		if !finite(p.Seconds) || p.Seconds <= 0 {
			continue
		}
		target := dash
		if finite(p.TargetSeconds) && p.TargetSeconds > 0 {
			target = fmtSeconds(p.TargetSeconds) + " s (" + fmtCores(p.TargetCores()) + " cores avg)"
		}
		parts = append(parts, fmt.Sprintf("%s: target %s, harness %s s (%s cores avg) over %s s",
			x.name, target, fmtSeconds(p.HarnessSeconds), fmtCores(p.HarnessCores()), fmtSeconds(p.Seconds)))
	}
	return strings.Join(parts, "; ")
}

// ratioCell is Sticky's figure over the baseline's, with the verdict of
// the figure's direction: "×0.21 better" for a latency a fifth of the
// baseline's. It is "–" when either side is missing or zero.
func ratioCell(f *figure, sticky, base *system.Target) string {
	a, okA := f.value(sticky)
	b, okB := f.value(base)
	if !okA || !okB || a == 0 || b == 0 {
		return dash
	}
	r := a / b
	if !finite(r) {
		return dash
	}
	s := fmtRatio(r)
	if f.better == neutral || s == "×1.00" {
		return s
	}
	if (r > 1) == (f.better == higher) {
		return s + " better"
	}
	return s + " worse"
}

// hasGoals reports whether any goal is set.
func hasGoals(g system.Goals) bool {
	return g.IngestPerSecond > 0 || g.FreshnessP99 > 0 || g.LatencyP99 > 0
}

// figuresTable is the figures of every target: a column per target, the
// ratio Sticky/baseline when there is a baseline, and the goals.
func figuresTable(r *system.Result) *table {
	t := &table{header: []string{"figure"}, align: []align{left}}
	for i := range r.Targets {
		t.header = append(t.header, displayName(&r.Targets[i]))
		t.align = append(t.align, right)
	}
	withRatio := len(r.Targets) >= 2
	if withRatio {
		t.header = append(t.header, displayName(&r.Targets[0])+"/"+shortName(&r.Targets[1]))
		t.align = append(t.align, left)
	}
	withGoals := hasGoals(r.Goals) && len(r.Targets) > 0
	if withGoals {
		t.header = append(t.header, "goal", displayName(&r.Targets[0])+" vs goal")
		t.align = append(t.align, left, left)
	}
	for _, s := range sections(r) {
		t.section(s.title)
		for _, f := range s.figures {
			if f.optional && !measured(&f, r.Targets) {
				continue
			}
			cells := []string{f.label}
			for i := range r.Targets {
				v, ok := f.value(&r.Targets[i])
				if ok {
					cells = append(cells, f.format(v))
				} else {
					cells = append(cells, dash)
				}
			}
			if withRatio {
				cells = append(cells, ratioCell(&f, &r.Targets[0], &r.Targets[1]))
			}
			if withGoals {
				if f.goal == nil {
					cells = append(cells, "", "")
				} else if v, ok := f.goal(r.Goals, &r.Targets[0]); ok {
					cells = append(cells, v.goal, v.status)
				} else {
					cells = append(cells, dash, "")
				}
			}
			t.add(cells...)
		}
	}
	return t
}

// shortName names the baseline in the ratio column's header: "baseline"
// for a target whose name says it is one.
func shortName(t *system.Target) string {
	if strings.Contains(t.Name, "baseline") {
		return "baseline"
	}
	return displayName(t)
}

// goalRows are the goals with Sticky's figure and verdict.
func goalRows(r *system.Result) [][3]string {
	if len(r.Targets) == 0 {
		return nil
	}
	t := &r.Targets[0]
	var rows [][3]string
	type g struct {
		name   string
		check  func(system.Goals, *system.Target) (verdict, bool)
		figure string
	}
	figureOr := func(v float64, format func(float64) string, unit string) string {
		if !finite(v) || v <= 0 {
			return dash
		}
		return format(v) + unit
	}
	for _, x := range []g{
		{"ingest", ingestGoal, figureOr(t.Ingest.PerSecond, fmtRate, " events/s")},
		{"freshness", freshnessGoal, figureOr(t.Freshness.P99, fmtMS, " ms")},
		{"recommendation latency", latencyGoal, figureOr(t.Latency.P99, fmtMS, " ms") + atRate(t.Latency.Rate)},
	} {
		if v, ok := x.check(r.Goals, t); ok {
			rows = append(rows, [3]string{x.name + " " + v.goal, x.figure, v.status})
		}
	}
	return rows
}

// atRate is " at 5k req/s", or nothing for an unknown rate.
func atRate(rate float64) string {
	if !finite(rate) || rate <= 0 {
		return ""
	}
	return " at " + fmtRateShort(rate) + " req/s"
}

// qualityTable is the prequential evaluation as a table.
func qualityTable(q *system.Quality) *table {
	k := fmt.Sprint(q.K)
	t := &table{
		header: []string{"recommender", "evaluated", "HR@" + k, "NDCG@" + k, "coverage", "seconds"},
		align:  []align{left, right, right, right, right, right},
	}
	for _, s := range q.Scores {
		t.add(s.Name, fmtCount(int64(s.Evaluated)), fmt4(s.HR), fmt4(s.NDCG), fmtPercent(s.Coverage), fmtSeconds(s.Seconds))
	}
	return t
}

func fmt4(v float64) string {
	if !finite(v) {
		return dash
	}
	return fmt.Sprintf("%.4f", v)
}

// measured says whether any target has figure f.
func measured(f *figure, ts []system.Target) bool {
	for i := range ts {
		if _, ok := f.value(&ts[i]); ok {
			return true
		}
	}
	return false
}
