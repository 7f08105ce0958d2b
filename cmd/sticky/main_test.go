package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stickyhq/sticky/cmd/sticky/engine"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/cli"
	"github.com/stickyhq/sticky/ranker/campaigns"
)

// configure parses args and env as `sticky serve` does and returns the
// engine's configuration.
func configure(args []string, env map[string]string) (engine.Config, error) {
	s := newSettings()
	fs := s.flags("serve")
	fs.SetOutput(io.Discard)
	if err := cli.Parse(fs, args, "STICKY_", func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		return engine.Config{}, err
	}
	return s.config(io.Discard)
}

func TestFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{
		"STICKY_HTTP":               "0.0.0.0:9000",    // overridden by the flag below
		"STICKY_DATA":               "/var/lib/sticky", // from the environment
		"STICKY_BROKERS":            "k1:9092, k2:9092",
		"STICKY_CACHE_BYTES":        "64MiB",
		"STICKY_AFFINITY_HALF_LIFE": "72h",
		"STICKY_WEIGHTS":            "view=0.5,purchase=10,dismiss=-3",
		"STICKY_TOPIC_PREFIX":       "shop",
	}
	cfg, err := configure([]string{"--http", "127.0.0.1:7000", "--partitions", "3"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:7000" {
		t.Errorf("flag must win over environment: http %q", cfg.HTTPAddr)
	}
	if cfg.DataDir != "/var/lib/sticky" || strings.Join(cfg.Brokers, ",") != "k1:9092,k2:9092" || cfg.State.CacheBytes != 64<<20 {
		t.Errorf("environment not applied: %+v", cfg)
	}
	if cfg.Stream.Partitions != 3 || cfg.Features.AffinityHalfLife != 72*time.Hour {
		t.Errorf("partitions %d, half-life %v", cfg.Stream.Partitions, cfg.Features.AffinityHalfLife)
	}
	if w := cfg.Features.Weights; w[features.TypeView] != 0.5 || w[features.TypePurchase] != 10 || w[features.TypeDismiss] != -3 || len(w) != 3 {
		t.Errorf("weights %v", w)
	}
	if s := cfg.Stream; s.EventsTopic != "shop.events" || s.ItemsTopic != "shop.items" || s.DLQTopic != "shop.events.dlq" {
		t.Errorf("topics %s, %s, %s", s.EventsTopic, s.ItemsTopic, s.DLQTopic)
	}
	if cfg.EmbeddedKafka != "127.0.0.1:9092" || cfg.ReadyLag != 1000 {
		t.Errorf("defaults lost: %+v", cfg)
	}
	// Without flags, the configuration is the engine's default one.
	if cfg, err = configure(nil, nil); err != nil {
		t.Fatal(err)
	}
	d := engine.DefaultConfig()
	if cfg.State.CacheBytes != d.State.CacheBytes || cfg.Stream.EventsTopic != d.Stream.EventsTopic || cfg.Push.Campaigns != d.Push.Campaigns ||
		len(cfg.Brokers) != 0 || cfg.Logger == nil {
		t.Errorf("no flags: %+v", cfg)
	}
}

func TestBadSettings(t *testing.T) {
	f := func(args []string, env map[string]string, want string) {
		t.Helper()
		_, err := configure(args, env)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%v %v: got %v, want an error mentioning %q", args, env, err, want)
		}
	}
	f([]string{"--cache-bytes", "lots"}, nil, "cache-bytes")
	f(nil, map[string]string{"STICKY_PARTITIONS": "x"}, "STICKY_PARTITIONS")
	f([]string{"--partitions", "0"}, nil, "Partitions")
	f([]string{"--topic-prefix", ""}, nil, "topic-prefix")
	f([]string{"--weights", "buy=3"}, nil, "weights")
	f([]string{"--log-level", "loud"}, nil, "log-level")
	f([]string{"--affinity-half-life", "0s"}, nil, "AffinityHalfLife")
	f([]string{"--clv-months", "0"}, nil, "CLVMonths")
	f([]string{"--clv-discount-rate", "-0.1"}, nil, "DiscountRate")
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
		"--cache-bytes", "STICKY_CACHE_BYTES", "64MiB",
		"--demo-rate", "STICKY_DEMO_RATE",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	// Every flag of serve and demo, each with one default.
	listed := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), " "); ok && strings.HasPrefix(name, "--") {
			listed[name] = true
			if n := strings.Count(line, "(default"); n != 1 {
				t.Errorf("%d defaults: %s", n, line)
			}
		}
	}
	newSettings().flags("demo").VisitAll(func(f *flag.Flag) {
		if !listed["--"+f.Name] {
			t.Errorf("help lacks --%s", f.Name)
		}
	})
	if err := run([]string{"frobnicate"}, io.Discard, io.Discard); err == nil {
		t.Error("unknown command accepted")
	}
}

func TestValueFlags(t *testing.T) {
	dir := t.TempDir()
	boosts := dir + "/boosts.json"
	if err := os.WriteFile(boosts, []byte(`[{"when":"points_expiring(30) > 0","tag":"points","factor":1.5,"reason":"use your points"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := configure([]string{"--earn-rules", "purchase=2/unit@6m,share=1@1m", "--tiers", "member:0,vip:100",
		"--churn-factor", "6", "--boosts", boosts}, nil)
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
	// Empty earn rules and tiers are none, not the defaults.
	if cfg, err = configure([]string{"--earn-rules", "", "--tiers", ""}, nil); err != nil {
		t.Fatal(err)
	}
	cfg.EnsureDefaults()
	if len(cfg.Features.EarnRules) != 0 || len(cfg.Features.Tiers) != 0 {
		t.Fatalf("empty earn rules and tiers became %v, %v", cfg.Features.EarnRules, cfg.Features.Tiers)
	}
	for _, bad := range [][]string{{"--earn-rules", "purchase=1"}, {"--earn-rules", "fly=1@2m"}, {"--tiers", "gold"},
		{"--tiers", "gold:10,silver:5"}, {"--churn-factor", "1"}, {"--boosts", dir + "/missing.json"}} {
		if _, err := configure(bad, nil); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestPushFlags(t *testing.T) {
	cfg, err := configure([]string{"--push-quiet-hours", "23:00-07:30", "--push-send-window", "10:00-20:00",
		"--push-caps", "per_day=2,per_week=5", "--push-lease", "2m"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Push.Campaigns
	if d.QuietHours.Start != "23:00" || d.QuietHours.End != "07:30" || d.SendWindow.Start != "10:00" ||
		d.Caps.PerDay != 2 || d.Caps.PerWeek != 5 || cfg.Push.Lease != 2*time.Minute {
		t.Fatalf("push config %+v %+v", d, cfg.Push)
	}
	// A cap left out keeps its default; no caps at all stay none.
	if cfg, err = configure([]string{"--push-caps", "per_week=3"}, nil); err != nil || cfg.Push.Campaigns.Caps != (campaigns.CapsText{PerDay: 1, PerWeek: 3}) {
		t.Fatalf("caps %+v, %v", cfg.Push.Campaigns.Caps, err)
	}
	if cfg, err = configure([]string{"--push-caps", "per_day=0,per_week=0"}, nil); err != nil {
		t.Fatal(err)
	}
	if cfg.EnsureDefaults(); cfg.Push.Campaigns.Caps != (campaigns.CapsText{}) {
		t.Fatalf("no caps became %+v", cfg.Push.Campaigns.Caps)
	}
	for _, bad := range [][]string{{"--push-quiet-hours", "late"}, {"--push-caps", "per_hour=3"},
		{"--push-send-window", "23:00-07:00", "--push-quiet-hours", "22:00-08:00"}, {"--push-quiet-hours", "22:00-8pm"}} {
		if _, err := configure(bad, nil); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestMemoryFlags: the overload bound, the memory limit's cap on the
// default cache, and Badger's settings from flags and the environment.
func TestMemoryFlags(t *testing.T) {
	env := map[string]string{"STICKY_BADGER_MEMTABLE": "32MiB", "STICKY_HTTP_MAX_INFLIGHT": "7", "STICKY_MEMORY_LIMIT": "128MiB"}
	cfg, err := configure([]string{"--badger-l0-tables", "4", "--badger-index-cache", "8MiB"}, env)
	if err != nil {
		t.Fatal(err)
	}
	st := cfg.State
	if cfg.HTTPMaxInFlight != 7 || st.MemTableSize != 32<<20 || st.NumLevelZeroTables != 4 || st.IndexCacheSize != 8<<20 {
		t.Errorf("flags not applied: max in flight %d, %+v", cfg.HTTPMaxInFlight, st)
	}
	if st.CacheBytes != 32<<20 {
		t.Errorf("--memory-limit 128MiB: default cache %v, want a quarter, 32MiB", st.CacheBytes)
	}
	// An explicit cache size stays; so does the default under a large limit.
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--memory-limit", "128MiB", "--cache-bytes", "100MiB"}, 100 << 20},
		{[]string{"--memory-limit", "4GiB"}, 64 << 20},
	} {
		cfg, err := configure(c.args, nil)
		if err != nil {
			t.Fatal(err)
		}
		if int(cfg.State.CacheBytes) != c.want {
			t.Errorf("%v: cache %v, want %d", c.args, cfg.State.CacheBytes, c.want)
		}
	}
	if _, err := configure([]string{"--http-max-inflight", "-1"}, nil); err == nil {
		t.Error("a negative --http-max-inflight must be refused")
	}
}
