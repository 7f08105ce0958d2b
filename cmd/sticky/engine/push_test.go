package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/ranker/campaigns"
	"github.com/stickyhq/sticky/stream/streamtest"
)

// TestPushCampaignAPI: campaigns through HTTP, targets pulled and
// acknowledged, a restart in the middle of the campaign.
func TestPushCampaignAPI(t *testing.T) {
	dir, name := t.TempDir(), streamtest.Unique("push")
	e := start(t, testConfig(t, dir, name))
	topics := e.StreamConfig()
	produce(t, e,
		&kgo.Record{Topic: topics.ItemsTopic, Key: []byte("stroller"), Value: []byte(`{"category":"Baby","price":300,"available":true}`)},
		&kgo.Record{Topic: topics.ItemsTopic, Key: []byte("drill"), Value: []byte(`{"category":"Tools","price":90,"available":true}`)},
	)
	streamtest.WaitFor(t, 10*time.Second, func() error {
		if e.cat.Len() != 2 {
			return fmt.Errorf("catalogue %d", e.cat.Len())
		}
		return nil
	})
	var evs []*kgo.Record
	now := time.Now().Add(-time.Hour)
	for u := 0; u < 12; u++ {
		item := "stroller"
		if u >= 8 {
			item = "drill"
		}
		evs = append(evs, event(topics.EventsTopic, fmt.Sprint("p", u), "view", item, now, `,"context":{"tz":"Europe/Berlin"}`))
	}
	produce(t, e, evs...)
	streamtest.WaitFor(t, 20*time.Second, func() error {
		if n := e.aud.Len(); n != 12 {
			return fmt.Errorf("%d users", n)
		}
		return nil
	})

	var ae apiError
	if code := call(t, e, "POST", "/v1/campaigns", `{"id":"x","target":{"category":"Baby"},"max_targets":"many"}`, &ae); code != 400 || ae.Field != "max_targets" {
		t.Fatalf("bad max_targets: %d %+v", code, ae)
	}
	if code := call(t, e, "POST", "/v1/campaigns", `{"id":"x","target":{"category":"Baby"},"colour":"red"}`, &ae); code != 400 || ae.Field != "colour" {
		t.Fatalf("unknown field: %d %+v", code, ae)
	}
	if code := call(t, e, "POST", "/v1/campaigns", `{"id":"x","target":{}}`, &ae); code != 400 || ae.Field != "target" {
		t.Fatalf("no target: %d %+v", code, ae)
	}
	body := `{"id":"baby-week","target":{"category":"Baby"},"max_targets":100,
		"quiet_hours":{"start":"00:00","end":"00:00"},"send_window":{"start":"00:00","end":"00:00"},"caps":{"per_day":1}}`
	var sum campaigns.Summary
	if code := call(t, e, "POST", "/v1/campaigns", body, &sum); code != 201 || sum.Targets != 8 {
		t.Fatalf("create: %d, %d targets (want the 8 Baby fans)", code, sum.Targets)
	}
	if code := call(t, e, "POST", "/v1/campaigns", body, &ae); code != 409 {
		t.Fatalf("duplicate id: %d", code)
	}
	until := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	var l campaigns.Lease
	if code := call(t, e, "GET", "/v1/campaigns/baby-week/targets?limit=3&until="+until, "", &l); code != 200 || len(l.Targets) != 3 || l.ID == "" {
		t.Fatalf("pull: %d %+v", code, l)
	}
	acks := make([]string, len(l.Targets))
	for i, h := range l.Targets {
		if !strings.HasPrefix(h.UserID, "p") || h.TZ != "Europe/Berlin" {
			t.Fatalf("target %+v", h)
		}
		acks[i] = fmt.Sprintf(`{"user_id":%q,"status":"sent"}`, h.UserID)
	}
	var res campaigns.AckResult
	if code := call(t, e, "POST", "/v1/campaigns/baby-week/acks", `{"acks":[`+strings.Join(acks, ",")+`]}`, &res); code != 200 || res.Sent != 3 {
		t.Fatalf("acks: %d %+v", code, res)
	}
	if code := call(t, e, "POST", "/v1/campaigns/baby-week/acks", `{"acks":[{"user_id":"p1","status":"delivered"}]}`, &ae); code != 400 || ae.Field != "acks[0].status" {
		t.Fatalf("bad status: %d %+v", code, ae)
	}
	if code := call(t, e, "GET", "/v1/campaigns/nope/targets", "", &ae); code != 404 {
		t.Fatalf("unknown campaign: %d", code)
	}

	// Restart in the middle of the campaign.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = start(t, testConfig(t, dir, name))
	if code := call(t, e, "GET", "/v1/campaigns/baby-week", "", &sum); code != 200 || sum.States["sent"] != 3 {
		t.Fatalf("after restart: %d %+v", code, sum.States)
	}
	var rest campaigns.Lease
	call(t, e, "GET", "/v1/campaigns/baby-week/targets?limit=100&until="+until, "", &rest)
	if len(rest.Targets) != 5 {
		t.Fatalf("%d targets after the restart, want the 5 not sent", len(rest.Targets))
	}
	for _, h := range rest.Targets {
		for _, a := range l.Targets {
			if h.UserID == a.UserID {
				t.Fatalf("%s was sent before the restart and handed out again", h.UserID)
			}
		}
	}
	var metrics string
	call(t, e, "GET", "/metrics", "", &metrics)
	for _, m := range []string{"sticky_push_targets_handed_out_total 5", "sticky_push_selection_seconds_bucket", `sticky_push_acks_total{status="sent"} 0`} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
	if code := call(t, e, "DELETE", "/v1/campaigns/baby-week", "", nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code := call(t, e, "GET", "/v1/campaigns/baby-week", "", &ae); code != 404 {
		t.Fatalf("after delete: %d", code)
	}
}
