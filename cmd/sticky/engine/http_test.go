package engine

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLimiter saturates the bound with blocked handlers: the next request
// is shed at once with 503, Retry-After and a JSON error, a route outside
// the bound still answers, and once the handlers return the bound admits
// requests again.
func TestLimiter(t *testing.T) {
	var shed atomic.Int64
	l := newLimiter(2, func(route string) {
		if route != "GET /slow" {
			t.Errorf("shed route %q", route)
		}
		shed.Add(1)
	})
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("GET /slow", l.wrap("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("block") != "" {
			<-release
		}
		writeJSON(w, http.StatusOK, map[string]string{"ok": "yes"})
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	done := make(chan int, 2)
	for range 2 {
		go func() {
			resp, err := http.Get(srv.URL + "/slow?block=1")
			if err != nil {
				t.Error(err)
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	waitFor(t, 5*time.Second, func() error {
		if n := l.inFlight(); n != 2 {
			return fmt.Errorf("%d requests in flight, want 2", n)
		}
		return nil
	})

	t0 := time.Now()
	resp, err := http.Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	var body apiError
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if took := time.Since(t0); took > time.Second {
		t.Errorf("shedding took %v", took)
	}
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != retryAfter ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(body.Error, "overloaded") {
		t.Fatalf("saturated: %d, Retry-After %q, %+v, %v", resp.StatusCode, resp.Header.Get("Retry-After"), body, err)
	}
	if shed.Load() != 1 {
		t.Fatalf("shed counted %d, want 1", shed.Load())
	}
	if resp, err := http.Get(srv.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz while saturated: %v %v", resp, err)
	}

	close(release)
	for range 2 {
		if code := <-done; code != http.StatusOK {
			t.Fatalf("blocked request answered %d", code)
		}
	}
	waitFor(t, 5*time.Second, func() error {
		if n := l.inFlight(); n != 0 {
			return fmt.Errorf("%d requests in flight, want 0", n)
		}
		return nil
	})
	if resp, err := http.Get(srv.URL + "/slow"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after release: %v %v", resp, err)
	}
}

// TestEngineSheds fills the engine's bound: API routes shed, health checks
// and metrics do not, and the shed request is counted.
func TestEngineSheds(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), "sheds")
	cfg.HTTPMaxInFlight = 3
	e := start(t, cfg)
	for range cfg.HTTPMaxInFlight {
		e.limit.sem <- struct{}{}
	}
	var body apiError
	if code := call(t, e, "GET", "/v1/recommendations?user_id=u1&k=5", "", &body); code != http.StatusServiceUnavailable {
		t.Fatalf("recommendations when saturated: %d %+v", code, body)
	}
	if code := call(t, e, "GET", "/healthz", "", nil); code != http.StatusOK {
		t.Fatalf("healthz when saturated: %d", code)
	}
	var metrics string
	if code := call(t, e, "GET", "/metrics", "", &metrics); code != http.StatusOK {
		t.Fatalf("metrics when saturated: %d", code)
	}
	for _, want := range []string{`sticky_http_requests_shed_total{route="GET /v1/recommendations"} 1`, "sticky_http_requests_in_flight 3"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for range cfg.HTTPMaxInFlight {
		<-e.limit.sem
	}
	if code := call(t, e, "GET", "/v1/items/nope", "", &body); code != http.StatusNotFound {
		t.Fatalf("items after release: %d %+v", code, body)
	}
}

// TestLimiterCountsReadsForIngest checks what the ingest waits for: a GET
// in flight counts in the limiter's gate, a POST does not, and neither
// does a request once answered.
func TestLimiterCountsReadsForIngest(t *testing.T) {
	l := newLimiter(8, func(string) {})
	inside := make(chan int64, 1)
	h := func(w http.ResponseWriter, r *http.Request) {
		inside <- l.gate.InFlight()
		w.WriteHeader(http.StatusOK)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /read", l.wrap("GET /read", h))
	mux.Handle("POST /write", l.wrap("POST /write", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/read")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := <-inside; n != 1 {
		t.Errorf("a GET in flight counted %d in the gate, want 1", n)
	}
	resp, err = http.Post(srv.URL+"/write", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := <-inside; n != 0 {
		t.Errorf("a POST in flight counted %d in the gate, want 0", n)
	}
	if n := l.gate.InFlight(); n != 0 {
		t.Errorf("%d requests counted after all were answered", n)
	}
}

// TestWrongMethod: a known path with a method it does not serve is a 405
// naming the method, with Allow listing the ones it serves; an unknown
// path stays a 404.
func TestWrongMethod(t *testing.T) {
	e := start(t, testConfig(t, t.TempDir(), "methods"))
	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"DELETE", "/v1/recommendations?user_id=u1", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"PUT", "/v1/campaigns/c1", http.StatusMethodNotAllowed, "DELETE, GET, HEAD"},
		{"GET", "/v1/events", http.StatusMethodNotAllowed, "POST"},
		{"POST", "/v1/nothing", http.StatusNotFound, ""},
	} {
		req, err := http.NewRequest(tc.method, "http://"+e.Addr()+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body apiError
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		want := "method"
		if tc.code == http.StatusNotFound {
			want = "path"
		}
		if resp.StatusCode != tc.code || resp.Header.Get("Allow") != tc.allow || body.Field != want {
			t.Errorf("%s %s: %d Allow %q %+v, want %d Allow %q field %q", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("Allow"), body, tc.code, tc.allow, want)
		}
	}
}
