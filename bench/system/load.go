package system

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/servertiming"
	"github.com/stickyhq/sticky/stream"
)

// recLoad is the open-loop recommendation generator: request i is due at
// start + i/rate whatever happened to the ones before it, and its latency
// runs from that due time to the end of its answer. Requests due before
// the warm-up ends are sent but not recorded.
type recLoad struct {
	base    string
	users   []string
	rate    float64
	k       int
	workers int
	client  *http.Client

	mu         sync.Mutex
	hist       *hdrhistogram.Histogram // the measured phase
	server     *hdrhistogram.Histogram // the measured phase, the target's Server-Timing
	outside    *hdrhistogram.Histogram // the measured phase, latency less the target's Server-Timing
	lag        *hdrhistogram.Histogram // the measured phase, from due to the send
	interval   *hdrhistogram.Histogram // since the last progress line
	requests   atomic.Int64
	errors     atomic.Int64
	empty      atomic.Int64
	firstError atomic.Pointer[string]
}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3) // µs
}

// run sends requests from start until ctx ends; those due before measure
// are not recorded.
func (l *recLoad) run(ctx context.Context, start, measure time.Time) {
	l.hist, l.interval, l.server, l.outside, l.lag = newHist(), newHist(), newHist(), newHist(), newHist()
	due := make(chan time.Time, int(l.rate)*10+1)
	var wg sync.WaitGroup
	for w := 0; w < l.workers; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 7))
			var buf bytes.Buffer
			for at := range due {
				if ctx.Err() != nil {
					continue // drain
				}
				l.one(ctx, at, at.Before(measure), rng, &buf)
			}
		}(uint64(w))
	}
	interval := time.Duration(float64(time.Second) / l.rate)
	for i := int64(0); ; {
		now := time.Now()
		for n := int64(now.Sub(start) / interval); i <= n; i++ {
			select {
			case due <- start.Add(time.Duration(i) * interval):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	close(due)
	wg.Wait()
}

func (l *recLoad) one(ctx context.Context, due time.Time, warmUp bool, rng *rand.Rand, buf *bytes.Buffer) {
	lag := time.Since(due)
	u := l.users[rng.IntN(len(l.users))]
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
		l.base+"/v1/recommendations?user_id="+url.QueryEscape(u)+"&k="+strconv.Itoa(l.k), nil)
	resp, err := l.client.Do(req)
	ok, empty := false, false
	var server time.Duration
	timed := false
	if err == nil {
		server, timed = servertiming.Parse(resp.Header.Get(servertiming.Header))
		buf.Reset()
		_, err = io.Copy(buf, resp.Body)
		resp.Body.Close()
		ok = err == nil && resp.StatusCode == http.StatusOK
		empty = ok && !bytes.Contains(buf.Bytes(), []byte(`"item_id"`))
		if err == nil && !ok {
			err = fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(buf.Bytes()))
		}
	}
	took := time.Since(due)
	if ctx.Err() != nil || warmUp {
		return
	}
	l.requests.Add(1)
	if !ok {
		l.errors.Add(1)
		msg := err.Error()
		l.firstError.CompareAndSwap(nil, &msg)
	}
	if empty {
		l.empty.Add(1)
	}
	us := max(took.Microseconds(), 1)
	l.mu.Lock()
	l.hist.RecordValue(us)
	l.interval.RecordValue(us)
	l.lag.RecordValue(max(lag.Microseconds(), 1))
	if timed {
		sus := max(server.Microseconds(), 1)
		l.server.RecordValue(sus)
		l.outside.RecordValue(max(us-sus, 1))
	}
	l.mu.Unlock()
}

// progress returns the p99 since the last call, in seconds.
func (l *recLoad) progress() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.interval == nil {
		return 0
	}
	p := float64(l.interval.ValueAtQuantile(99)) / 1e6
	l.interval.Reset()
	return p
}

// result summarises the measured phase.
func (l *recLoad) result(seconds float64) Latency {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.hist
	q := func(p float64) float64 { return float64(h.ValueAtQuantile(p)) / 1e6 }
	r := Latency{Rate: l.rate, Requests: l.requests.Load(), Errors: l.errors.Load(), EmptyLists: l.empty.Load()}
	if seconds > 0 {
		r.Achieved = float64(r.Requests) / seconds
	}
	if h.TotalCount() > 0 {
		r.P50, r.P90, r.P99, r.P999, r.Max = q(50), q(90), q(99), q(99.9), float64(h.Max())/1e6
		r.Histogram = bars(h)
	}
	if g := l.lag; g.TotalCount() > 0 {
		r.SendLagP50, r.SendLagP99 = float64(g.ValueAtQuantile(50))/1e6, float64(g.ValueAtQuantile(99))/1e6
	}
	if s, o := l.server, l.outside; s.TotalCount() > 0 {
		r.ServerTimed = s.TotalCount()
		r.ServerP50, r.ServerP99 = float64(s.ValueAtQuantile(50))/1e6, float64(s.ValueAtQuantile(99))/1e6
		r.OutsideP50, r.OutsideP99 = float64(o.ValueAtQuantile(50))/1e6, float64(o.ValueAtQuantile(99))/1e6
	}
	return r
}

// bars re-buckets a histogram into logarithmic bars, four per doubling,
// from 10 µs.
func bars(h *hdrhistogram.Histogram) []Bar {
	var out []Bar
	upTo := 10.0 // µs
	var n int64
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		for float64(b.To) > upTo {
			out = append(out, Bar{UpTo: upTo / 1e6, Count: n})
			n = 0
			upTo *= math.Pow(2, 0.25)
		}
		n += b.Count
	}
	out = append(out, Bar{UpTo: upTo / 1e6, Count: n})
	// Drop empty leading bars.
	for len(out) > 1 && out[0].Count == 0 {
		out = out[1:]
	}
	return out
}

// liveProducer produces the live events at a constant rate, each stamped
// with the time it is produced, cycling through them (with new event ids)
// if the phase outlasts them.
type liveProducer struct {
	cl    *kgo.Client
	topic string
	evs   []features.Event
	rate  float64

	produced atomic.Int64
	failed   atomic.Int64
	firstErr atomic.Pointer[string]
	users    map[string]struct{} // users produced, read after run returns
}

func (p *liveProducer) run(ctx context.Context, start time.Time) {
	p.users = make(map[string]struct{})
	if len(p.evs) == 0 {
		return
	}
	done := func(_ *kgo.Record, err error) {
		if err != nil && ctx.Err() == nil {
			p.failed.Add(1)
			msg := err.Error()
			p.firstErr.CompareAndSwap(nil, &msg)
		}
	}
	var buf []byte
	next := 0
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			due := int(now.Sub(start).Seconds() * p.rate)
			for ; next < due; next++ {
				ev := p.evs[next%len(p.evs)]
				if lap := next / len(p.evs); lap > 0 && ev.ID != "" {
					ev.ID += "-r" + strconv.Itoa(lap)
				}
				ev.Time = time.Now()
				buf = stream.AppendEvent(buf[:0], &ev)
				p.cl.Produce(ctx, &kgo.Record{Topic: p.topic, Key: []byte(ev.UserID), Value: slices.Clone(buf)}, done)
				p.users[ev.UserID] = struct{}{}
				p.produced.Add(1)
			}
		}
	}
}

// freshness produces an event of a new user every interval and polls the
// user's profile until the target shows it.
type freshness struct {
	base    string
	cl      *kgo.Client
	topic   string
	prefix  string // user ids are prefix + n
	every   time.Duration
	poll    time.Duration
	growth  float64 // Options.FreshPollGrowth
	timeout time.Duration
	tmpl    []features.Event // events to dress up as new users' first event
	client  *http.Client

	mu      sync.Mutex
	values  []float64
	missing int
	started atomic.Int64
	polls   atomic.Int64
	last    []float64 // since the last progress line
}

func (f *freshness) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ev := f.tmpl[n%len(f.tmpl)]
		ev.UserID = f.prefix + strconv.Itoa(n)
		ev.ID = ev.UserID + "-e"
		ev.Time = time.Now()
		val := stream.AppendEvent(nil, &ev)
		f.started.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.sample(ctx, ev.UserID, val)
		}()
	}
}

func (f *freshness) sample(ctx context.Context, user string, val []byte) {
	u := f.base + "/v1/users/" + url.PathEscape(user) + "/profile"
	start := time.Now()
	f.cl.Produce(ctx, &kgo.Record{Topic: f.topic, Key: []byte(user), Value: val}, nil)
	deadline := start.Add(f.timeout)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		f.polls.Add(1)
		resp, err := f.client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				took := time.Since(start).Seconds()
				f.mu.Lock()
				f.values = append(f.values, took)
				f.last = append(f.last, took)
				f.mu.Unlock()
				return
			}
		}
		if ctx.Err() != nil {
			return // the phase ended: neither seen nor missing
		}
		wait := f.poll
		if f.growth > 0 {
			wait += time.Duration(f.growth * float64(time.Since(start)))
		}
		time.Sleep(wait)
	}
	f.mu.Lock()
	f.missing++
	f.mu.Unlock()
}

// progress returns the largest freshness since the last call.
func (f *freshness) progress() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := 0.0
	for _, v := range f.last {
		m = max(m, v)
	}
	f.last = f.last[:0]
	return m
}

func (f *freshness) result() Freshness {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := slices.Clone(f.values)
	slices.Sort(v)
	r := Freshness{Samples: len(v), Missing: f.missing, Values: v, PollSeconds: f.poll.Seconds(),
		PollGrowth: max(f.growth, 0), Polls: f.polls.Load()}
	if len(v) > 0 {
		r.P50, r.P99, r.Max = quantile(v, 0.5), quantile(v, 0.99), v[len(v)-1]
	}
	return r
}

// quantile of sorted values, nearest rank.
func quantile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
