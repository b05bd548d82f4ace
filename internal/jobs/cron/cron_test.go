package cron

import (
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestNext walks each expression's next runs from a fixed time.
func TestNext(t *testing.T) {
	for _, tc := range []struct {
		expr, from string
		want       []string
	}{
		{"0 9 * * *", "2026-12-07 08:59", []string{"2026-12-07 09:00", "2026-12-08 09:00"}},
		{"0 9 * * *", "2026-12-07 09:00", []string{"2026-12-08 09:00"}},
		{"*/15 * * * *", "2026-12-07 10:07", []string{"2026-12-07 10:15", "2026-12-07 10:30", "2026-12-07 10:45", "2026-12-07 11:00"}},
		{"30 8 * * mon-fri", "2026-12-11 09:00", []string{"2026-12-14 08:30", "2026-12-15 08:30"}}, // Friday evening → Monday
		{"0 0 1 * *", "2026-12-07 00:00", []string{"2027-01-01 00:00", "2027-02-01 00:00"}},
		{"0 0 31 * *", "2027-01-31 12:00", []string{"2027-03-31 00:00"}}, // months without a 31st are skipped
		{"0 0 29 feb *", "2026-03-01 00:00", []string{"2028-02-29 00:00"}},
		{"0 12 1 * 0", "2026-12-01 13:00", []string{"2026-12-06 12:00", "2026-12-13 12:00"}}, // day of month OR Sunday
		{"0 7 * * 7", "2026-12-07 00:00", []string{"2026-12-13 07:00"}},                      // 7 is Sunday too
		{"5,10-12 3 * * *", "2026-12-07 00:00", []string{"2026-12-07 03:05", "2026-12-07 03:10", "2026-12-07 03:11", "2026-12-07 03:12", "2026-12-08 03:05"}},
		{"@weekly", "2026-12-07 00:00", []string{"2026-12-13 00:00"}},
		{"10/20 * * * *", "2026-12-07 00:00", []string{"2026-12-07 00:10", "2026-12-07 00:30", "2026-12-07 00:50", "2026-12-07 01:10"}},
	} {
		s, err := Parse(tc.expr, nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		at := mustTime(t, tc.from)
		for _, w := range tc.want {
			at = s.Next(at)
			if got := at.Format("2006-01-02 15:04"); got != w {
				t.Fatalf("%q from %s: got %s, want %s", tc.expr, tc.from, got, w)
			}
		}
	}
}

// TestNextInZoneAcrossDaylightSaving: a daily 02:30 job in Berlin is not
// run on the day the clocks skip 02:00-03:00, and runs once on the day
// 02:00-03:00 repeats.
func TestNextInZoneAcrossDaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	s, err := Parse("30 2 * * *", berlin)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2027, 3, 27, 12, 0, 0, 0, berlin)
	var got []string
	for range 3 {
		at = s.Next(at)
		got = append(got, at.Format("01-02 15:04 MST"))
	}
	if want := "03-29 02:30 CEST 03-30 02:30 CEST 03-31 02:30 CEST"; strings.Join(got, " ") != want {
		t.Fatalf("spring: %v, want %s", got, want)
	}
	at = time.Date(2027, 10, 30, 12, 0, 0, 0, berlin)
	got = nil
	for range 2 {
		at = s.Next(at)
		got = append(got, at.Format("01-02 15:04"))
	}
	if want := "10-31 02:30 11-01 02:30"; strings.Join(got, " ") != want {
		t.Fatalf("autumn: %v, want %s", got, want)
	}
}

func TestLatest(t *testing.T) {
	s, err := Parse("0 9 * * *", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Latest(mustTime(t, "2026-12-01 09:00"), mustTime(t, "2026-12-07 10:00"))
	if want := mustTime(t, "2026-12-07 09:00"); !got.Equal(want) {
		t.Fatalf("Latest = %s, want %s", got, want)
	}
	if got := s.Latest(mustTime(t, "2026-12-07 09:00"), mustTime(t, "2026-12-07 23:00")); !got.IsZero() {
		t.Fatalf("Latest within a slot already run = %s, want none", got)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, expr := range []string{"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
		"5-1 * * * *", "*/0 * * * *", "*/61 * * * *", "a * * * *", "0 0 30 feb *", "1,,2 * * * *", "@often"} {
		if _, err := Parse(expr, nil); err == nil {
			t.Errorf("Parse(%q) accepted it", expr)
		}
	}
}

// FuzzParse: no expression makes Parse panic, and what it accepts has a
// next run after any time, at a whole minute, that the schedule matches.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 9 * * *", "*/5 1-3 * jan,jul mon-fri", "@daily", "0 0 31 2,4 *", "59 23 31 12 7", "1-59/7 */3 1-31/2 * *"} {
		f.Add(s)
	}
	from := time.Date(2026, 12, 7, 2, 13, 41, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr, nil)
		if err != nil {
			return
		}
		next := s.Next(from)
		if next.IsZero() {
			t.Fatalf("%q was accepted but never runs", expr)
		}
		if !next.After(from) || next.Second() != 0 || next.Nanosecond() != 0 {
			t.Fatalf("%q: next %s after %s", expr, next, from)
		}
		if s.minute&(1<<next.Minute()) == 0 || s.hour&(1<<next.Hour()) == 0 || s.month&(1<<int(next.Month())) == 0 || !s.dayMatches(next) {
			t.Fatalf("%q: next %s does not match the schedule", expr, next)
		}
	})
}
