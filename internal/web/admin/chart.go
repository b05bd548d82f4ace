package admin

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Series is one coloured set of bars.
type Series struct {
	Name   string
	Colour string
	Values []float64
}

// barChart draws grouped bars as SVG on the server: presentation
// attributes only (no style attributes), so the page's CSP holds and the
// chart shows without JavaScript.
func barChart(title string, labels []string, series []Series, max float64) template.HTML {
	const w, h, left, bottom, top = 720, 260, 48, 40, 28
	if max <= 0 {
		for _, s := range series {
			for _, v := range s.Values {
				max = math.Max(max, v)
			}
		}
	}
	max = niceMax(max)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, w, h, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(title))
	plotW, plotH := float64(w-left-10), float64(h-bottom-top)
	for i := 0; i <= 4; i++ {
		y := float64(top) + plotH*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d5dbe2"/>`, left, y, w-10, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#5b6775">%s</text>`, left-6, y+4, short(max*float64(4-i)/4))
	}
	n := max1(len(labels))
	group := plotW / float64(n)
	bar := group * 0.8 / float64(max1(len(series)))
	every := max1(n / 12) // at most a dozen labels
	for i, l := range labels {
		x0 := float64(left) + group*float64(i) + group*0.1
		for j, s := range series {
			if i >= len(s.Values) {
				continue
			}
			bh := plotH * s.Values[i] / max
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				x0+bar*float64(j), float64(top)+plotH-bh, math.Max(bar-1, 1), bh, s.Colour,
				template.HTMLEscapeString(l), template.HTMLEscapeString(s.Name), short(s.Values[i]))
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#1d2733">%s</text>`,
				x0+group*0.4, h-bottom+16, template.HTMLEscapeString(clip(l, 18)))
		}
	}
	x := float64(left)
	for _, s := range series {
		fmt.Fprintf(&b, `<rect x="%.1f" y="6" width="12" height="12" fill="%s"/><text x="%.1f" y="16" font-size="12" fill="#1d2733">%s</text>`,
			x, s.Colour, x+16, template.HTMLEscapeString(s.Name))
		x += 30 + 7.5*float64(len(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is escaped
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func short(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// niceMax rounds a chart's top up so its four grid steps are round
// numbers (1, 2, 2.5, 3 or 5 times a power of ten), whole because the
// charts count people and events.
func niceMax(v float64) float64 {
	step := v / 4
	if step <= 1 {
		return 4
	}
	p := math.Pow(10, math.Floor(math.Log10(step)))
	for _, m := range []float64{1, 2, 2.5, 3, 5, 10} {
		if s := m * p; s >= step && s == math.Trunc(s) {
			return 4 * s
		}
	}
	return 40 * p
}
