package stream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
)

// decodeEventJSON is DecodeEvent as it was before eventjson.go: json.Unmarshal
// into wireEvent. It is the reference the hand-written decoder must equal.
func decodeEventJSON(b []byte, zones *features.Zones) (features.Event, error) {
	if len(b) > MaxEventBytes {
		return features.Event{}, &features.FieldError{Field: "body", Reason: "is larger than 65536 bytes"}
	}
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return features.Event{}, jsonFieldError(err)
	}
	ev := features.Event{
		ID: w.EventID, UserID: w.UserID, Type: features.ParseType(w.Type), ItemID: w.ItemID, Items: w.Items,
		RequestID: w.RequestID, CampaignID: w.CampaignID, Query: w.Query,
		Price: w.Price, Quantity: w.Quantity, Context: w.Context,
	}
	if w.TS != "" {
		t, err := time.Parse(time.RFC3339Nano, w.TS)
		if err != nil {
			return ev, &features.FieldError{Field: "ts", Reason: "is not an RFC 3339 time"}
		}
		ev.Time = t
	}
	if w.Type != "" && ev.Type == features.TypeUnknown {
		return ev, &features.FieldError{Field: "type", Reason: fmt.Sprintf("%q is not a known event type", truncate(w.Type, 40))}
	}
	if err := ev.Validate(zones); err != nil {
		return ev, err
	}
	return ev, nil
}

// appendEventJSON is AppendEvent as it was: json.Marshal of wireEvent.
func appendEventJSON(dst []byte, ev *features.Event) []byte {
	w := wireEvent{
		EventID: ev.ID, UserID: ev.UserID, Type: ev.Type.String(), ItemID: ev.ItemID, Items: ev.Items,
		RequestID: ev.RequestID, CampaignID: ev.CampaignID, Query: ev.Query,
		TS: ev.Time.UTC().Format(time.RFC3339Nano), Price: ev.Price, Quantity: ev.Quantity, Context: ev.Context,
	}
	b, err := json.Marshal(&w)
	if err != nil {
		panic("BUG: cannot marshal an event: " + err.Error())
	}
	return append(dst, b...)
}

// checkSameDecode fails unless DecodeEvent and the reference agree on b:
// the same event (deeply equal, time zones included) and the same error,
// field and text.
func checkSameDecode(t *testing.T, b []byte, zones *features.Zones) {
	t.Helper()
	got, gotErr := DecodeEvent(b, zones)
	want, wantErr := decodeEventJSON(b, zones)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("%q:\nerror %v\n want %v", b, gotErr, wantErr)
	}
	if gotErr != nil {
		if _, ok := gotErr.(*features.FieldError); !ok {
			t.Fatalf("%q: error %T is not a *features.FieldError", b, gotErr)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\nevent %#v\n want %#v", b, got, want)
	}
	if (got.Items == nil) != (want.Items == nil) {
		t.Fatalf("%q: items nil %v, want nil %v", b, got.Items == nil, want.Items == nil)
	}
}

// equivalenceSeeds are inputs for the equivalence tests: valid events of
// every type, and the corners of encoding/json's behaviour.
func equivalenceSeeds() []string {
	const ts = `"ts":"2026-11-23T14:00:00Z"`
	seeds := []string{
		// Valid events of every type.
		`{"event_id":"e-8f2c","user_id":"u42","type":"purchase","item_id":"sku-9","ts":"2026-11-23T14:00:00Z","price":19.9,"quantity":2,"context":{"device":"mobile","region":"CN-SH","tz":"Asia/Shanghai","page":"pdp"}}`,
		`{"event_id":"e-5-146708","user_id":"u11285","type":"view","item_id":"sku-17","ts":"2026-11-09T09:00:22Z","context":{"device":"mobile","region":"BR-SP","tz":"America/Sao_Paulo","page":"pdp"}}`,
		`{"event_id":"e-5-111386","user_id":"u8550","type":"search","query":"Baby","ts":"2026-11-09T09:00:03Z","context":{"device":"app","region":"BR-SP","tz":"America/Sao_Paulo","page":"home"}}`,
		`{"user_id":"u","type":"click","item_id":"i",` + ts + `}`,
		`{"user_id":"u","type":"add_to_cart","item_id":"i",` + ts + `,"price":3.5}`,
		`{"user_id":"u","type":"review","item_id":"i",` + ts + `}`,
		`{"user_id":"u","type":"share","item_id":"i",` + ts + `}`,
		`{"user_id":"u","type":"dismiss","item_id":"i",` + ts + `}`,
		`{"user_id":"u","type":"impression","items":["a","b","c"],"request_id":"r",` + ts + `}`,
		`{"user_id":"u","type":"push_sent","campaign_id":"c",` + ts + `}`,
		`{"user_id":"u","type":"push_open","campaign_id":"c","ts":"2026-11-23T14:00:00+01:00"}`,
		`{"user_id":"u","type":"push_opt_out",` + ts + `}`,
		`{"user_id":"u","type":"search","query":"red shoes","ts":"2026-11-23T14:00:00.123+08:00","future_field":{"x":1}}`,
		// Times.
		`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23T14:00:00.123456789123Z"}`,
		`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23T14:00:00.Z"}`,
		`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23T14:00:00,5Z"}`,
		`{"user_id":"u","type":"view","item_id":"i","ts":"2024-02-29T14:00:00Z"}`,
		`{"user_id":"u","type":"view","item_id":"i","ts":"2026-02-29T14:00:00Z"}`,
		`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23T24:00:00Z"}`,
		`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23t14:00:00z"}`,
		`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23T14:00:00-00:00"}`,
		`{"user_id":"u","type":"view","item_id":"i","ts":"0000-01-01T00:00:00Z"}`,
		`{"user_id":"u","type":"view","item_id":"i","ts":"2026-11-23T14:00:00\u005a"}`,
		// Keys: case, folding, escapes, duplicates.
		`{"USER_ID":"u","Type":"view","Item_Id":"i","TS":"2026-11-23T14:00:00Z","CONTEXT":{"DEVICE":"d","Tz":"UTC"}}`,
		`{"uſer_id":"u","type":"view","item_id":"i",` + ts + `}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"quantity":1,"\u0071uantity":2}`,
		`{"user_id":"a","user_id":"b","user_id":null,"type":"view","item_id":"i",` + ts + `}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"user_id":"v"}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"context":{"device":"d"},"context":{"region":"r"},"context":null}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"items":["a","b","c"],"items":["x"],"items":[null,null,null,null]}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"items":["a"],"items":null}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"items":["a"],"items":[]}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"items":[]}`,
		`{"user_id":"u","type":"impression","items":[null,"a"],` + ts + `}`,
		// Strings.
		`{"user_id":"\u0075\n\t\"\\\/\b\f\r","type":"view","item_id":"\ud83d\ude00",` + ts + `}`,
		`{"user_id":"\ud800","type":"view","item_id":"\udc00\ud800\u0041",` + ts + `}`,
		`{"user_id":"\ud83dx","type":"view","item_id":"a\ud83d\ud83d\ude00",` + ts + `}`,
		"{\"user_id\":\"u\xff\xfe\",\"type\":\"view\",\"item_id\":\"\xed\xa0\x80\"," + ts + "}",
		"{\"user_id\":\"ü€😀\",\"type\":\"view\",\"item_id\":\"i\u2028\"," + ts + "}",
		`{"user_id":"u","type":"vi\u0065w","item_id":"i",` + ts + `}`,
		`{"user_id":"u","type":"unknown","item_id":"i",` + ts + `}`,
		`{"user_id":"u","type":"` + strings.Repeat("é", 30) + `","item_id":"i",` + ts + `}`,
		// Nulls, unknowns, whitespace.
		`{"event_id":null,"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":null,"quantity":null,"context":null,"items":null,"query":null}`,
		`{"x":{"y":[1,2,{"z":null}],"w":"\u1234"},"user_id":"u","type":"view","item_id":"i",` + ts + `,"a":[],"b":{},"c":true,"d":false,"e":-0.5e+3}`,
		" \t\r\n{ \"user_id\" : \"u\" , \"type\":\"view\",\"item_id\":\"i\"," + ts + " , \"items\" : [ \"a\" , \"b\" ] } \n",
		`null`, `{}`, `[]`, `"a string"`, `1`, `true`, `false`, ``, ` `,
		// Numbers.
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":1e400}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":1e-400,"quantity":-0}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":123456789012345678901234567890}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":0.1E+2,"quantity":1E2}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":-1}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":01}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":1.}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":1e}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":-}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":.5}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":+1}`,
		// Type errors: the first one counts.
		`{"user_id":5,"type":"view","item_id":"i",` + ts + `}`,
		`{"user_id":"u","type":true,"item_id":"i",` + ts + `}`,
		`{"user_id":"u","type":"view","item_id":["i"],` + ts + `}`,
		`{"user_id":"u","type":"view","item_id":{"i":1},` + ts + `}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":"1"}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"items":"a"}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"items":["a",1,{}]}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"context":"x"}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"context":[1]}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"context":{"device":7,"tz":false}}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"ts":1,"price":"x"}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"price":"x",}`,
		// Syntax errors: every message of the scanner.
		`{"user_id":"u"`, `{"user_id":"u",`, `{"user_id"`, `{"user_id":`, `{"user_id`, `{"user_id":"u\`, `{"user_id":"u\u12`,
		`{"user_id":"u\x"}`, `{"user_id":"u\u12g4"}`, "{\"user_id\":\"u\x01\"}", `{"user_id" "u"}`, `{"user_id":"u" "type"}`,
		`{user_id:"u"}`, `{"a":tru}`, `{"a":tx}`, `{"a":fals}`, `{"a":nul}`, `{"a":nulll}`, `{"a":[1 2]}`, `{"a":[1,]}`, `{"a":[,1]}`,
		`{"a":1}}`, `{"a":1} x`, `{"a":1}'`, `{"a":1}"`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":-x}`, `{"a":1.x}`, `{"a":1ex}`,
		"{\"a\":\xff}", `[1,2`, `tru`, `-`, `1.`, `1e`, `"abc`, `"\`, `{"a":"\ud800\u`, `{"a":1e+}`, `{"a":[`, `{"a":{`, `{"a":{"b":1`,
		`{"user_id":5,"type":"view"`, `{"user_id":5} x`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		`{"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
		`{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
		`{"x":` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat("}", 10000) + `}`,
		`{"user_id":"u","type":"view","item_id":"i",` + ts + `,"pad":"` + strings.Repeat("x", MaxEventBytes) + `"}`,
	}
	// The corpus FuzzDecodeEvent found.
	files, _ := filepath.Glob("testdata/fuzz/FuzzDecodeEvent/*")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			panic(err)
		}
		lit, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "go test fuzz v1\n[]byte(")
		if v, err := strconv.Unquote(strings.TrimSuffix(lit, ")")); ok && err == nil {
			seeds = append(seeds, v)
		}
	}
	// The events the repository's generator makes, as producers send them.
	w := synth.New(synth.Config{Seed: 1, Users: 20, Items: 50})
	evs := w.History(1, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	for i := 0; i < len(evs) && i < 40; i++ {
		seeds = append(seeds, string(AppendEvent(nil, &evs[i])))
	}
	return seeds
}

func TestDecodeEventEquivalence(t *testing.T) {
	zones := features.NewZones()
	for _, s := range equivalenceSeeds() {
		checkSameDecode(t, []byte(s), zones)
		// Every cut of a seed: truncated records.
		if len(s) < 400 {
			for n := range len(s) {
				checkSameDecode(t, []byte(s[:n]), zones)
			}
		}
	}
}

// FuzzDecodeEventEquivalence: DecodeEvent decides every input exactly as
// json.Unmarshal into wireEvent did (decodeEventJSON): the same event, the
// same error field and the same error text, syntax errors included.
func FuzzDecodeEventEquivalence(f *testing.F) {
	for _, s := range equivalenceSeeds() {
		f.Add([]byte(s))
	}
	zones := features.NewZones()
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSameDecode(t, b, zones)
	})
}

func TestAppendEventEquivalence(t *testing.T) {
	f := func(ev features.Event) {
		t.Helper()
		if got, want := AppendEvent([]byte("x"), &ev), appendEventJSON([]byte("x"), &ev); !bytes.Equal(got, want) {
			t.Fatalf("%#v:\n got %s\nwant %s", ev, got, want)
		}
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("X", 3600))
	f(features.Event{})
	f(features.Event{ID: "e", UserID: "u", Type: features.TypePurchase, ItemID: "i", Time: at, Price: 1.5, Quantity: 2,
		Context: features.Context{Device: "app", Region: "R", TZ: "Europe/Berlin", Page: "cart"}})
	f(features.Event{UserID: "u", Type: features.TypeImpression, Items: []string{"a", "<b>&", ""}, RequestID: "r", Time: at})
	f(features.Event{UserID: "u", Type: features.TypeImpression, Items: []string{}, Time: at})
	f(features.Event{UserID: "\x00\x1f\"\\\b\f\n\r\t\u2028\u2029\xff\xed\xa0\x80é😀", Type: 200, Query: "q", CampaignID: "c", Time: at})
	f(features.Event{UserID: "u", Context: features.Context{Page: "p"}, Price: 1e21, Quantity: 1e-7})
	f(features.Event{UserID: "u", Context: features.Context{Region: "r", TZ: "t"}, Price: 123456789.125, Quantity: -0.000001})
	f(features.Event{UserID: "u", Price: math.Copysign(0, -1), Quantity: math.SmallestNonzeroFloat64, Time: time.Date(12345, 1, 1, 0, 0, 0, 1, time.UTC)})
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		ev := features.Event{UserID: "u", Price: bad}
		var got, want any
		func() { defer func() { got = recover() }(); AppendEvent(nil, &ev) }()
		func() { defer func() { want = recover() }(); appendEventJSON(nil, &ev) }()
		if got != want {
			t.Fatalf("price %v: panic %v, want %v", bad, got, want)
		}
	}
}

// FuzzAppendEventEquivalence: AppendEvent writes what json.Marshal wrote.
func FuzzAppendEventEquivalence(f *testing.F) {
	f.Add("e", "u", uint8(4), "i", "a,b", "r", "c", "q", int64(1763906400), int64(123e6), 19.9, 2.0, "mobile", "CN-SH", "Asia/Shanghai", "pdp")
	f.Add("", "u\u2028<>&\xff", uint8(9), "", "", "", "", "", int64(-62135596800), int64(0), 1e21, 1e-7, "", "", "", "")
	f.Fuzz(func(t *testing.T, id, user string, typ uint8, item, items, req, camp, query string, sec, nsec int64, price, qty float64,
		device, region, tz, page string) {
		if math.IsNaN(price) || math.IsInf(price, 0) || math.IsNaN(qty) || math.IsInf(qty, 0) {
			return // both panic (TestAppendEventEquivalence)
		}
		ev := features.Event{ID: id, UserID: user, Type: features.Type(typ), ItemID: item, RequestID: req, CampaignID: camp,
			Query: query, Time: time.Unix(sec, nsec), Price: price, Quantity: qty,
			Context: features.Context{Device: device, Region: region, TZ: tz, Page: page}}
		if items != "" {
			ev.Items = strings.Split(items, ",")
		}
		if got, want := AppendEvent(nil, &ev), appendEventJSON(nil, &ev); !bytes.Equal(got, want) {
			t.Fatalf("%#v:\n got %s\nwant %s", ev, got, want)
		}
	})
}
