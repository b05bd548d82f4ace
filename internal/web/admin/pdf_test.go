package admin

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPDFRendersToAPicture writes a report PDF, renders it with poppler's
// pdftoppm (an independent reader) and checks that the page is not blank
// and that the chart's bars are there in their colour.
func TestPDFRendersToAPicture(t *testing.T) {
	path, err := exec.LookPath("pdftoppm")
	if err != nil {
		msg := "pdftoppm not installed (run scripts/testenv/tools.sh)"
		if os.Getenv("SSPR_TEST_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var buf bytes.Buffer
	err = pdfReport{Title: "Enrollment coverage", Subtitle: "62.5% enrolled: 5 of 8 people.",
		Labels: []string{"people", "staff", "Zürich"},
		Series: []Series{{Name: "Enrolled", Colour: "#1b7a3a", Values: []float64{3, 2, 0}}, {Name: "Not enrolled", Colour: "#c9692c", Values: []float64{1, 1, 1}}},
		Tables: []pdfTable{{Title: "By organisational unit", Header: []string{"OU", "People"}, Widths: []float64{120, 30},
			Rows: [][]string{{"ou=people,dc=example,dc=test", "4"}, {"ou=Zürich,dc=example,dc=test", "1"}}}},
	}.write(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// SSPR_TEST_SCREENSHOTS keeps the PDF and its picture for a person to look at.
	dir := os.Getenv("SSPR_TEST_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	pdfPath := filepath.Join(dir, "coverage.pdf")
	if err := os.WriteFile(pdfPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(path, "-png", "-r", "60", "-f", "1", "-l", "1", pdfPath, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if len(matches) != 1 {
		t.Fatalf("pdftoppm made %v", matches)
	}
	f, err := os.Open(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	ink, green := 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r < 200 || g < 200 || bl < 200 {
				ink++
			}
			if r < 60 && g > 100 && g < 150 && bl < 90 { // #1b7a3a
				green++
			}
		}
	}
	t.Logf("page %dx%d: %d inked pixels, %d in the bars' green (%s)", b.Dx(), b.Dy(), ink, green, matches[0])
	if ink < 2000 {
		t.Fatalf("the page is (nearly) blank: %d inked pixels", ink)
	}
	if green < 50 {
		t.Fatalf("the chart's enrolled bars are missing: %d green pixels", green)
	}
}
