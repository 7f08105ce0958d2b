package system

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFreshnessPollGrowth: a sample of a target that shows the event
// after 200 ms is measured within the stated resolution, and with the
// growing interval it polls a fraction of what a fixed interval does.
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
	const visibleAfter = 200 * time.Millisecond
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
	if v := grown.Values[0]; v < 0.195 || v > 0.400 {
		t.Errorf("measured %.1f ms with 5%% growth, want about 200", v*1000)
	}
	if grown.Polls*2 > fixed.Polls {
		t.Errorf("%d polls with growth, %d at a fixed interval: want at most half", grown.Polls, fixed.Polls)
	}
	t.Logf("polls: %d fixed, %d growing; measured %.1f and %.1f ms", fixed.Polls, grown.Polls, fixed.Values[0]*1000, grown.Values[0]*1000)
}
