package brand

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
)

// MaxImageBytes caps a logo or favicon: they are read into memory and sent
// with every first page view.
const MaxImageBytes = 512 << 10

// Image is a logo or favicon read from its file.
type Image struct {
	Data        []byte
	ContentType string
	// Version is a short hash of the content, for cache-busting URLs.
	Version string
}

// ReadImage reads the image at path and checks it: at most MaxImageBytes,
// a PNG, JPEG, GIF, WebP, ICO or SVG by its content (not its name), and an
// SVG only if CheckSVG accepts it.
func ReadImage(path string) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the caller names the file
		}
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxImageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	if len(data) > MaxImageBytes {
		return nil, fmt.Errorf("is larger than %d KiB; use a smaller image", MaxImageBytes>>10)
	}
	ct, err := imageType(data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return &Image{Data: data, ContentType: ct, Version: hex.EncodeToString(sum[:6])}, nil
}

func imageType(data []byte) (string, error) {
	if len(data) == 0 {
		return "", errors.New("is empty")
	}
	if bytes.HasPrefix(data, []byte{0, 0, 1, 0}) {
		return "image/x-icon", nil
	}
	switch ct := http.DetectContentType(data); ct {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "image/x-icon", "image/vnd.microsoft.icon":
		return ct, nil
	}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if bytes.HasPrefix(trimmed, []byte("<")) && bytes.Contains(data, []byte("<svg")) {
		if err := CheckSVG(data); err != nil {
			return "", err
		}
		return "image/svg+xml", nil
	}
	return "", errors.New("is not a PNG, JPEG, GIF, WebP, ICO or SVG image")
}

// CheckSVG accepts an SVG only if it is a plain drawing. It refuses rather
// than cleans: a cleaned file is not the one the operator checked, and what
// a browser runs inside an SVG keeps growing. Refused: script and
// foreignObject elements (and any element outside the SVG namespace, such as
// embedded HTML), event-handler attributes (on...), links or references to
// anything but a fragment of the same file or an embedded raster image
// (data:image/png, jpeg, gif, webp), DOCTYPE and entity declarations,
// processing instructions such as xml-stylesheet, and style content with
// url() or @import.
func CheckSVG(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	root := true
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("is not a well-formed SVG: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return errors.New("is an SVG with a DOCTYPE or entity declaration, which is refused")
		case xml.ProcInst:
			if t.Target != "xml" {
				return fmt.Errorf("is an SVG with a <?%s?> processing instruction, which is refused", t.Target)
			}
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			if root && name != "svg" {
				return fmt.Errorf("is not an SVG: its root element is <%s>", t.Name.Local)
			}
			root = false
			if t.Name.Space != "" && t.Name.Space != "http://www.w3.org/2000/svg" {
				return fmt.Errorf("is an SVG with a <%s> element from %s, which is refused", t.Name.Local, t.Name.Space)
			}
			switch name {
			case "script", "foreignobject", "iframe", "embed", "object", "handler", "listener", "set", "animate":
				return fmt.Errorf("is an SVG with a <%s> element, which is refused", t.Name.Local)
			}
			for _, a := range t.Attr {
				an := strings.ToLower(a.Name.Local)
				if strings.HasPrefix(an, "on") {
					return fmt.Errorf("is an SVG with an event handler (%s on <%s>), which is refused", a.Name.Local, t.Name.Local)
				}
				if an == "href" || an == "src" {
					if !safeRef(a.Value) {
						return fmt.Errorf("is an SVG that refers to %q (on <%s>); only #fragments and embedded PNG, JPEG, GIF or WebP images are allowed", short(a.Value), t.Name.Local)
					}
				}
				if an == "style" && unsafeStyle(a.Value) {
					return fmt.Errorf("is an SVG whose style on <%s> loads something (url() or @import), which is refused", t.Name.Local)
				}
			}
		case xml.CharData:
			if unsafeStyle(string(t)) {
				return errors.New("is an SVG whose style loads something (url() other than #fragment, or @import), which is refused")
			}
		}
	}
	if root {
		return errors.New("is not an SVG: it has no elements")
	}
	return nil
}

func safeRef(v string) bool {
	v = strings.TrimSpace(strings.ToLower(v))
	if strings.HasPrefix(v, "#") {
		return true
	}
	for _, p := range []string{"data:image/png", "data:image/jpeg", "data:image/gif", "data:image/webp"} {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

// unsafeStyle finds CSS that fetches: @import, or url() of anything but a
// #fragment (gradients and clip paths in the same file use url(#id)).
func unsafeStyle(s string) bool {
	l := strings.ToLower(s)
	if strings.Contains(l, "@import") {
		return true
	}
	for {
		i := strings.Index(l, "url(")
		if i < 0 {
			return false
		}
		rest := strings.TrimLeft(l[i+4:], " \t\n'\"")
		if !strings.HasPrefix(rest, "#") {
			return true
		}
		l = rest
	}
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
