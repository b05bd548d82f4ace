package when

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Hours is a daily window [From, To) in minutes after midnight; a window
// whose end comes before its start runs past midnight (22:00-06:00).
type Hours struct {
	From, To int
}

// Contains reports whether minute m of the day is inside the window.
func (h Hours) Contains(m int) bool {
	if h.From < h.To {
		return m >= h.From && m < h.To
	}
	return m >= h.From || m < h.To
}

func (h Hours) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", h.From/60, h.From%60, h.To/60, h.To%60)
}

// ParseHours reads "HH:MM-HH:MM" (24-hour clock; "24:00" ends a day).
func ParseHours(s string) (Hours, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Hours{}, fmt.Errorf("%q is not a window HH:MM-HH:MM", s)
	}
	f, err := parseClock(strings.TrimSpace(from))
	if err != nil {
		return Hours{}, fmt.Errorf("%q: %w", s, err)
	}
	t, err := parseClock(strings.TrimSpace(to))
	if err != nil {
		return Hours{}, fmt.Errorf("%q: %w", s, err)
	}
	if f == 24*60 {
		return Hours{}, fmt.Errorf("%q: a window cannot start at 24:00", s)
	}
	if t == 24*60 {
		t = 0
	}
	if f == t {
		return Hours{}, fmt.Errorf("%q is empty (use no hours for all day)", s)
	}
	return Hours{From: f, To: t}, nil
}

func parseClock(s string) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) != 2 || len(mm) != 2 || strings.Trim(hh+mm, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return h*60 + m, nil
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseWeekday reads a weekday: its English name or first three letters,
// any case.
func ParseWeekday(s string) (time.Weekday, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if len(l) >= 3 {
		if d, ok := weekdays[l[:3]]; ok && strings.HasPrefix(strings.ToLower(d.String()), l) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%q is not a weekday (mon, tue, ... sun)", s)
}

// ParseNetwork reads a CIDR prefix or a single address (a /32 or /128).
// IPv4-mapped IPv6 forms are unmapped, as client addresses are.
func ParseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR network", s)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("%q is not a CIDR network", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR network", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseCountry checks an ISO 3166-1 alpha-2 code and upper-cases it.
func ParseCountry(s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return "", fmt.Errorf("%q is not a two-letter ISO country code", s)
	}
	return c, nil
}
