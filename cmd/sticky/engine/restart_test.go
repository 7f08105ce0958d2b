package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/stickyhq/sticky/ranker/audience"
	"github.com/stickyhq/sticky/stream/streamtest"
)

// fetch does an HTTP request against the engine and returns the status,
// the headers and the body.
func fetch(t *testing.T, e *Engine, method, path, body string) (int, http.Header, []byte) {
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
	return resp.StatusCode, resp.Header, b
}

// TestAudienceLoadsAfterReadiness: after a restart the engine is ready
// while the audience still loads (held by a load hook); what reads the
// whole population answers 503 with Retry-After meanwhile, the live fold
// goes on and its updates survive the load, and once loaded the audience
// is what a synchronous load of the store gives and the 503s turn into
// answers.
func TestAudienceLoadsAfterReadiness(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir, name := t.TempDir(), streamtest.Unique("restart")
	e := start(t, testConfig(t, dir, name))
	topics := e.StreamConfig()
	produce(t, e,
		&kgo.Record{Topic: topics.ItemsTopic, Key: []byte("stroller"), Value: []byte(`{"category":"Baby","price":300,"available":true}`)},
		&kgo.Record{Topic: topics.ItemsTopic, Key: []byte("drill"), Value: []byte(`{"category":"Tools","price":90,"available":true}`)},
	)
	waitFor(t, 10*time.Second, func() error {
		if e.cat.Len() != 2 {
			return fmt.Errorf("catalogue %d", e.cat.Len())
		}
		return nil
	})
	// 60 users who bought at different times and amounts, so that the RFM
	// scores spread over segments.
	now := time.Now()
	var evs []*kgo.Record
	for u := range 60 {
		user := fmt.Sprint("s", u)
		for k := 0; k <= u%4; k++ {
			at := now.Add(-time.Duration(u%30+7*k) * 24 * time.Hour)
			evs = append(evs, event(topics.EventsTopic, user, "purchase", "drill", at, fmt.Sprintf(`,"price":%d,"context":{"tz":"Europe/Berlin"}`, 10+u)))
		}
	}
	produce(t, e, evs...)
	waitFor(t, 20*time.Second, func() error {
		if n := e.aud.Len(); n != 60 {
			return fmt.Errorf("%d users", n)
		}
		if rd := e.Readiness(); !rd.Ready {
			return fmt.Errorf("not ready: %v", rd.Reasons)
		}
		return nil
	})
	campaign := `{"id":"%s","target":{"category":"Tools"},"max_targets":100,
		"quiet_hours":{"start":"00:00","end":"00:00"},"send_window":{"start":"00:00","end":"00:00"}}`
	if code, _, b := fetch(t, e, "POST", "/v1/campaigns", fmt.Sprintf(campaign, "before")); code != 201 {
		t.Fatalf("campaign: %d %s", code, b)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart with the load held before its first batch joins the table.
	cfg := testConfig(t, dir, name)
	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	cfg.Audience.LoadHook = func(int) {
		once.Do(func() { close(reached) })
		<-release
	}
	e = startLoading(t, cfg)
	var releaseOnce sync.Once
	releaseLoad := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseLoad) // before e.Close, which waits for the load
	<-reached

	// (1) Ready, the audience not loaded.
	var rd ReadyState
	waitFor(t, 20*time.Second, func() error {
		if code := call(t, e, "GET", "/readyz", "", &rd); code != 200 {
			return fmt.Errorf("readyz %d: %v", code, rd.Reasons)
		}
		return nil
	})
	if rd.AudienceLoaded || e.aud.Loaded() {
		t.Fatalf("audience loaded while its load is held: %+v", rd)
	}

	// (3) What reads the population answers 503 with Retry-After and says
	// why; the rest is served.
	loading := func(method, path, body string) {
		t.Helper()
		code, h, b := fetch(t, e, method, path, body)
		var ae apiError
		if err := json.Unmarshal(b, &ae); err != nil || code != 503 || h.Get("Retry-After") == "" || !strings.Contains(ae.Error, "audience") {
			t.Fatalf("%s %s while loading: %d Retry-After %q %s", method, path, code, h.Get("Retry-After"), b)
		}
	}
	champions := "/v1/recommendations?user_id=s1&audience=" + url.QueryEscape("segment in (champions, loyal, new)")
	loading("GET", "/v1/segments", "")
	loading("GET", champions, "")
	loading("POST", "/v1/campaigns", fmt.Sprintf(campaign, "tools"))
	loading("GET", "/v1/campaigns/before/targets", "")
	if code, _, b := fetch(t, e, "GET", "/v1/campaigns/before", ""); code != 200 {
		t.Fatalf("a campaign while loading: %d %s", code, b)
	}
	if code, _, b := fetch(t, e, "GET", "/v1/recommendations?user_id=s1&audience="+url.QueryEscape("frequency >= 1"), ""); code != 200 {
		t.Fatalf("a rule on the user's own figures while loading: %d %s", code, b)
	}
	if code, _, b := fetch(t, e, "GET", "/v1/recommendations?user_id=s1&k=2", ""); code != 200 {
		t.Fatalf("recommendations while loading: %d %s", code, b)
	}
	var pv struct {
		Value map[string]any `json:"value"`
	}
	if code := call(t, e, "GET", "/v1/users/s1/profile", "", &pv); code != 200 || pv.Value["audience_loading"] != true || pv.Value["rfm"] != nil {
		t.Fatalf("profile while loading: %d %v", code, pv.Value)
	}
	var metrics string
	call(t, e, "GET", "/metrics", "", &metrics)
	if !strings.Contains(metrics, "sticky_audience_loaded 0") || strings.Contains(metrics, "sticky_audience_segment_customers") {
		t.Fatalf("metrics while loading lack sticky_audience_loaded 0 or show partial counts")
	}

	// (2) Live events fold while the load is held: a stored user buys
	// again and a new one arrives.
	later := now.Add(-time.Minute)
	produce(t, e,
		event(topics.EventsTopic, "s1", "purchase", "stroller", later, `,"price":700`),
		event(topics.EventsTopic, "fresh", "purchase", "stroller", later, `,"price":300`),
	)
	waitFor(t, 20*time.Second, func() error {
		seen := int64(0)
		e.aud.User("s1", func(c *audience.Candidate) { seen = c.LastSeen() })
		if seen != later.Truncate(time.Second).UnixMilli() {
			return fmt.Errorf("s1 last seen %d in the audience", seen)
		}
		if !e.aud.User("fresh", func(*audience.Candidate) {}) {
			return fmt.Errorf("the new user is not in the audience")
		}
		return nil
	})
	releaseLoad()
	waitFor(t, 20*time.Second, func() error {
		if code := call(t, e, "GET", "/readyz", "", &rd); code != 200 || !rd.AudienceLoaded {
			return fmt.Errorf("readyz %d, audience loaded %v", code, rd.AudienceLoaded)
		}
		return nil
	})
	seen := int64(0)
	e.aud.User("s1", func(c *audience.Candidate) { seen = c.LastSeen() })
	if seen != later.Truncate(time.Second).UnixMilli() || e.aud.Len() != 61 {
		t.Fatalf("after the load: s1 last seen %d, want the live update's %d; %d users, want 61", seen, later.Truncate(time.Second).UnixMilli(), e.aud.Len())
	}

	// (4) The audience equals a synchronous load of the same store.
	rc := cfg.Audience
	rc.LoadHook = nil
	ref := audience.New(rc, e.extractor)
	if err := ref.Load(e.store); err != nil {
		t.Fatal(err)
	}
	ref.Recount(time.Now())
	e.aud.Recount(time.Now())
	got, want := e.aud.Counts(), ref.Counts()
	// The models may be refitted meanwhile (a fit is due once loaded).
	got.AsOf, want.AsOf, got.Model, want.Model = time.Time{}, time.Time{}, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("audience after the background load\n%+v\nwant (synchronous load)\n%+v", got, want)
	}

	// (3) And the answers come.
	var counts audience.Counts
	if code := call(t, e, "GET", "/v1/segments", "", &counts); code != 200 || counts.Users != 61 || counts.Customers != 61 {
		t.Fatalf("segments after the load: %d %+v", code, counts)
	}
	if code, _, b := fetch(t, e, "GET", champions, ""); code != 200 {
		t.Fatalf("audience rule after the load: %d %s", code, b)
	}
	if code, _, b := fetch(t, e, "POST", "/v1/campaigns", fmt.Sprintf(campaign, "tools")); code != 201 {
		t.Fatalf("campaign after the load: %d %s", code, b)
	}
	var lease struct {
		Targets []any `json:"targets"`
	}
	if code := call(t, e, "GET", "/v1/campaigns/before/targets?until=2100-01-01T00:00:00Z", "", &lease); code != 200 || len(lease.Targets) == 0 {
		t.Fatalf("targets after the load: %d, %d handed out", code, len(lease.Targets))
	}
	pv.Value = nil
	if code := call(t, e, "GET", "/v1/users/s1/profile", "", &pv); code != 200 || pv.Value["audience_loading"] != nil || pv.Value["rfm"] == nil {
		t.Fatalf("profile after the load: %d %v", code, pv.Value)
	}
	call(t, e, "GET", "/metrics", "", &metrics)
	for _, m := range []string{"sticky_audience_loaded 1", "sticky_audience_load_seconds ", "sticky_audience_segment_customers"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics after the load lack %s", m)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}
