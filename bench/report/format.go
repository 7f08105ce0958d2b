package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// dash stands for a figure that was not measured or cannot be computed.
const dash = "–"

// finite reports whether v is a usable number.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// trimZeros drops a fraction's trailing zeros: "100.0" → "100", "2.50" → "2.5".
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// fmtRate formats a rate (events/s, requests/s) in k or M: 152.3k, 1.25M, 840.
func fmtRate(v float64) string {
	switch a := math.Abs(v); {
	case !finite(v):
		return dash
	case a >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	case a >= 10 || a == 0:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// fmtRateShort is fmtRate without trailing zeros, for goals: 100k, 5k.
func fmtRateShort(v float64) string {
	s := fmtRate(v)
	if n := len(s); n > 0 && (s[n-1] == 'k' || s[n-1] == 'M') {
		return trimZeros(s[:n-1]) + s[n-1:]
	}
	return trimZeros(s)
}

// fmtMS formats seconds as milliseconds with about three significant digits.
func fmtMS(sec float64) string {
	if !finite(sec) {
		return dash
	}
	ms := sec * 1e3
	switch a := math.Abs(ms); {
	case a >= 100:
		return fmt.Sprintf("%.0f", ms)
	case a >= 10:
		return fmt.Sprintf("%.1f", ms)
	case a >= 1:
		return fmt.Sprintf("%.2f", ms)
	default:
		return fmt.Sprintf("%.3f", ms)
	}
}

// fmtMSShort is fmtMS without trailing zeros, for goals: 25, 2.
func fmtMSShort(sec float64) string { return trimZeros(fmtMS(sec)) }

// fmtSeconds formats seconds: 2.41, 312.
func fmtSeconds(sec float64) string {
	switch a := math.Abs(sec); {
	case !finite(sec):
		return dash
	case a >= 100:
		return fmt.Sprintf("%.0f", sec)
	default:
		return fmt.Sprintf("%.2f", sec)
	}
}

// fmtCores formats an average number of busy cores: 1.84, 0.07.
func fmtCores(v float64) string {
	if !finite(v) {
		return dash
	}
	return fmt.Sprintf("%.2f", v)
}

// fmtBytes formats a size in binary units: 512 B, 3.2 KiB, 812.4 MiB, 1.52 GiB.
func fmtBytes(b float64) string {
	const k = 1024
	switch a := math.Abs(b); {
	case !finite(b):
		return dash
	case a >= k*k*k:
		return fmt.Sprintf("%.2f GiB", b/(k*k*k))
	case a >= k*k:
		return fmt.Sprintf("%.1f MiB", b/(k*k))
	case a >= k:
		return fmt.Sprintf("%.1f KiB", b/k)
	default:
		return fmt.Sprintf("%.0f B", b)
	}
}

// fmtCount formats an integer with thousands separators: 1,234,567.
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fmtCountF is fmtCount of a float that holds a count.
func fmtCountF(v float64) string {
	if !finite(v) {
		return dash
	}
	return fmtCount(int64(math.Round(v)))
}

// fmtPercent formats a share as a percentage: 0.834 → 83.4%.
func fmtPercent(v float64) string {
	if !finite(v) {
		return dash
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

// fmtRatio formats a ratio as ×0.21, ×3.70, ×12.4, ×0.012.
func fmtRatio(r float64) string {
	switch a := math.Abs(r); {
	case !finite(r):
		return dash
	case a >= 100:
		return fmt.Sprintf("×%.0f", r)
	case a >= 10:
		return fmt.Sprintf("×%.1f", r)
	case a >= 0.1:
		return fmt.Sprintf("×%.2f", r)
	default:
		return fmt.Sprintf("×%.3f", r)
	}
}

// align is a column's alignment.
type align int

const (
	left align = iota
	right
)

// table is a grid of cells; a row with a single cell is a section heading
// spanning the table.
type table struct {
	header []string
	align  []align
	rows   [][]string
}

func (t *table) add(cells ...string)  { t.rows = append(t.rows, cells) }
func (t *table) section(title string) { t.rows = append(t.rows, []string{title}) }

// text renders the table for a terminal: columns padded to their widest
// cell (in runes), two spaces apart, section headings flush left and the
// rows under them indented by two spaces.
func (t *table) text() string {
	indent := ""
	for _, r := range t.rows {
		if len(r) == 1 && len(t.header) > 1 {
			indent = "  "
			break
		}
	}
	widths := make([]int, len(t.header))
	measure := func(cells []string) {
		for i, c := range cells {
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(c))
			}
		}
	}
	measure(t.header)
	for _, r := range t.rows {
		if len(r) > 1 || len(t.header) == 1 {
			measure(r)
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		var l strings.Builder
		l.WriteString(indent)
		for i, w := range widths {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			pad := strings.Repeat(" ", w-utf8.RuneCountInString(c))
			if i > 0 {
				l.WriteString("  ")
			}
			if i < len(t.align) && t.align[i] == right {
				l.WriteString(pad + c)
			} else {
				l.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	line(t.header)
	for _, r := range t.rows {
		if len(r) == 1 && len(t.header) > 1 {
			b.WriteString(r[0])
			b.WriteByte('\n')
			continue
		}
		line(r)
	}
	return b.String()
}

// markdown renders the table as a GitHub-flavoured Markdown table; a
// section heading becomes a row with its title in bold in the first cell.
func (t *table) markdown() string {
	var b strings.Builder
	row := func(cells []string) {
		b.WriteString("|")
		for i := range t.header {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" " + mdCell(c) + " |")
		}
		b.WriteByte('\n')
	}
	row(t.header)
	b.WriteString("|")
	for i := range t.header {
		if i < len(t.align) && t.align[i] == right {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteByte('\n')
	for _, r := range t.rows {
		if len(r) == 1 && len(t.header) > 1 {
			b.WriteString("| **" + mdCell(r[0]) + "** |" + strings.Repeat(" |", len(t.header)-1) + "\n")
			continue
		}
		row(r)
	}
	return b.String()
}

// mdCell escapes what would break a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
