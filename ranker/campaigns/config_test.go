package campaigns

import (
	"strings"
	"testing"
	"time"
)

func TestCapsText(t *testing.T) {
	f := func(from CapsText, in string, want CapsText) {
		t.Helper()
		c := from
		if err := c.UnmarshalText([]byte(in)); err != nil || c != want {
			t.Fatalf("%+v then %q = %+v, %v; want %+v", from, in, c, err, want)
		}
		b, _ := c.MarshalText()
		var back CapsText
		if err := back.UnmarshalText(b); err != nil || back != want {
			t.Fatalf("%q reads back as %+v, %v", b, back, err)
		}
	}
	f(CapsText{}, "per_day=2,per_week=5", CapsText{PerDay: 2, PerWeek: 5})
	f(CapsText{}, " per_week=5 , per_day=0", CapsText{PerWeek: 5})
	f(CapsText{PerDay: 1}, "per_week=5", CapsText{PerDay: 1, PerWeek: 5}) // a cap left out keeps its value
	if b, _ := DefaultConfig().Campaigns.Caps.MarshalText(); string(b) != "per_day=1,per_week=0" {
		t.Fatalf("default caps print as %q", b)
	}
	for _, bad := range []string{"", "per_hour=3", "per_day=-1", "per_day=x", "per_day"} {
		var c CapsText
		if err := c.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("caps %q accepted: %+v", bad, c)
		}
	}
}

func TestWindowText(t *testing.T) {
	f := func(in, start, end string) {
		t.Helper()
		var w WindowText
		if err := w.UnmarshalText([]byte(in)); err != nil || w != (WindowText{Start: start, End: end}) {
			t.Fatalf("%q = %+v, %v", in, w, err)
		}
		if b, _ := w.MarshalText(); string(b) != in {
			t.Fatalf("%q prints as %q", in, b)
		}
	}
	f("23:00-07:30", "23:00", "07:30")
	f("00:00-24:00", "00:00", "24:00")
	f("00:00-00:00", "00:00", "00:00")
	d := DefaultConfig().Campaigns
	for w, want := range map[WindowText]string{d.QuietHours: "22:00-08:00", d.SendWindow: "09:00-21:00"} {
		if b, _ := w.MarshalText(); string(b) != want {
			t.Errorf("default window prints as %q, want %q", b, want)
		}
	}
	for _, bad := range []string{"late", "", "22:00-8pm", "25:00-08:00", "22:00", "10:60-11:00"} {
		var w WindowText
		if err := w.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("window %q accepted: %+v", bad, w)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	var c Config
	c.EnsureDefaults()
	d := DefaultConfig()
	if c.Lease != d.Lease || c.MaxAttempts != d.MaxAttempts || c.Workers != d.Workers || c.Campaigns != d.Campaigns || c.Logger == nil {
		t.Fatalf("zero config with defaults %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// Zero caps beside other settings are no caps.
	c = Config{Campaigns: CampaignDefaults{QuietHours: WindowText{Start: "23:00", End: "07:00"}}}
	c.EnsureDefaults()
	if c.Campaigns.Caps != (CapsText{}) || c.Campaigns.SendWindow != d.Campaigns.SendWindow || c.Campaigns.MaxTargets != 10_000 {
		t.Fatalf("%+v", c.Campaigns)
	}
	// A send window inside the quiet hours leaves no time to send.
	c.Campaigns.SendWindow = WindowText{Start: "23:30", End: "06:00"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "send_window") {
		t.Fatalf("send window inside quiet hours: %v", err)
	}
	c.Campaigns.Duration = -time.Hour
	if err := c.Validate(); err == nil {
		t.Fatal("negative duration accepted")
	}
}
