package config

import "time"

// Notifications configures what sspr tells people and systems about
// besides the flows' own mails (validate_notices.go; docs/admin.md,
// "Notifications" and "Webhooks and SIEM").
type Notifications struct {
	// Reset, Unlock, Change, Enrollment (a factor added or removed), Block
	// (the abuse controls refused a known account's step) and Failures
	// (repeated failed verifications, see FailureAlert) choose who hears
	// of each. Unset: the person, by mail and SMS, of reset, unlock and
	// enrollment changes; by mail of a change; nobody of the others.
	Reset      NoticeRule `yaml:"reset"`
	Unlock     NoticeRule `yaml:"unlock"`
	Change     NoticeRule `yaml:"change"`
	Enrollment NoticeRule `yaml:"enrollment"`
	Block      NoticeRule `yaml:"block"`
	Failures   NoticeRule `yaml:"failures"`
	// FailureAlert is when repeated failures raise the failures notice.
	FailureAlert FailureAlert `yaml:"failure_alert"`
	// TemplatesDir holds operator overrides of the built-in mail templates:
	// a file there named like a built-in one (changed.txt, changed.html,
	// code.txt, ...) replaces it, checked when the configuration is loaded.
	TemplatesDir string `yaml:"templates_dir"`
	// Webhooks receive audit events as signed JSON.
	Webhooks []WebhookConfig `yaml:"webhooks"`
	// SIEM receives audit events over syslog (TLS) or as a JSON-lines file.
	SIEM SIEM `yaml:"siem"`
}

// WebhookConfig is one receiver of signed audit events.
type WebhookConfig struct {
	// Name identifies the webhook (its place in the audit log is kept
	// under it: renaming one starts it afresh).
	Name string `yaml:"name"`
	// URL receives a POST per event: https, or http on loopback.
	URL string `yaml:"url"`
	// Secret keys the HMAC-SHA256 in the Sspr-Signature header (at least
	// 16 bytes).
	Secret Secret `yaml:"secret"`
	// Events are glob patterns of the event types sent ("reset.*",
	// "admin.*"); empty: every event.
	Events []string `yaml:"events"`
}

// SIEM is where audit events are exported for a security team.
type SIEM struct {
	Syslog SIEMSyslog `yaml:"syslog"`
	// File, when set, receives every audit event as a JSON line (the
	// `sspr audit export` format), for a log shipper.
	File string `yaml:"file"`
}

// SIEMSyslog sends audit events to a collector as RFC 5424 messages over
// TLS (RFC 5425).
type SIEMSyslog struct {
	// Address is the collector's host:port (6514 is syslog over TLS's
	// port); empty turns syslog export off.
	Address string `yaml:"address"`
	// CAFile verifies the collector's certificate (default: the system's
	// roots); ServerName overrides the name checked (default: Address's
	// host).
	CAFile     string `yaml:"ca_file"`
	ServerName string `yaml:"server_name"`
	// CertFile and KeyFile, both or neither, are sspr's client certificate
	// for collectors that ask for one.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Facility is the syslog facility (default authpriv).
	Facility string `yaml:"facility"`
	// AppName is the APP-NAME field (default sspr).
	AppName string `yaml:"app_name"`
	// Events are glob patterns of the event types sent; empty: every event.
	Events []string `yaml:"events"`
}

// NoticeRule is who hears of one action.
type NoticeRule struct {
	// Person: the person's mail addresses (the directory's and enrolled
	// ones). SMS: their enrolled phones (not for change, block, failures).
	Person *bool `yaml:"person"`
	SMS    *bool `yaml:"sms"`
	// Manager: the mail address of the entry the person's manager
	// attribute names, read when the notice is sent (not for block,
	// failures).
	Manager bool `yaml:"manager"`
	// Admins: addresses told of every occurrence (block: the first in a
	// window; failures: once per window).
	Admins []string `yaml:"admins"`
}

// FailureAlert says when failed verifications of one account raise the
// failures notice: Threshold of them within Window, once per window.
type FailureAlert struct {
	// Threshold: default 5.
	Threshold int `yaml:"threshold"`
	// Window: default 15m; also spaces block notices (one per window).
	Window time.Duration `yaml:"window"`
}
