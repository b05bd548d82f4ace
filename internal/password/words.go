package password

import (
	"strings"
	"sync"
	"unicode"

	"github.com/sspr/sspr/internal/password/zxcvbn/frequency"
)

// leet maps look-alike characters to the letters they stand for.
var leet = map[rune]rune{
	'0': 'o', '1': 'l', '3': 'e', '4': 'a', '5': 's', '7': 't',
	'$': 's', '@': 'a', '!': 'i', '|': 'l',
}

// normalize folds s for blocklist comparison: lowercase, look-alikes mapped
// to letters, and everything that is not a letter or digit removed.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if l, ok := leet[r]; ok {
			r = l
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// containsFuzzy reports whether some substring of text is within edit
// distance maxDist of word (Sellers' approximate substring matching: the
// Levenshtein table with a free start anywhere in text).
func containsFuzzy(text, word []rune, maxDist int) bool {
	m := len(word)
	if m == 0 {
		return true
	}
	if m <= maxDist {
		return true
	}
	// col[i] = best distance of word[:i] against a substring of text ending
	// at the current position.
	var buf [2][64]int
	prev, cur := buf[0][:0], buf[1][:0]
	if m+1 > 64 {
		prev, cur = make([]int, 0, m+1), make([]int, 0, m+1)
	}
	prev, cur = prev[:m+1], cur[:m+1]
	for i := range prev {
		prev[i] = i
	}
	if prev[m] <= maxDist {
		return true
	}
	for _, t := range text {
		cur[0] = 0
		for i := 1; i <= m; i++ {
			cost := 1
			if word[i-1] == t {
				cost = 0
			}
			cur[i] = min(prev[i-1]+cost, prev[i]+1, cur[i-1]+1)
		}
		if cur[m] <= maxDist {
			return true
		}
		prev, cur = cur, prev
	}
	return false
}

// commonSize is how many of zxcvbn's ranked passwords are refused.
const commonSize = 10000

var (
	commonOnce       sync.Once
	commonExact      map[string]struct{}
	commonNormalised map[string]struct{}
)

func loadCommon() {
	list := frequency.FrequencyLists["passwords"]
	list = list[:min(commonSize, len(list))]
	commonExact = make(map[string]struct{}, len(list))
	commonNormalised = make(map[string]struct{}, len(list))
	for _, w := range list {
		commonExact[w] = struct{}{}
		if n := normalize(w); n != "" {
			commonNormalised[n] = struct{}{}
		}
	}
}

// isCommon reports whether the password (given lowercased and normalised)
// is on the common-password list.
func isCommon(lower, norm string) bool {
	commonOnce.Do(loadCommon)
	if _, ok := commonExact[lower]; ok {
		return true
	}
	_, ok := commonNormalised[norm]
	return ok && norm != ""
}

// contextTokens returns the strings the context rule refuses, lowercased.
// General rule (minPart > 0): each value whole, the value without
// separators, and its parts split on separators and camel case, when at
// least minPart runes. AD rule: the whole login (≥ 3 runes) and display-name
// tokens split on AD's delimiters (≥ 3 runes).
func contextTokens(r ContextRule, u Context) []string {
	var out []string
	add := func(s string, minLen int) {
		s = strings.ToLower(s)
		if len([]rune(s)) >= minLen && !containsString(out, s) {
			out = append(out, s)
		}
	}
	if n := r.MinPartLength; n > 0 {
		values := append([]string{u.Login, u.FirstName, u.LastName, u.DisplayName}, u.Extra...)
		for _, v := range values {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			add(v, n)
			add(strings.Join(splitParts(v), ""), n)
			for _, p := range splitParts(v) {
				add(p, n)
			}
		}
	}
	if r.ActiveDirectory {
		add(u.Login, 3)
		for _, t := range strings.FieldsFunc(u.DisplayName, isADDelimiter) {
			add(t, 3)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isADDelimiter: the characters AD splits a display name on.
func isADDelimiter(r rune) bool {
	switch r {
	case ',', '.', '-', '_', ' ', '#', '\t':
		return true
	}
	return false
}

// splitParts splits s on anything that is not a letter or digit and at
// camel-case boundaries: "john.doe" → john doe; "JohnDoe" → John Doe;
// "HTMLParser" → HTML Parser.
func splitParts(s string) []string {
	var parts []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		rs := []rune(f)
		start := 0
		for i := 1; i < len(rs); i++ {
			lowerToUpper := unicode.IsLower(rs[i-1]) && unicode.IsUpper(rs[i])
			acronymEnd := i+1 < len(rs) && unicode.IsUpper(rs[i-1]) && unicode.IsUpper(rs[i]) && unicode.IsLower(rs[i+1])
			if lowerToUpper || acronymEnd {
				parts = append(parts, string(rs[start:i]))
				start = i
			}
		}
		parts = append(parts, string(rs[start:]))
	}
	return parts
}

// CommonPasswords returns the n most common passwords of zxcvbn's list (the
// demo builds a small breach corpus from it).
func CommonPasswords(n int) []string {
	list := frequency.FrequencyLists["passwords"]
	return append([]string(nil), list[:min(n, len(list))]...)
}
