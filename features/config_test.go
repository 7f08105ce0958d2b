package features

import (
	"encoding"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestConfigText: weights, earn rules and tiers read their text, print it
// back, and the defaults print as the help shows them.
func TestConfigText(t *testing.T) {
	f := func(v interface {
		encoding.TextMarshaler
		encoding.TextUnmarshaler
	}, in string, want any, out string) {
		t.Helper()
		if err := v.UnmarshalText([]byte(in)); err != nil {
			t.Fatalf("%T %q: %v", v, in, err)
		}
		if got := reflect.ValueOf(v).Elem().Interface(); !reflect.DeepEqual(got, want) {
			t.Fatalf("%T %q = %#v, want %#v", v, in, got, want)
		}
		b, err := v.MarshalText()
		if err != nil || string(b) != out {
			t.Fatalf("%T %q prints as %q, %v; want %q", v, in, b, err, out)
		}
	}
	f(new(Weights), "view=0.5, purchase=10,dismiss=-3", Weights{TypeView: 0.5, TypePurchase: 10, TypeDismiss: -3}, "view=0.5,purchase=10,dismiss=-3")
	f(new(Weights), "", Weights{}, "")
	f(new(EarnRules), "purchase=2/unit@6m,share=1@1m", EarnRules{TypePurchase: {PerUnit: 2, ExpiryMonths: 6}, TypeShare: {Fixed: 1, ExpiryMonths: 1}}, "purchase=2/unit@6m,share=1@1m")
	f(new(EarnRules), "", EarnRules{}, "")
	f(new(Tiers), "member:0,vip:100", Tiers{{"member", 0}, {"vip", 100}}, "member:0,vip:100")
	f(new(Tiers), "", Tiers{}, "")

	d := DefaultConfig()
	for _, c := range []struct {
		v    encoding.TextMarshaler
		want string
	}{
		{d.Weights, "view=1,click=2,add_to_cart=4,purchase=8,review=3,share=3,dismiss=-6,push_open=1"},
		{d.EarnRules, "purchase=1/unit@12m,review=10@3m,share=5@6m"},
		{d.Tiers, "bronze:0,silver:500,gold:2000,platinum:5000"},
	} {
		if b, _ := c.v.MarshalText(); string(b) != c.want {
			t.Errorf("default %T prints as %q, want %q", c.v, b, c.want)
		}
	}
}

func TestConfigTextBad(t *testing.T) {
	f := func(v encoding.TextUnmarshaler, in, want string) {
		t.Helper()
		if err := v.UnmarshalText([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%T %q: got %v, want an error mentioning %q", v, in, err, want)
		}
	}
	f(new(Weights), "buy=3", "known event type")
	f(new(Weights), "view", "known event type")
	f(new(Weights), "view=lots", "weight of view")
	f(new(EarnRules), "purchase=1", "type=N[/unit]@Mm")
	f(new(EarnRules), "fly=1@2m", "type=N[/unit]@Mm")
	f(new(EarnRules), "share=1@0m", "months")
	f(new(EarnRules), "share=-1@2m", "points")
	f(new(Tiers), "gold", "name:points")
	f(new(Tiers), ":10", "name:points")
}

func TestEnsureDefaults(t *testing.T) {
	var c Config
	c.EnsureDefaults()
	if !reflect.DeepEqual(c, DefaultConfig()) {
		t.Fatalf("zero config with defaults %+v, want %+v", c, DefaultConfig())
	}
	// Set fields, and empty (not nil) maps and slices, are kept.
	c = Config{Weights: Weights{}, EarnRules: EarnRules{}, Tiers: Tiers{}, AffinityHalfLife: time.Hour, ChurnFactor: 9}
	c.EnsureDefaults()
	if len(c.Weights) != 0 || len(c.EarnRules) != 0 || len(c.Tiers) != 0 || c.AffinityHalfLife != time.Hour ||
		c.ChurnFactor != 9 || c.HabitHalfLife != DefaultConfig().HabitHalfLife {
		t.Fatalf("%+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
