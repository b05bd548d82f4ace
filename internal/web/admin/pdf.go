package admin

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/go-pdf/fpdf"
)

// pdfTable is one table of a PDF report.
type pdfTable struct {
	Title  string
	Header []string
	// Widths are in millimetres; the page's text width is 180.
	Widths []float64
	Rows   [][]string
	// Note is printed under the table (rows left out, say).
	Note string
}

// pdfReport is a report as a PDF: a title, a line of facts, a bar chart
// (the same figures as the page's SVG) and tables.
type pdfReport struct {
	Title    string
	Subtitle string
	Labels   []string
	Series   []Series
	Tables   []pdfTable
}

// hexColour turns "#1f5fa8" into its RGB parts.
func hexColour(s string) (int, int, int) {
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 16, 32)
	if err != nil {
		return 0, 0, 0
	}
	return int(v >> 16 & 0xff), int(v >> 8 & 0xff), int(v & 0xff)
}

// write renders the report. The core fonts speak Windows-1252; text is
// translated to it so accented names print (others show as "?").
func (p pdfReport) write(w io.Writer) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(p.Title, true)
	pdf.SetCreator("sspr", true)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 18)
	pdf.CellFormat(0, 10, tr(p.Title), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.SetTextColor(91, 103, 117)
	pdf.MultiCell(0, 5, tr(p.Subtitle), "", "L", false)
	pdf.SetTextColor(29, 39, 51)
	pdf.Ln(3)
	if len(p.Labels) > 0 {
		p.chart(pdf, tr)
	}
	for _, t := range p.Tables {
		pdf.SetFont("Helvetica", "B", 12)
		pdf.CellFormat(0, 8, tr(t.Title), "", 1, "L", false, 0, "")
		pdf.SetFont("Helvetica", "B", 9)
		pdf.SetFillColor(238, 242, 246)
		for i, h := range t.Header {
			pdf.CellFormat(t.Widths[i], 6, tr(h), "1", 0, "L", true, 0, "")
		}
		pdf.Ln(-1)
		pdf.SetFont("Helvetica", "", 9)
		for _, row := range t.Rows {
			for i, cell := range row {
				cell = tr(cell)
				// Cut what does not fit: a DN can be long.
				for pdf.GetStringWidth(cell) > t.Widths[i]-2 && len(cell) > 4 {
					cell = cell[:len(cell)-4] + "..."
				}
				pdf.CellFormat(t.Widths[i], 5.5, cell, "1", 0, "L", false, 0, "")
			}
			pdf.Ln(-1)
		}
		if t.Note != "" {
			pdf.SetFont("Helvetica", "I", 9)
			pdf.MultiCell(0, 5, tr(t.Note), "", "L", false)
		}
		pdf.Ln(4)
	}
	return pdf.Output(w)
}

// chart draws grouped bars, 180 x 70 mm, with a legend.
func (p pdfReport) chart(pdf *fpdf.Fpdf, tr func(string) string) {
	const left, width, height = 25.0, 170.0, 60.0
	top := pdf.GetY() + 8
	max := 0.0
	for _, s := range p.Series {
		for _, v := range s.Values {
			max = math.Max(max, v)
		}
	}
	max = niceMax(max)
	pdf.SetFont("Helvetica", "", 8)
	x := left
	for _, s := range p.Series {
		r, g, b := hexColour(s.Colour)
		pdf.SetFillColor(r, g, b)
		pdf.Rect(x, top-6, 3, 3, "F")
		pdf.Text(x+4, top-3.6, tr(s.Name))
		x += 8 + pdf.GetStringWidth(tr(s.Name))
	}
	pdf.SetDrawColor(213, 219, 226)
	for i := 0; i <= 4; i++ {
		y := top + height*float64(i)/4
		pdf.Line(left, y, left+width, y)
		label := short(max * float64(4-i) / 4)
		pdf.Text(left-2-pdf.GetStringWidth(label), y+1, label)
	}
	group := width / float64(len(p.Labels))
	bar := group * 0.8 / float64(len(p.Series))
	every := max1(len(p.Labels) / 12)
	for i, l := range p.Labels {
		x0 := left + group*float64(i) + group*0.1
		for j, s := range p.Series {
			if i >= len(s.Values) || s.Values[i] == 0 {
				continue
			}
			r, g, b := hexColour(s.Colour)
			pdf.SetFillColor(r, g, b)
			h := height * s.Values[i] / max
			pdf.Rect(x0+bar*float64(j), top+height-h, bar*0.95, h, "F")
		}
		if i%every == 0 {
			l = tr(clip(l, 14))
			pdf.Text(x0+group*0.4-pdf.GetStringWidth(l)/2, top+height+4, l)
		}
	}
	pdf.SetY(top + height + 10)
	pdf.SetDrawColor(0, 0, 0)
}

func coverageNote(shown, all int) string {
	if shown == all {
		return ""
	}
	return fmt.Sprintf("The first %d of %d people are listed; the CSV export has all of them.", shown, all)
}
