package cron

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed five-field cron expression (minute hour
// day-of-month month day-of-week) in a time zone.
type Schedule struct {
	expr                     string
	minute, hour, dom, month uint64 // bit i set: value i allowed
	dow                      uint64 // 0..6, Sunday = 0 (7 is folded to 0)
	domStar, dowStar         bool
	loc                      *time.Location
}

// String is the expression as written.
func (s *Schedule) String() string { return s.expr }

var macros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

var monthNames = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Parse reads a cron expression: five fields, each "*", a number, a range
// "a-b", a step "*/n" or "a-b/n", or a comma list of them; months and
// weekdays may be named (jan, mon); the macros @hourly, @daily, @weekly,
// @monthly and @yearly stand for the usual expressions. Times are in loc
// (UTC when nil). As in cron, when both day-of-month and day-of-week are
// restricted, a day matching either runs.
func Parse(expr string, loc *time.Location) (*Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	src := strings.TrimSpace(expr)
	if m, ok := macros[strings.ToLower(src)]; ok {
		src = m
	}
	f := strings.Fields(src)
	if len(f) != 5 {
		return nil, fmt.Errorf("cron expression %q: want 5 fields (minute hour day-of-month month day-of-week), got %d", expr, len(f))
	}
	s := &Schedule{expr: expr, loc: loc}
	var err error
	if s.minute, err = parseField(f[0], 0, 59, nil); err != nil {
		return nil, fmt.Errorf("cron expression %q: minute: %w", expr, err)
	}
	if s.hour, err = parseField(f[1], 0, 23, nil); err != nil {
		return nil, fmt.Errorf("cron expression %q: hour: %w", expr, err)
	}
	if s.dom, err = parseField(f[2], 1, 31, nil); err != nil {
		return nil, fmt.Errorf("cron expression %q: day of month: %w", expr, err)
	}
	if s.month, err = parseField(f[3], 1, 12, monthNames); err != nil {
		return nil, fmt.Errorf("cron expression %q: month: %w", expr, err)
	}
	if s.dow, err = parseField(f[4], 0, 7, dayNames); err != nil {
		return nil, fmt.Errorf("cron expression %q: day of week: %w", expr, err)
	}
	if s.dow&(1<<7) != 0 {
		s.dow = s.dow&^(1<<7) | 1
	}
	s.domStar, s.dowStar = strings.HasPrefix(f[2], "*"), strings.HasPrefix(f[4], "*")
	// A day-of-month that no allowed month has (30 February) would never
	// run: say so now rather than wait forever.
	if s.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return nil, fmt.Errorf("cron expression %q never runs", expr)
	}
	return s, nil
}

func parseField(field string, lo, hi int, names []string) (uint64, error) {
	var bits uint64
	for part := range strings.SplitSeq(field, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 || n > hi-lo+1 {
				return 0, fmt.Errorf("step %q is not a number in 1..%d", stepText, hi-lo+1)
			}
			step = n
		}
		var a, b int
		switch {
		case rng == "*":
			a, b = lo, hi
			if hi == 7 { // day of week: * is 0..6
				b = 6
			}
		default:
			from, to, isRange := strings.Cut(rng, "-")
			var err error
			if a, err = value(from, lo, hi, names); err != nil {
				return 0, err
			}
			b = a
			if isRange {
				if b, err = value(to, lo, hi, names); err != nil {
					return 0, err
				}
				if b < a {
					return 0, fmt.Errorf("range %q runs backwards", rng)
				}
			} else if hasStep {
				b = hi // "a/n" is a-max/n
			}
		}
		for v := a; v <= b; v += step {
			bits |= 1 << v
		}
	}
	return bits, nil
}

func value(text string, lo, hi int, names []string) (int, error) {
	for i, n := range names {
		if strings.EqualFold(text, n) {
			return i + lo, nil
		}
	}
	v, err := strconv.Atoi(text)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%q is not a value in %d..%d", text, lo, hi)
	}
	return v, nil
}

func (s *Schedule) dayMatches(t time.Time) bool {
	d := s.dom&(1<<t.Day()) != 0
	w := s.dow&(1<<int(t.Weekday())) != 0
	switch {
	case s.domStar || s.dowStar:
		return d && w
	default:
		return d || w
	}
}

// Next is the first time after t (at whole minutes) that the schedule
// runs; zero when it finds none within five years. Wall-clock times that
// a daylight-saving change skips are not run that day; times it repeats
// run once.
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.In(s.loc).Truncate(time.Minute).Add(time.Minute)
	end := t.AddDate(5, 0, 0)
	for t.Before(end) {
		if s.month&(1<<int(t.Month())) == 0 {
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, s.loc)
			continue
		}
		if !s.dayMatches(t) {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, s.loc)
			continue
		}
		if s.hour&(1<<t.Hour()) == 0 {
			next := time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, s.loc)
			if !next.After(t) { // a daylight-saving fold: step by real time
				next = t.Truncate(time.Hour).Add(time.Hour)
			}
			t = next
			continue
		}
		if s.minute&(1<<t.Minute()) == 0 {
			t = t.Add(time.Minute)
			continue
		}
		return t
	}
	return time.Time{}
}

// Latest is the last time in (after, until] the schedule runs, and zero
// when it runs at none: missed runs while sspr was down are one run, not
// a burst.
func (s *Schedule) Latest(after, until time.Time) time.Time {
	var last time.Time
	for t := s.Next(after); !t.IsZero() && !t.After(until); t = s.Next(t) {
		last = t
	}
	return last
}
