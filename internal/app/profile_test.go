package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/app"
)

// TestProfilerOnlyOnItsOwnListener: with server.profile_listen the profiler
// answers there, and never on the portal's listener; without it, nowhere.
func TestProfilerOnlyOnItsOwnListener(t *testing.T) {
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	profAddr := free()
	yaml := strings.Replace(baseYAML, "server:\n", "server:\n  profile_listen: \""+profAddr+"\"\n", 1)
	yaml = strings.Replace(yaml, "/nonexistent/sspr.db", filepath.Join(t.TempDir(), "sspr.db"), 1)
	cfg := parse(t, yaml)
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	defer func() { cancel(); <-done }()

	get := func(url string) (int, string) {
		for range 100 {
			resp, err := http.Get(url)
			if err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		t.Fatalf("%s never answered", url)
		return 0, ""
	}
	if code, body := get("http://" + profAddr + "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("profiler listener: %d %.80q", code, body)
	}
	if code, _ := get("http://" + ln.Addr().String() + "/debug/pprof/"); code == http.StatusOK {
		t.Fatal("the portal's listener serves the profiler")
	}
}
