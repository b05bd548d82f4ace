package config

import (
	"time"
)

// Config is the whole configuration of one sspr instance.
type Config struct {
	Server       Server       `yaml:"server"`
	Storage      Storage      `yaml:"storage"`
	Secrets      Secrets      `yaml:"secrets"`
	Directories  []Directory  `yaml:"directories"`
	Mail         Mail         `yaml:"mail"`
	Reset        Reset        `yaml:"reset"`
	Enrollment   Enrollment   `yaml:"enrollment"`
	Password     Password     `yaml:"password"`
	Verification Verification `yaml:"verification"`
	// Policies give populations their own verification rules
	// (docs/policies.md): the first whose scope matches a person applies;
	// people no policy matches keep the global settings (verification:,
	// password:), which are each directory's default policy.
	Policies []Policy `yaml:"policies"`
	// Access is conditional access (docs/policies.md): rules on the
	// request (network, time, country, device), the first that holds
	// decides; GeoIP is the country database its countries need.
	Access []AccessRule `yaml:"access"`
	GeoIP  GeoIP        `yaml:"geoip"`
	SMS    SMS          `yaml:"sms"`
	Abuse  Abuse        `yaml:"abuse"`
	Portal Portal       `yaml:"portal"`
	Log    Log          `yaml:"log"`
	Audit  Audit        `yaml:"audit"`
	Sync   Sync         `yaml:"sync"`
	Admin  Admin        `yaml:"admin"`

	// Notifications: notices, template overrides, webhooks, SIEM export.
	Notifications Notifications `yaml:"notifications"`
	// Jobs: scheduled jobs (campaigns, expiry notices; config_jobs.go).
	Jobs Jobs `yaml:"jobs"`
}

// Sync sends every new password sspr sets to further places the person
// signs in to (docs/sync.md), through the outbox, after the change.
type Sync struct {
	// AlertTo lists the admin addresses told when a password could not
	// reach a target and sspr stopped trying.
	AlertTo []string `yaml:"alert_to"`
	// Targets receive the new password after each reset or change.
	Targets []SyncTarget `yaml:"targets"`
	// PreHooks are asked before the directory is written; one refusing
	// stops the change and its words are shown to the person.
	PreHooks []SyncHook `yaml:"pre_hooks"`
}

// SyncTarget is one place a new password goes.
type SyncTarget struct {
	// Name identifies the target in audit records, alerts and logs.
	Name string `yaml:"name"`
	// Type is entra, google, ldap or hook.
	Type string `yaml:"type"`
	// Map names what finds the person in the target: upn, mail, login,
	// dn, immutableid, objectguid, or any attribute the primary directory
	// reads. Default: upn (entra), mail (google), login (ldap, hook).
	Map string `yaml:"map"`
	// Directory (type ldap) names an entry of directories: to write to.
	Directory string     `yaml:"directory"`
	Entra     SyncEntra  `yaml:"entra"`
	Google    SyncGoogle `yaml:"google"`
	Hook      SyncHook   `yaml:"hook"`
}

// SyncEntra is a Microsoft Entra ID tenant, written through Graph.
type SyncEntra struct {
	TenantID string `yaml:"tenant_id"`
	ClientID string `yaml:"client_id"`
	// ClientSecret, or CertificateFile with CertificateKeyFile (PEM, RSA),
	// authenticates sspr's app registration.
	ClientSecret       Secret `yaml:"client_secret"`
	CertificateFile    string `yaml:"certificate_file"`
	CertificateKeyFile string `yaml:"certificate_key_file"`
	// ForceChange makes the person change the password at the next
	// Microsoft sign-in.
	ForceChange bool `yaml:"force_change"`
	// LoginURL and GraphURL name a national cloud; default the public one.
	LoginURL string `yaml:"login_url"`
	GraphURL string `yaml:"graph_url"`
}

// SyncGoogle is a Google Workspace domain, written through the Admin SDK.
type SyncGoogle struct {
	// Credentials is the service account's JSON key (credentials_file).
	Credentials Secret `yaml:"credentials"`
	// Subject is the Workspace admin the service account acts as
	// (domain-wide delegation).
	Subject string `yaml:"subject"`
	// HashFunction is crypt (default, salted SHA-512 crypt) or SHA-1.
	HashFunction      string `yaml:"hash_function"`
	ChangeAtNextLogin bool   `yaml:"change_at_next_login"`
	// APIURL is the Directory API's address; default
	// https://admin.googleapis.com (set it for a private endpoint).
	APIURL string `yaml:"api_url"`
}

// SyncHook is a command or a signed webhook.
type SyncHook struct {
	// Name identifies the hook in audit records and logs.
	Name string `yaml:"name"`
	// Command is the program and its arguments; the password arrives on
	// standard input (JSON), never in arguments or the environment.
	Command []string `yaml:"command"`
	// URL receives a JSON POST signed with Secret (HMAC-SHA256).
	URL    string `yaml:"url"`
	Secret Secret `yaml:"secret"`
	// Timeout bounds one run or request. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// Admin configures the admin console at /admin (validate_admin.go).
type Admin struct {
	// Enabled turns the console on. It is off by default: nobody can sign
	// in before roles are given to directory groups.
	Enabled bool `yaml:"enabled"`
	// IdleTimeout ends a console session nobody used for this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// SessionTTL ends a console session this long after sign-in, however
	// busy.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// Roles names, per role, the directory groups (DNs) whose members
	// (nested membership included) hold it.
	Roles AdminRoles `yaml:"roles"`
	// CostPerCall values a help-desk call (config_reports.go).
	CostPerCall CostPerCall `yaml:"cost_per_call"`
	// ScheduledReports are mailed as attachments (config_jobs.go).
	ScheduledReports []ScheduledReport `yaml:"scheduled_reports"`
}

// AdminRoles maps console roles to directory group DNs.
type AdminRoles struct {
	Admin    []string `yaml:"admin"`
	Helpdesk []string `yaml:"helpdesk"`
	Auditor  []string `yaml:"auditor"`
}

// Audit configures the running self-check of the audit log.
type Audit struct {
	// CheckInterval is how often sspr serve verifies the rows added since
	// its last check and records the chain's end as a MAC'd checkpoint.
	CheckInterval time.Duration `yaml:"check_interval"`
	// CheckpointFile, when set, receives one checkpoint per line (created
	// 0600). Keep it, or ship it, where the database's administrators
	// cannot rewrite it: `sspr audit verify --checkpoint` compares it with
	// the database to find an older copy restored or rows cut off.
	CheckpointFile string `yaml:"checkpoint_file"`
	// Retention, when set, deletes audit rows older than this (0 keeps
	// them forever). A MAC'd marker records the last row deleted, so
	// `sspr audit verify` still checks the chain from there on.
	Retention time.Duration `yaml:"retention"`
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
	// ProfileListen, when set, serves Go's profiler (net/http/pprof) on its
	// own listener — keep it on loopback; it is off by default.
	ProfileListen string `yaml:"profile_listen"`
	// MetricsListen, when set, serves Prometheus metrics (/metrics) and
	// the readiness check (/readyz) on their own listener, apart from the
	// portal; off by default.
	MetricsListen string `yaml:"metrics_listen"`
}

// Storage configures where flows, the outbox and the audit log live.
type Storage struct {
	// Driver is "sqlite" (embedded, the default) or "postgres".
	Driver string `yaml:"driver"`
	// Path is the SQLite database file (driver sqlite only).
	Path string `yaml:"path"`
	// DSN is the PostgreSQL connection URL (driver postgres only), e.g.
	// postgres://sspr@db.example.com:5432/sspr?sslmode=verify-full; a
	// secret because it may carry the password (or dsn_file).
	DSN Secret `yaml:"dsn"`
}

// Target is what the store opens: the file path for sqlite, the
// connection URL for postgres.
func (s Storage) Target() string {
	if s.Driver == "postgres" {
		return s.DSN.Value
	}
	return s.Path
}

// Secrets holds keys sspr derives its protections from.
type Secrets struct {
	// HMACKey (base64, at least 32 bytes) keys the HMACs that one-time codes
	// are stored as and the audit chain.
	HMACKey Secret `yaml:"hmac_key"`
	// KeyringFile holds the versioned encryption keys for data at rest
	// (enrolled phone numbers, TOTP seeds, ...): `sspr keys generate`,
	// `sspr keys add`, `sspr keys rotate`. Without it, one key is derived
	// from hmac_key (and cannot be rotated).
	KeyringFile string `yaml:"keyring_file"`
}

// Verification configures how people prove who they are.
type Verification struct {
	// Factors are the kinds people may verify with, in the order offered:
	// email, sms, totp, passkey, backup_codes, attributes, questions.
	Factors []string `yaml:"factors"`
	// FirstFactor is challenged as soon as a flow starts (usually email);
	// empty: people choose first.
	FirstFactor string `yaml:"first_factor"`
	// Required is how many distinct factors each action needs. Privileged
	// accounts always need at least two, whatever is set here.
	Required Required `yaml:"required"`
	// PreEnrollMail / PreEnrollMobile let the directory's mail and mobile
	// attributes count as email and SMS factors for people who have not
	// enrolled their own.
	PreEnrollMail   bool `yaml:"pre_enroll_mail"`
	PreEnrollMobile bool `yaml:"pre_enroll_mobile"`
	// AllowProtectedAccounts lets privileged accounts (AD adminCount=1,
	// protected groups) use self-service at all (with two factors).
	AllowProtectedAccounts bool        `yaml:"allow_protected_accounts"`
	TOTP                   TOTP        `yaml:"totp"`
	Passkey                Passkey     `yaml:"passkey"`
	BackupCodes            BackupCodes `yaml:"backup_codes"`
	// Attributes are questions answered from directory attributes
	// (employee ID, date of birth); nothing to enroll.
	Attributes []AttributeQuestion `yaml:"attributes"`
	// Questions are security questions: off unless listed in factors,
	// never the only or the first factor (NIST SP 800-63B-4 forbids them as
	// authenticators).
	Questions SecurityQuestions `yaml:"questions"`
	// The factors enterprises already run (factors_enterprise.go).
	Radius          RadiusFactor          `yaml:"radius"`
	Duo             DuoFactor             `yaml:"duo"`
	YubiKey         YubiKeyFactor         `yaml:"yubikey"`
	OIDC            OIDCFactor            `yaml:"oidc"`
	SAML            SAMLFactor            `yaml:"saml"`
	Certificate     CertificateFactor     `yaml:"certificate"`
	Voice           VoiceFactor           `yaml:"voice"`
	ManagerApproval ManagerApprovalFactor `yaml:"manager_approval"`
}

// Required counts factors per action.
type Required struct {
	Reset  int `yaml:"reset"`
	Unlock int `yaml:"unlock"`
}

// TOTP configures authenticator apps (RFC 6238).
type TOTP struct {
	Issuer    string        `yaml:"issuer"`
	Digits    int           `yaml:"digits"`
	Period    time.Duration `yaml:"period"`
	Algorithm string        `yaml:"algorithm"`
}

// Passkey configures WebAuthn.
type Passkey struct {
	// RPID is the relying party ID: the portal's host name (or a parent).
	RPID   string `yaml:"rp_id"`
	RPName string `yaml:"rp_name"`
	// Origins allowed to use the passkeys; default: server.base_url.
	Origins []string `yaml:"origins"`
	// UserVerification: required (default), preferred, discouraged.
	UserVerification string `yaml:"user_verification"`
}

// BackupCodes configures single-use recovery codes.
type BackupCodes struct {
	Count int `yaml:"count"`
}

// AttributeQuestion asks for a value the directory holds.
type AttributeQuestion struct {
	Attribute string `yaml:"attribute"`
	Label     string `yaml:"label"`
	// Normalise: exact, digits, or date.
	Normalise string `yaml:"normalise"`
}

// SecurityQuestions configures security questions.
type SecurityQuestions struct {
	Questions       []Question `yaml:"questions"`
	AllowCustom     bool       `yaml:"allow_custom"`
	AnswersRequired int        `yaml:"answers_required"`
	Asked           int        `yaml:"asked"`
	MinAnswerLength int        `yaml:"min_answer_length"`
}

// Question is one admin-defined security question.
type Question struct {
	ID   string `yaml:"id"`
	Text string `yaml:"text"`
}

// SMS configures text-message delivery.
type SMS struct {
	// Provider: none (default), twilio, webhook, email_gateway.
	Provider string `yaml:"provider"`
	// DefaultCountryCode completes national numbers, e.g. "+1" or "+49".
	DefaultCountryCode string       `yaml:"default_country_code"`
	Twilio             Twilio       `yaml:"twilio"`
	Webhook            Webhook      `yaml:"webhook"`
	EmailGateway       EmailGateway `yaml:"email_gateway"`
}

// Twilio configures Twilio's Messages API (or a compatible service).
type Twilio struct {
	AccountSID          string `yaml:"account_sid"`
	AuthToken           Secret `yaml:"auth_token"`
	From                string `yaml:"from"`
	MessagingServiceSID string `yaml:"messaging_service_sid"`
	// BaseURL defaults to https://api.twilio.com.
	BaseURL string `yaml:"base_url"`
}

// Webhook configures a generic HTTP SMS gateway.
type Webhook struct {
	URL         string   `yaml:"url"`
	Method      string   `yaml:"method"`
	Headers     []Header `yaml:"headers"`
	ContentType string   `yaml:"content_type"`
	// Body is a Go template with .To and .Body (and json / urlquery
	// helpers).
	Body string `yaml:"body"`
	// SuccessStatus lists the HTTP statuses that mean "accepted".
	SuccessStatus []int `yaml:"success_status"`
}

// Header is one HTTP header; its value may be a secret.
type Header struct {
	Name  string `yaml:"name"`
	Value Secret `yaml:"value"`
}

// EmailGateway sends SMS as mail to a carrier's gateway.
type EmailGateway struct {
	// AddressTemplate, e.g. "{{.Number}}@sms.example.net".
	AddressTemplate string `yaml:"address_template"`
}

// Abuse configures the abuse controls (stored, so they hold across restarts
// and nodes).
type Abuse struct {
	UserFailures        Limit `yaml:"user_failures"`
	IPFailures          Limit `yaml:"ip_failures"`
	SendsPerDestination Limit `yaml:"sends_per_destination"`
	SendsPerIP          Limit `yaml:"sends_per_ip"`
	ResetsPerUser       Limit `yaml:"resets_per_user"`
	IdentifyPerIP       Limit `yaml:"identify_per_ip"`
	// ProofOfWorkBits makes every browser solve a small puzzle (this many
	// leading zero bits of SHA-256, about 2^bits hashes) before a flow
	// starts, which slows scripted floods; 0 turns it off. The portal then
	// needs JavaScript to start a flow.
	ProofOfWorkBits int `yaml:"proof_of_work_bits"`
	// ProofOfWorkTTL is how long an issued puzzle may be solved and used.
	ProofOfWorkTTL time.Duration `yaml:"proof_of_work_ttl"`
}

// Limit is "at most Limit in Window; then blocked for Block" (Block 0: just
// refused until the window slides).
type Limit struct {
	Limit  int           `yaml:"limit"`
	Window time.Duration `yaml:"window"`
	Block  time.Duration `yaml:"block"`
}

// Directory configures one user directory.
type Directory struct {
	// Name identifies the directory in logs, audit records and the UI.
	Name string `yaml:"name"`
	// Type is "ad" (Active Directory, Samba AD), "openldap", "389ds" (389
	// Directory Server, Red Hat DS), "freeipa", "entra" (cloud-only
	// Microsoft Entra ID accounts, through Graph; see Entra) or "connector"
	// (a directory reached through outbound-only connectors; see
	// Connector).
	Type string `yaml:"type"`
	// Entra holds the settings of a type entra directory (the LDAP keys
	// below do not apply to it).
	Entra DirectoryEntra `yaml:"entra"`
	// Connector holds the settings of a type connector directory (the
	// LDAP keys below go into the connector's own file instead).
	Connector DirectoryConnector `yaml:"connector"`
	// Domains are the names this directory answers for, so that
	// DOMAIN\user and user@domain logins are routed to it (e.g. EXAMPLE,
	// example.com).
	Domains []string `yaml:"domains"`
	// URLs are tried in order; ldaps:// or ldap:// (with start_tls).
	URLs     []string `yaml:"urls"`
	StartTLS bool     `yaml:"start_tls"`
	// CAFile is a PEM bundle used to verify the directory's certificate.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify disables certificate checks. For tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// AllowInsecureBinds lets passwords (the service account's bind, people's
	// binds, password writes) cross a plain ldap:// connection without
	// StartTLS. For tests only: without it such a URL is an error, because a
	// real directory must never receive passwords in clear.
	AllowInsecureBinds bool `yaml:"allow_insecure_binds"`
	// AllowInsecurePasswordWrites is the deprecated name of
	// AllowInsecureBinds; it still works, with a warning.
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
	// MobileAttribute and ManagerAttribute name where mobile numbers and
	// managers are kept.
	MobileAttribute  string `yaml:"mobile_attribute"`
	ManagerAttribute string `yaml:"manager_attribute"`
	// ProtectedGroups are groups (DNs; nested membership counts) whose
	// members are privileged: refused unless verification allows
	// protected accounts, and then always held to two factors. AD's
	// adminCount=1 accounts are privileged too.
	ProtectedGroups []string `yaml:"protected_groups"`
	// UnlockOnReset unlocks the account after a reset (AD does not by
	// itself). Default: true for ad, 389ds and freeipa.
	UnlockOnReset *bool `yaml:"unlock_on_reset"`
	// PasswordPolicyDN is the default password policy entry (OpenLDAP
	// ppolicy_default, which is not readable over LDAP).
	PasswordPolicyDN string `yaml:"password_policy_dn"`
	// DisabledFilter marks disabled accounts (389ds/freeipa:
	// (nsAccountLock=TRUE)).
	DisabledFilter string `yaml:"disabled_filter"`
	// GroupBaseDN is where groups are searched (default: base_dn).
	GroupBaseDN string `yaml:"group_base_dn"`
	// PoolSize bounds the pooled service-account connections.
	PoolSize int `yaml:"pool_size"`
	// WriteConcurrency bounds the account writes (reset, change, unlock,
	// must change) sent to the directory at once; more wait in sspr. Default
	// 2 for ad (a Samba DC applies one at a time, and lookups queued behind
	// them), no limit for the others; -1: no limit.
	WriteConcurrency int `yaml:"write_concurrency"`
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
	// Workers is how many messages are delivered at once, each over its
	// own kept connection to the relay.
	Workers int `yaml:"workers"`
	// NodeID names this process among the nodes sharing the database
	// (default: the host name). After a crash, the next start with the same
	// NodeID takes back at once the messages the dead process was sending.
	NodeID string `yaml:"node_id"`
	// SentRetention is how long a sent message's row stays (its subject and
	// bodies are erased at once); 0 deletes it as soon as it is sent.
	SentRetention time.Duration `yaml:"sent_retention"`
	// FailedRetention is how long a given-up message keeps its recipient,
	// subject and bodies (for a look into why); then they are erased, and
	// the row goes 30 days later.
	FailedRetention time.Duration `yaml:"failed_retention"`
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
	// FinishedRetention is how long a flow that ended (done or failed)
	// stays, so a reload still shows how it ended; the janitor then removes
	// it instead of keeping it until it expires.
	FinishedRetention time.Duration `yaml:"finished_retention"`
	// IdentifyMinDuration pads the identify step so known and unknown logins
	// take the same time.
	IdentifyMinDuration time.Duration `yaml:"identify_min_duration"`
	// StepMinDuration pads choosing a factor, resending and verifying the
	// same way, above the slowest factor check, so those steps cannot tell
	// a real account from a stranger's decoy either.
	StepMinDuration time.Duration `yaml:"step_min_duration"`
	// MaxPasswordAttempts the directory may refuse before the flow ends.
	MaxPasswordAttempts int `yaml:"max_password_attempts"`
	// MaxCodesSent caps the challenges (codes mailed or texted) one flow
	// may send, resends included. 0 means 3 more than the number of
	// factors offered.
	MaxCodesSent int `yaml:"max_codes_sent"`
}

// Enrollment configures the enrollment portal, where people add and remove
// their factors.
type Enrollment struct {
	// SessionTTL bounds a signed-in enrollment session.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// StepUpWindow is how recently an enrolled factor must have been
	// verified in the session before factors may be added or removed.
	StepUpWindow time.Duration `yaml:"step_up_window"`
	// RedirectUnenrolled tells a known person who has not enrolled enough
	// factors to recover, at the first step, to enroll first, instead of
	// walking them down the path an unknown login walks. It reveals to
	// anyone which logins exist and are not enrolled: off by default, and
	// `sspr config check` warns when it is on.
	RedirectUnenrolled bool `yaml:"redirect_unenrolled"`
}

// Policy gives one population its own rules (docs/policies.md).
type Policy struct {
	// Name identifies the policy in `sspr policy explain` and the audit log.
	Name  string      `yaml:"name"`
	Scope PolicyScope `yaml:"scope"`
	// Actions switches actions off for this population; each is on unless
	// set to false.
	Actions PolicyActions `yaml:"actions"`
	// Factors are the kinds this population verifies with after the first
	// step (a subset of verification.factors, which everybody is offered
	// at the first step); empty: all of verification.factors.
	Factors []string `yaml:"factors"`
	// Required is how many distinct factors of Factors each action needs
	// (1, 2 or 3); 0 keeps verification.required.
	Required Required `yaml:"required"`
	// Mandatory kinds must be among the factors verified.
	Mandatory []string `yaml:"mandatory"`
	// PasswordPreset replaces password.preset for this population.
	PasswordPreset string `yaml:"password_preset"`
	// Enrollment is what the population must enroll.
	Enrollment PolicyEnrollment `yaml:"enrollment"`
	// Notices are shown to the person once a first factor is verified.
	Notices []string `yaml:"notices"`
}

// PolicyScope is the population a policy covers; every rule given must
// hold, any value of a rule does. An empty scope covers everybody.
type PolicyScope struct {
	Directories []string `yaml:"directories"`
	// OUs are DNs: the person's entry lies below one of them.
	OUs []string `yaml:"ous"`
	// Groups are group DNs; nested membership counts.
	Groups []string `yaml:"groups"`
	// Filter is an LDAP filter the person's entry matches.
	Filter string `yaml:"filter"`
}

// PolicyActions switches actions off (false); unset keeps them on.
type PolicyActions struct {
	Reset  *bool `yaml:"reset"`
	Unlock *bool `yaml:"unlock"`
	Change *bool `yaml:"change"`
	Enroll *bool `yaml:"enroll"`
}

// PolicyEnrollment is what a population must enroll.
type PolicyEnrollment struct {
	// Required kinds must be enrolled (a passkey for administrators).
	Required []string `yaml:"required"`
	// Minimum is how many distinct kinds must be enrolled.
	Minimum int `yaml:"minimum"`
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
	// KnownDeviceTTL is how long a browser that completed a verification
	// counts as a known device for conditional access (default 720h).
	KnownDeviceTTL time.Duration `yaml:"known_device_ttl"`
	// HelpDesk is shown on every page so people know whom to call.
	HelpDesk HelpDesk `yaml:"help_desk"`
	// DefaultLanguage is used when the browser asks for none we have.
	DefaultLanguage string `yaml:"default_language"`
	// LanguagesDir holds operator-added languages, one <tag>.json file each
	// (see docs/branding.md); config check lists their problems.
	LanguagesDir string `yaml:"languages_dir"`
	// Branding: logo, favicon, colours, footer (config_i18n.go).
	Branding Branding `yaml:"branding"`
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
	// Audit mirrors every audit event, once committed, into the log
	// ("audit" at INFO), for log shippers and SIEMs (the database's
	// hash-chained log stays the record). Default true.
	Audit bool `yaml:"audit"`
	// Access logs every HTTP request ("request" at INFO: request ID,
	// method, route pattern, status, duration; never the query string or a
	// path with a token). Default true.
	Access bool `yaml:"access"`
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

				Workers:         4,
				SentRetention:   24 * time.Hour,
				FailedRetention: 7 * 24 * time.Hour,
			},
		},
		Reset: Reset{
			CodeLength:          8,
			CodeTTL:             10 * time.Minute,
			MaxCodeAttempts:     5,
			FlowTTL:             30 * time.Minute,
			FinishedRetention:   5 * time.Minute,
			IdentifyMinDuration: 400 * time.Millisecond,
			StepMinDuration:     250 * time.Millisecond,
			MaxPasswordAttempts: 10,
		},
		Enrollment: Enrollment{SessionTTL: 30 * time.Minute, StepUpWindow: 15 * time.Minute},
		Password: Password{Preset: "nist-800-63b-4", MultiFactor: true, MergeDirectoryPolicy: true,
			Breach: PasswordBreach{OnError: "refuse"}},
		Verification: Verification{
			Factors: []string{"email", "totp", "passkey", "backup_codes"}, FirstFactor: "email",
			Required: Required{Reset: 1, Unlock: 1}, PreEnrollMail: true,
			TOTP:        TOTP{Digits: 6, Period: 30 * time.Second, Algorithm: "SHA1"},
			Passkey:     Passkey{UserVerification: "required"},
			BackupCodes: BackupCodes{Count: 10},
			Questions:   SecurityQuestions{AnswersRequired: 3, Asked: 2, MinAnswerLength: 3},
		},
		SMS: SMS{Provider: "none"},
		Abuse: Abuse{
			UserFailures:        Limit{Limit: 5, Window: time.Hour, Block: 24 * time.Hour},
			IPFailures:          Limit{Limit: 20, Window: time.Hour, Block: time.Hour},
			SendsPerDestination: Limit{Limit: 5, Window: time.Hour},
			SendsPerIP:          Limit{Limit: 30, Window: time.Hour},
			ResetsPerUser:       Limit{Limit: 3, Window: 24 * time.Hour},
			IdentifyPerIP:       Limit{Limit: 60, Window: 10 * time.Minute},
			ProofOfWorkTTL:      10 * time.Minute,
		},
		Portal: Portal{Title: "Password self-service", DefaultLanguage: "en", KnownDeviceTTL: 720 * time.Hour},
		Log:    Log{Level: "info", Format: "text", Audit: true, Access: true},
		Audit:  Audit{CheckInterval: 15 * time.Minute},
		Admin:  Admin{IdleTimeout: 15 * time.Minute, SessionTTL: 8 * time.Hour},
	}
}

// directoryDefaults fills per-type defaults into one directory entry; list
// elements cannot carry defaults in Defaults() because their count is only
// known after decoding.
func directoryDefaults(d *Directory) {
	// The deprecated key still works (and is warned about).
	if d.AllowInsecurePasswordWrites {
		d.AllowInsecureBinds = true
	}
	if d.Timeout == 0 && d.Type == "connector" {
		// A call through a connector holds the connector's own directory
		// operations (10s each by default) and the wait for a connector.
		d.Timeout = 30 * time.Second
	}
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
	case "openldap", "389ds", "freeipa":
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

// AccessRule is one conditional-access rule (docs/policies.md): every
// condition given must hold (none: every request), any value of a
// condition does; the first rule that holds decides.
type AccessRule struct {
	// Name identifies the rule in the audit log.
	Name string `yaml:"name"`
	// Policies limits the rule to people of these policies; it is then
	// decided only after their first factor. Empty: everybody, decided at
	// the first step too.
	Policies []string `yaml:"policies"`
	// Networks are CIDR networks (or single addresses) the client address
	// is in (the address behind server.trusted_proxies).
	Networks []string `yaml:"networks"`
	// Hours is a daily window "HH:MM-HH:MM" (past midnight allowed),
	// Weekdays the days (mon ... sun), both in TimeZone (IANA; UTC when
	// empty).
	Hours    string   `yaml:"hours"`
	Weekdays []string `yaml:"weekdays"`
	TimeZone string   `yaml:"time_zone"`
	// Countries are ISO 3166-1 alpha-2 codes, looked up in geoip.database.
	Countries []string `yaml:"countries"`
	// Device is "known" (a known-device cookie, a registered agent) or
	// "unknown".
	Device string `yaml:"device"`
	// Effect is allow, add_factor, require_kind (Kind) or refuse (Message).
	Effect  string `yaml:"effect"`
	Kind    string `yaml:"kind"`
	Message string `yaml:"message"`
}

// GeoIP is the country database conditional access reads.
type GeoIP struct {
	// Database is a MaxMind-format file (GeoLite2-Country.mmdb or the like).
	Database string `yaml:"database"`
}
