package target

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter bounds a server-given wait, so a broken header cannot
// park a password for days.
const MaxRetryAfter = time.Hour

// NoRedirects is an http.Client CheckRedirect for the targets' default
// clients: a request carrying a password is never re-sent to wherever a
// redirect points.
func NoRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// ParseRetryAfter reads an HTTP Retry-After header (seconds or an HTTP
// date, RFC 9110 §10.2.3); 0 when absent or unreadable.
func ParseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(h); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}
