package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/cli"
)

func TestFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{
		"STICKY_HTTP":               "0.0.0.0:9000",    // overridden by the flag below
		"STICKY_DATA":               "/var/lib/sticky", // from the environment
		"STICKY_BROKERS":            "k1:9092, k2:9092",
		"STICKY_CACHE_BYTES":        "64MiB",
		"STICKY_AFFINITY_HALF_LIFE": "72h",
		"STICKY_WEIGHTS":            "view=0.5,purchase=10,dismiss=-3",
	}
	o := defaultOptions()
	fs := o.flags("serve")
	fs.SetOutput(io.Discard)
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := cli.Parse(fs, []string{"--http", "127.0.0.1:7000", "--partitions", "3"}, "STICKY_", lookup); err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:7000" {
		t.Errorf("flag must win over environment: http %q", cfg.HTTPAddr)
	}
	if cfg.DataDir != "/var/lib/sticky" || strings.Join(cfg.Brokers, ",") != "k1:9092,k2:9092" || cfg.CacheBytes != 64<<20 {
		t.Errorf("environment not applied: %+v", cfg)
	}
	if cfg.Stream.Partitions != 3 || cfg.Features.AffinityHalfLife != 72*time.Hour {
		t.Errorf("partitions %d, half-life %v", cfg.Stream.Partitions, cfg.Features.AffinityHalfLife)
	}
	if w := cfg.Features.Weights; w[features.TypeView] != 0.5 || w[features.TypePurchase] != 10 || w[features.TypeDismiss] != -3 || len(w) != 3 {
		t.Errorf("weights %v", w)
	}
	if cfg.EmbeddedKafka != "127.0.0.1:9092" || cfg.ReadyLag != 1000 {
		t.Errorf("defaults lost: %+v", cfg)
	}
}

func TestBadSettings(t *testing.T) {
	f := func(args []string, env map[string]string, want string) {
		t.Helper()
		o := defaultOptions()
		fs := o.flags("serve")
		fs.SetOutput(io.Discard)
		err := cli.Parse(fs, args, "STICKY_", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err == nil {
			_, err = o.config(io.Discard)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%v %v: got %v, want an error mentioning %q", args, env, err, want)
		}
	}
	f([]string{"--cache-bytes", "lots"}, nil, "cache-bytes")
	f(nil, map[string]string{"STICKY_PARTITIONS": "x"}, "STICKY_PARTITIONS")
	f([]string{"--weights", "buy=3"}, nil, "weights")
	f([]string{"--log-level", "loud"}, nil, "log-level")
	f([]string{"--affinity-half-life", "0s"}, nil, "AffinityHalfLife")
	f([]string{"stray"}, nil, "unexpected")
}

func TestHelpListsEveryFlagWithItsEnvironmentVariable(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"help"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"--http", "STICKY_HTTP", "127.0.0.1:8080",
		"--data", "STICKY_DATA", "./sticky-data",
		"--brokers", "STICKY_BROKERS",
		"--embedded-kafka", "STICKY_EMBEDDED_KAFKA", "127.0.0.1:9092",
		"--cache-bytes", "STICKY_CACHE_BYTES", "256MiB",
		"--demo-rate", "STICKY_DEMO_RATE",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if err := run([]string{"frobnicate"}, io.Discard, io.Discard); err == nil {
		t.Error("unknown command accepted")
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int{"1024": 1024, "2KiB": 2048, "256MiB": 256 << 20, "1GiB": 1 << 30, "10B": 10} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1.5GiB"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q) accepted", bad)
		}
	}
}

func TestValueFlags(t *testing.T) {
	dir := t.TempDir()
	boosts := dir + "/boosts.json"
	if err := os.WriteFile(boosts, []byte(`[{"when":"points_expiring(30) > 0","tag":"points","factor":1.5,"reason":"use your points"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	o := defaultOptions()
	fs := o.flags("serve")
	fs.SetOutput(io.Discard)
	err := cli.Parse(fs, []string{"--earn-rules", "purchase=2/unit@6m,share=1@1m", "--tiers", "member:0,vip:100",
		"--churn-factor", "6", "--boosts", boosts}, "STICKY_", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Features.EarnRules
	if len(r) != 2 || r[features.TypePurchase].PerUnit != 2 || r[features.TypePurchase].ExpiryMonths != 6 || r[features.TypeShare].Fixed != 1 {
		t.Fatalf("earn rules %+v", r)
	}
	if len(cfg.Features.Tiers) != 2 || cfg.Features.Tiers[1].Name != "vip" || cfg.Features.ChurnFactor != 6 {
		t.Fatalf("tiers %+v churn %v", cfg.Features.Tiers, cfg.Features.ChurnFactor)
	}
	if len(cfg.Ranker.Boosts) != 1 || cfg.Ranker.Boosts[0].Tag != "points" || cfg.Ranker.Boosts[0].Factor != 1.5 {
		t.Fatalf("boosts %+v", cfg.Ranker.Boosts)
	}
	// The defaults survive a round trip through their own text.
	if got := formatEarnRules(features.DefaultEarnRules()); got != "purchase=1/unit@12m,review=10@3m,share=5@6m" {
		t.Fatalf("default earn rules print as %q", got)
	}
	for _, bad := range [][]string{{"--earn-rules", "purchase=1"}, {"--earn-rules", "fly=1@2m"}, {"--tiers", "gold"},
		{"--tiers", "gold:10,silver:5"}, {"--churn-factor", "1"}, {"--boosts", dir + "/missing.json"}} {
		o := defaultOptions()
		fs := o.flags("serve")
		fs.SetOutput(io.Discard)
		err := cli.Parse(fs, bad, "STICKY_", func(string) (string, bool) { return "", false })
		if err == nil {
			_, err = o.config(io.Discard)
		}
		if err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestPushFlags(t *testing.T) {
	o := defaultOptions()
	fs := o.flags("serve")
	fs.SetOutput(io.Discard)
	err := cli.Parse(fs, []string{"--push-quiet-hours", "23:00-07:30", "--push-send-window", "10:00-20:00",
		"--push-caps", "per_day=2,per_week=5", "--push-lease", "2m"}, "STICKY_", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Push.Defaults
	if d.QuietHours.Start != "23:00" || d.QuietHours.End != "07:30" || d.SendWindow.Start != "10:00" ||
		d.Caps.PerDay != 2 || d.Caps.PerWeek != 5 || cfg.Push.Lease != 2*time.Minute {
		t.Fatalf("push config %+v %+v", d, cfg.Push)
	}
	for _, bad := range [][]string{{"--push-quiet-hours", "late"}, {"--push-caps", "per_hour=3"},
		{"--push-send-window", "23:00-07:00", "--push-quiet-hours", "22:00-08:00"}, {"--push-quiet-hours", "22:00-8pm"}} {
		o := defaultOptions()
		fs := o.flags("serve")
		fs.SetOutput(io.Discard)
		err := cli.Parse(fs, bad, "STICKY_", func(string) (string, bool) { return "", false })
		if err == nil {
			_, err = o.config(io.Discard)
		}
		if err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
