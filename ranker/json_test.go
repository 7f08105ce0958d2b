package ranker

import (
	"bytes"
	"encoding/json"
	"testing"
)

func encodingJSON(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	odd := "a\"b\\c\n\r\t\b\f\x01\x1f <&> é \u2028\u2029 \xff\xfe 漢字 😀"
	cases := []Response{
		{},
		{UserID: "u1", Items: []Item{}, Daypart: "night"},
		{UserID: odd, KnownUser: true, Candidates: 195, Daypart: "evening", Region: odd, Device: "mobile",
			Audience: &AudienceMatch{Rule: odd, Matched: true},
			Items: []Item{
				{ItemID: "sku-1", Score: 1.2345, Title: odd, Category: "Baby", Brand: "Acme", Price: 19.99,
					Reasons: []Reason{{"co_occurrence", "bought with " + odd}, {"popular", "popular with shoppers"}}},
				{ItemID: "sku-2", Score: -0.5, Reasons: nil},
				{ItemID: "sku-3", Score: 1e-7, Price: 1e21, Reasons: []Reason{}},
				{ItemID: "sku-4", Score: 0, Price: 123456789.125, Reasons: []Reason{{}}},
				{ItemID: "sku-5", Score: -3.2e-9, Price: 1e20},
			}},
	}
	for i, r := range cases {
		want := encodingJSON(t, r)
		if got := r.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("u", "title", 1.5, 2.0)
	f.Add("\xff\u2028\"", "\x00", -1e-9, 1e22)
	f.Fuzz(func(t *testing.T, s, title string, score, price float64) {
		r := Response{UserID: s, Daypart: s, Region: s, Items: []Item{{ItemID: s, Title: title, Score: score, Price: price,
			Reasons: []Reason{{s, title}}}}}
		var want []byte
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			return // NaN or infinity: encoding/json refuses them
		}
		want = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := r.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}
