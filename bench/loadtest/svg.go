package loadtest

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// The chart WriteSVG draws: a title, then bars of req/s per system, then
// the latency percentile curves, then the legend. Sizes are in SVG user
// units (pixels at 100 %).
const (
	svgWidth   = 960
	svgMargin  = 16
	svgLabelW  = 300 // system names left of the bars
	svgBarH    = 18
	svgBarGap  = 6
	svgPlotH   = 360
	svgPlotL   = 80  // left edge of the curve plot (room for the y labels)
	svgPlotR   = 300 // room right of the plot for the legend
	svgLegendH = 18
	svgFont    = `font-family="sans-serif" font-size="12"`
)

// svgColors are the series colours, one per system in row order, cycled
// past the end (Okabe–Ito and Tableau shades, readable on white).
var svgColors = []string{
	"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9",
	"#7f7f7f", "#000000", "#8c564b", "#bcbd22", "#17becf", "#9467bd",
}

// WriteSVG draws rows as an SVG image: req/s per system as horizontal bars,
// and each system's latency percentile curve (Row.Percentiles, p50 to
// p99.99) the way HdrHistogram plots are read: x is the percentile on a
// log scale of 1/(1−p) (2 for p50, 10 for p90, …, 10 000 for p99.99), y the
// latency on a log scale. title heads the image. Every system is named in
// the bar labels and in the legend.
func WriteSVG(w io.Writer, title string, rows []Row) error {
	bw := bufio.NewWriter(w)
	barsTop := svgMargin + 56
	barsH := len(rows) * (svgBarH + svgBarGap)
	plotTop := barsTop + barsH + 60
	legendH := len(rows) * svgLegendH
	height := plotTop + max(svgPlotH, legendH) + 60
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s>`+"\n",
		svgWidth, height, svgWidth, height, svgFont)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", svgMargin, svgMargin+16, esc(title))
	writeBars(bw, rows, barsTop)
	writeCurves(bw, rows, plotTop)
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

// writeBars draws the req/s bars from y = top.
func writeBars(w *bufio.Writer, rows []Row, top int) {
	fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">requests/s answered 2xx (median of the rounds)</text>`+"\n", svgMargin, top-8)
	maxRate := 0.0
	for _, r := range rows {
		maxRate = max(maxRate, r.ReqPerSec)
	}
	barMax := float64(svgWidth - svgMargin - svgLabelW - 90)
	for i, r := range rows {
		y := top + i*(svgBarH+svgBarGap)
		width := 0.0
		if maxRate > 0 {
			width = barMax * r.ReqPerSec / maxRate
		}
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", svgLabelW, y+svgBarH-5, esc(r.System))
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n",
			svgLabelW+8, y, width, svgBarH, svgColors[i%len(svgColors)])
		fmt.Fprintf(w, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(svgLabelW+12)+width, y+svgBarH-5, FormatCount(r.ReqPerSec))
	}
}

// curveScale maps percentiles and latencies to plot coordinates.
type curveScale struct {
	left, top, width, height float64
	yMin, yMax               float64 // log10 of the latency range in ms
}

// xMax is log10 of 1/(1−p) at p99.99, the right edge of the plot.
const xMax = 4.0

// x maps percentile q (50 to 99.99) to a horizontal position.
func (s curveScale) x(q float64) float64 {
	v := math.Log10(1 / (1 - q/100))
	return s.left + s.width*(v-math.Log10(2))/(xMax-math.Log10(2))
}

// y maps a latency to a vertical position.
func (s curveScale) y(d time.Duration) float64 {
	v := math.Log10(max(float64(d)/float64(time.Millisecond), 1e-3))
	return s.top + s.height*(1-(v-s.yMin)/(s.yMax-s.yMin))
}

// latencyRange returns whole decades of milliseconds around every latency
// of rows: log10 of the lowest and highest bound.
func latencyRange(rows []Row) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		for _, p := range r.Percentiles {
			v := math.Log10(max(float64(p.Latency)/float64(time.Millisecond), 1e-3))
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		return -1, 2
	}
	lo, hi = math.Floor(lo), math.Ceil(hi)
	if hi <= lo {
		hi = lo + 1
	}
	return lo, hi
}

// writeCurves draws the percentile plot and its legend from y = top.
func writeCurves(w *bufio.Writer, rows []Row, top int) {
	fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">latency by percentile (wrk, closed loop; log scales)</text>`+"\n", svgMargin, top-24)
	s := curveScale{left: svgPlotL, top: float64(top), width: svgWidth - svgPlotL - svgPlotR, height: svgPlotH}
	s.yMin, s.yMax = latencyRange(rows)
	bottom := s.top + s.height
	// Grid and axes.
	for _, q := range []float64{50, 90, 99, 99.9, 99.99} {
		x := s.x(q)
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dddddd"/>`+"\n", x, s.top, x, bottom)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">p%s</text>`+"\n", x, bottom+16, trimFloat(q))
	}
	for e := s.yMin; e <= s.yMax; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := math.Log10(m) + e
			if v > s.yMax {
				break
			}
			y := s.top + s.height*(1-(v-s.yMin)/(s.yMax-s.yMin))
			shade := "#eeeeee"
			if m == 1 {
				shade = "#cccccc"
			}
			fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", s.left, y, s.left+s.width, y, shade)
			fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", s.left-6, y+4, trimFloat(m*math.Pow(10, e))+" ms")
		}
	}
	fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#333333"/>`+"\n", s.left, s.top, s.width, s.height)
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">percentile (x = 1/(1−p), log scale)</text>`+"\n", s.left+s.width/2, bottom+36)
	// Curves and legend.
	for i, r := range rows {
		color := svgColors[i%len(svgColors)]
		var pts []string
		for _, p := range r.Percentiles {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", s.x(p.Q), s.y(p.Latency)))
		}
		if len(pts) > 0 {
			fmt.Fprintf(w, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), color)
		}
		ly := s.top + float64(i*svgLegendH) + 8
		lx := s.left + s.width + 16
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", lx, ly, lx+20, ly, color)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+26, ly+4, esc(r.System))
	}
}

// trimFloat prints v without trailing zeros: 99.9, 50, 0.1.
func trimFloat(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
}

// esc escapes s for SVG text.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
