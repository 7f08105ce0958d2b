// Package cli holds what Sticky's commands (cmd/sticky, cmd/sticky-bench)
// share on the command line: flags that are also environment variables,
// the flag table of their help, the --log-level logger and comma-separated
// lists.
//
// It knows no command's flags or configuration and must not import the
// engine or the harness: each command binds its own flags and passes its
// environment prefix ("STICKY_", "STICKY_BENCH_").
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
)

// Main runs a command's run on the process's arguments and exits: status
// 0 when run succeeds or only printed its help (-h), else 1 after the line
// "name: error" on stderr.
func Main(name string, run func(args []string, stdout, stderr io.Writer) error) {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// EnvName is the environment variable of a flag: prefix, then the flag's
// name in upper case with '-' as '_' (STICKY_ and cache-bytes give
// STICKY_CACHE_BYTES).
func EnvName(prefix, flagName string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args, then fills every flag not given on the command line
// from its environment variable, found with lookup (os.LookupEnv, or a map
// in tests). A flag on the command line wins over the environment.
func Parse(fs *flag.FlagSet, args []string, prefix string, lookup func(string) (string, bool)) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		name := EnvName(prefix, f.Name)
		if v, ok := lookup(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("invalid %s=%q: %w", name, v, e)
			}
		}
	})
	return err
}

// PrintFlags writes one line a flag of fs, sorted by name: the flag, its
// environment variable and its usage with its default. A usage that states
// its own default ("... (default: the system's)") gets no second one. keep
// chooses the flags to list; nil lists them all.
func PrintFlags(w io.Writer, fs *flag.FlagSet, prefix string, keep func(*flag.Flag) bool) {
	var rows [][3]string
	fs.VisitAll(func(f *flag.Flag) {
		if keep != nil && !keep(f) {
			return
		}
		usage := f.Usage
		if !strings.Contains(usage, "(default") {
			usage += " (default " + quoteDefault(f.DefValue) + ")"
		}
		rows = append(rows, [3]string{"--" + f.Name, EnvName(prefix, f.Name), usage})
	})
	sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	for _, r := range rows {
		fmt.Fprintf(w, "  %-24s %-30s %s\n", r[0], r[1], r[2])
	}
}

func quoteDefault(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// NewLogger returns a text logger at a --log-level: debug, info, warn or
// error.
func NewLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q: debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// SplitList splits a comma-separated flag, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
