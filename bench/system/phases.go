package system

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/stream"
)

// consumed scrapes the target's consumed-events counter, counted from
// counter0.
func (m *measure) consumed(ctx context.Context) (int64, metrics, error) {
	met, err := scrape(ctx, m.client, m.base+"/metrics")
	if err != nil {
		return 0, nil, err
	}
	return int64(met[m.counter]) - m.counter0, met, nil
}

// sample records the target's events/s every second until ctx ends.
func (m *measure) sample(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	prev, prevAt := int64(0), m.startedAt
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n, _, err := m.consumed(ctx)
			if err != nil {
				continue
			}
			m.mu.Lock()
			m.samples = append(m.samples, Sample{Seconds: now.Sub(m.startedAt).Seconds(),
				Value: float64(n-prev) / now.Sub(prevAt).Seconds(), Phase: m.phase.Load().(string)})
			m.mu.Unlock()
			prev, prevAt = n, now
		}
	}
}

// ingest waits until the target has applied the whole backlog.
func (m *measure) ingest(ctx context.Context) error {
	o := m.o
	want := int64(m.backlog)
	var (
		t0   time.Time
		c0   int64
		last int64
	)
	deadline := time.Now().Add(o.IngestTimeout)
	progressAt := time.Now()
	for {
		n, _, err := m.consumed(ctx)
		now := time.Now()
		if err == nil {
			last = n
			if n > 0 && t0.IsZero() {
				t0, c0 = now, n
				if !m.remote() {
					m.t.Ingest.StartupSeconds = now.Sub(m.startedAt).Seconds()
				}
			}
			if n >= want {
				break
			}
		}
		for _, p := range m.procs {
			if done, err := p.exited(); done {
				return err
			}
		}
		select {
		case err := <-m.producing:
			if err != nil {
				return err
			}
			m.producing = nil
		default:
		}
		if now.After(deadline) {
			return fmt.Errorf("ingest: %d of %d events applied after %v", last, want, o.IngestTimeout)
		}
		if now.Sub(progressAt) >= time.Second {
			rate := 0.0
			if !t0.IsZero() && now.After(t0) {
				rate = float64(last-c0) / now.Sub(t0).Seconds()
			}
			m.progress(fmt.Sprintf("%s ingest: %d/%d events (%.0f%%), %s events/s", m.t.Name, last, want,
				100*float64(last)/float64(want), human(rate)))
			progressAt = now
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	end := time.Now()
	in := &m.t.Ingest
	in.Events = m.backlog
	if t0.IsZero() || c0 >= want || !end.After(t0) {
		// Everything arrived before the first scrape: count from the start.
		t0, c0 = m.startedAt, 0
	}
	in.Seconds = end.Sub(t0).Seconds()
	in.PerSecond = float64(want-c0) / in.Seconds
	if in.RawPerSecond > 0 {
		in.Ratio = in.PerSecond / in.RawPerSecond
	}
	if m.remote() {
		// The raw consumer reads the topic after the ingest.
		m.progressDone(fmt.Sprintf("%s ingest: %d events in %.1f s: %s events/s, consumed while the harness produced them",
			m.t.Name, want, in.Seconds, human(in.PerSecond)))
		return nil
	}
	m.progressDone(fmt.Sprintf("%s ingest: %d events in %.1f s: %s events/s (raw consumer %s events/s, ratio %.2f)",
		m.t.Name, want, in.Seconds, human(in.PerSecond), human(in.RawPerSecond), in.Ratio))
	return nil
}

// live runs the live phase: events at LiveRate, recommendations at RecRate
// and freshness samples, for WarmUp + Live.
func (m *measure) live(ctx context.Context, topics stream.Config) error {
	o := m.o
	cl, err := kgo.NewClient(kgo.SeedBrokers(m.brokers...), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		return fmt.Errorf("cannot create the live producer: %w", err)
	}
	defer cl.Close()

	users := make([]string, 0, 1024)
	seen := map[string]struct{}{}
	for i := 0; i < m.backlog; i++ {
		u := m.evs[i].UserID
		if _, ok := seen[u]; !ok {
			seen[u] = struct{}{}
			users = append(users, u)
		}
	}
	tmpl := make([]features.Event, 0, 256)
	for i := m.backlog; i < len(m.evs) && len(tmpl) < cap(tmpl); i++ {
		if m.evs[i].ItemID != "" {
			tmpl = append(tmpl, m.evs[i])
		}
	}
	if len(tmpl) == 0 {
		tmpl = append(tmpl, m.evs[len(m.evs)-1])
	}

	lp := &liveProducer{cl: cl, topic: topics.EventsTopic, evs: m.evs[m.backlog:], rate: o.LiveRate}
	rl := &recLoad{base: m.base, users: users, rate: o.RecRate, k: o.K, workers: o.RecWorkers, client: m.client}
	fr := &freshness{base: m.base, cl: cl, topic: topics.EventsTopic, prefix: m.prefix + "-fresh-",
		every: o.FreshEvery, poll: o.FreshPoll, growth: o.FreshPollGrowth, timeout: o.FreshTimeout, tmpl: tmpl, client: m.client}

	start := time.Now()
	measureAt := start.Add(o.WarmUp)
	end := measureAt.Add(o.Live)
	lctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); lp.run(lctx, start) }()
	go func() { defer wg.Done(); rl.run(lctx, start, measureAt) }()
	go func() {
		defer wg.Done()
		select {
		case <-lctx.Done():
			return
		case <-time.After(time.Until(measureAt)):
		}
		fr.run(lctx)
	}()

	tick := time.NewTicker(time.Second)
	measuring := time.After(time.Until(measureAt))
	var exitErr error
	var cpu0 cpuMark
loop:
	for {
		select {
		case <-lctx.Done():
			break loop
		case <-measuring:
			cpu0 = m.markCPU(ctx)
		case now := <-tick.C:
			for _, p := range m.procs {
				if done, err := p.exited(); done {
					exitErr = err
					cancel()
					break loop
				}
			}
			phase := "warm-up"
			if now.After(measureAt) {
				phase = fmt.Sprintf("%.0f/%.0f s", now.Sub(measureAt).Seconds(), o.Live.Seconds())
			}
			m.progress(fmt.Sprintf("%s live %s: %s events/s applied, %d recs (%d errors), rec p99 %s, freshness max %s",
				m.t.Name, phase, human(m.lastRate()), rl.requests.Load(), rl.errors.Load(),
				ms(rl.progress()), ms(fr.progress())))
		}
	}
	tick.Stop()
	if !cpu0.at.IsZero() && exitErr == nil {
		m.t.CPU.Live = phaseCPU(cpu0, m.markCPU(ctx))
	}
	wg.Wait()
	measured := min(time.Since(measureAt), o.Live).Seconds()
	m.t.Latency = rl.result(measured)
	m.t.Freshness = fr.result()
	if msg := rl.firstError.Load(); msg != nil {
		m.t.Errors = append(m.t.Errors, fmt.Sprintf("%d recommendation requests failed; first: %s", m.t.Latency.Errors, *msg))
	}
	if msg := lp.firstErr.Load(); msg != nil {
		m.t.Errors = append(m.t.Errors, fmt.Sprintf("%d live events not produced; first: %s", lp.failed.Load(), *msg))
	}
	for u := range lp.users {
		seen[u] = struct{}{}
	}
	m.users = len(seen) + int(fr.started.Load())
	l := m.t.Latency
	m.progressDone(fmt.Sprintf("%s live: %d recs at %.0f/s, p50 %s p99 %s p99.9 %s, %d errors; freshness p50 %s p99 %s max %s (%d samples, %d missing)",
		m.t.Name, l.Requests, l.Achieved, ms(l.P50), ms(l.P99), ms(l.P999), l.Errors,
		ms(m.t.Freshness.P50), ms(m.t.Freshness.P99), ms(m.t.Freshness.Max), m.t.Freshness.Samples, m.t.Freshness.Missing))
	return exitErr
}

// lastRate is the events/s of the newest throughput sample.
func (m *measure) lastRate() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.samples) == 0 {
		return 0
	}
	return m.samples[len(m.samples)-1].Value
}

// memory measures the target's processes and state.
func (m *measure) memory(ctx context.Context) {
	mem := &m.t.Memory
	for _, pid := range m.pids {
		pm := procMemory(pid)
		mem.RSSBytes += pm.rss
		mem.PeakRSSBytes += pm.peak
		mem.AnonRSSBytes += pm.anon
		mem.FileRSSBytes += pm.file
	}
	_, met, err := m.consumed(ctx)
	if err != nil {
		m.t.Errors = append(m.t.Errors, "memory: "+err.Error())
		return
	}
	mem.HeapBytes = int64(met["go_memstats_heap_inuse_bytes"])
	// Users in state: those the harness produced events for, or more if
	// the deployment counts more (a deployment that had users before).
	// Sticky's count (sticky_audience_users) trails by up to one flush
	// interval: a user whose first event came in the last second may not
	// be in it yet.
	mem.Users = m.users
	switch {
	case m.remote():
		// No process of the harness's to look at: what the deployment
		// reports of itself. It has no high-water mark of its RSS, and
		// Badger refreshes its size figure about once a minute.
		mem.RSSBytes = int64(met["process_resident_memory_bytes"])
		mem.StateBytes, mem.StateKind = int64(met["sticky_state_disk_bytes"]), "Badger size on disk as the deployment reports it (sticky_state_disk_bytes)"
		mem.Users = max(mem.Users, int(met["sticky_audience_users"]))
	case m.t.Name == TargetSticky:
		// Badger refreshes its own size figure once a minute: measure the
		// files instead (allocated blocks, so sparse value logs count as
		// what they take).
		mem.StateBytes, mem.StateKind = diskUsage(filepath.Join(m.dir, "data", "state")), "Badger directory on disk (LSM + value log)"
		mem.Users = max(mem.Users, int(met["sticky_audience_users"]))
	case m.t.Name == TargetBaseline:
		if m.redis != nil {
			b, err := redisUsedMemory(ctx, m.redis.Addr())
			if err != nil {
				m.t.Errors = append(m.t.Errors, "memory: "+err.Error())
			}
			mem.StateBytes, mem.StateKind = b, "Redis used_memory (in RAM)"
		}
	}
	if mem.Users > 0 {
		mem.BytesPerUser = float64(mem.StateBytes) / float64(mem.Users)
	}
}

// progress shows a progress line: rewritten in place on a terminal, else
// printed at most every 5 s.
func (m *measure) progress(line string) { m.show(line, false) }

// progressDone ends a phase's progress with a line that stays.
func (m *measure) progressDone(line string) { m.show(line, true) }

func (m *measure) show(line string, stays bool) {
	w := m.o.Progress
	switch {
	case w == nil:
	case m.o.ProgressTTY && stays:
		fmt.Fprintf(w, "\r\033[K%s\n", line)
	case m.o.ProgressTTY:
		fmt.Fprintf(w, "\r\033[K%s", line)
	case stays || time.Since(m.lastLine) >= 5*time.Second:
		fmt.Fprintln(w, line)
		m.lastLine = time.Now()
	}
}

// human formats a rate: 1234567 → "1.23M".
func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

// ms formats seconds as milliseconds.
func ms(s float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.2f", s*1e3), ".00") + " ms"
}
