package baseline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/stream"
	"github.com/stickyhq/sticky/stream/streamtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// envRequireRedis, set to 1, turns "no redis-server" from a skip into a
// failure.
const envRequireRedis = "STICKY_TEST_REQUIRE_REDIS"

// testRedis starts a redis-server for the test, stopped at its end.
func testRedis(t *testing.T) *Redis {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := StartRedis(ctx, t.TempDir())
	if err != nil {
		if strings.Contains(err.Error(), "not found in PATH") && os.Getenv(envRequireRedis) != "1" {
			t.Skip(err.Error() + " (set " + envRequireRedis + "=1 to fail instead)")
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// env is one test's broker, topics and Redis.
type env struct {
	brokers      []string
	topic, items string
	group        string
	redis        *Redis
	prod         *kgo.Client
	http         *http.Client
}

func newEnv(t *testing.T, partitions int32) *env {
	t.Helper()
	e := &env{redis: testRedis(t)}
	e.brokers, _ = streamtest.Brokers(t)
	e.topic, e.items, e.group = streamtest.Unique("events"), streamtest.Unique("items"), streamtest.Unique("baseline")
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	e.prod = cl
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	for topic, n := range map[string]int32{e.topic: partitions, e.items: 1} {
		res, err := adm.CreateTopic(ctx, n, -1, nil, topic)
		if err == nil {
			err = res.Err
		}
		if err != nil {
			t.Fatalf("cannot create topic %s: %v", topic, err)
		}
	}
	tr := &http.Transport{}
	e.http = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return e
}

// produceItems puts items on the catalogue topic.
func (e *env) produceItems(t *testing.T, items []features.Item) {
	t.Helper()
	recs := make([]*kgo.Record, len(items))
	for i := range items {
		b, err := json.Marshal(&items[i])
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = &kgo.Record{Topic: e.items, Key: []byte(items[i].ID), Value: b}
	}
	e.produce(t, recs...)
}

// produceEvents puts events on the events topic, keyed by user.
func (e *env) produceEvents(t *testing.T, evs []features.Event) {
	t.Helper()
	recs := make([]*kgo.Record, len(evs))
	for i := range evs {
		recs[i] = &kgo.Record{Topic: e.topic, Key: []byte(evs[i].UserID), Value: stream.AppendEvent(nil, &evs[i])}
	}
	e.produce(t, recs...)
}

func (e *env) produce(t *testing.T, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(recs) > 0 {
		n := min(len(recs), 5000)
		if err := e.prod.ProduceSync(ctx, recs[:n]...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		recs = recs[n:]
	}
}

// running is a Run in the background.
type running struct {
	base   string // http://host:port
	cancel context.CancelFunc
	done   chan error
}

// run starts Run and waits until /healthz answers 200; the run is stopped
// at the end of the test if the test has not stopped it.
func (e *env) run(t *testing.T, tune func(*Options)) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Brokers: e.brokers, Topic: e.topic, ItemsTopic: e.items, Group: e.group,
		Redis: e.redis.Addr(), Listener: ln}
	if tune != nil {
		tune(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{base: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() { r.done <- Run(ctx, o, log) }()
	t.Cleanup(func() { r.stop(t) })
	streamtest.WaitFor(t, 20*time.Second, func() error {
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("Run returned before it was ready: %v", err)
		default:
		}
		code, _ := e.get(t, r.base+"/healthz", nil)
		if code != http.StatusOK {
			return fmt.Errorf("/healthz answers %d", code)
		}
		return nil
	})
	return r
}

// stop cancels the run and waits for Run to return nil (once).
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return within 20s of cancel")
	}
}

// get fetches url; it decodes a JSON body into out when out is not nil.
func (e *env) get(t *testing.T, url string, out any) (int, []byte) {
	t.Helper()
	resp, err := e.http.Get(url)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v in %s", url, err, b)
		}
	}
	return resp.StatusCode, b
}

// metric returns the value of an unlabelled metric on /metrics.
func (e *env) metric(t *testing.T, base, name string) float64 {
	t.Helper()
	_, b := e.get(t, base+"/metrics", nil)
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not on /metrics", name)
	return 0
}

// waitConsumed waits until the consumed counter reaches n.
func (e *env) waitConsumed(t *testing.T, base string, n int) {
	t.Helper()
	streamtest.WaitFor(t, 30*time.Second, func() error {
		if got := e.metric(t, base, "sticky_baseline_events_consumed_total"); got != float64(n) {
			return fmt.Errorf("consumed %v records, want %d", got, n)
		}
		return nil
	})
}

// recommend asks the service for k items for user.
func (e *env) recommend(t *testing.T, base, user string, k int) []Ranked {
	t.Helper()
	var out struct {
		UserID string   `json:"user_id"`
		Items  []Ranked `json:"items"`
	}
	code, b := e.get(t, fmt.Sprintf("%s/v1/recommendations?user_id=%s&k=%d", base, user, k), &out)
	if code != http.StatusOK || out.UserID != user || out.Items == nil {
		t.Fatalf("recommendations for %s: %d %s", user, code, b)
	}
	return out.Items
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
