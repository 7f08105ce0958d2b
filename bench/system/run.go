package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/bench/baseline"
	"github.com/stickyhq/sticky/bench/workload"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/stream"
)

// Target names.
const (
	TargetSticky   = "sticky"
	TargetBaseline = "redis-baseline"
)

// Run measures every target on the workload, one after the other, each on
// its own topics of the same broker. It fills r.Broker, r.Workload and
// r.Targets; a target that fails keeps its partial figures and the reason
// in its Errors, and Run goes on with the next. Run returns an error only
// when nothing could be measured (no broker, bad options).
func Run(ctx context.Context, w *workload.Workload, o Options, r *Result) error {
	o.defaults()
	if o.Dir == "" {
		return errors.New("system: Options.Dir is required")
	}
	if len(w.Events) < 2 {
		return fmt.Errorf("system: the workload has %d events; need at least 2", len(w.Events))
	}
	targets := o.Targets
	if len(targets) == 0 {
		targets = []string{TargetSticky}
		if o.Baseline {
			targets = append(targets, TargetBaseline)
		}
	}
	for _, t := range targets {
		if t != TargetSticky && t != TargetBaseline {
			return fmt.Errorf("system: unknown target %q (want %s or %s)", t, TargetSticky, TargetBaseline)
		}
	}
	if o.TargetURL != "" {
		if len(o.Brokers) == 0 {
			return errors.New("system: Options.TargetURL needs Brokers: the deployment's brokers, to produce the workload to")
		}
		if !slices.Contains(targets, TargetSticky) {
			return errors.New("system: Options.TargetURL is the sticky target, but the targets do not include sticky")
		}
	}
	if o.StickyBinary == "" && o.TargetURL == "" && slices.Contains(targets, TargetSticky) {
		bin, err := findSticky()
		if err != nil {
			return err
		}
		o.StickyBinary = bin
	}
	if o.BaselineBinary == "" && slices.Contains(targets, TargetBaseline) {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("system: cannot find the harness's executable for the baseline: %w", err)
		}
		o.BaselineBinary = exe
	}

	brokers := o.Brokers
	r.Broker = strings.Join(brokers, ",")
	if len(brokers) == 0 {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0),
			kfake.DefaultNumPartitions(o.Partitions), kfake.SeedTopics(-1))
		if err != nil {
			return fmt.Errorf("system: cannot start the embedded broker: %w", err)
		}
		defer c.Close()
		brokers = c.ListenAddrs()
		r.Broker = "embedded kfake in the harness process, " + brokers[0]
	}

	// Split: the backlog, then the live events.
	backlog := o.Backlog
	if backlog <= 0 || backlog >= len(w.Events) {
		reserve := int(o.LiveRate * (o.Live + o.WarmUp).Seconds())
		backlog = len(w.Events) - min(reserve, len(w.Events)/2)
	}
	evs := shiftToNow(w.Events, backlog)
	run := fmt.Sprintf("b%d", time.Now().UnixNano()%1e9)
	if o.TargetURL != "" {
		// A deployment keeps what earlier runs produced: new event ids, so
		// that a second run is not skipped as duplicates.
		for i := range evs {
			if evs[i].ID != "" {
				evs[i].ID += "-" + run
			}
		}
	}
	r.Workload = Workload{Name: w.Name, Events: len(w.Events), Users: w.Users(), Items: len(w.Items),
		Backlog: backlog, LiveRate: o.LiveRate, LiveSeconds: o.Live.Seconds(), Partitions: o.Partitions}

	for _, name := range targets {
		if ctx.Err() != nil {
			break
		}
		t := Target{Name: name}
		m := &measure{o: o, brokers: brokers, w: w, evs: evs, backlog: backlog,
			prefix: run + "-" + name, dir: filepath.Join(o.Dir, name), t: &t}
		if err := m.run(ctx); err != nil {
			t.Errors = append(t.Errors, err.Error())
			o.Log.Error("target failed", "target", name, "err", err)
		}
		r.Targets = append(r.Targets, t)
	}
	return ctx.Err()
}

// shiftToNow returns the events with their times shifted so that the last
// backlog event happens now (the order and gaps are kept).
func shiftToNow(evs []features.Event, backlog int) []features.Event {
	out := slices.Clone(evs)
	shift := time.Since(evs[backlog-1].Time)
	for i := range out {
		out[i].Time = out[i].Time.Add(shift)
	}
	return out
}

// measure is one target's run.
type measure struct {
	o       Options
	brokers []string
	w       *workload.Workload
	evs     []features.Event
	backlog int
	prefix  string
	dir     string
	t       *Target

	procs    []*process
	redis    *baseline.Redis
	users    int       // users produced
	lastLine time.Time // of the progress
	pids     []int
	base     string // HTTP base URL
	client   *http.Client

	counter   string       // the metric counting consumed events
	counter0  int64        // its value when the harness started producing (non-zero for a running deployment)
	producing <-chan error // the backlog's producer, while the ingest phase waits (a running deployment)
	cpuStart  cpuMark      // at the start of the ingest phase
	cpuErr    error        // why the target's CPU could not be read
	phase     atomic.Value
	startedAt time.Time
	mu        sync.Mutex
	samples   []Sample
}

func (m *measure) run(ctx context.Context) error {
	o := m.o
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", m.dir, err)
	}
	topics := stream.Config{Brokers: m.brokers, EventsTopic: m.prefix + ".events", ItemsTopic: m.prefix + ".items",
		DLQTopic: m.prefix + ".events.dlq", Partitions: o.Partitions}
	if m.remote() {
		// The deployment's own topics: they exist (it created them), and
		// the harness creates nothing.
		topics = stream.Config{Brokers: m.brokers, EventsTopic: o.EventsTopic, ItemsTopic: o.ItemsTopic}
	} else {
		if err := stream.EnsureTopics(ctx, topics); err != nil {
			return err
		}
		o.Log.Info("producing the backlog", "target", m.t.Name, "events", m.backlog, "items", len(m.w.Items))
		if err := m.produceBacklog(ctx, topics); err != nil {
			return err
		}
		raw, err := rawConsume(ctx, m.brokers, topics.EventsTopic, m.backlog)
		if err != nil {
			return err
		}
		m.t.Ingest.RawPerSecond = raw
	}

	m.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}}
	defer m.client.CloseIdleConnections()
	stop, err := m.start(ctx, topics)
	defer func() {
		if err := stop(); err != nil {
			m.t.Errors = append(m.t.Errors, err.Error())
		}
	}()
	if err != nil {
		return err
	}
	defer func() {
		if m.cpuErr != nil {
			m.t.Errors = append(m.t.Errors, "cpu: the target's CPU was not measured: "+m.cpuErr.Error())
		}
	}()

	sctx, cancelSampler := context.WithCancel(ctx)
	samplerDone := make(chan struct{})
	m.phase.Store("ingest")
	go func() {
		defer close(samplerDone)
		m.sample(sctx)
	}()
	defer func() {
		cancelSampler()
		<-samplerDone
		m.mu.Lock()
		m.t.Throughput = m.samples
		m.mu.Unlock()
	}()

	if m.remote() {
		// The deployment consumes the backlog while it is produced.
		o.Log.Info("producing the backlog to the deployment", "target", m.t.Name, "url", m.base,
			"events", m.backlog, "items", len(m.w.Items), "topic", topics.EventsTopic)
		produced := make(chan error, 1)
		m.producing = produced
		go func() {
			defer close(produced)
			produced <- m.produceBacklog(ctx, topics)
		}()
		defer func() {
			for range produced { // the ingest may have taken the result already
			}
		}()
	}
	if err := m.ingest(ctx); err != nil {
		return err
	}
	m.t.CPU.Ingest = phaseCPU(m.cpuStart, m.markCPU(ctx))
	if m.remote() {
		// After the ingest, so that it does not compete with the target
		// for the brokers (nor, on one machine, for the cores).
		raw, err := rawConsume(ctx, m.brokers, topics.EventsTopic, m.backlog)
		if err != nil {
			return err
		}
		m.t.Ingest.RawPerSecond = raw
		if m.t.Ingest.PerSecond > 0 {
			m.t.Ingest.Ratio = m.t.Ingest.PerSecond / raw
		}
	}
	m.phase.Store("live")
	if err := m.live(ctx, topics); err != nil {
		return err
	}
	m.memory(ctx)
	return nil
}

// remote reports whether the target is a deployment the harness did not
// start (Options.TargetURL).
func (m *measure) remote() bool { return m.t.Name == TargetSticky && m.o.TargetURL != "" }

// produceBacklog writes the catalogue and the backlog events.
func (m *measure) produceBacklog(ctx context.Context, topics stream.Config) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(m.brokers...), kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(200_000), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		return fmt.Errorf("cannot create the backlog producer: %w", err)
	}
	defer cl.Close()
	var first atomic.Pointer[error]
	done := func(_ *kgo.Record, err error) {
		if err != nil {
			first.CompareAndSwap(nil, &err)
		}
	}
	for i := range m.w.Items {
		b, err := json.Marshal(&m.w.Items[i])
		if err != nil {
			return fmt.Errorf("cannot encode item %s: %w", m.w.Items[i].ID, err)
		}
		cl.Produce(ctx, &kgo.Record{Topic: topics.ItemsTopic, Key: []byte(m.w.Items[i].ID), Value: b}, done)
	}
	var buf []byte
	for i := 0; i < m.backlog; i++ {
		buf = stream.AppendEvent(buf[:0], &m.evs[i])
		cl.Produce(ctx, &kgo.Record{Topic: topics.EventsTopic, Key: []byte(m.evs[i].UserID), Value: slices.Clone(buf)}, done)
		if e := first.Load(); e != nil {
			break
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("cannot flush the backlog: %w", err)
	}
	if e := first.Load(); e != nil {
		return fmt.Errorf("cannot produce the backlog: %w", *e)
	}
	return nil
}

// rawConsume reads n records of a topic with a plain franz-go consumer
// (no group, no processing) and returns records/s.
func rawConsume(ctx context.Context, brokers []string, topic string, n int) (float64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return 0, fmt.Errorf("cannot create the raw consumer: %w", err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return 0, fmt.Errorf("raw consumer: %w", err)
	}
	got := 0
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	start := time.Now()
	for got < n {
		fs := cl.PollFetches(cctx)
		if err := cctx.Err(); err != nil {
			return 0, fmt.Errorf("raw consumer read %d of %d records: %w", got, n, err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return 0, fmt.Errorf("raw consumer: %w", errs[0].Err)
		}
		got += fs.NumRecords()
	}
	return float64(got) / time.Since(start).Seconds(), nil
}

// start starts the target's processes and waits until its HTTP API
// answers; stop stops them.
func (m *measure) start(ctx context.Context, topics stream.Config) (stop func() error, err error) {
	o := m.o
	if m.remote() {
		return func() error { return nil }, m.attach(ctx, topics)
	}
	addr, err := freePort()
	if err != nil {
		return func() error { return nil }, err
	}
	m.base = "http://" + addr
	// The target's processes do not exist yet: their CPU starts at zero.
	m.cpuStart = cpuMark{at: time.Now(), harness: harnessCPU(), ok: true}
	stops := []func() error{}
	stop = func() error {
		var errs []error
		for i := len(stops) - 1; i >= 0; i-- {
			errs = append(errs, stops[i]())
		}
		return errors.Join(errs...)
	}
	var bin string
	var args []string
	switch m.t.Name {
	case TargetSticky:
		m.counter = "sticky_stream_events_consumed_total"
		bin = o.StickyBinary
		args = append([]string{"serve", "--brokers", strings.Join(m.brokers, ","), "--data", filepath.Join(m.dir, "data"),
			"--http", addr, "--topic-prefix", m.prefix, "--group", m.prefix, "--partitions", strconv.Itoa(o.Partitions),
			"--log-level", "warn"}, o.StickyArgs...)
		m.t.Description = "sticky serve: Badger state under the data directory, state and offsets committed together per batch"
	case TargetBaseline:
		m.counter = "sticky_baseline_events_consumed_total"
		rd, err := baseline.StartRedis(ctx, filepath.Join(m.dir, "redis"))
		if err != nil {
			return stop, err
		}
		stops = append(stops, rd.Close)
		m.pids = append(m.pids, rd.PID())
		m.redis = rd
		bin = o.BaselineBinary
		args = []string{"baseline", "--brokers", strings.Join(m.brokers, ","), "--topic", topics.EventsTopic,
			"--items-topic", topics.ItemsTopic, "--group", m.prefix, "--redis", rd.Addr(), "--http", addr}
		m.t.Description = "franz-go consumer group writing per-user features to redis-server (appendonly, fsync every second), " +
			"one pipeline and an offset commit per poll; HTTP service ranking from Redis with the same rules"
	}
	m.startedAt = time.Now()
	p, err := startProcess(m.t.Name, bin, args, filepath.Join(m.dir, m.t.Name+".log"))
	if err != nil {
		return stop, err
	}
	stops = append(stops, func() error { return p.stop(30 * time.Second) })
	m.procs = append(m.procs, p)
	m.pids = append([]int{p.pid()}, m.pids...)
	if err := waitHTTP(ctx, m.client, m.base+"/healthz", p, time.Minute); err != nil {
		return stop, err
	}
	return stop, nil
}

// attach is start for a deployment the harness did not start: it waits
// until the API answers and reads the consumed-events counter and the CPU
// the deployment has already spent, from which its figures are counted.
func (m *measure) attach(ctx context.Context, topics stream.Config) error {
	m.base = strings.TrimRight(m.o.TargetURL, "/")
	m.t.URL = m.base
	m.counter = "sticky_stream_events_consumed_total"
	m.t.Description = fmt.Sprintf("a sticky deployment at %s, not started by the harness: it consumes %s and %s of %s; "+
		"the figures are read through its API and /metrics", m.base, topics.EventsTopic, topics.ItemsTopic, strings.Join(m.brokers, ","))
	n, err := partitionsOf(ctx, m.brokers, topics.EventsTopic)
	if err != nil {
		return err
	}
	m.t.Description += fmt.Sprintf(" (%s has %d partitions)", topics.EventsTopic, n)
	if err := waitURL(ctx, m.client, m.base+"/healthz", time.Minute); err != nil {
		return err
	}
	c0, met, err := m.consumed(ctx)
	if err != nil {
		return err
	}
	if _, ok := met[m.counter]; !ok {
		return fmt.Errorf("%s/metrics has no %s: is it a sticky?", m.base, m.counter)
	}
	m.counter0 = c0
	m.cpuStart = m.markCPU(ctx)
	m.startedAt = m.cpuStart.at
	return nil
}

// partitionsOf returns the partition count of an existing topic.
func partitionsOf(ctx context.Context, brokers []string, topic string) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return 0, fmt.Errorf("cannot create an admin client: %w", err)
	}
	defer cl.Close()
	td, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("cannot list topic %s: %w", topic, err)
	}
	d, ok := td[topic]
	if !ok || d.Err != nil || len(d.Partitions) == 0 {
		return 0, fmt.Errorf("topic %s of the deployment is not on %s (is the events topic right?)", topic, strings.Join(brokers, ","))
	}
	return len(d.Partitions), nil
}

// findSticky is the default StickyBinary: `sticky` in the directory of the
// running executable (bin/sticky beside bin/sticky-bench), else `sticky` on
// PATH.
func findSticky() (string, error) {
	exe, err := os.Executable()
	if err == nil {
		if bin, err := exec.LookPath(filepath.Join(filepath.Dir(exe), "sticky")); err == nil {
			return bin, nil
		}
	}
	bin, err := exec.LookPath("sticky")
	if err != nil {
		return "", fmt.Errorf("system: cannot find the sticky binary beside %s or on PATH (build both with go build -o bin/ ./cmd/...): %w", exe, err)
	}
	return bin, nil
}
