package campaigns

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/stickyhq/sticky/internal/num"
)

// Config configures the Service. DefaultConfig holds every default;
// EnsureDefaults gives zero fields theirs.
type Config struct {
	// Lease is how long handed-out targets wait for an acknowledgement
	// before they are handed out again. Default 1 minute.
	Lease time.Duration
	// MaxAttempts: a target acknowledged as failed this many times is not
	// handed out again. Default 3.
	MaxAttempts int
	// Workers score users in parallel. Default 2.
	Workers int
	// Campaigns are what campaigns get for the fields they leave out.
	Campaigns CampaignDefaults
	Observer  Observer     // default none
	Logger    *slog.Logger // default slog.Default()
}

// CampaignDefaults are what a campaign gets for the fields it leaves out.
// A zero CampaignDefaults takes every default; otherwise zero fields take
// theirs, except Caps: zero caps are no caps.
type CampaignDefaults struct {
	// MaxTargets is the most users selected. Default 10,000.
	MaxTargets int
	// Duration is from starts_at to ends_at. Default 7 days.
	Duration time.Duration
	// Caps across campaigns. Default 1 a day: per_day=1,per_week=0.
	Caps CapsText
	// QuietHours, local time. Default 22:00-08:00.
	QuietHours WindowText
	// SendWindow, local time. Default 09:00-21:00.
	SendWindow WindowText
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Lease: time.Minute, MaxAttempts: 3, Workers: 2,
		Campaigns: CampaignDefaults{
			MaxTargets: 10_000, Duration: 7 * 24 * time.Hour, Caps: CapsText{PerDay: 1},
			QuietHours: WindowText{Start: "22:00", End: "08:00"}, SendWindow: WindowText{Start: "09:00", End: "21:00"},
		},
	}
}

// EnsureDefaults gives zero (or negative) fields their defaults.
func (c *Config) EnsureDefaults() {
	d := DefaultConfig()
	num.Positive(&c.Lease, d.Lease)
	num.Positive(&c.MaxAttempts, d.MaxAttempts)
	num.Positive(&c.Workers, d.Workers)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	cd, dd := &c.Campaigns, d.Campaigns
	if *cd == (CampaignDefaults{}) {
		*cd = dd
	}
	if cd.MaxTargets == 0 {
		cd.MaxTargets = dd.MaxTargets
	}
	if cd.Duration == 0 {
		cd.Duration = dd.Duration
	}
	if cd.QuietHours == (WindowText{}) {
		cd.QuietHours = dd.QuietHours
	}
	if cd.SendWindow == (WindowText{}) {
		cd.SendWindow = dd.SendWindow
	}
}

// Validate reports whether the campaign defaults make a valid campaign.
func (c *Config) Validate() error {
	cp := Campaign{ID: "defaults", Target: Target{Category: "x"}}
	if _, _, err := cp.prepare(time.Now(), c.Campaigns); err != nil {
		return fmt.Errorf("campaigns: invalid campaign defaults: %w", err)
	}
	return nil
}
