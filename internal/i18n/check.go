package i18n

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// placeholder finds the value names a message uses: {name}, {name:a} and
// {name|one|other} all use name.
var placeholder = regexp.MustCompile(`\{([a-zA-Z_]+)[}:|]`)

// Placeholders lists, sorted and once each, the value names text uses.
func Placeholders(text string) []string {
	var p []string
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		p = append(p, m[1])
	}
	slices.Sort(p)
	return slices.Compact(p)
}

// CheckMessage checks a translation against its English original: not
// empty, the same placeholders (a missing one loses information, an unknown
// one shows as literal {text}), and, where it carries HTML, well-formed tags
// that open and close in order. The built-in catalogues pass it in a test;
// operator-added ones at start.
func CheckMessage(english, text string) error {
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("is empty")
	}
	if got, want := Placeholders(text), Placeholders(english); !slices.Equal(got, want) {
		return fmt.Errorf("has placeholders %s, English has %s", braces(got), braces(want))
	}
	return checkHTML(text)
}

func braces(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "{" + n + "}"
	}
	return strings.Join(out, " ")
}

var (
	tag  = regexp.MustCompile(`^<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z-]+(?:="[^"<>]*")?)*)\s*(/?)>`)
	void = map[string]bool{"br": true, "wbr": true, "hr": true, "img": true}
)

// checkHTML accepts text whose every "<" starts a tag, whose attributes are
// quoted, and whose tags nest and close in order (void elements excepted).
func checkHTML(text string) error {
	var open []string
	for i := 0; i < len(text); i++ {
		if text[i] != '<' {
			continue
		}
		m := tag.FindStringSubmatch(text[i:])
		if m == nil {
			return fmt.Errorf("has a %q that does not start a well-formed HTML tag", "<")
		}
		name := strings.ToLower(m[2])
		switch {
		case m[1] == "/":
			if len(open) == 0 || open[len(open)-1] != name {
				return fmt.Errorf("closes <%s> that is not open", name)
			}
			open = open[:len(open)-1]
		case m[4] == "/" || void[name]:
		default:
			open = append(open, name)
		}
		i += len(m[0]) - 1
	}
	if len(open) > 0 {
		return fmt.Errorf("leaves <%s> open", open[len(open)-1])
	}
	return nil
}
