package stream

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
)

func TestDecodeEvent(t *testing.T) {
	zones := features.NewZones()
	f := func(in, field string) {
		t.Helper()
		ev, err := DecodeEvent([]byte(in), zones)
		if field == "" {
			if err != nil {
				t.Fatalf("%s: unexpected error %v", in, err)
			}
			if ev.UserID == "" || ev.Time.IsZero() {
				t.Fatalf("%s: decoded %+v", in, ev)
			}
			return
		}
		var fe *features.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Fatalf("%s: got %v, want an error on %q", in, err, field)
		}
	}
	f(`{"event_id":"e-1","user_id":"u42","type":"purchase","item_id":"sku-9","ts":"2026-11-23T14:00:00Z","price":19.9,"quantity":2,"context":{"device":"mobile","region":"CN-SH","tz":"Asia/Shanghai","page":"pdp"}}`, "")
	f(`{"user_id":"u","type":"search","query":"red shoes","ts":"2026-11-23T14:00:00.123+08:00","future_field":{"x":1}}`, "")
	f(`{"user_id":"u","type":"impression","items":["a","b"],"request_id":"r1","ts":"2026-11-23T14:00:00Z"}`, "")
	f(`not json`, "body")
	f(`[1,2]`, "body")
	f(`"a string"`, "body")
	f(`{"type":"view","item_id":"i","ts":"2026-11-23T14:00:00Z"}`, "user_id")
	f(`{"user_id":"u","type":"buy","item_id":"i","ts":"2026-11-23T14:00:00Z"}`, "type")
	f(`{"user_id":"u","item_id":"i","ts":"2026-11-23T14:00:00Z"}`, "type")
	f(`{"user_id":"u","type":"view","item_id":"i"}`, "ts")
	f(`{"user_id":"u","type":"view","item_id":"i","ts":"yesterday"}`, "ts")
	f(`{"user_id":"u","type":"view","ts":"2026-11-23T14:00:00Z"}`, "item_id")
	f(`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23T14:00:00Z","price":"cheap"}`, "price")
	f(`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23T14:00:00Z","price":-3}`, "price")
	f(`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23T14:00:00Z","context":{"tz":"Moon/Base"}}`, "context.tz")
	f(`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23T14:00:00Z","context":{"device":7}}`, "context.device")
	f(`{"user_id":"u","type":"push_open","ts":"2026-11-23T14:00:00Z"}`, "campaign_id")
	f(`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23T14:00:00Z","query":"`+strings.Repeat("q", 2000)+`"}`, "query")
	f(`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23T14:00:00Z","pad":"`+strings.Repeat("x", MaxEventBytes)+`"}`, "body")
}

func TestDecodeEvents(t *testing.T) {
	raws, err := DecodeEvents([]byte(` [{"a":1}, {"b":2}] `))
	if err != nil || len(raws) != 2 {
		t.Fatalf("array: %d raws, err %v", len(raws), err)
	}
	raws, err = DecodeEvents([]byte(`{"a":1}`))
	if err != nil || len(raws) != 1 {
		t.Fatalf("object: %d raws, err %v", len(raws), err)
	}
	for _, bad := range []string{"", "  ", "[{]"} {
		if _, err := DecodeEvents([]byte(bad)); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestEventRoundTrip(t *testing.T) {
	ev := features.Event{ID: "e", UserID: "u", Type: features.TypePurchase, ItemID: "i", Time: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC),
		Price: 1.5, Quantity: 2, Context: features.Context{Device: "app", Region: "R", TZ: "Europe/Berlin", Page: "cart"}}
	got, err := DecodeEvent(AppendEvent(nil, &ev), features.NewZones())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ev) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, ev)
	}
}

func TestDecodeItem(t *testing.T) {
	it, err := DecodeItem([]byte("sku-1"), []byte(`{"title":"T","category":"Baby","price":3,"available":true}`))
	if err != nil || it.ID != "sku-1" || it.Category != "Baby" || !it.Available {
		t.Fatalf("item %+v err %v", it, err)
	}
	if _, err := DecodeItem([]byte("sku-1"), []byte(`{"item_id":"sku-2"}`)); err == nil {
		t.Fatal("key/id mismatch accepted")
	}
	if _, err := DecodeItem(nil, []byte(`{"title":"no id"}`)); err == nil {
		t.Fatal("item without id accepted")
	}
	if _, err := DecodeItem([]byte("k"), []byte(`{"price":"free"}`)); err == nil {
		t.Fatal("bad price accepted")
	}
}

// FuzzDecodeEvent: no input panics the decoder, and every accepted event
// survives a round trip through AppendEvent.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{
		`{"event_id":"e-8f2c","user_id":"u42","type":"purchase","item_id":"sku-9","ts":"2026-11-23T14:00:00Z","price":19.9,"quantity":2,"context":{"device":"mobile","region":"CN-SH","tz":"Asia/Shanghai","page":"pdp"}}`,
		`{"user_id":"u","type":"impression","items":["a"],"request_id":"r","ts":"2026-11-23T14:00:00Z"}`,
		`{"user_id":"u","type":"push_open","campaign_id":"c","ts":"2026-11-23T14:00:00+01:00"}`,
		`{"user_id":"u","type":"search","query":"x","ts":"2026-11-23T14:00:00Z"}`,
		`{}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	zones := features.NewZones()
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeEvent(b, zones)
		if err != nil {
			var fe *features.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a FieldError: %v", err)
			}
			return
		}
		enc := AppendEvent(nil, &ev)
		ev2, err := DecodeEvent(enc, zones)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", enc, err)
		}
		if enc2 := AppendEvent(nil, &ev2); !bytes.Equal(enc, enc2) {
			t.Fatalf("not a fixed point:\n%s\n%s", enc, enc2)
		}
	})
}
