package web

import (
	"fmt"
	"html"
	"html/template"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/hw/vital"
)

// Charts are SVG written on the server: no script, no outside resource,
// each with a title and a description for screen readers, and a table
// beside it on the page that says the same.

// outcomeLook is how the heatmap draws an outcome: a colour and a symbol,
// so that it reads without colour too.
type outcomeLook struct {
	fill, symbol, label string
	rank                int // the worst outcome of a cell wins
}

var looks = map[report.Outcome]outcomeLook{
	report.OutcomeTaken:     {"#2e7d32", "✓", "taken", 0},
	report.OutcomePending:   {"#ffffff", "·", "pending", 1},
	report.OutcomeSkipped:   {"#9e9e9e", "–", "skipped", 2},
	report.OutcomeNotTaken:  {"#ef6c00", "◐", "left in the cup", 3},
	report.OutcomeUncertain: {"#f9a825", "?", "uncertain", 4},
	report.OutcomeJammed:    {"#6a1b9a", "!", "jammed", 5},
	report.OutcomeMissed:    {"#c62828", "✗", "missed", 6},
}

// lateLook marks a dose taken outside its window.
var lateLook = outcomeLook{"#9ccc65", "✓", "taken late", 0}

// LegendItem is one entry of the heatmap's legend; Key draws its swatch
// (SVG, since the pages allow no inline style).
type LegendItem struct {
	Fill, Symbol, Label string
	Key                 template.HTML
}

// HeatmapLegend lists the heatmap's colours and symbols.
func HeatmapLegend() []LegendItem {
	var out []LegendItem
	for _, o := range []report.Outcome{report.OutcomeTaken, "late", report.OutcomeMissed, report.OutcomeNotTaken,
		report.OutcomeSkipped, report.OutcomeJammed, report.OutcomeUncertain, report.OutcomePending} {
		l, ok := looks[o]
		if o == "late" {
			l, ok = lateLook, true
		}
		if ok {
			dark := ""
			if darkFill(l.fill) {
				dark = " dark"
			}
			key := fmt.Sprintf(`<svg class="key" width="20" height="16" viewBox="0 0 20 16" aria-hidden="true" xmlns="http://www.w3.org/2000/svg"><rect x="0.5" y="0.5" width="19" height="15" fill="%s" stroke="#555"/><text x="10" y="12" class="hm-s%s">%s</text></svg>`,
				l.fill, dark, l.symbol)
			out = append(out, LegendItem{l.fill, l.symbol, l.label, template.HTML(key)})
		}
	}
	return out
}

func esc(s string) string { return html.EscapeString(s) }

// darkFill reports whether a fill needs a white symbol on it.
func darkFill(fill string) bool { return fill != "#ffffff" && fill != "#f9a825" && fill != "#9ccc65" }

// heatmap draws the scheduled doses of the period: a row per day, a
// column per scheduled local time; a cell with several doses shows the
// worst outcome and names each in its tooltip.
func heatmap(r *report.Report, loc *time.Location, names Names) template.HTML {
	var times []string
	type cell struct {
		look  outcomeLook
		lines []string
	}
	cells := map[report.Day]map[string]*cell{}
	for _, d := range r.Doses {
		if d.PRN {
			continue
		}
		t := d.Scheduled.In(loc).Format("15:04")
		if !slices.Contains(times, t) {
			times = append(times, t)
		}
		l := looks[d.Outcome]
		if d.Outcome == report.OutcomeTaken && !d.OnTime {
			l = lateLook
		}
		if d.FalseMiss != nil {
			l = outcomeLook{looks[report.OutcomeTaken].fill, "✓", "reported taken", 0}
		}
		if cells[d.Day] == nil {
			cells[d.Day] = map[string]*cell{}
		}
		c := cells[d.Day][t]
		if c == nil {
			c = &cell{look: l}
			cells[d.Day][t] = c
		} else if l.rank > c.look.rank {
			c.look = l
		}
		c.lines = append(c.lines, names.Med(d.Medication)+": "+l.label)
	}
	slices.Sort(times)
	// Rows start at the first scheduled dose: a new patient's 90 days
	// would be mostly empty rows.
	start := r.Period.From
	if len(cells) > 0 {
		start = slices.Min(slices.Collect(maps.Keys(cells)))
	}
	const cw, ch, left, top = 48, 20, 116, 22
	days := max(int(r.Period.To-start), 1)
	w, h := left+cw*max(len(times), 1)+4, top+ch*days+4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="heatmap" role="img" aria-labelledby="hm-t hm-d" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, w, h, w, h)
	fmt.Fprintf(&b, `<title id="hm-t">Doses from %s to %s</title><desc id="hm-d">One row per day, one column per scheduled time; colour and symbol give what became of the dose (the table of doses below says the same).</desc>`,
		start, r.Period.To-1)
	for i, t := range times {
		fmt.Fprintf(&b, `<text x="%d" y="16" class="hm-h">%s</text>`, left+i*cw+cw/2, t)
	}
	for i := range days {
		day := start + report.Day(i)
		y := top + i*ch
		fmt.Fprintf(&b, `<text x="0" y="%d" class="hm-d">%s</text>`, y+15, day.Date().Format("Mon 2006-01-02"))
		for j, t := range times {
			c := cells[day][t]
			if c == nil {
				continue
			}
			x := left + j*cw
			fmt.Fprintf(&b, `<g><title>%s %s: %s</title><rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#555" stroke-width="0.5"/><text x="%d" y="%d" class="hm-s%s">%s</text></g>`,
				day, t, esc(strings.Join(c.lines, "; ")), x+1, y+1, cw-2, ch-2, c.look.fill, x+cw/2, y+15,
				map[bool]string{true: " dark", false: ""}[darkFill(c.look.fill)],
				c.look.symbol)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// sparkline draws weekly adherence (-1: no doses that week).
func sparkline(weekly []float64, label string) template.HTML {
	const w, h = 120, 28
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" role="img" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		w, h, w, h, esc(label))
	fmt.Fprintf(&b, `<line x1="0" x2="%d" y1="%.1f" y2="%.1f" class="spark-80"/>`, w, y01(0.8, h), y01(0.8, h))
	step := float64(w-4) / float64(max(len(weekly)-1, 1))
	var pts []string
	for i, v := range weekly {
		if v < 0 {
			continue
		}
		x := 2 + float64(i)*step
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y01(v, h)))
		if i == len(weekly)-1 {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" class="spark-dot"/>`, x, y01(v, h))
		}
	}
	if len(pts) > 1 {
		fmt.Fprintf(&b, `<polyline points="%s" class="spark-line"/>`, strings.Join(pts, " "))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// y01 maps a fraction to a y coordinate in a chart of height h.
func y01(v float64, h int) float64 { return 2 + (1-v)*float64(h-4) }

// bar draws a fraction as a horizontal bar.
func bar(v float64, label string) template.HTML {
	const w, h = 100, 12
	fill := "#2e7d32"
	if v < report.PDCThreshold {
		fill = "#c62828"
	}
	return template.HTML(fmt.Sprintf(`<svg class="bar" role="img" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg"><title>%s</title><rect width="%d" height="%d" fill="#eee"/><rect width="%.1f" height="%d" fill="%s"/><line x1="80" x2="80" y1="0" y2="%d" stroke="#000" stroke-dasharray="2,1"/></svg>`,
		w, h, w, h, esc(label), w, h, v*w, h, fill, h))
}

// series is one line of a vitals chart.
type series struct {
	q     vital.Quantity
	label string
	class string
}

var chartOf = [][]series{
	{{vital.Systolic, "systolic", "s1"}, {vital.Diastolic, "diastolic", "s2"}},
	{{vital.Pulse, "heart rate", "s1"}},
	{{vital.SpO2, "oxygen saturation", "s1"}},
	{{vital.Temperature, "temperature", "s1"}},
	{{vital.Glucose, "glucose", "s1"}},
	{{vital.Weight, "weight", "s1"}},
}

// Chart is one vitals chart with its data as a table.
type Chart struct {
	Title string
	SVG   template.HTML
	Rows  []ChartRow
	Table template.HTML // Rows as table rows
}

// ChartRow is one reading of a chart's table.
type ChartRow struct {
	Time, Quantity, Value, Note string
	Abnormal                    bool
}

// vitalsCharts draws a chart per quantity group that has readings, with
// the band shaded and abnormal values marked: the patient's alert
// thresholds where their dispenser sent them, else the default reference
// range, and the legend says which.
func vitalsCharts(r *report.Report, loc *time.Location) []Chart {
	from, to := r.Period.From.Start(loc), r.Period.To.Start(loc)
	var out []Chart
	for _, group := range chartOf {
		var rs [][]vital.Reading
		n := 0
		for _, s := range group {
			var qs []vital.Reading
			for _, rd := range r.Readings {
				if rd.Quantity == s.q {
					qs = append(qs, rd)
				}
			}
			rs = append(rs, qs)
			n += len(qs)
		}
		if n == 0 {
			continue
		}
		out = append(out, chart(group, rs, from, to, loc, pageBand(r.Band)))
	}
	return out
}

// bandOf gives a quantity's band and where it comes from
// (report.Report.Band).
type bandOf func(vital.Quantity) (b vital.Band, source string, ok bool)

// rangeTarget is the source of glucose's band on the pages: the
// time-in-range target (report.GlucoseRange), so that the shading, the
// squares outside it and the time-in-range figure speak of one range.
const rangeTarget = "target"

// pageBand is the band the pages draw for a quantity: the report's
// (report.Report.Band), but glucose's target range.
func pageBand(band bandOf) bandOf {
	return func(q vital.Quantity) (vital.Band, string, bool) {
		if q == vital.Glucose {
			return report.GlucoseRange, rangeTarget, true
		}
		return band(q)
	}
}

// bandNames are how the charts name a band's source, so that a clinician
// knows whether the shading is this patient's or everyone's.
var bandNames = map[string]string{
	report.RangePatient: "patient's alert thresholds",
	report.RangeDefault: "default reference range",
	rangeTarget:         "target range",
}

// bandLegend says what a chart's bands are and where they come from:
// "patient's alert thresholds: 70 to 250", or per series when the chart
// has several ("...: systolic 91 to 169, diastolic up to 109"). Empty
// when no series has a band.
func bandLegend(group []series, band bandOf) string {
	var parts []string
	prev, same := "", true
	for _, s := range group {
		b, source, ok := band(s.q)
		if !ok {
			continue
		}
		same = same && (prev == "" || prev == source)
		prev = source
		p := rangeText(b)
		if len(group) > 1 {
			p = s.label + " " + p
		}
		parts = append(parts, bandNames[source]+": "+p)
	}
	if same && len(parts) > 1 {
		// One source: name it once.
		for i := range parts {
			_, parts[i], _ = strings.Cut(parts[i], ": ")
		}
		return bandNames[prev] + ": " + strings.Join(parts, ", ")
	}
	return strings.Join(parts, "; ")
}

func chart(group []series, rs [][]vital.Reading, from, to time.Time, loc *time.Location, band bandOf) Chart {
	// The top margin holds the legend line.
	const w, h, left, right, top, bottom = 640, 194, 44, 8, 24, 22
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, s := range group {
		if b, _, ok := band(s.q); ok {
			for _, v := range []float64{b.Low, b.High} {
				if !math.IsInf(v, 0) && i == 0 {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
		}
		for _, rd := range rs[i] {
			if rd.HasValue() {
				lo, hi = min(lo, rd.Value), max(hi, rd.Value)
			}
		}
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	pad := max((hi-lo)*0.08, 0.5)
	lo, hi = lo-pad, hi+pad
	span := to.Sub(from).Seconds()
	xOf := func(t time.Time) float64 { return left + (w-left-right)*t.Sub(from).Seconds()/span }
	yOf := func(v float64) float64 { return top + (h-top-bottom)*(hi-v)/(hi-lo) }
	names := make([]string, len(group))
	for i, s := range group {
		names[i] = s.label
	}
	title := strings.Join(names, " and ")
	unit := vital.UnitLabel(group[0].q.Unit())
	c := Chart{Title: strings.ToUpper(title[:1]) + title[1:] + " (" + unit + ")"}
	var b strings.Builder
	id := "ch-" + string(group[0].q)
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-labelledby="%s-t %s-d" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, id, id, w, h, w, h)
	shade, shadeSource, banded := band(group[0].q)
	legend := bandLegend(group, band)
	desc := fmt.Sprintf("%s from %s to %s.", c.Title, from.Format(time.DateOnly), to.Add(-time.Second).Format(time.DateOnly))
	if banded {
		desc += fmt.Sprintf(" The shaded band is the %s of %s (%s); values outside the ranges are drawn as red squares.",
			bandNames[shadeSource], group[0].label, rangeText(shade))
	}
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(c.Title), id, esc(desc))
	if banded {
		y1, y2 := yOf(min(shade.High, hi)), yOf(max(shade.Low, lo))
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" class="band"/>`, left, y1, w-left-right, max(y2-y1, 0))
	}
	if legend != "" {
		legend += " " + unit
		fmt.Fprintf(&b, `<g class="legend"><rect x="%d" y="5" width="14" height="10" class="band" stroke="#555" stroke-width="0.5"/><text x="%d" y="14" class="tick">%s</text></g>`,
			left, left+20, esc(strings.ToUpper(legend[:1])+legend[1:]))
	}
	// Axes: min and max values, first and last day.
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" class="axis"/>`, left, w-right, h-bottom, h-bottom)
	for _, v := range []float64{lo + pad, hi - pad} {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="tick" text-anchor="end">%s</text>`, left-4, yOf(v)+4, num(v))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick">%s</text><text x="%d" y="%d" class="tick" text-anchor="end">%s</text>`,
		left, h-6, from.Format("Jan 2"), w-right, h-6, to.Add(-time.Second).Format("Jan 2"))
	for i, s := range group {
		var pts []string
		for _, rd := range rs[i] {
			row := ChartRow{Time: rd.Time.In(loc).Format("2006-01-02 15:04"), Quantity: s.label}
			switch {
			case !rd.HasValue():
				row.Value, row.Note = "-", rd.Absent
			default:
				row.Value = num(rd.Value)
				if len(rd.Unreliable) > 0 {
					row.Note = "unreliable: " + strings.Join(rd.Unreliable, ", ")
				}
				x, y := xOf(rd.Time), yOf(rd.Value)
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
				b2, _, ok := band(s.q)
				row.Abnormal = ok && len(rd.Unreliable) == 0 && b2.Abnormal(rd.Value)
				if row.Abnormal {
					fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="6" height="6" class="abn"><title>%s %s %s (outside the range)</title></rect>`,
						x-3, y-3, row.Time, esc(s.label), row.Value)
				} else {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" class="pt %s"><title>%s %s %s</title></circle>`, x, y, s.class,
						row.Time, esc(s.label), row.Value)
				}
			}
			c.Rows = append(c.Rows, row)
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" class="line %s"/>`, strings.Join(pts, " "), s.class)
		}
	}
	b.WriteString(`</svg>`)
	c.SVG = template.HTML(b.String())
	c.Table = chartRows(c.Rows)
	return c
}

func rangeText(b vital.Band) string {
	switch {
	case math.IsInf(b.Low, -1):
		return "up to " + num(b.High)
	case math.IsInf(b.High, 1):
		return "from " + num(b.Low)
	}
	return num(b.Low) + " to " + num(b.High)
}

func num(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	return strings.TrimSuffix(s, ".0")
}

// trendChart draws weekly adherence over the period: doses taken and
// doses taken inside their window, with the 80% line; a week without a
// scheduled dose has no point, and the weeks before the first dose are
// left out. Empty when no week has one.
func trendChart(weeks []WeekRates, p report.Period) template.HTML {
	const w, h, left, right, top, bottom = 640, 200, 44, 8, 26, 24
	// Like the dose grid, the chart starts at the first week with a
	// dose: a new patient's would be a point at the right end.
	for len(weeks) > 0 && weeks[0].Stats.Scheduled == 0 {
		weeks = weeks[1:]
	}
	if len(weeks) == 0 {
		return ""
	}
	p.From = weeks[0].Period.From
	xOf := func(i int) float64 {
		return left + float64(w-left-right)*(float64(i)+0.5)/float64(len(weeks))
	}
	yOf := func(v float64) float64 { return top + float64(h-top-bottom)*(1-v) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart trend" role="img" aria-labelledby="tr-t tr-d" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, w, h, w, h)
	fmt.Fprintf(&b, `<title id="tr-t">Adherence week by week, %s to %s</title><desc id="tr-d">For each week, the share of scheduled doses taken (solid line) and taken inside their window (dashed line); the dotted line is 80%%. Weeks without a scheduled dose have no point.</desc>`, p.From, p.To-1)
	fmt.Fprintf(&b, `<g class="legend"><line x1="%d" x2="%d" y1="10" y2="10" class="trend-take"/><text x="%d" y="14" class="tick">taken</text><line x1="%d" x2="%d" y1="10" y2="10" class="trend-time"/><text x="%d" y="14" class="tick">taken on time</text></g>`,
		left, left+24, left+30, left+100, left+124, left+130)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" class="axis"/>`, left, w-right, h-bottom, h-bottom)
	for _, v := range []float64{0, 0.8, 1} {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="tick" text-anchor="end">%.0f%%</text>`, left-4, yOf(v)+4, 100*v)
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="trend-80"/>`, left, w-right, yOf(0.8), yOf(0.8))
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick">%s</text><text x="%d" y="%d" class="tick" text-anchor="end">%s</text>`,
		left, h-6, p.From.Date().Format("Jan 2"), w-right, h-6, (p.To - 1).Date().Format("Jan 2"))
	for _, line := range []struct {
		class, dot string
		rate       func(report.Rates) float64
	}{{"trend-take", "s1", func(r report.Rates) float64 { return r.Taking }}, {"trend-time", "s2", func(r report.Rates) float64 { return r.Timing }}} {
		var pts []string
		for i, wk := range weeks {
			if wk.Stats.Scheduled == 0 {
				continue
			}
			x, y := xOf(i), yOf(line.rate(wk.Rates))
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" class="pt %s"><title>week of %s: %.0f%% taken, %.0f%% on time (%d doses)</title></circle>`,
				x, y, line.dot, wk.Period.From,
				100*wk.Rates.Taking, 100*wk.Rates.Timing, wk.Stats.Scheduled)
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" class="%s"/>`, strings.Join(pts, " "), line.class)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
