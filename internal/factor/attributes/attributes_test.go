package attributes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/factor"
)

var ctx = context.Background()

var configured = []Attribute{
	{Attribute: "employeeNumber", Label: map[string]string{"en": "Employee number", "de": "Personalnummer"}},
	{Attribute: "birthDate", Label: map[string]string{"en": "Date of birth"}, Normaliser: Date},
	{Attribute: "mobile", Label: map[string]string{"en": "Mobile number"}, Normaliser: Digits},
	{Attribute: "l", Label: map[string]string{"en": "City"}, Normaliser: Text},
}

func newFactor(t *testing.T, cfg Config, c *testclock.Clock) *Factor {
	t.Helper()
	if cfg.Attributes == nil {
		cfg.Attributes = configured
	}
	cfg.Clock = c.Now
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var dave = factor.Subject{Login: "dave", Attributes: map[string][]string{
	"employeenumber": {"E-1042"}, // LDAP names are case-insensitive
	"birthDate":      {"19900131000000Z"},
	"mobile":         {"+41 79 123 45 67"},
	"l":              {"Zürich", "Zurich"},
	"description":    {"not configured"},
}}

func answers(kv ...string) factor.Response {
	v := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		v["answer."+kv[i]] = kv[i+1]
	}
	return factor.Response{Values: v}
}

func TestChallengeAndVerify(t *testing.T) {
	c := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f := newFactor(t, Config{}, c)
	if f.NeedsEnrollment() || f.Kind() != factor.Attributes {
		t.Error("kind / NeedsEnrollment")
	}
	ch, err := f.Challenge(ctx, dave, factor.Enrollment{})
	if err != nil {
		t.Fatal(err)
	}
	qs := ch.Prompt["questions"].([]map[string]any)
	var ids []string
	for _, q := range qs {
		ids = append(ids, q["id"].(string))
	}
	if strings.Join(ids, ",") != "employeeNumber,birthDate,mobile,l" {
		t.Fatalf("asked %v", ids)
	}
	if qs[0]["label"].(map[string]string)["de"] != "Personalnummer" || qs[1]["format"] != Date || qs[1]["date_order"] != DMY {
		t.Errorf("prompt %v", qs)
	}
	// Values are never in the prompt or the state.
	if strings.Contains(string(ch.State), "1042") || strings.Contains(string(ch.State), "1990") {
		t.Error("state holds attribute values")
	}

	good := answers("employeeNumber", "  E-1042 ", "birthDate", "31.01.1990", "mobile", "0041-79-123-45-67"[2:], "l", "ZURICH")
	if _, err := f.Verify(ctx, dave, factor.Enrollment{}, ch.State, good); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	wrong := []factor.Response{
		answers("employeeNumber", "e-1042", "birthDate", "31.01.1990", "mobile", "41791234567", "l", "zurich"), // exact is case-sensitive
		answers("employeeNumber", "E-1042", "birthDate", "30.01.1990", "mobile", "41791234567", "l", "zurich"),
		answers("employeeNumber", "E-1042", "birthDate", "31.01.1990", "mobile", "4179123456", "l", "zurich"),
		answers("employeeNumber", "E-1042", "birthDate", "31.01.1990", "mobile", "41791234567", "l", "Bern"),
		answers("employeeNumber", "E-1042", "birthDate", "not a date", "mobile", "41791234567", "l", "zurich"),
		answers("employeeNumber", "E-1042", "birthDate", "31.01.1990", "mobile", "41791234567"), // one missing
		answers(),
	}
	for i, w := range wrong {
		if _, err := f.Verify(ctx, dave, factor.Enrollment{}, ch.State, w); !errors.Is(err, factor.ErrWrongResponse) {
			t.Errorf("wrong answers %d: %v", i, err)
		}
	}
	// Second value of a multi-valued attribute.
	alt := answers("employeeNumber", "E-1042", "birthDate", "1990-01-31", "mobile", "41791234567", "l", "zurich")
	if _, err := f.Verify(ctx, dave, factor.Enrollment{}, ch.State, alt); err != nil {
		t.Errorf("second value: %v", err)
	}

	c.Advance(DefaultTTL)
	if _, err := f.Verify(ctx, dave, factor.Enrollment{}, ch.State, good); !errors.Is(err, factor.ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	if _, err := f.Verify(ctx, dave, factor.Enrollment{}, []byte("{"), good); err == nil {
		t.Error("garbage state accepted")
	}
}

func TestAvailability(t *testing.T) {
	c := testclock.New(time.Now())
	f := newFactor(t, Config{Required: 2}, c)
	one := factor.Subject{Attributes: map[string][]string{"employeeNumber": {"E-1"}, "mobile": {"  "}, "birthDate": {"garbage"}}}
	if _, err := f.Challenge(ctx, one, factor.Enrollment{}); !errors.Is(err, factor.ErrNotAvailable) {
		t.Errorf("one usable attribute, two required: %v", err)
	}
	if _, err := f.Challenge(ctx, factor.Subject{}, factor.Enrollment{}); !errors.Is(err, factor.ErrNotAvailable) {
		t.Errorf("no attributes: %v", err)
	}
	two := factor.Subject{Attributes: map[string][]string{"l": {"Bern"}, "mobile": {"+41 31 000 00 00"}}}
	ch, err := f.Challenge(ctx, two, factor.Enrollment{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ch.Prompt["questions"].([]map[string]any)); n != 2 {
		t.Errorf("asked %d", n)
	}
	// The value disappeared from the directory since the challenge.
	gone := factor.Subject{Attributes: map[string][]string{"l": {"Bern"}}}
	if _, err := f.Verify(ctx, gone, factor.Enrollment{}, ch.State, answers("l", "bern", "mobile", "41310000000")); !errors.Is(err, factor.ErrNotAvailable) {
		t.Errorf("value removed: %v", err)
	}

	// Ask caps the questions, in the configured order, the same every time.
	capped := newFactor(t, Config{Ask: 2}, c)
	for range 3 {
		ch, _ := capped.Challenge(ctx, dave, factor.Enrollment{})
		qs := ch.Prompt["questions"].([]map[string]any)
		if len(qs) != 2 || qs[0]["id"] != "employeeNumber" || qs[1]["id"] != "birthDate" {
			t.Errorf("capped challenge %v", qs)
		}
	}
}

func TestDates(t *testing.T) {
	dmy := Attribute{Normaliser: Date, DateOrder: DMY}
	mdy := Attribute{Normaliser: Date, DateOrder: MDY}
	cases := []struct {
		a      Attribute
		in     string
		dir    bool
		want   string
		wantOK bool
	}{
		{dmy, "1990-01-31", false, "1990-01-31", true},
		{mdy, "1990-01-31", false, "1990-01-31", true},
		{dmy, "31.01.1990", false, "1990-01-31", true},
		{dmy, "31/01/1990", false, "1990-01-31", true},
		{dmy, "1.2.1990", false, "1990-02-01", true},
		{mdy, "01/31/1990", false, "1990-01-31", true},
		{mdy, "1/2/1990", false, "1990-01-02", true},
		{dmy, "01/31/1990", false, "", false}, // month 31
		{dmy, "31.02.1990", false, "", false}, // no rollover
		{dmy, "29.02.2000", false, "2000-02-29", true},
		{dmy, "29.02.1900", false, "", false},
		{dmy, "31.01.90", false, "", false}, // two-digit year
		{dmy, "31.01", false, "", false},
		{dmy, "19900131", false, "", false}, // only from the directory
		{dmy, "19900131", true, "1990-01-31", true},
		{dmy, "19900131000000Z", true, "1990-01-31", true},
		{dmy, "19900131120000.0+0100", true, "1990-01-31", true},
		{dmy, "１９９０-０１-３１", false, "1990-01-31", true}, // full-width
		{dmy, "abc", false, "", false},
	}
	for _, c := range cases {
		got, ok := normalise(c.a, c.in, c.dir)
		if ok != c.wantOK || (ok && got != c.want) {
			t.Errorf("%s %q (dir %v) = %q, %v; want %q, %v", c.a.DateOrder, c.in, c.dir, got, ok, c.want, c.wantOK)
		}
	}
	// Through the factor with MDY.
	f := newFactor(t, Config{Attributes: []Attribute{{Attribute: "dob", Label: map[string]string{"en": "Birthday"}, Normaliser: Date, DateOrder: "mdy"}}}, testclock.New(time.Now()))
	s := factor.Subject{Attributes: map[string][]string{"dob": {"1990-01-31"}}}
	ch, err := f.Challenge(ctx, s, factor.Enrollment{})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"01/31/1990", "1990-01-31", "1-31-1990"} {
		if _, err := f.Verify(ctx, s, factor.Enrollment{}, ch.State, answers("dob", in)); err != nil {
			t.Errorf("MDY %q: %v", in, err)
		}
	}
	if _, err := f.Verify(ctx, s, factor.Enrollment{}, ch.State, answers("dob", "31.01.1990")); !errors.Is(err, factor.ErrWrongResponse) {
		t.Errorf("DMY answer under MDY: %v", err)
	}
}

func TestOtherNormalisers(t *testing.T) {
	cases := []struct {
		norm, in, want string
	}{
		{Exact, "  AB  12 ", "AB 12"},
		{Exact, "ＡＢ１２", "AB12"},
		{Text, "  Straße  Nord", "strasse nord"},
		{Digits, "+41 (79) 123-45-67", "41791234567"},
		{Digits, "７９", "79"},
		{Digits, "no digits", ""},
	}
	for _, c := range cases {
		got, _ := normalise(Attribute{Normaliser: c.norm}, c.in, false)
		if got != c.want {
			t.Errorf("%s(%q) = %q, want %q", c.norm, c.in, got, c.want)
		}
	}
	// An empty answer never matches, even an attribute that normalises to
	// nothing (which is not asked anyway).
	f := newFactor(t, Config{Attributes: configured[2:3]}, testclock.New(time.Now()))
	s := factor.Subject{Attributes: map[string][]string{"mobile": {"+41 79"}}}
	ch, _ := f.Challenge(ctx, s, factor.Enrollment{})
	if _, err := f.Verify(ctx, s, factor.Enrollment{}, ch.State, answers("mobile", "call me")); !errors.Is(err, factor.ErrWrongResponse) {
		t.Errorf("digit-free answer: %v", err)
	}
}

func TestEnrollRefused(t *testing.T) {
	f := newFactor(t, Config{}, testclock.New(time.Now()))
	if _, err := f.BeginEnroll(ctx, dave, factor.Response{}); err == nil {
		t.Error("BeginEnroll worked")
	}
	if _, err := f.FinishEnroll(ctx, dave, nil, factor.Response{}); err == nil {
		t.Error("FinishEnroll worked")
	}
}

func TestNewValidates(t *testing.T) {
	en := map[string]string{"en": "x"}
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no attributes"},
		{Config{Attributes: []Attribute{{Label: en}}}, "attribute name is empty"},
		{Config{Attributes: []Attribute{{Attribute: "a", Label: en}, {Attribute: "A", Label: en}}}, "listed twice"},
		{Config{Attributes: []Attribute{{Attribute: "a", Label: map[string]string{"de": "x"}}}}, `label "en" is required`},
		{Config{Attributes: []Attribute{{Attribute: "a", Label: en, Normaliser: "fuzzy"}}}, `normaliser "fuzzy"`},
		{Config{Attributes: []Attribute{{Attribute: "a", Label: en, DateOrder: "YDM"}}}, `date order "YDM"`},
		{Config{Attributes: []Attribute{{Attribute: "a", Label: en}}, Required: 2}, "required is 2"},
		{Config{Attributes: []Attribute{{Attribute: "a", Label: en}, {Attribute: "b", Label: en}}, Required: 2, Ask: 1}, "ask is 1"},
	}
	for _, b := range bad {
		if _, err := New(b.cfg); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("New(%+v) = %v, want %q", b.cfg, err, b.want)
		}
	}
}
