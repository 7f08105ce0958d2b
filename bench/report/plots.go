package report

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/stickyhq/sticky/bench/system"
)

// Plot size: 800×450 pixels at 96 dots per inch (vg lengths are points,
// 1/72 inch).
const (
	plotDPI    = 96
	plotWidth  = 800 * vg.Inch / plotDPI
	plotHeight = 450 * vg.Inch / plotDPI
)

// maxCDFPoints bounds the points of a freshness CDF; more samples are
// thinned to evenly spaced ranks.
const maxCDFPoints = 2000

var (
	// targetColors are the targets' colours, in order; Sticky is blue.
	targetColors = []color.Color{
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
		color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
		color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	}
	goalColor = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff}
	goalDash  = []vg.Length{vg.Points(6), vg.Points(4)}
	liveDash  = []vg.Length{vg.Points(5), vg.Points(3)}
	p99Dash   = []vg.Length{vg.Points(1.5), vg.Points(2.5)}
)

func targetColor(i int) color.Color { return targetColors[i%len(targetColors)] }

// Plots writes latency.png, freshness.png and throughput.png into dir
// (created if missing), each 800×450 pixels, and returns the names it
// wrote, relative to dir, ready for [Markdown]. A plot without data in
// any target is skipped.
//
//   - latency.png: the share of requests per latency bucket of each
//     target, on a log scale in ms, with each target's p99 and the p99
//     goal as vertical lines.
//   - freshness.png: the cumulative distribution of each target's
//     freshness samples, on a log scale in ms (missing samples count, so
//     the curve ends below 100% when some never became visible), with the
//     p99 goal and the 99% level marked.
//   - throughput.png: events/s applied over time of each target, solid
//     during the ingest phase and dashed during the live phase, with the
//     ingest goal as a horizontal line.
func Plots(dir string, r *system.Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create plot directory: %w", err)
	}
	var written []string
	for _, p := range []struct {
		name string
		make func(*system.Result) (*plot.Plot, error)
	}{
		{"latency.png", latencyPlot},
		{"freshness.png", freshnessPlot},
		{"throughput.png", throughputPlot},
	} {
		pl, err := p.make(r)
		if err != nil {
			return written, fmt.Errorf("cannot draw %s: %w", p.name, err)
		}
		if pl == nil {
			continue
		}
		if err := savePNG(pl, filepath.Join(dir, p.name)); err != nil {
			return written, fmt.Errorf("cannot write %s: %w", p.name, err)
		}
		written = append(written, p.name)
	}
	return written, nil
}

// savePNG writes p to file as a plotWidth×plotHeight PNG at plotDPI.
func savePNG(p *plot.Plot, file string) (err error) {
	c := vgimg.NewWith(vgimg.UseWH(plotWidth, plotHeight), vgimg.UseDPI(plotDPI))
	p.Draw(draw.New(c))
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = vgimg.PngCanvas{Canvas: c}.WriteTo(f)
	return err
}

// newPlot is a plot with a title, axis labels and a grid.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Y.Tick.Marker = plainTicks{}
	p.Add(plotter.NewGrid())
	return p
}

// line is a line through xys in a colour, optionally dashed.
func line(xys plotter.XYs, c color.Color, width vg.Length, dashes []vg.Length) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = c
	l.Width = width
	l.Dashes = dashes
	return l, nil
}

// vline is a vertical line at x from y0 to y1.
func vline(x, y0, y1 float64, c color.Color, dashes []vg.Length) (*plotter.Line, error) {
	return line(plotter.XYs{{X: x, Y: y0}, {X: x, Y: y1}}, c, vg.Points(1.5), dashes)
}

// logTicks marks 1, 2 and 5 of every decade, with minor ticks between.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		d := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * d
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = tickLabel(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// tickLabel is v in at most three significant digits, without exponent.
func tickLabel(v float64) string {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	if err != nil {
		r = v
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// plainTicks are gonum's default ticks with labels free of trailing
// zeros: 50, not 50.00.
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		ticks[i].Label = trimZeros(ticks[i].Label)
	}
	return ticks
}

// logX makes p's x axis logarithmic over [lo, hi], widened slightly.
func logX(p *plot.Plot, lo, hi float64) {
	if hi <= lo {
		lo, hi = lo/2, lo*2
	}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	p.X.Min, p.X.Max = lo/1.15, hi*1.15
}

// latencyPlot is the latency histogram of every target; nil without data.
func latencyPlot(r *system.Result) (*plot.Plot, error) {
	type series struct {
		t   *system.Target
		i   int
		xys plotter.XYs
	}
	var all []series
	lo, hi, ymax := math.Inf(1), math.Inf(-1), 0.0
	for i := range r.Targets {
		t := &r.Targets[i]
		xys := histogramSteps(&t.Latency)
		if len(xys) == 0 {
			continue
		}
		for _, p := range xys {
			lo, hi, ymax = min(lo, p.X), max(hi, p.X), max(ymax, p.Y)
		}
		all = append(all, series{t, i, xys})
	}
	if len(all) == 0 {
		return nil, nil
	}
	goal := r.Goals.LatencyP99 * 1e3
	if goal > 0 {
		lo, hi = min(lo, goal), max(hi, goal)
	}
	top := ymax * 1.15
	title := "Recommendation latency"
	if rate := all[0].t.Latency.Rate; rate > 0 {
		title += ", open loop at " + fmtRateShort(rate) + " req/s"
	}
	p := newPlot(title, "latency (ms, log scale)", "requests per bucket (%)")
	p.Legend.Top = true
	for _, s := range all {
		l, err := line(s.xys, targetColor(s.i), vg.Points(2), nil)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add(displayName(s.t), l)
		if p99 := s.t.Latency.P99 * 1e3; p99 > 0 && finite(p99) {
			v, err := vline(p99, 0, top, targetColor(s.i), p99Dash)
			if err != nil {
				return nil, err
			}
			p.Add(v)
			p.Legend.Add(displayName(s.t)+" p99 "+fmtMS(s.t.Latency.P99)+" ms", v)
			lo, hi = min(lo, p99), max(hi, p99)
		}
	}
	if goal > 0 {
		v, err := vline(goal, 0, top, goalColor, goalDash)
		if err != nil {
			return nil, err
		}
		p.Add(v)
		p.Legend.Add("p99 goal "+fmtMSShort(r.Goals.LatencyP99)+" ms", v)
	}
	logX(p, lo, hi)
	p.Y.Min, p.Y.Max = 0, top
	return p, nil
}

// histogramSteps is l's histogram as a step outline: x in ms, y the
// percentage of requests in each bucket, from the first non-empty bucket
// to the last. A bucket's upper edge is clipped to the largest latency
// seen (an overflow bucket may have a huge bound); the first bucket's
// lower edge is taken one bucket width (in log terms) below its upper.
func histogramSteps(l *system.Latency) plotter.XYs {
	var total int64
	first, last := -1, -1
	for i, b := range l.Histogram {
		if b.Count > 0 && b.UpTo > 0 && finite(b.UpTo) {
			total += b.Count
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if total == 0 {
		return nil
	}
	var xys plotter.XYs
	for i := first; i <= last; i++ {
		b := l.Histogram[i]
		if b.UpTo <= 0 || !finite(b.UpTo) {
			continue
		}
		var from float64
		switch {
		case i > 0 && l.Histogram[i-1].UpTo > 0 && l.Histogram[i-1].UpTo < b.UpTo:
			from = l.Histogram[i-1].UpTo
		case i+1 < len(l.Histogram) && l.Histogram[i+1].UpTo > b.UpTo:
			from = b.UpTo * b.UpTo / l.Histogram[i+1].UpTo
		default:
			from = b.UpTo / 2
		}
		to := b.UpTo
		if l.Max > from && l.Max < to {
			to = l.Max
		}
		y := 100 * float64(b.Count) / float64(total)
		if len(xys) == 0 {
			xys = append(xys, plotter.XY{X: from * 1e3, Y: 0})
		}
		xys = append(xys, plotter.XY{X: from * 1e3, Y: y}, plotter.XY{X: to * 1e3, Y: y})
	}
	xys = append(xys, plotter.XY{X: xys[len(xys)-1].X, Y: 0})
	return xys
}

// freshnessPlot is the CDF of every target's freshness; nil without data.
func freshnessPlot(r *system.Result) (*plot.Plot, error) {
	p := newPlot("Freshness: produce → visible in the API", "freshness (ms, log scale)", "samples visible (%)")
	lo, hi := math.Inf(1), math.Inf(-1)
	n := 0
	for i := range r.Targets {
		t := &r.Targets[i]
		xys := cdfPoints(&t.Freshness)
		if len(xys) == 0 {
			continue
		}
		n++
		lo, hi = min(lo, xys[0].X), max(hi, xys[len(xys)-1].X)
		l, err := line(xys, targetColor(i), vg.Points(2), nil)
		if err != nil {
			return nil, err
		}
		l.StepStyle = plotter.PostStep
		p.Add(l)
		name := displayName(t)
		if m := t.Freshness.Missing; m > 0 {
			name += fmt.Sprintf(" (%s never visible)", fmtCount(int64(m)))
		}
		p.Legend.Add(name, l)
	}
	if n == 0 {
		return nil, nil
	}
	if goal := r.Goals.FreshnessP99 * 1e3; goal > 0 {
		lo, hi = min(lo, goal), max(hi, goal)
		v, err := vline(goal, 0, 100, goalColor, goalDash)
		if err != nil {
			return nil, err
		}
		p.Add(v)
		p.Legend.Add("p99 goal "+fmtMSShort(r.Goals.FreshnessP99)+" ms", v)
	}
	logX(p, lo, hi)
	h, err := line(plotter.XYs{{X: p.X.Min, Y: 99}, {X: p.X.Max, Y: 99}}, goalColor, vg.Points(1), p99Dash)
	if err != nil {
		return nil, err
	}
	p.Add(h)
	p.Legend.Add("99% of samples", h)
	p.Y.Min, p.Y.Max = 0, 100
	return p, nil
}

// cdfPoints is f's empirical CDF, x in ms and y in percent of all samples
// (missing ones included), thinned to maxCDFPoints. Values not above zero
// are drawn at the smallest positive value (the log axis has no zero).
func cdfPoints(f *system.Freshness) plotter.XYs {
	n := len(f.Values)
	if n == 0 {
		return nil
	}
	floor := math.Inf(1)
	for _, v := range f.Values {
		if v > 0 && finite(v) {
			floor = min(floor, v)
		}
	}
	if math.IsInf(floor, 1) {
		return nil
	}
	total := float64(max(freshnessTotal(f), n))
	at := func(i int) float64 {
		v := f.Values[i]
		if v <= 0 || !finite(v) {
			v = floor
		}
		return v * 1e3
	}
	step := 1
	if n > maxCDFPoints {
		step = (n + maxCDFPoints - 1) / maxCDFPoints
	}
	xys := plotter.XYs{{X: at(0), Y: 0}}
	for i := 0; i < n; i += step {
		xys = append(xys, plotter.XY{X: at(i), Y: 100 * float64(i+1) / total})
	}
	if (n-1)%step != 0 {
		xys = append(xys, plotter.XY{X: at(n - 1), Y: 100 * float64(n) / total})
	}
	return xys
}

// throughputPlot is every target's events/s over time; nil without data.
func throughputPlot(r *system.Result) (*plot.Plot, error) {
	p := newPlot("Events applied per second (solid: ingest of the backlog, dashed: live)", "time since the target started (s)", "thousand events/s")
	p.Legend.Top = true
	xmin, xmax := math.Inf(1), math.Inf(-1)
	n := 0
	for i := range r.Targets {
		t := &r.Targets[i]
		if len(t.Throughput) == 0 {
			continue
		}
		n++
		seen := map[string]bool{}
		for _, seg := range phaseSegments(t.Throughput) {
			var dashes []vg.Length
			if seg.phase != "ingest" {
				dashes = liveDash
			}
			l, err := line(seg.xys, targetColor(i), vg.Points(2), dashes)
			if err != nil {
				return nil, err
			}
			p.Add(l)
			if !seen[seg.phase] {
				seen[seg.phase] = true
				p.Legend.Add(displayName(t)+", "+phaseName(seg.phase), l)
			}
			xmin, xmax = min(xmin, seg.xys[0].X), max(xmax, seg.xys[len(seg.xys)-1].X)
		}
	}
	if n == 0 {
		return nil, nil
	}
	if g := r.Goals.IngestPerSecond; g > 0 {
		if xmax <= xmin {
			xmin, xmax = xmin-1, xmax+1
		}
		h, err := line(plotter.XYs{{X: xmin, Y: g / 1e3}, {X: xmax, Y: g / 1e3}}, goalColor, vg.Points(1.5), goalDash)
		if err != nil {
			return nil, err
		}
		p.Add(h)
		p.Legend.Add("ingest goal "+fmtRateShort(g)+" events/s", h)
	}
	p.Y.Min = 0
	return p, nil
}

// segment is a run of samples of one phase, y in thousand events/s.
type segment struct {
	phase string
	xys   plotter.XYs
}

// phaseSegments splits samples into runs of one phase; each run after the
// first starts at the previous run's last point so the line is unbroken.
func phaseSegments(samples []system.Sample) []segment {
	var segs []segment
	for _, s := range samples {
		if !finite(s.Seconds) || !finite(s.Value) {
			continue
		}
		pt := plotter.XY{X: s.Seconds, Y: s.Value / 1e3}
		if len(segs) == 0 || segs[len(segs)-1].phase != s.Phase {
			seg := segment{phase: s.Phase}
			if len(segs) > 0 {
				prev := segs[len(segs)-1].xys
				seg.xys = append(seg.xys, prev[len(prev)-1])
			}
			segs = append(segs, seg)
		}
		segs[len(segs)-1].xys = append(segs[len(segs)-1].xys, pt)
	}
	return segs
}

func phaseName(phase string) string {
	if phase == "" {
		return "unknown phase"
	}
	return phase
}
