package system

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stickyhq/sticky/internal/servertiming"
)

// TestLatencySplit: against a target whose handler takes 20 ms and sends
// Server-Timing, the open-loop load splits each answer's latency into the
// server's 20 ms and the rest; a target without the header gives no
// split.
func TestLatencySplit(t *testing.T) {
	const took = 20 * time.Millisecond
	for _, timed := range []bool{true, false} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			start := time.Now()
			time.Sleep(took)
			if timed {
				w = servertiming.NewWriter(w, start)
			}
			w.Write([]byte(`{"items":[{"item_id":"a"}]}`))
		}))
		l := &recLoad{base: srv.URL, users: []string{"u1", "u2"}, rate: 50, k: 10, workers: 4, client: srv.Client()}
		ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
		start := time.Now()
		l.run(ctx, start, start)
		cancel()
		srv.Close()
		r := l.result(0.6)
		if r.Requests < 10 || r.Errors != 0 {
			t.Fatalf("timed %v: %d requests, %d errors", timed, r.Requests, r.Errors)
		}
		if !timed {
			if r.ServerTimed != 0 || r.ServerP99 != 0 {
				t.Fatalf("no header, yet a split: %+v", r)
			}
			continue
		}
		if r.ServerTimed != r.Requests || r.ServerP50 < took.Seconds() || r.ServerP50 > 10*took.Seconds() {
			t.Fatalf("%d of %d answers timed, server p50 %.1f ms: want all, about %v", r.ServerTimed, r.Requests, r.ServerP50*1e3, took)
		}
		if r.SendLagP99 <= 0 || r.SendLagP50 > r.OutsideP50 {
			t.Fatalf("send lag p50 %.2f, p99 %.2f ms, outside p50 %.2f ms: the lag is part of the outside", r.SendLagP50*1e3, r.SendLagP99*1e3, r.OutsideP50*1e3)
		}
		if r.OutsideP50 <= 0 || r.OutsideP50 >= r.P50 || r.P50 < r.ServerP50 {
			t.Fatalf("p50 %.2f ms = server %.2f + outside %.2f? ", r.P50*1e3, r.ServerP50*1e3, r.OutsideP50*1e3)
		}
	}
}
