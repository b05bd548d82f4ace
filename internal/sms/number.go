package sms

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidNumber is wrapped by Normalize's errors.
var ErrInvalidNumber = errors.New("sms: not a valid phone number")

// Normalize turns a phone number as people write it into E.164
// ("+14155550142").
//
// Accepted: digits with spaces, dashes, dots, slashes and parentheses as
// separators, and
//
//   - an international form: "+44 20 7946 0018", or with the international
//     prefix "00" ("0044 20 7946 0018"), or "011" when the default country
//     calling code is 1 (North America);
//   - a national form, completed with defaultRegion: the default country
//     calling code, written "1", "+1" or "44". A single national trunk
//     prefix "0" is dropped ("020 7946 0018" with "44" gives
//     "+442079460018"); with calling code 1, a leading trunk "1" before ten
//     digits is dropped. Without defaultRegion, a national form is an error.
//
// The result has 8 to 15 digits and a country calling code not starting with
// 0. Normalize does not know each country's numbering plan: it checks shape,
// not whether a number is assigned or is a mobile (the provider reports
// that as a PermanentError).
func Normalize(number, defaultRegion string) (string, error) {
	raw := strings.TrimSpace(number)
	if raw == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidNumber)
	}
	international := false
	if strings.HasPrefix(raw, "+") {
		international = true
		raw = raw[1:]
	}
	var b strings.Builder
	for _, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '/' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", fmt.Errorf("%w: unexpected character %q", ErrInvalidNumber, r)
		}
	}
	digits := b.String()
	cc := strings.TrimPrefix(strings.TrimSpace(defaultRegion), "+")
	if cc != "" && !validCallingCode(cc) {
		return "", fmt.Errorf("sms: default country calling code %q is not one (want digits like \"1\" or \"+44\")", defaultRegion)
	}
	if !international {
		switch {
		case strings.HasPrefix(digits, "00"):
			digits, international = digits[2:], true
		case cc == "1" && strings.HasPrefix(digits, "011"):
			digits, international = digits[3:], true
		}
	}
	if !international {
		if cc == "" {
			return "", fmt.Errorf("%w: %q has no country calling code (write it with +)", ErrInvalidNumber, number)
		}
		switch {
		case cc == "1" && len(digits) == 11 && digits[0] == '1':
			digits = digits[1:]
		case cc != "1" && strings.HasPrefix(digits, "0") && !strings.HasPrefix(digits, "00"):
			digits = digits[1:]
		}
		digits = cc + digits
	}
	if len(digits) < 8 || len(digits) > 15 {
		return "", fmt.Errorf("%w: %q has %d digits (E.164 allows 8 to 15 with the country code)", ErrInvalidNumber, number, len(digits))
	}
	if digits[0] == '0' {
		return "", fmt.Errorf("%w: %q: a country calling code does not start with 0", ErrInvalidNumber, number)
	}
	return "+" + digits, nil
}

func validCallingCode(cc string) bool {
	if len(cc) < 1 || len(cc) > 3 || cc[0] == '0' {
		return false
	}
	for _, r := range cc {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// twoDigitCodes are the two-digit country calling codes of ITU-T E.164
// (1 and 7 are the single-digit ones; every other code has three digits).
// Calling codes are prefix-free, so this is enough to split a number.
var twoDigitCodes = map[string]bool{
	"20": true, "27": true, "30": true, "31": true, "32": true, "33": true, "34": true, "36": true,
	"39": true, "40": true, "41": true, "43": true, "44": true, "45": true, "46": true, "47": true,
	"48": true, "49": true, "51": true, "52": true, "53": true, "54": true, "55": true, "56": true,
	"57": true, "58": true, "60": true, "61": true, "62": true, "63": true, "64": true, "65": true,
	"66": true, "81": true, "82": true, "84": true, "86": true, "90": true, "91": true, "92": true,
	"93": true, "94": true, "95": true, "98": true,
}

// SplitCountryCode splits an E.164 number into its country calling code and
// the national significant number, both as digits ("+14155550142" gives
// "1", "4155550142"). It returns ok=false for something that is not E.164.
func SplitCountryCode(e164 string) (cc, national string, ok bool) {
	d, found := strings.CutPrefix(e164, "+")
	if !found || len(d) < 4 {
		return "", "", false
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return "", "", false
		}
	}
	switch {
	case d[0] == '1' || d[0] == '7':
		return d[:1], d[1:], true
	case twoDigitCodes[d[:2]]:
		return d[:2], d[2:], true
	default:
		return d[:3], d[3:], true
	}
}

// Mask hides a number for display, keeping its country calling code and
// last two digits: "+14155550142" gives "+1 *** *** **42". Something that
// is not E.164 is masked whole, keeping its last two characters.
func Mask(e164 string) string {
	cc, national, ok := SplitCountryCode(e164)
	if !ok {
		if len(e164) <= 2 {
			return strings.Repeat("*", len(e164))
		}
		return strings.Repeat("*", len(e164)-2) + e164[len(e164)-2:]
	}
	keep := min(2, len(national))
	masked := strings.Repeat("*", len(national)-keep) + national[len(national)-keep:]
	var groups []string
	for len(masked) > 0 {
		n := 3
		if len(masked) <= 4 {
			n = len(masked)
		}
		groups = append(groups, masked[:n])
		masked = masked[n:]
	}
	return "+" + cc + " " + strings.Join(groups, " ")
}
