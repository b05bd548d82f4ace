package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"
)

// syslogFacilities are the facility names siem.syslog.facility accepts
// (RFC 5424, 6.2.1); internal/forward maps them to numbers.
var syslogFacilities = map[string]bool{
	"kern": true, "user": true, "mail": true, "daemon": true, "auth": true, "syslog": true, "lpr": true, "news": true,
	"uucp": true, "cron": true, "authpriv": true, "ftp": true,
	"local0": true, "local1": true, "local2": true, "local3": true, "local4": true, "local5": true, "local6": true, "local7": true,
}

// validateNotifications checks the notifications section: the templates
// folder exists, webhooks are complete with unique names and a secret,
// syslog export has an address with a port and readable TLS files.
// Whether override templates parse is checked where they are parsed
// (internal/app, notify.NewComposer), naming the file.
func (c *Config) validateNotifications(p *Problems) {
	n := &c.Notifications
	for _, r := range []struct {
		key            string
		rule           *NoticeRule
		person, sms    bool // the defaults
		smsOK, manager bool // what the action offers
	}{
		{"reset", &n.Reset, true, true, true, true},
		{"unlock", &n.Unlock, true, true, true, true},
		{"change", &n.Change, true, false, false, true},
		{"enrollment", &n.Enrollment, true, true, true, true},
		{"block", &n.Block, false, false, false, false},
		{"failures", &n.Failures, false, false, false, false},
	} {
		key := "notifications." + r.key
		if r.rule.Person == nil {
			r.rule.Person = &r.person
		}
		if r.rule.SMS == nil {
			r.rule.SMS = &r.sms
		}
		if *r.rule.SMS && !r.smsOK {
			p.addf(key+".sms", "is not offered for %s: only mail reaches the person (reset, unlock and enrollment offer SMS)", r.key)
		}
		if r.rule.Manager && !r.manager {
			p.addf(key+".manager", "is not offered for %s: the person is not looked up, so their manager is not known", r.key)
		}
		for i, a := range r.rule.Admins {
			if _, err := mail.ParseAddress(a); err != nil {
				p.addf(fmt.Sprintf("%s.admins[%d]", key, i), "%q is not a mail address", a)
			}
		}
	}
	fa := &n.FailureAlert
	if fa.Threshold == 0 {
		fa.Threshold = 5
	}
	if fa.Window == 0 {
		fa.Window = 15 * time.Minute
	}
	if fa.Threshold < 1 || fa.Threshold > 1000 {
		p.add("notifications.failure_alert.threshold", "must be between 1 and 1000")
	}
	if fa.Window < time.Minute || fa.Window > 7*24*time.Hour {
		p.add("notifications.failure_alert.window", "must be between 1m and 168h")
	}
	if n.TemplatesDir != "" {
		if fi, err := os.Stat(n.TemplatesDir); err != nil || !fi.IsDir() {
			p.addf("notifications.templates_dir", "%s is not a readable folder", n.TemplatesDir)
		}
	}
	names := map[string]bool{}
	for i := range n.Webhooks {
		w := &n.Webhooks[i]
		key := fmt.Sprintf("notifications.webhooks[%d]", i)
		switch {
		case w.Name == "":
			p.add(key+".name", "is required")
		case names[w.Name]:
			p.addf(key+".name", "%q is used twice", w.Name)
		}
		names[w.Name] = true
		u, err := url.Parse(w.URL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			p.addf(key+".url", "%q is not an https:// URL (http:// only on loopback)", w.URL)
		}
		if len(w.Secret.Value) < 16 {
			p.add(key+".secret", "is required, at least 16 characters: receivers check the signature with it")
		}
		validateEventPatterns(p, key+".events", w.Events)
	}
	s := &n.SIEM.Syslog
	if s.Address != "" {
		host, port, err := net.SplitHostPort(s.Address)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			p.addf("notifications.siem.syslog.address", "%q is not host:port", s.Address)
		}
		for _, f := range []struct{ key, path string }{{"ca_file", s.CAFile}, {"cert_file", s.CertFile}, {"key_file", s.KeyFile}} {
			if f.path != "" {
				if _, err := os.Stat(f.path); err != nil {
					p.addf("notifications.siem.syslog."+f.key, "cannot read %s", f.path)
				}
			}
		}
		if (s.CertFile == "") != (s.KeyFile == "") {
			p.add("notifications.siem.syslog.cert_file", "cert_file and key_file go together")
		}
		if s.Facility == "" {
			s.Facility = "authpriv"
		}
		if !syslogFacilities[s.Facility] {
			p.addf("notifications.siem.syslog.facility", "%q is not a syslog facility (authpriv, auth, local0 … local7, …)", s.Facility)
		}
		if s.AppName == "" {
			s.AppName = "sspr"
		}
		validateEventPatterns(p, "notifications.siem.syslog.events", s.Events)
	}
	if f := n.SIEM.File; f != "" {
		if fi, err := os.Stat(filepath.Dir(f)); err != nil || !fi.IsDir() {
			p.addf("notifications.siem.file", "the folder of %s does not exist", f)
		}
	}
}

// validateEventPatterns checks glob patterns of event types.
func validateEventPatterns(p *Problems, key string, patterns []string) {
	for i, pat := range patterns {
		if _, err := path.Match(pat, ""); err != nil || pat == "" {
			p.addf(fmt.Sprintf("%s[%d]", key, i), "%q is not a pattern of event types (such as reset.*)", pat)
		}
	}
}
