package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/dirtest"
	"github.com/sspr/sspr/internal/testenv/rsyslogtest"
)

// TestSIEMSyslogToRsyslog: configured through the real loader
// (notifications.siem.syslog with the collector's CA file), a reset's
// audit events reach Debian's rsyslog over TLS, which parses each as an
// RFC 5424 message in an octet-counted frame (RFC 5425): version 1, APP-NAME
// sspr, the chosen facility, the event type as MSGID, sspr's structured
// data, each event once.
func TestSIEMSyslogToRsyslog(t *testing.T) {
	r := rsyslogtest.New(t)
	r.Start()
	cfg := dirtest.LDAPConfig(t)
	cfg.Name = "people"
	u := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
	in := start(t, directoryYAML("openldap", cfg, ""), directoryRulesOnly+fmt.Sprintf(`notifications:
  siem:
    syslog:
      address: %q
      ca_file: %q
      facility: local4
      events: ["reset.*"]
`, r.Addr(), r.CAFile))
	apiReset(t, in, u.Login, u.Mail, nil, "Syslog-Reset-Pass-2")

	var lines []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		lines = r.Lines()
		if strings.Contains(strings.Join(lines, "\n"), "|reset.password|") {
			break
		}
	}
	in.stop()
	r.Stop()
	lines = r.Lines()
	found := false
	ids := map[string]bool{}
	for i, l := range lines {
		p := strings.SplitN(l, "|", 7)
		if len(p) != 7 || p[0] != "1" || p[2] != "sspr" || !strings.HasPrefix(p[1], "reset.") || !strings.HasPrefix(p[5], "[sspr@32473 id=\"") {
			t.Errorf("line %d is not a parsed RFC 5424 message of a reset event: %q", i, l)
			continue
		}
		if pri := p[4]; pri != "166" && pri != "165" && pri != "164" { // local4 (20) * 8 + info, notice, warning
			t.Errorf("line %d: PRI %s, want facility local4", i, pri)
		}
		id := strings.SplitN(strings.TrimPrefix(p[5], "[sspr@32473 id=\""), "\"", 2)[0]
		if ids[id] {
			t.Errorf("event %s arrived twice", id)
		}
		ids[id] = true
		found = found || (p[1] == "reset.password" && strings.Contains(p[5], `actor="`+u.Login+`"`))
	}
	if !found {
		t.Fatalf("no reset.password of %s among:\n%s", u.Login, strings.Join(lines, "\n"))
	}
}
