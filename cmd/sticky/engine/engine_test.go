package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/stickyhq/sticky/ranker"
	"github.com/stickyhq/sticky/stream/streamtest"
)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// testConfig runs on the embedded broker, or on the real one of
// STICKY_TEST_BROKERS with topics and a group of the test's own (name: the
// same name gives the same topics, for restarts).
func testConfig(t *testing.T, dir, name string) Config {
	cfg := DefaultConfig()
	cfg.DataDir = dir
	if bs := streamtest.RealBrokers(); len(bs) > 0 {
		cfg.Brokers = bs
		cfg.Stream.WithTopicPrefix(name)
		cfg.Stream.Group = name
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.EmbeddedKafka = "127.0.0.1:0"
	cfg.State.CacheBytes = 32 << 20
	cfg.Stream.Partitions = 4
	cfg.Stream.LagInterval = 50 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return cfg
}

// start starts an engine and waits until its audience is loaded (it loads
// in the background; see startLoading).
func start(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e := startLoading(t, cfg)
	waitFor(t, 20*time.Second, func() error {
		if !e.aud.Loaded() {
			return fmt.Errorf("the audience is loading")
		}
		return nil
	})
	return e
}

// startLoading starts an engine, whose audience may still be loading.
func startLoading(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func waitFor(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	streamtest.WaitFor(t, timeout, fn)
}

// call does an HTTP request against the engine and decodes the JSON answer.
func call(t *testing.T, e *Engine, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+e.Addr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(path, "/metrics") {
			t.Fatalf("%s %s: content type %q", method, path, ct)
		}
		if s, ok := out.(*string); ok {
			*s = string(b)
		} else if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func produce(t *testing.T, e *Engine, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Brokers()...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func event(topic, user, typ, item string, at time.Time, extra string) *kgo.Record {
	v := fmt.Sprintf(`{"user_id":%q,"type":%q,"item_id":%q,"ts":%q%s}`, user, typ, item, at.UTC().Format(time.RFC3339), extra)
	return &kgo.Record{Topic: topic, Key: []byte(user), Value: []byte(v)}
}

// TestEndToEnd: produce a catalogue and events with a Kafka client, read
// the result through the HTTP API, send events over HTTP, restart.
func TestEndToEnd(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	name := streamtest.Unique("e2e")
	e := start(t, testConfig(t, dir, name))
	topics := e.StreamConfig()

	var items []*kgo.Record
	for i, cat := range []string{"Baby", "Baby", "Baby", "Toys", "Toys", "Books", "Books", "Garden"} {
		v := fmt.Sprintf(`{"item_id":"sku-%d","title":"Item %d","category":%q,"brand":"B%d","price":%d,"available":true}`, i, i, cat, i%3, 10+i)
		items = append(items, &kgo.Record{Topic: topics.ItemsTopic, Key: []byte(fmt.Sprint("sku-", i)), Value: []byte(v)})
	}
	produce(t, e, items...)
	waitFor(t, 10*time.Second, func() error {
		if n := e.Readiness().CatalogueItems; n != len(items) {
			return fmt.Errorf("catalogue holds %d items", n)
		}
		return nil
	})

	now := time.Now().Add(-time.Hour)
	var evs []*kgo.Record
	for u := 0; u < 20; u++ {
		user := fmt.Sprint("u", u)
		evs = append(evs,
			event(topics.EventsTopic, user, "view", "sku-0", now, `,"context":{"device":"mobile","region":"CN-SH","tz":"Asia/Shanghai"}`),
			event(topics.EventsTopic, user, "purchase", "sku-1", now.Add(time.Minute), `,"price":11,"quantity":2`),
			event(topics.EventsTopic, user, "view", "sku-2", now.Add(2*time.Minute), ""),
		)
	}
	evs = append(evs, &kgo.Record{Topic: topics.EventsTopic, Key: []byte("u0"), Value: []byte(`{"broken":`)})
	produce(t, e, evs...)

	var prof Profile
	waitFor(t, 20*time.Second, func() error {
		if code := call(t, e, "GET", "/v1/users/u0/profile", "", &prof); code != 200 || prof.Events != 3 {
			return fmt.Errorf("profile: %d, %d events", code, prof.Events)
		}
		return nil
	})
	if prof.TZ != "Asia/Shanghai" || prof.Orders.Count != 1 || prof.Orders.Monetary != 22 || len(prof.Categories) == 0 || prof.Categories[0].Key != "Baby" {
		t.Fatalf("profile %+v", prof)
	}

	var rec ranker.Response
	if code := call(t, e, "GET", "/v1/recommendations?user_id=u0&k=4&device=mobile", "", &rec); code != 200 || len(rec.Items) != 4 || !rec.KnownUser {
		t.Fatalf("recommendations: %d %+v", code, rec)
	}
	for _, it := range rec.Items {
		if it.ItemID == "sku-1" {
			t.Fatalf("bought item sku-1 recommended: %+v", rec.Items)
		}
		if len(it.Reasons) == 0 {
			t.Fatalf("item without reasons: %+v", it)
		}
	}
	if code := call(t, e, "GET", "/v1/recommendations?user_id=nobody-yet&k=3&region=CN-SH", "", &rec); code != 200 || len(rec.Items) != 3 || rec.KnownUser {
		t.Fatalf("cold start: %d %+v", code, rec)
	}

	// Events over HTTP: validated, produced, applied.
	var acc map[string]int
	body := fmt.Sprintf(`[{"user_id":"u0","type":"dismiss","item_id":"sku-2","ts":%q},{"user_id":"new","type":"view","item_id":"sku-5","ts":%q}]`,
		now.Add(3*time.Minute).Format(time.RFC3339), now.Format(time.RFC3339))
	if code := call(t, e, "POST", "/v1/events", body, &acc); code != 202 || acc["accepted"] != 2 {
		t.Fatalf("POST /v1/events: %d %v", code, acc)
	}
	waitFor(t, 10*time.Second, func() error {
		call(t, e, "GET", "/v1/users/u0/profile", "", &prof)
		if len(prof.Dismissed) != 1 {
			return fmt.Errorf("dismissal not applied yet")
		}
		return nil
	})
	call(t, e, "GET", "/v1/recommendations?user_id=u0&k=8", "", &rec)
	for _, it := range rec.Items {
		if it.ItemID == "sku-2" {
			t.Fatal("dismissed item recommended")
		}
	}

	// Bad requests: 4xx with a JSON body naming the field.
	for _, c := range []struct {
		method, path, body, field string
		code                      int
	}{
		{"GET", "/v1/recommendations?k=3", "", "user_id", 400},
		{"GET", "/v1/recommendations?user_id=u0&k=0", "", "k", 400},
		{"GET", "/v1/recommendations?user_id=u0&k=many", "", "k", 400},
		{"GET", "/v1/recommendations?user_id=u0&at=noon", "", "at", 400},
		{"GET", "/v1/recommendations?user_id=u0&tz=" + url.QueryEscape("Mars/Base"), "", "tz", 400},
		{"GET", "/v1/recommendations?user_id=u0&tz=Local", "", "tz", 400},
		{"GET", "/v1/recommendations?user_id=u0&at=9223372036854775807", "", "at", 400},
		{"GET", "/v1/users/u0/profile?at=-99999999999999", "", "at", 400},
		{"POST", "/v1/events", `{"user_id":"u0","type":"view","item_id":"x","ts":"2099-01-01T00:00:00Z"}`, "ts", 400},
		{"POST", "/v1/events", `{"user_id":"u0","type":"view","ts":"2026-01-01T00:00:00Z"}`, "item_id", 400},
		{"POST", "/v1/events", `[{"user_id":"u0","type":"view","item_id":"x","ts":"2026-01-01T00:00:00Z"},{"user_id":"u0","type":"view","item_id":"x","ts":"soon"}]`, "ts", 400},
		{"POST", "/v1/events", `{"user_id":`, "body", 400},
		{"POST", "/v1/events", ``, "body", 400},
		{"GET", "/v1/users/ghost/profile", "", "id", 404},
		{"GET", "/v1/items/ghost", "", "id", 404},
		{"GET", "/v2/nothing", "", "path", 404},
	} {
		var ae apiError
		if code := call(t, e, c.method, c.path, c.body, &ae); code != c.code || ae.Field != c.field || ae.Error == "" {
			t.Errorf("%s %s: %d %+v, want %d naming %q", c.method, c.path, code, ae, c.code, c.field)
		}
	}

	// The other users' partitions may still be applying (u0's profile
	// was all the wait above asked for): every view of sku-0 is in its
	// statistics, with the items viewed beside it, once they are done.
	var iv itemView
	waitFor(t, 20*time.Second, func() error {
		if code := call(t, e, "GET", "/v1/items/sku-0", "", &iv); code != 200 || iv.Catalogue == nil || iv.Actions != 20 || iv.Popularity <= 0 || len(iv.Neighbours) == 0 {
			return fmt.Errorf("item: %d %+v", code, iv)
		}
		return nil
	})

	var rd ReadyState
	waitFor(t, 10*time.Second, func() error {
		if code := call(t, e, "GET", "/readyz", "", &rd); code != 200 {
			return fmt.Errorf("readyz %d: %v", code, rd.Reasons)
		}
		return nil
	})
	if len(rd.Partitions) != 4 || rd.TotalLag != 0 {
		t.Fatalf("readyz %+v", rd)
	}
	var metrics string
	call(t, e, "GET", "/metrics", "", &metrics)
	for _, name := range []string{
		`sticky_stream_events_applied_total{type="purchase"} 20`,
		`sticky_stream_events_invalid_total{field="body",type="unknown"} 1`,
		`sticky_stream_events_consumed_total{type="purchase"} 20`,
		`sticky_stream_consumer_lag_records{partition="0"} 0`,
		"sticky_stream_freshness_seconds_bucket", "sticky_stream_batch_apply_seconds_bucket",
		`sticky_http_request_duration_seconds_bucket{code="200",route="GET /v1/recommendations"`,
		"sticky_state_cache_hits_total", "sticky_state_cache_misses_total", "sticky_state_disk_bytes",
		`sticky_state_written_bytes_total{kind="item_shares"}`, `sticky_state_written_bytes_total{kind="users"}`,
	} {
		if !strings.Contains(metrics, name) {
			t.Errorf("metrics lack %s", name)
		}
	}

	// The ranker's model trained on the purchases; its shares were
	// committed with the offsets.
	learned := e.rank.Model().Stats().Examples
	if learned <= 0 {
		t.Fatalf("the model learned nothing from %d purchases", 20)
	}

	// Restart on the same data directory: state and topics survive, nothing
	// is applied twice, and the model resumes from its stored shares.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, dir, name)
	e = start(t, cfg)
	var prof2 Profile
	if code := call(t, e, "GET", "/v1/users/u0/profile", "", &prof2); code != 200 || prof2.Events != prof.Events {
		t.Fatalf("profile after restart: %d, %d events, want %d", code, prof2.Events, prof.Events)
	}
	waitFor(t, 20*time.Second, func() error {
		if rd := e.Readiness(); !rd.Ready {
			return fmt.Errorf("not ready: %v", rd.Reasons)
		}
		return nil
	})
	call(t, e, "GET", "/metrics", "", &metrics)
	if strings.Contains(metrics, `sticky_stream_events_applied_total{type="purchase"} 20`) {
		t.Fatal("events applied again after restart")
	}
	call(t, e, "GET", "/v1/users/u0/profile", "", &prof2)
	if prof2.Events != prof.Events {
		t.Fatalf("events after restart %d, want %d", prof2.Events, prof.Events)
	}
	if got := e.rank.Model().Stats().Examples; got != learned {
		t.Fatalf("model after restart has learned %v examples, want the stored %v", got, learned)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}
