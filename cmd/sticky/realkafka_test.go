package main

// Tests of real `sticky serve` processes against a real Apache Kafka broker
// (STICKY_TEST_BROKERS; `make test-kafka` starts one): wire compatibility
// with Kafka's own console producer, SIGKILL crashes, and a rebalance after
// a member dies. Without a real broker they skip, saying how to run them.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/cmd/sticky/engine"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/state"
	"github.com/stickyhq/sticky/stream"
	"github.com/stickyhq/sticky/stream/streamtest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// stickyBinary builds the sticky command once per test run.
func stickyBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sticky-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "sticky")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// proc is a running `sticky serve`.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	http string
	log  string
	done chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	// Let the kernel pick, then hand the port to the child: good enough on
	// loopback in a test.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startSticky starts `sticky serve` with args and waits for /healthz.
func startSticky(t *testing.T, name, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, http: freeAddr(t), log: filepath.Join(dir, name+".log"), done: make(chan error, 1)}
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"serve", "--http", p.http, "--log-level", "warn"}, args...)
	p.cmd = exec.Command(stickyBinary(t), args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait(); logf.Close() }()
	t.Cleanup(func() { p.kill() })
	streamtest.WaitFor(t, 60*time.Second, func() error {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited during start: %v\n%s", name, err, p.tail())
		default:
		}
		resp, err := http.Get("http://" + p.http + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return p
}

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// kill sends SIGKILL and waits for the process to go.
func (p *proc) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(10 * time.Second):
		p.t.Errorf("%s did not die after SIGKILL", p.name)
	}
}

// stop sends SIGTERM and checks a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			p.t.Fatalf("%s exited with %v after SIGTERM\n%s", p.name, err, p.tail())
		}
	case <-time.After(60 * time.Second):
		p.t.Fatalf("%s still running 60s after SIGTERM\n%s", p.name, p.tail())
	}
}

func (p *proc) ready() (engine.ReadyState, error) {
	var rd engine.ReadyState
	resp, err := http.Get("http://" + p.http + "/readyz")
	if err != nil {
		return rd, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&rd)
	return rd, err
}

// caughtUp waits until p holds want partitions and has applied everything
// on them, by a lag measured after since.
func (p *proc) caughtUp(t *testing.T, want int, since time.Time, timeout time.Duration) engine.ReadyState {
	t.Helper()
	var last engine.ReadyState
	streamtest.WaitFor(t, timeout, func() error {
		rd, err := p.ready()
		if err != nil {
			return err
		}
		last = rd
		if len(rd.Partitions) != want || !rd.Ready || rd.TotalLag != 0 || !rd.LagMeasuredAt.After(since) {
			return fmt.Errorf("%s: partitions %v, ready %v, lag %d, reasons %v", p.name, rd.Partitions, rd.Ready, rd.TotalLag, rd.Reasons)
		}
		return nil
	})
	return last
}

// shop produces a synthetic catalogue to the items topic and returns it
// with the shop's events.
func shopOf(t *testing.T, brokers []string, cfg stream.Config, users, days int) (*state.Catalogue, []features.Event) {
	t.Helper()
	w := synth.New(synth.Config{Seed: 11, Users: users, Items: 2000})
	cat := state.NewCatalogue()
	cat.Apply(w.Items, nil)
	recs := make([]*kgo.Record, len(w.Items))
	for i := range w.Items {
		v, _ := json.Marshal(&w.Items[i])
		recs[i] = &kgo.Record{Topic: cfg.ItemsTopic, Key: []byte(w.Items[i].ID), Value: v}
	}
	produceAll(t, brokers, recs)
	return cat, w.History(days, time.Now().Add(-time.Hour))
}

func produceAll(t *testing.T, brokers []string, recs []*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// streamEvents produces evs in the background: the first burst at once,
// the rest in chunks spread over about d; the returned channel closes when
// all are acknowledged.
func streamEvents(t *testing.T, brokers []string, topic string, evs []features.Event, burst int, d time.Duration) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	const chunk = 5000
	pause := d / time.Duration((len(evs)-burst)/chunk+1)
	go func() {
		defer close(done)
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond))
		if err != nil {
			t.Error(err)
			return
		}
		defer cl.Close()
		for i := 0; i < len(evs); i += chunk {
			recs := make([]*kgo.Record, 0, chunk)
			for j := i; j < min(i+chunk, len(evs)); j++ {
				recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(evs[j].UserID), Value: stream.AppendEvent(nil, &evs[j])})
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := cl.ProduceSync(ctx, recs...).FirstErr()
			cancel()
			if err != nil {
				t.Errorf("producing events: %v", err)
				return
			}
			if i >= burst {
				time.Sleep(pause)
			}
		}
	}()
	return done
}

// compareStore opens the Badger directory a stopped process left and checks
// it equals a single fold of the whole events log.
func compareStore(t *testing.T, brokers []string, dataDir string, cfg stream.Config, cat *state.Catalogue) {
	t.Helper()
	st, err := state.Open(state.Config{Dir: filepath.Join(dataDir, "state"), CacheBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := streamtest.ReadLog(t, brokers, cfg.EventsTopic)
	ref := streamtest.Fold(log, features.NewExtractor(features.DefaultConfig()), cat, cfg.MaxFutureSkew)
	users, items, err := ref.Compare(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compared with a reference fold of the whole log: %d records over %d partitions, %d events applied, %d users, %d item shares: identical",
		ref.Records, len(log), ref.Applied, users, items)
}

func topicsFor(name string, partitions int) (stream.Config, []string) {
	cfg := stream.DefaultConfig()
	cfg.WithTopicPrefix(name)
	cfg.EnsureDefaults()
	return cfg, []string{"--topic-prefix", name, "--group", name, "--partitions", fmt.Sprint(partitions)}
}

// TestKafkaCrashRecovery: a real `sticky serve` consumes 200k+ events over
// six partitions while being killed with SIGKILL at random points; after
// the last restart its state equals a single fold of the whole log.
func TestKafkaCrashRecovery(t *testing.T) {
	brokers := streamtest.RequireReal(t)
	dir := t.TempDir()
	name := streamtest.Unique("crash")
	cfg, args := topicsFor(name, 6)
	args = append(args, "--brokers", strings.Join(brokers, ","), "--data", filepath.Join(dir, "data"),
		"--instance-id", name+"-1", "--session-timeout", "10s", "--batch-events", "500")
	// The topics exist before the shop is produced to them.
	p := startSticky(t, "sticky-0", dir, args...)
	cat, evs := shopOf(t, brokers, cfg, 2200, 12)
	if len(evs) < 200_000 {
		t.Fatalf("only %d events: the test wants at least 200k", len(evs))
	}
	// A burst first, so that the first kills land while it catches up
	// with a large lag, then a steady stream.
	produced := streamEvents(t, brokers, cfg.EventsTopic, evs, len(evs)/2, 10*time.Second)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	kills := 0
	for kills < 3 || !closed(produced) {
		time.Sleep(time.Duration(200+rng.IntN(2000)) * time.Millisecond)
		rd, _ := p.ready()
		p.kill()
		kills++
		t.Logf("kill -9 #%d: it held %d partitions with lag %d", kills, len(rd.Partitions), rd.TotalLag)
		p = startSticky(t, fmt.Sprintf("sticky-%d", kills), dir, args...)
		if kills >= 8 {
			break
		}
	}
	<-produced
	end := time.Now()
	rd := p.caughtUp(t, 6, end, 3*time.Minute)
	t.Logf("after %d kills: ready, partitions %v, lag %d", kills, rd.Partitions, rd.TotalLag)
	p.stop()
	compareStore(t, brokers, filepath.Join(dir, "data"), cfg, cat)
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestKafkaRebalanceHandover: two processes share the group; one is killed
// mid-stream; the survivor takes over its partitions (seen in /readyz),
// rebuilds them from the log, and ends with the exact state of every user.
func TestKafkaRebalanceHandover(t *testing.T) {
	brokers := streamtest.RequireReal(t)
	dir := t.TempDir()
	name := streamtest.Unique("rebalance")
	cfg, args := topicsFor(name, 6)
	args = append(args, "--brokers", strings.Join(brokers, ","), "--session-timeout", "3s")
	a := startSticky(t, "a", dir, append(args, "--data", filepath.Join(dir, "a"))...)
	b := startSticky(t, "b", dir, append(args, "--data", filepath.Join(dir, "b"))...)
	streamtest.WaitFor(t, 60*time.Second, func() error {
		ra, err := a.ready()
		if err != nil {
			return err
		}
		rb, err := b.ready()
		if err != nil {
			return err
		}
		if len(ra.Partitions) == 0 || len(rb.Partitions) == 0 || len(ra.Partitions)+len(rb.Partitions) != 6 {
			return fmt.Errorf("a holds %v, b holds %v", ra.Partitions, rb.Partitions)
		}
		return nil
	})
	before, _ := b.ready()
	cat, evs := shopOf(t, brokers, cfg, 800, 10)
	produced := streamEvents(t, brokers, cfg.EventsTopic, evs, 0, 8*time.Second)
	time.Sleep(2 * time.Second)
	a.kill()
	killed := time.Now()
	t.Logf("killed a mid-stream; b held %v", before.Partitions)

	// Watch b's /readyz through the handover.
	var sawNotReady bool
	streamtest.WaitFor(t, 2*time.Minute, func() error {
		rd, err := b.ready()
		if err != nil {
			return err
		}
		if !rd.Ready {
			sawNotReady = true
		}
		if len(rd.Partitions) != 6 {
			return fmt.Errorf("b holds %v", rd.Partitions)
		}
		return nil
	})
	t.Logf("b took over all 6 partitions %v after a was killed", time.Since(killed).Round(100*time.Millisecond))
	<-produced
	rd := b.caughtUp(t, 6, time.Now(), 3*time.Minute)
	if !sawNotReady {
		t.Log("b never reported not-ready during the handover (it caught up between two probes)")
	}
	t.Logf("b ready: partitions %v, lag %d", rd.Partitions, rd.TotalLag)
	b.stop()
	compareStore(t, brokers, filepath.Join(dir, "b"), cfg, cat)
}

// TestKafkaConsoleProducer: events written by Kafka's own console producer
// (Java client, murmur2 partitioner), with keys and headers, are applied;
// a malformed one reaches the dead-letter topic with its headers intact.
func TestKafkaConsoleProducer(t *testing.T) {
	brokers := streamtest.RequireReal(t)
	libs := os.Getenv(streamtest.EnvKafkaLibs)
	if libs == "" {
		if os.Getenv(streamtest.EnvRequire) == "1" {
			t.Fatal(streamtest.EnvKafkaLibs + " is not set (.ci/kafka env prints it)")
		}
		t.Skip(streamtest.EnvKafkaLibs + " is not set: run `make kafka-up` and export what it prints")
	}
	dir := t.TempDir()
	name := streamtest.Unique("console")
	cfg, args := topicsFor(name, 3)
	p := startSticky(t, "sticky", dir, append(args, "--brokers", strings.Join(brokers, ","), "--data", filepath.Join(dir, "data"))...)
	defer p.stop()

	ts := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	var lines strings.Builder
	for u := 0; u < 30; u++ {
		for i, typ := range []string{"view", "add_to_cart", "purchase"} {
			fmt.Fprintf(&lines, "source:console,trace:t%d-%d\tu%d\t{\"user_id\":\"u%d\",\"type\":%q,\"item_id\":\"sku-%d\",\"ts\":%q,\"price\":9.5}\n",
				u, i, u, u, typ, u%7, ts)
		}
	}
	lines.WriteString("source:console,trace:bad\tu0\t{\"user_id\":\"u0\",\"type\":\"teleport\",\"ts\":\"" + ts + "\"}\n")
	cmd := exec.Command("java", "-cp", filepath.Join(libs, "*"), "org.apache.kafka.tools.ConsoleProducer",
		"--bootstrap-server", strings.Join(brokers, ","), "--topic", cfg.EventsTopic,
		"--reader-property", "parse.key=true", "--reader-property", "key.separator=\t",
		"--reader-property", "parse.headers=true", "--reader-property", "headers.delimiter=\t",
		"--reader-property", "headers.separator=,", "--reader-property", "headers.key.separator=:")
	cmd.Stdin = strings.NewReader(lines.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("console producer: %v\n%s", err, out)
	}

	streamtest.WaitFor(t, 60*time.Second, func() error {
		for u := 0; u < 30; u++ {
			var prof engine.Profile
			resp, err := http.Get(fmt.Sprintf("http://%s/v1/users/u%d/profile", p.http, u))
			if err != nil {
				return err
			}
			err = json.NewDecoder(resp.Body).Decode(&prof)
			resp.Body.Close()
			if err != nil || prof.Events != 3 || prof.Orders.Count != 1 || prof.Orders.Monetary != 9.5 {
				return fmt.Errorf("u%d: %d events, %d orders (%v)", u, prof.Events, prof.Orders.Count, err)
			}
		}
		return nil
	})
	var dead *kgo.Record
	streamtest.WaitFor(t, 30*time.Second, func() error {
		for _, rs := range streamtest.ReadLog(t, brokers, cfg.DLQTopic) {
			for _, r := range rs {
				dead = r
			}
		}
		if dead == nil {
			return fmt.Errorf("no dead letter yet")
		}
		return nil
	})
	hs := map[string]string{}
	for _, h := range dead.Headers {
		hs[h.Key] = string(h.Value)
	}
	if hs["source"] != "console" || hs["trace"] != "bad" || hs[stream.HeaderField] != "type" || string(dead.Key) != "u0" {
		t.Fatalf("dead letter key %q headers %v", dead.Key, hs)
	}
	t.Logf("90 events from Kafka's console producer applied over 3 partitions; the malformed one parked with headers %v", hs)
}
