package report

import (
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stickyhq/sticky/bench/system"
)

// Markdown is the report of a run: title and date, the command, machine,
// broker and workload, the goals with Sticky's figures, the figures table,
// the quality table, the plots (embedded by the names given, relative to
// where the report is written — usually what [Plots] returned), how each
// figure is measured, and each target's description and errors.
func Markdown(r *system.Result, plots []string) string {
	var b strings.Builder
	title := "# Sticky benchmark"
	if !r.Started.IsZero() {
		title += " — " + r.Started.Format("2006-01-02 15:04 MST")
	}
	b.WriteString(title + "\n\n")

	if r.Command != "" {
		b.WriteString(codeBlock("sh", r.Command))
		b.WriteString("\n")
	}
	writeSetup(&b, r)

	if rows := goalRows(r); len(rows) > 0 {
		b.WriteString("\n## Goals\n\n")
		t := &table{header: []string{"goal", displayName(&r.Targets[0]), "status"}, align: []align{left, right, left}}
		for _, row := range rows {
			status := row[2]
			if status == "met" || strings.HasPrefix(status, "missed") {
				status = "**" + status + "**"
			}
			t.add(row[0], row[1], status)
		}
		b.WriteString(t.markdown())
		if c := r.Machine.CPUs; c > 0 && c != 2 {
			fmt.Fprintf(&b, "\nThe goals are set for a 2-core machine; this one has %d CPUs.\n", c)
		}
	}

	if len(r.Targets) > 0 {
		b.WriteString("\n## Figures\n\n")
		b.WriteString(figuresTable(r).markdown())
		var notes []string
		if len(r.Targets) >= 2 {
			notes = append(notes, fmt.Sprintf("%s/%s is %s's figure divided by %s's; \"better\" or \"worse\" follows the figure's direction (higher is better for rates, lower for times, counts of failures and memory).",
				displayName(&r.Targets[0]), shortName(&r.Targets[1]), displayName(&r.Targets[0]), displayName(&r.Targets[1])))
		}
		notes = append(notes, "– means not measured, or a ratio with a zero side.")
		if kinds := stateKinds(r); kinds != "" {
			notes = append(notes, "State: "+kinds+".")
		}
		b.WriteString("\n" + strings.Join(notes, " ") + "\n")
	}

	if q := r.Quality; q != nil {
		b.WriteString("\n## Recommendation quality\n\n")
		what, each := "purchase", "the item bought"
		if q.Interactions {
			what, each = "item interaction (view, click, cart, purchase…)", "the item interacted with"
		}
		fmt.Fprintf(&b, "Prequential evaluation: the workload%s is replayed in time order; before each %s, every recommender is asked for its top %d for that user at the event's time and context, the answer is scored against %s, and then every recommender learns the event. No recommender ever sees an event before it is scored on it. HR@%d is the share of evaluations whose item was in the top %d, NDCG@%d rewards it by its rank (1/log₂(rank+2)), coverage is the share of the catalogue ever recommended.\n\n",
			workloadOf(q), what, q.K, each, q.K, q.K, q.K)
		if q.Exclusion != "" {
			fmt.Fprintf(&b, "Protocol **%s**: %s; each recommender is asked for enough items, the harness removes the excluded ones and keeps the first %d. Seconds is the time each recommender spent recommending and learning.\n\n", q.Protocol, q.Exclusion, q.K)
		}
		if r := statedRepeat(q); r != "" {
			fmt.Fprintf(&b, "Sticky runs with `--repeat %s`: nothing the user bought is among its candidates.\n\n", r)
		}
		if q.MaxPerCategory > 0 {
			fmt.Fprintf(&b, "Diversity: Sticky and the Redis baseline rules show at most %d items of one category in a list (`--max-per-category`).\n\n", q.MaxPerCategory)
		}
		if q.TrainSample > 1 {
			fmt.Fprintf(&b, "Sticky's model trains on one positive event in %d (`--train-sample`).\n\n", q.TrainSample)
		}
		b.WriteString(qualityTable(q).markdown())
	}

	if len(plots) > 0 {
		b.WriteString("\n## Plots\n")
		for _, p := range plots {
			b.WriteString("\n")
			p = filepath.ToSlash(p)
			alt := strings.TrimSuffix(path.Base(p), path.Ext(p))
			fmt.Fprintf(&b, "![%s](%s)\n", alt, p)
		}
	}

	writeHowMeasured(&b, r)

	if len(r.Targets) > 0 {
		b.WriteString("\n## Targets\n")
		for i := range r.Targets {
			t := &r.Targets[i]
			if t.Name != "" && t.Name != displayName(t) {
				fmt.Fprintf(&b, "\n### %s (`%s`)\n\n", displayName(t), t.Name)
			} else {
				fmt.Fprintf(&b, "\n### %s\n\n", displayName(t))
			}
			if t.Description != "" {
				b.WriteString(t.Description + "\n")
			} else {
				b.WriteString("No description.\n")
			}
			if t.URL != "" {
				fmt.Fprintf(&b, "\nMeasured at %s, a deployment the harness did not start.\n", t.URL)
			}
			if l := cpuLine(t); l != "" {
				b.WriteString("\nCPU — " + l + ".\n")
			}
			if len(t.Errors) > 0 {
				fmt.Fprintf(&b, "\n**%d error(s); the figures of this target are partial:**\n\n", len(t.Errors))
				b.WriteString(codeBlock("", strings.Join(t.Errors, "\n")))
			}
		}
	}
	return b.String()
}

// writeSetup lists the machine, broker, workload and duration.
func writeSetup(b *strings.Builder, r *system.Result) {
	m := r.Machine
	var machine []string
	if m.CPUs > 0 {
		cpu := fmt.Sprintf("%d CPUs", m.CPUs)
		if m.CPUModel != "" {
			cpu += " (" + m.CPUModel + ")"
		}
		machine = append(machine, cpu)
	} else if m.CPUModel != "" {
		machine = append(machine, m.CPUModel)
	}
	if m.MemBytes > 0 {
		machine = append(machine, fmtBytes(float64(m.MemBytes))+" RAM")
	}
	for _, s := range []string{m.OS, m.GoVersion} {
		if s != "" {
			machine = append(machine, s)
		}
	}
	if m.Host != "" {
		machine = append(machine, "host `"+m.Host+"`")
	}
	if len(machine) == 0 {
		machine = append(machine, "unknown")
	}
	fmt.Fprintf(b, "- **Machine:** %s\n", strings.Join(machine, ", "))
	broker := r.Broker
	if broker == "" {
		broker = "unknown"
	}
	fmt.Fprintf(b, "- **Broker:** %s\n", broker)

	w := r.Workload
	var wl []string
	if w.Events > 0 {
		wl = append(wl, fmtCount(int64(w.Events))+" events")
	}
	if w.Users > 0 {
		wl = append(wl, fmtCount(int64(w.Users))+" users")
	}
	if w.Items > 0 {
		wl = append(wl, fmtCount(int64(w.Items))+" items")
	}
	desc := w.Name
	if desc == "" {
		desc = "unnamed"
	}
	if len(wl) > 0 {
		desc += ": " + strings.Join(wl, ", ")
	}
	fmt.Fprintf(b, "- **Workload:** %s\n", desc)
	fmt.Fprintf(b, "  - backlog (ingest phase): %s events on the topic before a target starts\n", fmtCount(int64(w.Backlog)))
	if w.LiveRate > 0 || w.LiveSeconds > 0 {
		fmt.Fprintf(b, "  - live phase: %s events/s × %s s (≈ %s events)\n",
			fmtRateShort(w.LiveRate), trimZeros(fmtSeconds(w.LiveSeconds)), fmtCountF(w.LiveRate*w.LiveSeconds))
	}
	if w.Partitions > 0 {
		fmt.Fprintf(b, "  - partitions: %d\n", w.Partitions)
	}
	if r.Seconds > 0 && finite(r.Seconds) {
		fmt.Fprintf(b, "- **Run time:** %s s\n", fmtSeconds(r.Seconds))
	}
}

// writeHowMeasured explains each figure, from the doc comments of
// system.Result, with the run's own parameters where they matter.
func writeHowMeasured(b *strings.Builder, r *system.Result) {
	var t *system.Target
	if len(r.Targets) > 0 {
		t = &r.Targets[0]
	}
	b.WriteString("\n## How measured\n\n")

	b.WriteString("**Ingest.** The workload's backlog")
	if r.Workload.Backlog > 0 {
		b.WriteString(" (" + fmtCount(int64(r.Workload.Backlog)) + " events)")
	}
	b.WriteString(" is produced before a target starts; the target then consumes it to durable state as fast as it can. " +
		"The ingest rate is the events over the time from the first applied event to the last, so startup — from process start to the first applied event — is reported apart and not counted in it. " +
		"Raw consume is a plain franz-go consumer reading the same topic in the same run and doing nothing with the records: the ceiling any consumer could reach here. Ingest / raw is the share of that ceiling the target reached.\n\n")

	b.WriteString("**Throughput.** The events/s the target applied, sampled through both phases; each point is the rate over the interval ending at its time, in seconds since the target started.\n\n")

	b.WriteString("**Freshness.** The time from producing an event to the API showing it. The samples are events of new users produced during the live phase; the harness polls each such user's profile until it answers")
	if t != nil && t.Freshness.PollSeconds > 0 {
		if g := t.Freshness.PollGrowth; g > 0 {
			b.WriteString(", waiting " + fmtMSShort(t.Freshness.PollSeconds) + " ms plus " + strconv.FormatFloat(100*g, 'g', 3, 64) +
				"% of the time elapsed between polls — the resolution of each figure is the larger of the two (a fixed short interval would flood a target that falls behind with polls)")
		} else {
			b.WriteString(", every " + fmtMSShort(t.Freshness.PollSeconds) + " ms — the resolution of every freshness figure")
		}
	}
	b.WriteString(". Missing samples never became visible within the timeout; more than 1% missing fails the p99 goal whatever the visible samples say.\n\n")

	b.WriteString("**Recommendation latency.** An open-loop load of recommendation requests during the live phase")
	if t != nil && t.Latency.Rate > 0 {
		b.WriteString(", scheduled at " + fmtRateShort(t.Latency.Rate) + " requests/s")
	}
	b.WriteString(". Each request's latency runs from its scheduled send time, not from when it was actually sent, so a stall counts against every request it delays: there is no coordinated omission. " +
		"Achieved is the requests/s completed; errors are non-200 answers and transport errors; empty lists are 200 answers with no items. " +
		"Server and outside the server split each answer's latency by the target's `Server-Timing` header (both targets send it): the server's part runs from its handler's start to the start of its answer; the rest is waiting for a core or a connection on either side before the handler starts, the network, the harness's scheduling and the answer's transfer. Each quantile is of that part alone. Harness send lag is how late the harness began sending each request after its due time, its own share of the rest.\n\n")

	b.WriteString("**Memory.** Measured at the end of the live phase. RSS is the resident set of every process of the target (for the baseline: its service and redis-server), peak RSS their high-water marks; RSS splits into anonymous memory (heaps, Sticky's user cache, Redis's data) and file-backed pages (binaries, and Sticky's mmapped Badger tables, value log and memtable logs, which the kernel can drop under memory pressure; Redis reads and writes its files without mapping them, so its file pages are in the page cache, not in its RSS); Go heap is `go_memstats_heap_inuse_bytes` of the Go process. " +
		"State is what the state takes: for Sticky, Badger's LSM and value log on disk; for the Redis baseline, Redis's `used_memory` — different resources, so read their ratio with that in mind. State per user divides it by the users in the state.\n")

	if hasCPU(r) {
		writeCPUMeasured(b, r)
	}
	for i := range r.Targets {
		if t := &r.Targets[i]; t.URL != "" {
			fmt.Fprintf(b, "\n**%s, a deployment already running** (at %s). The harness did not start it: it produced the workload into the deployment's topics while the deployment consumed them, so the ingest rate runs from the first backlog event applied to the last (on its `sticky_stream_events_consumed_total`, counted from its value before production) and is at most the producer's rate; the raw consumer read the topic after the ingest; startup and peak RSS are not measured; RSS, Go heap and state are what the deployment reports in `/metrics`; freshness and latency include the network between the two machines. ",
				displayName(t), t.URL)
			if len(r.Targets) > 1 {
				b.WriteString("The other targets were started by the harness on a full backlog, so their ingest figures are measured differently: read the ingest ratios with that in mind.")
			}
			b.WriteString("\n")
		}
	}
}

// writeCPUMeasured explains the CPU figures.
func writeCPUMeasured(b *strings.Builder, r *system.Result) {
	b.WriteString("\n**CPU.** User + system CPU seconds of the target's processes (from `/proc/<pid>/stat`; for the baseline its service and redis-server; for a deployment the harness did not start, its `process_cpu_seconds_total`) and of the harness's own process (`getrusage`), read at the start and end of each phase; cores (avg) divides them by the phase's wall-clock length")
	if c := r.Machine.CPUs; c > 0 {
		fmt.Fprintf(b, ", out of the harness machine's %d CPUs", c)
	}
	b.WriteString(". The ingest phase runs from the target's start (for a deployment the harness did not start, from the start of production) until the whole backlog is applied, startup included; the live phase is its measured part after the warm-up. " +
		"The harness's figure is the load generator and its pollers")
	if strings.HasPrefix(r.Broker, "embedded") {
		b.WriteString(", and the embedded broker, which runs in the harness's process in this run")
	}
	b.WriteString(": on one machine, what the harness takes is not the target's.\n")
}

// workloadOf is " (online-retail, 540,000 events)" or nothing.
func workloadOf(q *system.Quality) string {
	var parts []string
	if q.Workload != "" {
		parts = append(parts, q.Workload)
	}
	if q.Events > 0 {
		parts = append(parts, fmtCount(int64(q.Events))+" events")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// codeBlock fences s, with a fence longer than any run of backticks in it.
func codeBlock(lang, s string) string {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + lang + "\n" + strings.TrimRight(s, "\n") + "\n" + fence + "\n"
}
