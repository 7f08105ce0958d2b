package jsonw

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// marshal is encoding/json's output for v, with or without HTML escaping.
func marshal(t testing.TB, v any, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

var stringSeeds = []string{"", "plain", `quote " backslash \ slash /`, "<a href='x'>&amp;</a>", "tab\tnl\ncr\rbs\bff\f\x00\x1f\x7f",
	"\u2028\u2029", "héllo wörld 日本", "bad \xff utf8 \xc3", "\xed\xa0\x80 surrogate", "emoji 😀"}

func FuzzString(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{false, true} {
			want := marshal(t, s, html)
			if got := string(String(nil, s, html)); got != want {
				t.Fatalf("String(%q, html %v) = %s, want %s", s, html, got, want)
			}
			if got := string(String(nil, []byte(s), html)); got != want {
				t.Fatalf("String([]byte %q, html %v) = %s, want %s", s, html, got, want)
			}
		}
	})
}

func TestFloat(t *testing.T) {
	for _, f := range []float64{0, -0.0, 1, -1.5, 0.1, 1e-6, 9.99e-7, 1e-7, 1.5e-300, 1e20, 1e21, 123456789012345678901234.0,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 3.14159265358979, -2.5e-9} {
		got, ok := Float(nil, f)
		if want := marshal(t, f, false); !ok || string(got) != want {
			t.Errorf("Float(%v) = %s %v, want %s", f, got, ok, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got, ok := Float([]byte("x"), f); ok || string(got) != "x" {
			t.Errorf("Float(%v) = %q %v, want nothing appended and false", f, got, ok)
		}
	}
}
