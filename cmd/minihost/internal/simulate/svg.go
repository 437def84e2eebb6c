package simulate

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"
)

// Chart geometry, in SVG user units.
const (
	svgW, svgH                         = 800, 440
	svgLeft, svgRight, svgTop, svgBott = 60, 210, 50, 50
)

// svgSeries is one line of the chart.
type svgSeries struct {
	label, color, dash string
	share              func(Point) float64
}

// WriteSVG draws r's coverage curves as a self-contained SVG line chart
// (no scripts, no external resources): the share of active users, daily
// active users, opens per hour and the whole fleet on the new version,
// and the share with it installed, against hours since the release, with
// the 99% line and the 24 h mark. It writes once to w and returns w's
// error.
func (r *Result) WriteSVG(w io.Writer) error {
	var b strings.Builder
	plotW, plotH := float64(svgW-svgLeft-svgRight), float64(svgH-svgTop-svgBott)
	dur := r.Config.Duration
	if dur <= 0 {
		dur = time.Hour
	}
	x := func(t time.Duration) float64 { return svgLeft + plotW*float64(t)/float64(dur) }
	y := func(s float64) float64 { return svgTop + plotH*(1-s) }

	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	title := "Share on the new version after a release"
	if r.Name != "" {
		title += " (" + r.Name + ")"
	}
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", svgLeft, html.EscapeString(title))
	p := r.Config.Policy
	sub := fmt.Sprintf("%d clients, seed %d; periodic %v, window %v, long-unused %v, sync timeout %v",
		r.Config.Clients, r.Config.Seed, fmtDur(p.PeriodicInterval), fmtDur(p.RecentWindow), fmtDur(p.LongUnused), fmtDur(p.SyncTimeout))
	if r.Config.NoPeriodic {
		sub += ", no periodic checks"
	}
	fmt.Fprintf(&b, `<text x="%d" y="39" fill="#555">%s</text>`+"\n", svgLeft, html.EscapeString(sub))

	// Grid and axes.
	for i := 0; i <= 10; i++ {
		s := float64(i) / 10
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", svgLeft, y(s), svgLeft+plotW, y(s))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%d%%</text>`+"\n", svgLeft-6, y(s)+4, i*10)
	}
	tick := hourTick(dur)
	for t := time.Duration(0); t <= dur; t += tick {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x(t), svgTop, x(t), svgTop+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%dh</text>`+"\n", x(t), svgTop+plotH+16, int(t/time.Hour))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">hours since the release</text>`+"\n", svgLeft+plotW/2, svgH-10)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", svgLeft, svgTop, plotW, plotH)
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="2,3"/>`+"\n", svgLeft, y(0.99), svgLeft+plotW, y(0.99))
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#c00">99%%</text>`+"\n", svgLeft+4, y(0.99)+13)
	if day := 24 * time.Hour; day <= dur {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="2,3"/>`+"\n", x(day), svgTop, x(day), svgTop+plotH)
	}

	// Opens per hour, plotted at the end of each hour.
	hourly := make([]Point, 0, len(r.RequestsPerHour)+1)
	for i, h := range r.RequestsPerHour {
		if h.Opens > 0 {
			hourly = append(hourly, Point{T: min(time.Duration(i+1)*time.Hour, dur), ActiveShare: float64(h.OpensNew) / float64(h.Opens)})
		}
	}
	series := []svgSeries{
		{"active users (since t0)", "#1f77b4", "", func(p Point) float64 { return p.ActiveShare }},
		{"daily active (last 24 h)", "#2ca02c", "6,3", func(p Point) float64 { return p.DailyShare }},
		{"opens in the hour", "#9467bd", "", nil},
		{"whole fleet", "#ff7f0e", "", func(p Point) float64 { return p.FleetShare }},
		{"new version installed", "#7f7f7f", "3,3", func(p Point) float64 { return p.InstalledShare }},
	}
	for i, s := range series {
		pts, share := r.Curve, s.share
		if share == nil {
			pts, share = hourly, func(p Point) float64 { return p.ActiveShare }
		}
		var line strings.Builder
		for _, pt := range pts {
			fmt.Fprintf(&line, "%.1f,%.1f ", x(pt.T), y(share(pt)))
		}
		dash := ""
		if s.dash != "" {
			dash = ` stroke-dasharray="` + s.dash + `"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", s.color, dash, strings.TrimSpace(line.String()))
		ly := svgTop + 10 + 20*float64(i)
		lx := float64(svgW - svgRight + 12)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", lx, ly, lx+22, ly, s.color, dash)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+28, ly+4, html.EscapeString(s.label))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// hourTick picks the x-axis tick spacing: a whole number of hours giving
// at most 12 ticks.
func hourTick(d time.Duration) time.Duration {
	for _, h := range []time.Duration{1, 2, 3, 6, 12, 24, 48, 96, 168} {
		if d/(h*time.Hour) <= 12 {
			return h * time.Hour
		}
	}
	return (d/12 + time.Hour - 1).Truncate(time.Hour)
}

// fmtDur writes whole days as "7d", whole hours as "6h", else as Go does.
func fmtDur(d time.Duration) string {
	switch {
	case d > 0 && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
