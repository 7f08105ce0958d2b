package report

import (
	"fmt"
	"strings"

	"github.com/stickyhq/sticky/bench/system"
	"github.com/stickyhq/sticky/ranker"
)

// Summary is the end-of-run summary for a terminal: a line on the run,
// the figures table (a column per target, Sticky/baseline ratios, goals),
// the quality table when r.Quality is set, and every target's errors.
func Summary(r *system.Result) string {
	var b strings.Builder
	b.WriteString(runLine(r))
	b.WriteString("\n\n")
	if len(r.Targets) == 0 {
		b.WriteString("no targets were measured\n")
	} else {
		b.WriteString(figuresTable(r).text())
		if len(r.Targets) >= 2 {
			fmt.Fprintf(&b, "\n%s/%s is %s's figure over %s's; \"better\" and \"worse\" follow the figure's direction.\n",
				displayName(&r.Targets[0]), shortName(&r.Targets[1]), displayName(&r.Targets[0]), displayName(&r.Targets[1]))
		}
		if kinds := stateKinds(r); kinds != "" {
			b.WriteString("state: " + kinds + ".\n")
		}
		for i := range r.Targets {
			if t := &r.Targets[i]; t.URL != "" {
				fmt.Fprintf(&b, "%s: the deployment at %s, not started by the harness (startup and peak RSS not measured; ingest overlaps production).\n", displayName(t), t.URL)
			}
		}
	}
	if q := r.Quality; q != nil {
		fmt.Fprintf(&b, "\nQuality — prequential, top %d, %s\n", q.K, qualityScope(q))
		if q.Exclusion != "" {
			fmt.Fprintf(&b, "protocol %s: %s\n", q.Protocol, q.Exclusion)
		}
		if r := statedRepeat(q); r != "" {
			fmt.Fprintf(&b, "sticky runs with --repeat %s: nothing the user bought is among its candidates\n", r)
		}
		if q.MaxPerCategory > 0 {
			fmt.Fprintf(&b, "diversity: sticky and the redis baseline rules show at most %d items of one category in a list\n", q.MaxPerCategory)
		}
		if q.TrainSample > 1 {
			fmt.Fprintf(&b, "sticky's model trains on one positive event in %d\n", q.TrainSample)
		}
		b.WriteString(qualityTable(q).text())
	}
	for i := range r.Targets {
		t := &r.Targets[i]
		if len(t.Errors) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s: %d error(s), its figures are partial:\n", displayName(t), len(t.Errors))
		for _, e := range t.Errors {
			b.WriteString("  ! " + strings.ReplaceAll(e, "\n", "\n    ") + "\n")
		}
	}
	return b.String()
}

// runLine is one line on the run: workload, events, broker, duration.
func runLine(r *system.Result) string {
	parts := []string{"sticky bench"}
	if w := r.Workload.Name; w != "" {
		parts = append(parts, w)
	}
	if n := r.Workload.Events; n > 0 {
		parts = append(parts, fmtCount(int64(n))+" events")
	}
	if r.Broker != "" {
		parts = append(parts, "broker "+r.Broker)
	}
	if r.Seconds > 0 && finite(r.Seconds) {
		parts = append(parts, fmtSeconds(r.Seconds)+" s")
	}
	return strings.Join(parts, ", ")
}

// stateKinds says what each target's state figure is: "Sticky = Badger
// LSM and value log on disk; Redis baseline = used_memory".
func stateKinds(r *system.Result) string {
	var kinds []string
	for i := range r.Targets {
		if k := r.Targets[i].Memory.StateKind; k != "" {
			kinds = append(kinds, displayName(&r.Targets[i])+" = "+k)
		}
	}
	return strings.Join(kinds, "; ")
}

// qualityScope is what was evaluated: "before each of 12,345 purchases".
func qualityScope(q *system.Quality) string {
	what := "purchase"
	if q.Interactions {
		what = "interaction"
	}
	s := "evaluated before each " + what
	if q.Workload != "" {
		s += " of " + q.Workload
	}
	if q.Events > 0 {
		s += " (" + fmtCount(int64(q.Events)) + " events)"
	}
	return s
}

// statedRepeat is Sticky's repeat policy in q when the report must state
// it (not the default, learn); "" otherwise.
func statedRepeat(q *system.Quality) string {
	if q.StickyRepeat == ranker.RepeatLearn.String() {
		return ""
	}
	return q.StickyRepeat
}
