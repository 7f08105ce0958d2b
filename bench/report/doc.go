// Package report turns a benchmark harness's [system.Result] into output:
// the result file, the end-of-run summary for a terminal, PNG plots and a
// Markdown report.
//
//   - [WriteJSON] writes a Result as indented JSON; [ReadJSON] reads it
//     back, so a report can be rendered again from a result file.
//   - [Summary] is the terminal table: one section per figure (ingest,
//     freshness, recommendations, memory), a column per target, the ratio
//     Sticky/baseline with whether that is better or worse, each goal of
//     [system.Goals] with whether Sticky met it, the prequential quality
//     table and the errors of each target.
//   - [Plots] writes latency.png, freshness.png and throughput.png into a
//     directory and returns the names it wrote (a plot without data is
//     skipped).
//   - [Markdown] is the full report: command, machine, broker, workload,
//     goals, figures, quality, the plots, how each figure is measured, and
//     each target's description and errors.
//
// A typical end of `sticky-bench run`:
//
//	fmt.Print(report.Summary(res))
//	if err := report.WriteJSON(filepath.Join(out, "result.json"), res); err != nil { ... }
//	plots, err := report.Plots(out, res)
//	if err != nil { ... }
//	md := report.Markdown(res, plots)
//	err = os.WriteFile(filepath.Join(out, "report.md"), []byte(md), 0o644)
//
// The first target of a Result is Sticky (as [system.Result] documents);
// goals are checked against it and ratios are its figure over the second
// target's (the baseline's). A figure that was not measured (zero where
// zero is impossible, or a ratio with a zero side) prints as "–", never as
// NaN or Inf.
//
// The package only formats: it measures nothing and runs nothing.
package report
