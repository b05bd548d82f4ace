package attributes

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/sspr/sspr/internal/factor"
)

// Normalisers.
const (
	Exact  = "exact"
	Text   = "text"
	Digits = "digits"
	Date   = "date"
)

// Date orders for non-ISO dates.
const (
	DMY = "DMY"
	MDY = "MDY"
)

// Defaults.
const (
	DefaultRequired = 1
	DefaultTTL      = 10 * time.Minute
)

// Attribute is one directory attribute to ask.
type Attribute struct {
	// Attribute is the directory attribute's name (as in
	// Subject.Attributes), e.g. "employeeNumber".
	Attribute string
	// Label is the question per language tag ("en", "de", ...); "en" is
	// the fallback and required.
	Label map[string]string
	// Normaliser is "exact" (default), "text", "digits" or "date".
	Normaliser string
	// DateOrder reads non-ISO dates: "DMY" (31.01.1990, default) or "MDY"
	// (01/31/1990).
	DateOrder string
}

// Config configures the factor.
type Config struct {
	// Attributes are asked in this order.
	Attributes []Attribute
	// Required is how many attributes must be available for the factor
	// to work for a person (1).
	Required int
	// Ask caps how many available attributes a challenge asks (0: all).
	Ask int
	// TTL bounds how long a challenge may be answered (10 minutes).
	TTL time.Duration
	// Label is the factor's label ("Personal details").
	Label string
	// Clock returns the current time (time.Now by default).
	Clock func() time.Time
}

// Factor is the attribute factor; stateless and safe for concurrent use.
type Factor struct {
	cfg Config
}

var _ factor.Factor = (*Factor)(nil)

// New checks cfg and returns the factor; every problem is reported.
func New(cfg Config) (*Factor, error) {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if len(cfg.Attributes) == 0 {
		bad("no attributes configured")
	}
	seen := map[string]bool{}
	attrs := make([]Attribute, len(cfg.Attributes))
	for i, a := range cfg.Attributes {
		if a.Attribute == "" {
			bad("attributes[%d]: attribute name is empty", i)
		}
		key := strings.ToLower(a.Attribute)
		if seen[key] {
			bad("attributes[%d]: %s is listed twice", i, a.Attribute)
		}
		seen[key] = true
		if strings.TrimSpace(a.Label["en"]) == "" {
			bad("attributes[%d] (%s): label \"en\" is required", i, a.Attribute)
		}
		if a.Normaliser == "" {
			a.Normaliser = Exact
		}
		switch a.Normaliser {
		case Exact, Text, Digits, Date:
		default:
			bad("attributes[%d] (%s): normaliser %q is not exact, text, digits or date", i, a.Attribute, a.Normaliser)
		}
		if a.DateOrder == "" {
			a.DateOrder = DMY
		}
		a.DateOrder = strings.ToUpper(a.DateOrder)
		if a.DateOrder != DMY && a.DateOrder != MDY {
			bad("attributes[%d] (%s): date order %q is not DMY or MDY", i, a.Attribute, a.DateOrder)
		}
		attrs[i] = a
	}
	cfg.Attributes = attrs
	if cfg.Required == 0 {
		cfg.Required = DefaultRequired
	}
	if cfg.Required < 1 || cfg.Required > len(cfg.Attributes) {
		bad("required is %d, want 1 to the number of attributes (%d)", cfg.Required, len(cfg.Attributes))
	}
	if cfg.Ask != 0 && (cfg.Ask < cfg.Required || cfg.Ask > len(cfg.Attributes)) {
		bad("ask is %d, want 0 (all) or required (%d) to the number of attributes (%d)", cfg.Ask, cfg.Required, len(cfg.Attributes))
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TTL < 0 {
		bad("TTL is negative")
	}
	if cfg.Label == "" {
		cfg.Label = "Personal details"
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("attributes: %s", strings.Join(problems, "; "))
	}
	return &Factor{cfg: cfg}, nil
}

// Kind returns factor.Attributes.
func (f *Factor) Kind() factor.Kind { return factor.Attributes }

// NeedsEnrollment returns false: the directory holds the answers.
func (f *Factor) NeedsEnrollment() bool { return false }

// BeginEnroll is not used: there is nothing to enroll.
func (f *Factor) BeginEnroll(context.Context, factor.Subject, factor.Response) (factor.Challenge, error) {
	return factor.Challenge{}, errors.New("attributes: the factor needs no enrollment")
}

// FinishEnroll is not used: there is nothing to enroll.
func (f *Factor) FinishEnroll(context.Context, factor.Subject, []byte, factor.Response) (factor.Enrollment, error) {
	return factor.Enrollment{}, errors.New("attributes: the factor needs no enrollment")
}

type state struct {
	Version int       `json:"v"`
	Asked   []string  `json:"asked"`
	Expires time.Time `json:"exp"`
}

const formatVersion = 1

// values returns s's values of attribute name (matched case-insensitively,
// as LDAP does) that normalise to something.
func values(s factor.Subject, a Attribute) []string {
	var out []string
	for name, vs := range s.Attributes {
		if !strings.EqualFold(name, a.Attribute) {
			continue
		}
		for _, v := range vs {
			if n, ok := normalise(a, v, true); ok && n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

// Challenge asks the configured attributes s has values for: prompt
// "questions", a list of {"id": attribute, "label": {lang: text},
// "format": normaliser}; answer each in "answer.ID". The enrollment is
// ignored (pass the zero value).
func (f *Factor) Challenge(_ context.Context, s factor.Subject, _ factor.Enrollment) (factor.Challenge, error) {
	var (
		qs    []map[string]any
		asked []string
	)
	for _, a := range f.cfg.Attributes {
		if f.cfg.Ask > 0 && len(asked) == f.cfg.Ask {
			break
		}
		if len(values(s, a)) == 0 {
			continue
		}
		q := map[string]any{"id": a.Attribute, "label": a.Label, "format": a.Normaliser}
		if a.Normaliser == Date {
			q["date_order"] = a.DateOrder
		}
		qs = append(qs, q)
		asked = append(asked, a.Attribute)
	}
	if len(asked) < f.cfg.Required {
		return factor.Challenge{}, factor.ErrNotAvailable
	}
	expires := f.cfg.Clock().Add(f.cfg.TTL)
	st, err := json.Marshal(state{Version: formatVersion, Asked: asked, Expires: expires})
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{Prompt: map[string]any{"questions": qs}, State: st, Expires: expires}, nil
}

// Verify compares the answers with s's current attribute values; all asked
// attributes must match one of their values.
func (f *Factor) Verify(_ context.Context, s factor.Subject, e factor.Enrollment, st []byte, resp factor.Response) (factor.Enrollment, error) {
	var c state
	if err := json.Unmarshal(st, &c); err != nil || c.Version != formatVersion || len(c.Asked) == 0 {
		return factor.Enrollment{}, errors.New("attributes: challenge state is malformed")
	}
	if !f.cfg.Clock().Before(c.Expires) {
		return factor.Enrollment{}, factor.ErrExpired
	}
	right := 1
	for _, name := range c.Asked {
		a, ok := f.attribute(name)
		if !ok {
			return factor.Enrollment{}, factor.ErrNotAvailable
		}
		stored := values(s, a)
		if len(stored) == 0 {
			return factor.Enrollment{}, factor.ErrNotAvailable
		}
		typed, ok := normalise(a, resp.Values["answer."+name], false)
		if !ok || typed == "" {
			right = 0
			continue
		}
		right &= matchAny(typed, stored)
	}
	if right != 1 {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	return e, nil
}

func (f *Factor) attribute(name string) (Attribute, bool) {
	for _, a := range f.cfg.Attributes {
		if strings.EqualFold(a.Attribute, name) {
			return a, true
		}
	}
	return Attribute{}, false
}

// matchAny compares digests (fixed length, so the comparison time does not
// depend on the values' lengths) with every stored value, without stopping
// at a match. It returns 1 on a match.
func matchAny(typed string, stored []string) int {
	t := sha256.Sum256([]byte(typed))
	found := 0
	for _, v := range stored {
		d := sha256.Sum256([]byte(v))
		found |= subtle.ConstantTimeCompare(t[:], d[:])
	}
	return found
}

var folder = cases.Fold()

// normalise applies a's normaliser to v; fromDirectory also accepts the
// directory's own date forms. It reports false for input that cannot be a
// value (a date that is no date).
func normalise(a Attribute, v string, fromDirectory bool) (string, bool) {
	switch a.Normaliser {
	case Text:
		return collapse(folder.String(norm.NFKC.String(v))), true
	case Digits:
		// NFKC turns full-width digits into ASCII ones; everything else
		// (spaces, dashes, plus signs, letters) is dropped.
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, norm.NFKC.String(v)), true
	case Date:
		return parseDate(v, a.DateOrder, fromDirectory)
	default:
		return collapse(norm.NFKC.String(v)), true
	}
}

// collapse trims and turns inner runs of white space into one space.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// parseDate reads a date and returns it as YYYY-MM-DD.
func parseDate(v, order string, fromDirectory bool) (string, bool) {
	v = strings.TrimSpace(norm.NFKC.String(v))
	if v == "" {
		return "", true
	}
	var y, m, d int
	var err error
	switch {
	case fromDirectory && len(v) >= 8 && allDigits(v[:8]) && (len(v) == 8 || isGeneralizedTimeRest(v[8:])):
		// 19900131 or 19900131000000Z (LDAP GeneralizedTime).
		y, _ = strconv.Atoi(v[:4])
		m, _ = strconv.Atoi(v[4:6])
		d, _ = strconv.Atoi(v[6:8])
	default:
		parts := strings.FieldsFunc(v, func(r rune) bool {
			return r == '-' || r == '.' || r == '/' || r == ' ' || r == '\u2010' || r == '\u2011'
		})
		if len(parts) != 3 {
			return "", false
		}
		for _, p := range parts {
			if !allDigits(p) || len(p) > 4 {
				return "", false
			}
		}
		n := [3]int{}
		for i, p := range parts {
			if n[i], err = strconv.Atoi(p); err != nil {
				return "", false
			}
		}
		switch {
		case len(parts[0]) == 4: // ISO: year first
			y, m, d = n[0], n[1], n[2]
		case len(parts[2]) == 4 && order == MDY:
			m, d, y = n[0], n[1], n[2]
		case len(parts[2]) == 4:
			d, m, y = n[0], n[1], n[2]
		default: // two-digit years are ambiguous: refuse
			return "", false
		}
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if y < 1000 || t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return "", false // 31.02.1990 does not roll over to March
	}
	return t.Format("2006-01-02"), true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isGeneralizedTimeRest accepts what may follow YYYYMMDD in an LDAP
// GeneralizedTime: hours, minutes, seconds, fractions, a zone.
func isGeneralizedTimeRest(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == 'Z' || c == '.' || c == ',' || c == '+' || c == '-') {
			return false
		}
	}
	return true
}
