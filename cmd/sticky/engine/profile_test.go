package engine

import (
	"bytes"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// t0 is a Monday.
var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

var profileItems = map[string]*features.Item{
	"sku-1": {ID: "sku-1", Category: "Baby", Brand: "Acme", Price: 20, Available: true},
	"sku-2": {ID: "sku-2", Category: "Baby", Brand: "Bolt", Price: 25, Available: true},
	"sku-3": {ID: "sku-3", Category: "Books", Brand: "Acme", Price: 10, Available: true},
}

// foldUser folds evs, as events of user u1, into a new vector.
func foldUser(t *testing.T, f *features.Extractor, evs ...features.Event) features.User {
	t.Helper()
	u := features.User{ID: "u1"}
	var d features.Deltas
	for i := range evs {
		evs[i].UserID = "u1"
		if err := evs[i].Validate(f.Zones()); err != nil {
			t.Fatalf("event %d invalid: %v", i, err)
		}
		f.FoldUser(&u, &evs[i], profileItems[evs[i].ItemID], &d)
		d.Reset()
	}
	return u
}

func TestProfile(t *testing.T) {
	f := features.NewExtractor(features.DefaultConfig())
	u := foldUser(t, f,
		features.Event{Type: features.TypeView, ItemID: "sku-1", Time: t0,
			Context: features.Context{Device: "mobile", Region: "CN-SH", TZ: "Asia/Shanghai"}},
		features.Event{Type: features.TypePurchase, ItemID: "sku-2", Time: t0.Add(time.Minute), Price: 25, Quantity: 1},
	)
	p := newProfile(&u, t0.Add(time.Hour), f.HalfLives())
	if p.UserID != "u1" || len(p.Categories) != 1 || p.Categories[0].Key != "Baby" || len(p.Recent) != 2 ||
		p.Recent[0].ItemID != "sku-2" || p.PriceBand == nil || p.Orders.Count != 1 || len(p.ByDaypart) != 1 ||
		len(p.ByDevice) != 1 || p.ByDevice[0].Context != "mobile" || len(p.ActiveHours) != 1 {
		t.Fatalf("profile %+v", p)
	}
}

// TestProfileGolden pins the whole body of GET /v1/users/{id}/profile, byte
// for byte (go test -update rewrites it).
func TestProfileGolden(t *testing.T) {
	f := features.NewExtractor(features.DefaultConfig())
	// A short history touching every part of the profile: context
	// affinities, recent items, purchases, a dismissal, push history.
	shanghai := features.Context{Device: "mobile", Region: "CN-SH", TZ: "Asia/Shanghai"}
	desktop := features.Context{Device: "desktop", Region: "CN-SH", TZ: "Asia/Shanghai"}
	u := foldUser(t, f,
		features.Event{Type: features.TypeView, ItemID: "sku-1", Time: t0, Context: shanghai},
		features.Event{Type: features.TypeAddToCart, ItemID: "sku-2", Time: t0.Add(time.Minute), Context: shanghai},
		features.Event{Type: features.TypePurchase, ItemID: "sku-2", Time: t0.Add(2 * time.Minute), Context: shanghai, Price: 25, Quantity: 2},
		features.Event{Type: features.TypeView, ItemID: "sku-3", Time: t0.Add(10 * time.Hour), Context: desktop},
		features.Event{Type: features.TypeDismiss, ItemID: "sku-3", Time: t0.Add(10*time.Hour + time.Minute), Context: desktop},
		features.Event{Type: features.TypePushSent, Time: t0.Add(24 * time.Hour), CampaignID: "c1"},
		features.Event{Type: features.TypePushOpen, Time: t0.Add(25 * time.Hour), CampaignID: "c1"},
		features.Event{Type: features.TypePurchase, ItemID: "sku-1", Time: t0.Add(26 * time.Hour), Context: shanghai, Price: 20, Quantity: 1},
	)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	aud := audience.New(audience.DefaultConfig(), f)
	rec := httptest.NewRecorder()
	writeJSON(rec, 200, profileView{Profile: newProfile(&u, now, f.HalfLives()), Value: aud.ViewHorizon(&u, now, 0, 30)})
	got := rec.Body.Bytes()
	path := filepath.Join("testdata", "profile.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("profile body differs from %s:\ngot  %s\nwant %s", path, got, want)
	}
}
