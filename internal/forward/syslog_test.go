package forward

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/testenv/rsyslogtest"
	"github.com/sspr/sspr/internal/testenv/testclock"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	fh, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// TestSyslogTLSToRsyslog: audit events reach Debian's rsyslog over TLS as
// RFC 5424 messages in RFC 5425 octet-counted frames, which rsyslog parses
// as such; while the collector is down the events wait, and none is lost
// or doubled once it is up.
func TestSyslogTLSToRsyslog(t *testing.T) {
	r := rsyslogtest.New(t)
	s := openStore(t)
	clock := testclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	sink := &Syslog{ID: "siem", Address: r.Addr(), TLS: r.ClientTLS(), Hostname: "sspr-test", Facility: Facilities["authpriv"]}
	f := &Forwarder{Store: s, Now: clock.Now, InitialBackoff: time.Minute, Routes: []Route{{Sink: sink}}}
	ctx := context.Background()
	if _, err := f.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, s, clock.Now(),
		audit.Event{Event: "reset.done", Actor: "alice", Subject: "uid=alice,ou=people,dc=example,dc=test", ClientIP: "192.0.2.7", Outcome: audit.Success},
		audit.Event{Event: "reset.verify", Actor: `mallory"] [x`, Outcome: audit.Denied, Reason: "too_many_attempts"},
	)
	// The collector is down: nothing delivered, nothing lost.
	if n, _ := f.RunOnce(ctx); n != 0 {
		t.Fatalf("delivered %d to a collector that is down", n)
	}
	r.Start()
	clock.Advance(2 * time.Minute)
	if n, err := f.RunOnce(ctx); n != 2 || err != nil {
		t.Fatalf("delivered %d, %v; want 2", n, err)
	}
	appendEvents(t, s, clock.Now(), audit.Event{Event: "unlock.done", Actor: "bob", Outcome: audit.Success})
	if n, err := f.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("on the kept connection: delivered %d, %v; want 1", n, err)
	}
	_ = sink.Close()
	// rsyslog writes what it received in its own time; more than three
	// lines would show after a stop.
	r.WaitLines(3)
	r.Stop()
	lines := r.Lines()
	if len(lines) != 3 {
		t.Fatalf("rsyslog wrote %d lines, want 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	wantMsgID := []string{"reset.done", "reset.verify", "unlock.done"}
	wantPri := []string{"86", "85", "86"} // authpriv (10) * 8 + info (6) / notice (5)
	wantAt := []string{"09:00:00.000Z", "09:00:00.000Z", "09:02:00.000Z"}
	for i, l := range lines {
		parts := strings.SplitN(l, "|", 7)
		if len(parts) != 7 {
			t.Fatalf("line %d: %q", i, l)
		}
		if parts[0] != "1" || parts[1] != wantMsgID[i] || parts[2] != "sspr" || parts[3] != "sspr-test" || parts[4] != wantPri[i] {
			t.Errorf("line %d: rsyslog parsed version %q msgid %q app %q host %q pri %q; want an RFC 5424 message for %s",
				i, parts[0], parts[1], parts[2], parts[3], parts[4], wantMsgID[i])
		}
		if !strings.HasPrefix(parts[5], "[sspr@32473 id=") {
			t.Errorf("line %d: structured data %q", i, parts[5])
		}
		if !strings.HasPrefix(parts[6], "<"+wantPri[i]+">1 2026-12-07T"+wantAt[i]+" sspr-test sspr - "+wantMsgID[i]+" [sspr@32473 ") {
			t.Errorf("line %d: raw message %q", i, parts[6])
		}
	}
	if !strings.Contains(lines[1], `actor="mallory\"\] [x"`) {
		t.Errorf("the quote and bracket in a value were not escaped: %s", lines[1])
	}
}
