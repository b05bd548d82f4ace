package config

import (
	"time"
)

// Config is the whole configuration of one sspr instance.
type Config struct {
	Server      Server      `yaml:"server"`
	Storage     Storage     `yaml:"storage"`
	Secrets     Secrets     `yaml:"secrets"`
	Directories []Directory `yaml:"directories"`
	Mail        Mail        `yaml:"mail"`
	Reset       Reset       `yaml:"reset"`
	Password    Password    `yaml:"password"`
	Portal      Portal      `yaml:"portal"`
	Log         Log         `yaml:"log"`
}

// Server configures the HTTP listener.
type Server struct {
	// Listen is the address the portal and API listen on.
	Listen string `yaml:"listen"`
	// BaseURL is the public URL of the portal. Links in mails are built from
	// it, never from the request's Host header.
	BaseURL string `yaml:"base_url"`
	// TLSCertFile and TLSKeyFile turn on HTTPS (and HSTS).
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// TrustedProxies lists the CIDRs whose X-Forwarded-For is believed when
	// recording the client address.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Storage configures where flows, the outbox and the audit log live.
type Storage struct {
	// Driver is "sqlite" (embedded, the default).
	Driver string `yaml:"driver"`
	// Path is the SQLite database file.
	Path string `yaml:"path"`
}

// Secrets holds keys sspr derives its protections from.
type Secrets struct {
	// HMACKey (base64, at least 32 bytes) keys the HMAC that one-time codes
	// are stored as.
	HMACKey Secret `yaml:"hmac_key"`
}

// Directory configures one user directory.
type Directory struct {
	// Name identifies the directory in logs, audit records and the UI.
	Name string `yaml:"name"`
	// Type is "ad" (Active Directory, Samba AD) or "openldap".
	Type string `yaml:"type"`
	// URLs are tried in order; ldaps:// or ldap:// (with start_tls).
	URLs     []string `yaml:"urls"`
	StartTLS bool     `yaml:"start_tls"`
	// CAFile is a PEM bundle used to verify the directory's certificate.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify disables certificate checks. For tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// AllowInsecurePasswordWrites permits password writes over plain LDAP.
	// For tests only: real directories must never receive passwords in clear.
	AllowInsecurePasswordWrites bool `yaml:"allow_insecure_password_writes"`
	// BindDN and BindPassword are the service account's credentials.
	BindDN       string `yaml:"bind_dn"`
	BindPassword Secret `yaml:"bind_password"`
	// BaseDN is where users are searched.
	BaseDN string `yaml:"base_dn"`
	// UserFilter is ANDed into every user lookup.
	UserFilter string `yaml:"user_filter"`
	// LoginAttributes are the attributes a typed login may match.
	LoginAttributes []string `yaml:"login_attributes"`
	// LoginNameAttribute holds the canonical login name.
	LoginNameAttribute string `yaml:"login_name_attribute"`
	// MailAttribute holds the address codes are sent to.
	MailAttribute string `yaml:"mail_attribute"`
	// DisplayNameAttribute holds the name mails greet the user with.
	DisplayNameAttribute string `yaml:"display_name_attribute"`
	// PasswordWrite (openldap only): "exop" (Password Modify, default) or
	// "modify" (replace userPassword).
	PasswordWrite string `yaml:"password_write"`
	// Timeout bounds each dial and each directory operation.
	Timeout time.Duration `yaml:"timeout"`
}

// Mail configures outgoing mail.
type Mail struct {
	// From is the sender address, e.g. "Password reset <noreply@example.com>".
	From   string `yaml:"from"`
	SMTP   SMTP   `yaml:"smtp"`
	Outbox Outbox `yaml:"outbox"`
}

// SMTP configures the relay mail is delivered through.
type SMTP struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// Security is "starttls" (required STARTTLS), "tls" (implicit TLS) or
	// "none" (plain, only sensible on loopback).
	Security           string        `yaml:"security"`
	Username           string        `yaml:"username"`
	Password           Secret        `yaml:"password"`
	CAFile             string        `yaml:"ca_file"`
	InsecureSkipVerify bool          `yaml:"insecure_skip_verify"`
	HeloName           string        `yaml:"helo_name"`
	Timeout            time.Duration `yaml:"timeout"`
}

// Outbox configures delivery retries.
type Outbox struct {
	// PollInterval is how often the worker looks for due messages.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MaxAttempts after which a message is given up (and audited).
	MaxAttempts int `yaml:"max_attempts"`
	// InitialBackoff doubles after each failed attempt, up to MaxBackoff.
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	MaxBackoff     time.Duration `yaml:"max_backoff"`
}

// Reset configures the password reset flow.
type Reset struct {
	// CodeLength is the number of digits of emailed codes (6 to 10).
	CodeLength int `yaml:"code_length"`
	// CodeTTL is how long a code is valid (at most 10 minutes).
	CodeTTL time.Duration `yaml:"code_ttl"`
	// MaxCodeAttempts wrong codes kill the flow (1 to 5).
	MaxCodeAttempts int `yaml:"max_code_attempts"`
	// FlowTTL is how long a started reset stays usable.
	FlowTTL time.Duration `yaml:"flow_ttl"`
	// IdentifyMinDuration pads the identify step so known and unknown logins
	// take the same time.
	IdentifyMinDuration time.Duration `yaml:"identify_min_duration"`
	// MaxPasswordAttempts the directory may refuse before the flow ends.
	MaxPasswordAttempts int `yaml:"max_password_attempts"`
}

// Password configures the rules every new password must meet, checked by
// sspr before anything is sent to the directory (which then applies its own).
// Unset keys keep the preset's value.
type Password struct {
	// Preset is the starting point: nist-800-63b-4, pci-dss-4,
	// ad-complexity or custom.
	Preset string `yaml:"preset"`
	// MultiFactor tells the NIST preset that a second factor protects the
	// account, which lowers its minimum length from 15 to 8.
	MultiFactor bool `yaml:"multi_factor"`
	MinLength   *int `yaml:"min_length"`
	MaxLength   *int `yaml:"max_length"`
	// RequireClasses lists classes (upper, lower, letter, digit, symbol,
	// other) each needing at least one character.
	RequireClasses []string `yaml:"require_classes"`
	// MinClasses of upper, lower, digit, symbol must appear ("3 of 4").
	MinClasses *int `yaml:"min_classes"`
	// PassphraseLength: passwords this long skip the class rules.
	PassphraseLength *int `yaml:"passphrase_length"`
	// ContextMinPart is the shortest part of the login or name (≥ 3) that
	// the password must not contain.
	ContextMinPart *int `yaml:"context_min_part"`
	// BannedWords are refused, normalised (0→o, $→s, ...) and fuzzily.
	BannedWords []string `yaml:"banned_words"`
	// BannedWordsFile adds one banned word per line.
	BannedWordsFile  string `yaml:"banned_words_file"`
	FuzzyBannedWords *bool  `yaml:"fuzzy_banned_words"`
	// CommonPasswords refuses the 10,000 most common passwords.
	CommonPasswords *bool `yaml:"common_passwords"`
	// Sequences refuses keyboard and alphabet runs of this length (0: off).
	Sequences *int `yaml:"sequences"`
	// Repeats refuses a character repeated this many times (0: off).
	Repeats    *int  `yaml:"repeats"`
	Palindrome *bool `yaml:"palindrome"`
	// Regexes are the organisation's own rules.
	Regexes []PasswordRegex `yaml:"regexes"`
	// MinScore is the minimum zxcvbn strength score, 0 (off) to 4.
	MinScore *int `yaml:"min_score"`
	// MergeDirectoryPolicy adds the directory's own rules (length,
	// complexity, history) so people see one list.
	MergeDirectoryPolicy bool `yaml:"merge_directory_policy"`
	// Breach is the offline breached-password check.
	Breach PasswordBreach `yaml:"breach"`
}

// PasswordRegex is one must-match or must-not-match rule.
type PasswordRegex struct {
	Name      string `yaml:"name"`
	Pattern   string `yaml:"pattern"`
	MustMatch bool   `yaml:"must_match"`
	// Message is shown when the rule fails.
	Message string `yaml:"message"`
}

// PasswordBreach configures the breached-password corpus.
type PasswordBreach struct {
	// Corpus is the directory `sspr breach build` wrote. Empty: no check.
	Corpus string `yaml:"corpus"`
	// OnError decides when the corpus is missing or corrupt: refuse
	// (resets wait until it is fixed) or allow (with a warning in the audit
	// log).
	OnError string `yaml:"on_error"`
}

// Portal configures what people see.
type Portal struct {
	// Title is shown in the header and mails.
	Title string `yaml:"title"`
	// HelpDesk is shown on every page so people know whom to call.
	HelpDesk HelpDesk `yaml:"help_desk"`
	// DefaultLanguage is used when the browser asks for none we have.
	DefaultLanguage string `yaml:"default_language"`
}

// HelpDesk says how to reach people who can help.
type HelpDesk struct {
	Text  string `yaml:"text"`
	URL   string `yaml:"url"`
	Email string `yaml:"email"`
	Phone string `yaml:"phone"`
}

// Log configures structured logging.
type Log struct {
	// Level: debug, info, warn, error.
	Level string `yaml:"level"`
	// Format: text or json.
	Format string `yaml:"format"`
}

// Secret is a sensitive value given inline (key) or read from a file
// (key_file). Its String method never reveals the value, so a Secret printed
// by accident in a log shows as "[redacted]".
type Secret struct {
	Value string
	File  string
}

// String hides the value.
func (s Secret) String() string {
	if s.Value == "" {
		return ""
	}
	return "[redacted]"
}

// GoString hides the value from %#v too.
func (s Secret) GoString() string { return s.String() }

// Defaults returns a configuration with every optional key set to its
// default; Load decodes the file on top of it.
func Defaults() Config {
	return Config{
		Server: Server{
			Listen:          "127.0.0.1:8080",
			ShutdownTimeout: 15 * time.Second,
		},
		Storage: Storage{Driver: "sqlite"},
		Mail: Mail{
			SMTP: SMTP{Port: 587, Security: "starttls", Timeout: 30 * time.Second},
			Outbox: Outbox{
				PollInterval:   2 * time.Second,
				MaxAttempts:    12,
				InitialBackoff: 5 * time.Second,
				MaxBackoff:     15 * time.Minute,
			},
		},
		Reset: Reset{
			CodeLength:          8,
			CodeTTL:             10 * time.Minute,
			MaxCodeAttempts:     5,
			FlowTTL:             30 * time.Minute,
			IdentifyMinDuration: 400 * time.Millisecond,
			MaxPasswordAttempts: 10,
		},
		Password: Password{Preset: "nist-800-63b-4", MultiFactor: true, MergeDirectoryPolicy: true,
			Breach: PasswordBreach{OnError: "refuse"}},
		Portal: Portal{Title: "Password self-service", DefaultLanguage: "en"},
		Log:    Log{Level: "info", Format: "text"},
	}
}

// directoryDefaults fills per-type defaults into one directory entry; list
// elements cannot carry defaults in Defaults() because their count is only
// known after decoding.
func directoryDefaults(d *Directory) {
	if d.Timeout == 0 {
		d.Timeout = 10 * time.Second
	}
	switch d.Type {
	case "ad":
		if d.UserFilter == "" {
			d.UserFilter = "(&(objectCategory=person)(objectClass=user))"
		}
		if len(d.LoginAttributes) == 0 {
			d.LoginAttributes = []string{"sAMAccountName", "userPrincipalName", "mail"}
		}
		if d.LoginNameAttribute == "" {
			d.LoginNameAttribute = "sAMAccountName"
		}
	case "openldap":
		if d.UserFilter == "" {
			d.UserFilter = "(objectClass=inetOrgPerson)"
		}
		if len(d.LoginAttributes) == 0 {
			d.LoginAttributes = []string{"uid", "mail"}
		}
		if d.LoginNameAttribute == "" {
			d.LoginNameAttribute = "uid"
		}
		if d.PasswordWrite == "" {
			d.PasswordWrite = "exop"
		}
	}
	if d.MailAttribute == "" {
		d.MailAttribute = "mail"
	}
	if d.DisplayNameAttribute == "" {
		d.DisplayNameAttribute = "displayName"
	}
}
