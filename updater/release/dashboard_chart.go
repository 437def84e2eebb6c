package release

import (
	"fmt"
	"time"
)

// The adoption chart, drawn on the server as inline SVG (no script, and
// nothing the CSP would have to allow): one bar a day for the window,
// stacked by the version the fetching clients ran.

const (
	chartBarW   = 22
	chartHeight = 160
)

// chartColors are the series' fills, newest version first; unknown is
// grey.
var chartColors = []string{"#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777"}

type dashChart struct {
	W, H   int // H: the bars' height; SVGH adds the axis labels
	SVGH   int
	Max    int64
	Bars   []dashBar
	Legend []dashSeries
	From   string
}

type dashBar struct {
	X    int
	Day  string
	Segs []dashSeg
}

type dashSeg struct {
	Y, H  int
	Color string
	Label string
}

type dashSeries struct {
	Version string
	Color   string
	Fetches int64
}

// newDashChart lays out ad's daily fetches for st's versions.
func newDashChart(st *AppStatus, ad *appAdoption) dashChart {
	c := dashChart{W: chartBarW * adoptionDays, H: chartHeight, SVGH: chartHeight + 18, From: ad.start.Format(time.DateOnly)}
	series := make([]dashSeries, 0, len(st.Versions)+1)
	for _, v := range st.Versions { // newest first
		if t := ad.total[v.Version].Fetches; t > 0 {
			series = append(series, dashSeries{Version: v.Version, Color: chartColors[len(series)%len(chartColors)], Fetches: t})
		}
	}
	if t := ad.total[unknownVersion].Fetches; t > 0 {
		series = append(series, dashSeries{Version: unknownVersion, Color: "#9ca3af", Fetches: t})
	}
	c.Legend = series
	for _, day := range ad.days {
		var sum int64
		for _, s := range series {
			sum += day[s.Version].Fetches
		}
		c.Max = max(c.Max, sum)
	}
	if c.Max == 0 {
		return c
	}
	for i, day := range ad.days {
		b := dashBar{X: i * chartBarW, Day: ad.start.Add(time.Duration(i) * 24 * time.Hour).Format(time.DateOnly)}
		y := chartHeight
		// Oldest version at the bottom, so a new one grows on top.
		for j := len(series) - 1; j >= 0; j-- {
			s := series[j]
			n := day[s.Version].Fetches
			if n == 0 {
				continue
			}
			h := max(1, int(n*chartHeight/c.Max))
			y -= h
			b.Segs = append(b.Segs, dashSeg{Y: y, H: h, Color: s.Color, Label: fmt.Sprintf("%s: %s, %d %s", b.Day, s.Version, n, fetchWord(n))})
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

// fetchWord is "fetch" or "fetches", for a count of n.
func fetchWord(n int64) string {
	if n == 1 {
		return "fetch"
	}
	return "fetches"
}
