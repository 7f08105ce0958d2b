package system

import (
	"time"

	"github.com/stickyhq/sticky/bench/quality"
)

// Result is everything one `sticky-bench run` measured. It is what the
// JSON result file holds and what the Markdown report is made from.
type Result struct {
	Command  string    `json:"command"`  // the command line, as typed
	Machine  Machine   `json:"machine"`  // where it ran
	Started  time.Time `json:"started"`  // wall-clock start
	Seconds  float64   `json:"seconds"`  // wall-clock duration of the whole run
	Broker   string    `json:"broker"`   // the embedded kfake's address, or the --brokers list
	Workload Workload  `json:"workload"` // what was replayed
	Goals    Goals     `json:"goals"`    // the targets the report shows progress against

	// Targets holds one entry per system measured: Sticky first, then the
	// Redis baseline (when it ran).
	Targets []Target `json:"targets"`

	// Quality is the prequential evaluation of every recommender on the
	// same workload (Sticky's ranker, the baseline's ranking rules, and
	// the three reference baselines).
	Quality *Quality `json:"quality,omitempty"`
}

// Machine describes the host.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemBytes  int64  `json:"mem_bytes"`
	OS        string `json:"os"`   // GOOS/GOARCH and kernel release
	GoVersion string `json:"go"`   // runtime.Version()
	Host      string `json:"host"` // hostname
}

// Workload describes the replayed events.
type Workload struct {
	Name    string `json:"name"`
	Events  int    `json:"events"`  // all events of the workload
	Users   int    `json:"users"`   // distinct users
	Items   int    `json:"items"`   // catalogue items
	Backlog int    `json:"backlog"` // events produced before a target starts (the ingest phase)
	// Live phase: events produced at LiveRate events/s for LiveSeconds
	// while recommendations are requested and freshness is sampled.
	LiveRate    float64 `json:"live_rate"`
	LiveSeconds float64 `json:"live_seconds"`
	Partitions  int     `json:"partitions"`
}

// Goals are the targets of a 2-core machine.
type Goals struct {
	IngestPerSecond float64 `json:"ingest_per_second"`     // ≥ this
	FreshnessP99    float64 `json:"freshness_p99_seconds"` // ≤ this
	LatencyP99      float64 `json:"latency_p99_seconds"`   // ≤ this
	LatencyAtRate   float64 `json:"latency_at_rate"`       // requests/s the latency goal applies at
}

// DefaultGoals are the goals the product has set itself.
var DefaultGoals = Goals{IngestPerSecond: 100_000, FreshnessP99: 0.025, LatencyP99: 0.002, LatencyAtRate: 5000}

// Target is what was measured of one system.
type Target struct {
	Name        string `json:"name"`        // "sticky" or "redis-baseline"
	Description string `json:"description"` // one line: what ran, how it was configured
	// URL is the API of a deployment the harness measured without
	// starting it (Options.TargetURL); empty when the harness started the
	// target itself.
	URL string `json:"url,omitempty"`

	Ingest     Ingest    `json:"ingest"`
	Throughput []Sample  `json:"throughput"` // events/s applied, sampled through both phases
	Freshness  Freshness `json:"freshness"`
	Latency    Latency   `json:"latency"`
	Memory     Memory    `json:"memory"`
	CPU        CPU       `json:"cpu"`
	Errors     []string  `json:"errors,omitempty"` // what went wrong, if anything (the figures are then partial)
}

// Ingest is the backlog phase: events already on the topic when the
// target starts, consumed to durable state as fast as it can.
type Ingest struct {
	Events    int     `json:"events"`
	Seconds   float64 `json:"seconds"`    // from the first applied event to the last
	PerSecond float64 `json:"per_second"` // Events/Seconds
	// StartupSeconds is from process start to the first applied event
	// (not measured for a deployment the harness did not start).
	StartupSeconds float64 `json:"startup_seconds"`
	// RawPerSecond is a plain franz-go consumer reading the same topic in
	// the same run, doing nothing with the records: the ceiling.
	RawPerSecond float64 `json:"raw_per_second"`
	Ratio        float64 `json:"ratio"` // PerSecond / RawPerSecond
}

// Sample is one point of a time series.
type Sample struct {
	Seconds float64 `json:"t"`     // since the target started
	Value   float64 `json:"value"` // events/s over the interval ending at t
	Phase   string  `json:"phase"` // "ingest" or "live"
}

// Freshness is the time from producing an event to the API showing it.
// Samples are events of new users produced during the live phase; the
// harness polls the user's profile until it answers.
type Freshness struct {
	Samples int       `json:"samples"`
	Missing int       `json:"missing"` // never visible within the timeout
	P50     float64   `json:"p50_seconds"`
	P99     float64   `json:"p99_seconds"`
	Max     float64   `json:"max_seconds"`
	Values  []float64 `json:"values_seconds"` // every sample, sorted (for the CDF)
	// PollSeconds is the first interval between profile polls, and
	// PollGrowth the share of the elapsed time added to it at each poll:
	// the resolution of a figure is the larger of PollSeconds and
	// PollGrowth times the figure.
	PollSeconds float64 `json:"poll_seconds"`
	PollGrowth  float64 `json:"poll_growth,omitempty"`
	// Polls is how many profile requests the samples made.
	Polls int64 `json:"polls,omitempty"`
}

// Latency is the open-loop recommendation load during the live phase.
// Latency runs from each request's scheduled send time (not the time it
// was actually sent), so a stall counts against every request it delays.
type Latency struct {
	Rate      float64 `json:"rate"`     // requests/s scheduled
	Requests  int64   `json:"requests"` // completed, including errors
	Errors    int64   `json:"errors"`   // non-200 answers and transport errors
	Achieved  float64 `json:"achieved"` // requests/s completed
	P50       float64 `json:"p50_seconds"`
	P90       float64 `json:"p90_seconds"`
	P99       float64 `json:"p99_seconds"`
	P999      float64 `json:"p999_seconds"`
	Max       float64 `json:"max_seconds"`
	Histogram []Bar   `json:"histogram"` // counts per latency bucket
	// EmptyLists counts 200 answers with no items.
	EmptyLists int64 `json:"empty_lists"`
	// The split of each answer's latency by the target's Server-Timing
	// header (internal/servertiming; sticky serve and the baseline's
	// service both send it): the server's part, from its handler's start
	// to the start of its answer, and the rest — waiting for a core or a
	// connection on either side before the handler starts, the network,
	// the harness's own scheduling, the answer's transfer. ServerTimed is
	// how many answers carried it; the quantiles are of each part alone
	// (the p99 of the parts do not add up to the p99 of the whole).
	ServerTimed int64   `json:"server_timed,omitempty"`
	ServerP50   float64 `json:"server_p50_seconds,omitempty"`
	ServerP99   float64 `json:"server_p99_seconds,omitempty"`
	OutsideP50  float64 `json:"outside_p50_seconds,omitempty"`
	OutsideP99  float64 `json:"outside_p99_seconds,omitempty"`
	// SendLagP50 and SendLagP99 are of how late the harness began sending
	// each request after its due time (a worker free, the harness's own
	// scheduling): part of the rest above, the instrument's own share of
	// the latency measured.
	SendLagP50 float64 `json:"send_lag_p50_seconds,omitempty"`
	SendLagP99 float64 `json:"send_lag_p99_seconds,omitempty"`
}

// Bar is one histogram bucket: Count requests took at most UpTo seconds
// (and more than the previous bar's UpTo).
type Bar struct {
	UpTo  float64 `json:"up_to_seconds"`
	Count int64   `json:"count"`
}

// Memory is measured at the end of the live phase.
type Memory struct {
	// RSSBytes is the resident set of every process of the target (for
	// the baseline: its service and redis-server; for a deployment the
	// harness did not start, its process_resident_memory_bytes);
	// PeakRSSBytes their high-water marks (not measured for a deployment).
	RSSBytes     int64 `json:"rss_bytes"`
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// AnonRSSBytes and FileRSSBytes split RSSBytes (RssAnon and RssFile
	// of /proc/<pid>/status; not measured for a deployment): anonymous
	// memory (Go heap, fastcache, Redis's data) and pages of mapped files
	// (binaries; Badger's mmapped tables, value log and memtable logs),
	// which the kernel can drop under memory pressure and read again.
	AnonRSSBytes int64 `json:"anon_rss_bytes,omitempty"`
	FileRSSBytes int64 `json:"file_rss_bytes,omitempty"`
	HeapBytes    int64 `json:"go_heap_bytes"` // go_memstats_heap_inuse_bytes of the Go process
	// StateBytes is what the state takes: Badger's LSM and value log on
	// disk for Sticky (as it reports them in sticky_state_disk_bytes, for
	// a deployment); Redis's used_memory for the baseline.
	StateBytes   int64   `json:"state_bytes"`
	StateKind    string  `json:"state_kind"` // what StateBytes is
	Users        int     `json:"users"`      // users in the state
	BytesPerUser float64 `json:"state_bytes_per_user"`
}

// CPU is the processor time (user + system) the target and the harness
// spent in each phase, so that a reader sees what share of the machine the
// target had while the harness loaded it.
type CPU struct {
	Ingest PhaseCPU `json:"ingest"`
	Live   PhaseCPU `json:"live"`
	// Source is where the target's figures come from: "/proc" (the
	// utime + stime of each of its processes) or "process_cpu_seconds_total"
	// (its own metric, when it runs elsewhere).
	Source string `json:"source,omitempty"`
}

// PhaseCPU is the CPU spent during one phase. The ingest phase runs from
// the start of the target's process (of the backlog's production for a
// target the harness did not start) until the whole backlog is applied;
// the live phase is its measured part, after the warm-up.
type PhaseCPU struct {
	Seconds       float64 `json:"seconds"`        // wall-clock length of the phase
	TargetSeconds float64 `json:"target_seconds"` // CPU of the target's processes
	// HarnessSeconds is the CPU of the harness process (getrusage
	// RUSAGE_SELF): the load generator, the pollers and, when no brokers
	// are given, the embedded broker.
	HarnessSeconds float64 `json:"harness_seconds"`
}

// TargetCores is the target's average number of busy cores in the phase.
func (p PhaseCPU) TargetCores() float64 { return perSecond(p.TargetSeconds, p.Seconds) }

// HarnessCores is the harness's average number of busy cores in the phase.
func (p PhaseCPU) HarnessCores() float64 { return perSecond(p.HarnessSeconds, p.Seconds) }

func perSecond(v, s float64) float64 {
	if s <= 0 {
		return 0
	}
	return v / s
}

// Quality is the prequential evaluation.
type Quality struct {
	Workload     string `json:"workload"`
	Events       int    `json:"events"`
	K            int    `json:"k"`
	Interactions bool   `json:"interactions"` // evaluated before every interaction, not only purchases
	// Protocol is the exclusion rule applied to every list
	// (quality.Protocol: repeats-allowed or exclude-seen), Exclusion the
	// rule in words.
	Protocol  string `json:"protocol,omitempty"`
	Exclusion string `json:"exclusion,omitempty"`
	// StickyRepeat is Sticky's ranker.Config.Repeat in the evaluation
	// (learn, the default, or never: what a shop sets for films and books).
	StickyRepeat string `json:"sticky_repeat,omitempty"`
	// TrainSample: Sticky's model trained on one positive event in this
	// many (sticky-bench quality --train-sample); 0 or 1: on every one.
	TrainSample int `json:"train_sample,omitempty"`
	// MaxPerCategory is the diversity rule Sticky and the Redis rules
	// both applied (at most this many items of one category in a list);
	// 0: none, the default of both.
	MaxPerCategory int             `json:"max_per_category,omitempty"`
	Scores         []quality.Score `json:"scores"`
}
