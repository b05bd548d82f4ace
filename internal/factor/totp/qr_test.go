package totp

import (
	"bytes"
	"image"
	"image/png"
	"testing"
)

// TestQRPNG checks the drawn code's shape: size×size, a white quiet zone of
// at least four modules, whole-pixel modules, and the three finder
// patterns (7×7: dark ring, light ring, dark 3×3 centre) in their corners.
func TestQRPNG(t *testing.T) {
	uri := "otpauth://totp/Example%20Corp:jane.doe%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example%20Corp&algorithm=SHA1&digits=6&period=30"
	for _, size := range []int{256, 200, 512} {
		b, err := qrPNG(uri, size)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != image.Rect(0, 0, size, size) {
			t.Fatalf("size %d: image bounds %v", size, img.Bounds())
		}
		dark := func(x, y int) bool { r, _, _, _ := img.At(x, y).RGBA(); return r < 0x8000 }
		// The top-left finder starts where the first dark pixel of the
		// diagonal is; its first row is a dark run of 7 modules.
		off := 0
		for off < size && !dark(off, off) {
			off++
		}
		run := 0
		for off+run < size && dark(off+run, off) {
			run++
		}
		if run%7 != 0 {
			t.Fatalf("size %d: finder row is %d pixels, not 7 whole modules", size, run)
		}
		m := run / 7
		if off < 4*m {
			t.Errorf("size %d: quiet zone %d pixels, want at least 4 modules (%d)", size, off, 4*m)
		}
		modules := (size - 2*off) / m
		finder := func(mx, my int) {
			for y := range 7 {
				for x := range 7 {
					ring := min(x, y, 6-x, 6-y)
					want := ring != 1
					if got := dark(off+(mx+x)*m+m/2, off+(my+y)*m+m/2); got != want {
						t.Errorf("size %d: finder at module (%d,%d), cell (%d,%d): dark=%v", size, mx, my, x, y, got)
						return
					}
				}
			}
		}
		finder(0, 0)
		finder(modules-7, 0)
		finder(0, modules-7)
		for i := range size {
			if dark(i, 0) || dark(0, i) || dark(size-1, i) || dark(i, size-1) {
				t.Fatalf("size %d: a dark pixel on the image's edge", size)
			}
		}
	}
	if _, err := qrPNG(uri, 40); err == nil {
		t.Error("a 40-pixel image for a 57-module code was drawn")
	}
}
