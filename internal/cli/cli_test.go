package cli

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestEnvName(t *testing.T) {
	f := func(prefix, name, want string) {
		t.Helper()
		if got := EnvName(prefix, name); got != want {
			t.Errorf("EnvName(%q, %q) = %q, want %q", prefix, name, got, want)
		}
	}
	f("STICKY_", "http", "STICKY_HTTP")
	f("STICKY_", "cache-bytes", "STICKY_CACHE_BYTES")
	f("STICKY_BENCH_", "live-rate", "STICKY_BENCH_LIVE_RATE")
}

// flags is a small command line: a string, a number and a duration.
type flags struct {
	http     string
	n        int
	halfLife time.Duration
}

func newFlags(v *flags) *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&v.http, "http", "127.0.0.1:8080", "listen address")
	fs.IntVar(&v.n, "partitions", 6, "partitions")
	fs.DurationVar(&v.halfLife, "half-life", time.Hour, "half-life (default: an hour)")
	return fs
}

func TestParse(t *testing.T) {
	env := map[string]string{
		"STICKY_HTTP":      "0.0.0.0:9000", // overridden by the flag below
		"STICKY_HALF_LIFE": "72h",          // from the environment
		"OTHER_PARTITIONS": "9",            // another prefix: ignored
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var v flags
	if err := Parse(newFlags(&v), []string{"--http", "127.0.0.1:7000"}, "STICKY_", lookup); err != nil {
		t.Fatal(err)
	}
	if v.http != "127.0.0.1:7000" || v.halfLife != 72*time.Hour || v.n != 6 {
		t.Fatalf("flag must win, environment fill the rest, defaults stay: %+v", v)
	}
}

func TestParseErrors(t *testing.T) {
	f := func(args []string, env map[string]string, want string) {
		t.Helper()
		var v flags
		err := Parse(newFlags(&v), args, "STICKY_BENCH_", func(k string) (string, bool) { x, ok := env[k]; return x, ok })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%v %v: got %v, want an error mentioning %q", args, env, err, want)
		}
	}
	f(nil, map[string]string{"STICKY_BENCH_PARTITIONS": "x"}, `invalid STICKY_BENCH_PARTITIONS="x"`)
	f([]string{"--partitions", "x"}, nil, "partitions")
	f([]string{"stray"}, nil, "unexpected arguments: [stray]")
	f([]string{"--nope"}, nil, "nope")
}

func TestPrintFlags(t *testing.T) {
	var v flags
	fs := newFlags(&v)
	fs.String("empty", "", "no default")
	var out bytes.Buffer
	PrintFlags(&out, fs, "STICKY_", nil)
	want := `  --empty                  STICKY_EMPTY                   no default (default "")
  --half-life              STICKY_HALF_LIFE               half-life (default: an hour)
  --http                   STICKY_HTTP                    listen address (default 127.0.0.1:8080)
  --partitions             STICKY_PARTITIONS              partitions (default 6)
`
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	PrintFlags(&out, fs, "STICKY_BENCH_", func(f *flag.Flag) bool { return f.Name == "http" })
	if got := out.String(); got != "  --http                   STICKY_BENCH_HTTP              listen address (default 127.0.0.1:8080)\n" {
		t.Fatalf("kept only --http:\n%s", got)
	}
}

func TestNewLogger(t *testing.T) {
	var out bytes.Buffer
	log, err := NewLogger("warn", &out)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown")
	if s := out.String(); strings.Contains(s, "hidden") || !strings.Contains(s, "level=WARN msg=shown") {
		t.Fatalf("log:\n%s", s)
	}
	if !log.Enabled(t.Context(), slog.LevelError) || log.Enabled(t.Context(), slog.LevelInfo) {
		t.Fatal("level not applied")
	}
	if _, err := NewLogger("loud", io.Discard); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Fatalf("bad level: %v", err)
	}
}

func TestSplitList(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		got := SplitList(in)
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("SplitList(%q) = %q, want %q", in, got, want)
		}
	}
	f("")
	f(" , ,")
	f("k1:9092", "k1:9092")
	f("k1:9092, k2:9092 ,,k3", "k1:9092", "k2:9092", "k3")
}
