package system

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFreshnessPollGrowth: a sample of a target that shows the event
// after 500 ms is measured within the stated resolution, and with the
// growing interval it polls no more than the growth allows: each wait is
// at least the first interval plus 5% of the time elapsed, so reaching T
// takes at most 1 + ln(1 + 0.05 T / 250 µs) / ln 1.05 polls however slow
// the machine (a fixed interval would poll about T / 250 µs times).
func TestFreshnessPollGrowth(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic("events"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const visibleAfter = 500 * time.Millisecond
	var since atomic.Int64 // when the sample started, Unix ns
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if time.Since(time.Unix(0, since.Load())) < visibleAfter {
			http.NotFound(w, nil)
			return
		}
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	run := func(growth float64) Freshness {
		f := &freshness{base: srv.URL, cl: cl, topic: "events", poll: 250 * time.Microsecond, growth: growth,
			timeout: 5 * time.Second, client: srv.Client()}
		since.Store(time.Now().UnixNano())
		f.sample(context.Background(), "u1", []byte(`{}`))
		return f.result()
	}
	fixed, grown := run(-1), run(0.05)
	for _, r := range []Freshness{fixed, grown} {
		if r.Samples != 1 || r.Missing != 0 {
			t.Fatalf("%+v: want one sample seen", r)
		}
	}
	// The sample starts a little after since; its figure is late by up to
	// the resolution (5% of it, plus the first interval) and whatever a
	// busy machine adds to a sleep, so only its order is checked.
	if v := grown.Values[0]; v < 0.495 || v > 1.0 {
		t.Errorf("measured %.1f ms with 5%% growth, want about 500", v*1000)
	}
	bound := 1 + math.Log(1+0.05*grown.Values[0]/250e-6)/math.Log(1.05)
	if float64(grown.Polls) > bound {
		t.Errorf("%d polls with growth over %.0f ms: want at most %.0f", grown.Polls, grown.Values[0]*1000, bound)
	}
	t.Logf("polls: %d fixed, %d growing; measured %.1f and %.1f ms", fixed.Polls, grown.Polls, fixed.Values[0]*1000, grown.Values[0]*1000)
}
