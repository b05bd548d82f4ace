package sms

import (
	"errors"
	"fmt"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, region, want string
		bad              bool
	}{
		{"+1 (415) 555-0142", "", "+14155550142", false},
		{"+44 20 7946 0018", "1", "+442079460018", false},
		{"0044 20 7946 0018", "", "+442079460018", false},
		{"011 44 20 7946 0018", "1", "+442079460018", false},
		{"020 7946 0018", "44", "+442079460018", false},
		{"020 7946 0018", "+44", "+442079460018", false},
		{"06 12 34 56 78", "33", "+33612345678", false},
		{"(415) 555-0142", "1", "+14155550142", false},
		{"1-415-555-0142", "+1", "+14155550142", false},
		{"415.555.0142", "1", "+14155550142", false},
		{"+49 30/901820", "", "+4930901820", false},
		{"\u00a0+33 6 12 34 56 78 ", "", "+33612345678", false},
		{"415 555 0142", "", "", true},     // national without a default
		{"", "1", "", true},                // empty
		{"+1 415 CALL NOW", "1", "", true}, // letters
		{"+1 415 555 0142 ext 3", "1", "", true},
		{"+0 415 555 0142", "", "", true},    // cc starting with 0
		{"+1234567", "", "", true},           // too short
		{"+1234567890123456", "", "", true},  // too long
		{"12345", "44", "", true},            // too short
		{"+1 415 555 0142", "abc", "", true}, // bad default
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in, tt.region)
		if tt.bad {
			if err == nil {
				t.Errorf("Normalize(%q, %q) = %q, want an error", tt.in, tt.region, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q, %q) = %q, %v; want %q", tt.in, tt.region, got, err, tt.want)
		}
	}
	if _, err := Normalize("415", "1"); !errors.Is(err, ErrInvalidNumber) {
		t.Errorf("error %v does not wrap ErrInvalidNumber", err)
	}
}

func TestMask(t *testing.T) {
	tests := map[string]string{
		"+14155550142":   "+1 *** *** **42",
		"+33612345678":   "+33 *** *** *78",
		"+442079460018":  "+44 *** *** **18",
		"+35312345678":   "+353 *** *** 78",
		"+79161234567":   "+7 *** *** **67",
		"+8613812345678": "+86 *** *** *** 78",
		"not a number":   "**********er",
		"4":              "*",
	}
	for in, want := range tests {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitCountryCode(t *testing.T) {
	tests := map[string][2]string{
		"+14155550142":  {"1", "4155550142"},
		"+442079460018": {"44", "2079460018"},
		"+35312345678":  {"353", "12345678"},
		"+97150123456":  {"971", "50123456"},
	}
	for in, want := range tests {
		cc, nat, ok := SplitCountryCode(in)
		if !ok || cc != want[0] || nat != want[1] {
			t.Errorf("SplitCountryCode(%q) = %q, %q, %v", in, cc, nat, ok)
		}
	}
	for _, bad := range []string{"14155550142", "+1415abc", "+1"} {
		if _, _, ok := SplitCountryCode(bad); ok {
			t.Errorf("SplitCountryCode(%q) ok", bad)
		}
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("boom")
	err := Permanent(ReasonInvalidNumber, base)
	if !IsPermanent(err) || !errors.Is(err, base) {
		t.Fatalf("Permanent lost its nature: %v", err)
	}
	if IsPermanent(base) {
		t.Fatal("a plain error is permanent")
	}
	// The outbox knows nothing of this package: it asks for the behaviour.
	var p interface{ Permanent() bool }
	if !errors.As(fmt.Errorf("twilio: %w", err), &p) || !p.Permanent() {
		t.Fatal("a wrapped PermanentError does not show the Permanent behaviour")
	}
}
