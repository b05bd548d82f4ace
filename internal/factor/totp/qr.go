package totp

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/boombuler/barcode/qr"
)

// quietZone is the white margin around a QR code, in modules, that ISO/IEC
// 18004 asks for so that scanners find the finder patterns.
const quietZone = 4

// qrPNG draws text as a QR code (error correction M: about 15 % of the
// symbol may be damaged) in a size×size PNG with a quiet zone, each module
// a whole number of pixels so the code stays sharp. Only black and white
// are used: a 1-bit paletted PNG of a few hundred bytes.
func qrPNG(text string, size int) ([]byte, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	n := code.Bounds().Dx() // modules per side, one pixel each
	scale := size / (n + 2*quietZone)
	if scale < 1 {
		return nil, fmt.Errorf("%d pixels are too few for a %d-module QR code", size, n)
	}
	// Centre the code; the rest of the image is quiet zone.
	offset := (size - n*scale) / 2
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	for y := range n {
		for x := range n {
			if r, _, _, _ := code.At(x, y).RGBA(); r != 0 {
				continue // light module
			}
			for dy := range scale {
				row := img.Pix[(offset+y*scale+dy)*img.Stride:]
				for dx := range scale {
					row[offset+x*scale+dx] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
