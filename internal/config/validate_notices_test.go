package config_test

import (
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

// TestNotificationsRules: webhooks complete with a secret and a safe URL,
// syslog export with host:port and a known facility, folders that exist.
func TestNotificationsRules(t *testing.T) {
	t.Parallel()
	hook := func() config.WebhookConfig {
		return config.WebhookConfig{Name: "soc", URL: "https://soc.example/hook", Secret: config.Secret{Value: "0123456789abcdef"}, Events: []string{"reset.*"}}
	}
	checkRules(t, []rule{
		{"nothing", func(c *config.Config) {}, nil},
		{"a complete webhook", func(c *config.Config) { c.Notifications.Webhooks = []config.WebhookConfig{hook()} }, nil},
		{"http on loopback", func(c *config.Config) {
			h := hook()
			h.URL = "http://127.0.0.1:9000/hook"
			c.Notifications.Webhooks = []config.WebhookConfig{h}
		}, nil},
		{"plain http, short secret, bad pattern, duplicate name", func(c *config.Config) {
			h := hook()
			h.URL, h.Secret, h.Events = "http://soc.example/hook", config.Secret{Value: "short"}, []string{"reset.["}
			c.Notifications.Webhooks = []config.WebhookConfig{hook(), h}
		}, []string{"notifications.webhooks[1].events[0]", "notifications.webhooks[1].name", "notifications.webhooks[1].secret", "notifications.webhooks[1].url"}},
		{"syslog complete", func(c *config.Config) {
			c.Notifications.SIEM.Syslog = config.SIEMSyslog{Address: "siem.example:6514", Facility: "local4"}
		}, nil},
		{"syslog without port, unknown facility, missing files", func(c *config.Config) {
			c.Notifications.SIEM.Syslog = config.SIEMSyslog{Address: "siem.example", Facility: "kitchen", CAFile: "/nonexistent/ca.pem", CertFile: "/nonexistent/c.pem"}
		}, []string{"notifications.siem.syslog.address", "notifications.siem.syslog.ca_file", "notifications.siem.syslog.cert_file",
			"notifications.siem.syslog.cert_file", "notifications.siem.syslog.facility"}},
		{"rules per action", func(c *config.Config) {
			c.Notifications.Reset = config.NoticeRule{Manager: true, Admins: []string{"secops@example.com"}}
			c.Notifications.Failures = config.NoticeRule{Admins: []string{"secops@example.com"}}
		}, nil},
		{"sms and manager where not offered, a bad admin address", func(c *config.Config) {
			yes := true
			c.Notifications.Change = config.NoticeRule{SMS: &yes}
			c.Notifications.Block = config.NoticeRule{Manager: true, Admins: []string{"not an address"}}
		}, []string{"notifications.block.admins[0]", "notifications.block.manager", "notifications.change.sms"}},
		{"failure alert out of range", func(c *config.Config) {
			c.Notifications.FailureAlert = config.FailureAlert{Threshold: -1, Window: time.Second}
		}, []string{"notifications.failure_alert.threshold", "notifications.failure_alert.window"}},
		{"file in a missing folder, missing templates folder", func(c *config.Config) {
			c.Notifications.SIEM.File = "/nonexistent/dir/audit.jsonl"
			c.Notifications.TemplatesDir = "/nonexistent/templates"
		}, []string{"notifications.siem.file", "notifications.templates_dir"}},
	})
}
