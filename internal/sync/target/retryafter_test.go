package target_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/sync/target"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    string
		want time.Duration
	}{
		{"", 0}, {"120", 2 * time.Minute}, {" 7 ", 7 * time.Second}, {"-5", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second}, // an HTTP date
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},                      // in the past
		{"999999", target.MaxRetryAfter},                                      // capped
	} {
		if got := target.ParseRetryAfter(c.h, now); got != c.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", c.h, got, c.want)
		}
	}
}
