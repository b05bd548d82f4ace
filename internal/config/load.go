package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load reads, decodes, overrides from the environment and validates the
// configuration file at path. On failure the error is a *Problems listing
// everything wrong, each with its key path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return Parse(data, os.LookupEnv)
}

// Parse is Load on bytes, with the environment given as a lookup function so
// tests do not depend on the process environment.
func Parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	cfg := Defaults()
	problems := &Problems{}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		problems.add("", "the file is not valid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, problems
	}
	(&decoder{problems: problems}).decode(&root, reflect.ValueOf(&cfg).Elem(), "")
	if lookupEnv != nil {
		applyEnv(reflect.ValueOf(&cfg).Elem(), "", lookupEnv, problems)
	}
	resolveSecrets(reflect.ValueOf(&cfg).Elem(), "", problems)
	for i := range cfg.Directories {
		directoryDefaults(&cfg.Directories[i])
	}
	cfg.validate(problems)
	if err := problems.errOrNil(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// envName turns a key path into its environment variable:
// directories[0].bind_password -> SSPR_DIRECTORIES_0_BIND_PASSWORD.
func envName(path string) string {
	r := strings.NewReplacer(".", "_", "[", "_", "]", "")
	return "SSPR_" + strings.ToUpper(r.Replace(path))
}

// applyEnv overrides every scalar setting that has an SSPR_* variable.
// List elements can be overridden only where the file has them, because an
// environment cannot say how long a list should be.
func applyEnv(v reflect.Value, path string, lookup func(string) (string, bool), problems *Problems) {
	switch {
	case v.Type() == secretType:
		s := v.Addr().Interface().(*Secret)
		if val, ok := lookup(envName(path)); ok {
			s.Value, s.File = val, ""
		}
		if val, ok := lookup(envName(path) + "_FILE"); ok {
			s.File, s.Value = val, ""
		}
		return
	case v.Kind() == reflect.Struct && v.Type() != durationType:
		for i := 0; i < v.NumField(); i++ {
			if key := yamlKey(v.Type().Field(i)); key != "" {
				applyEnv(v.Field(i), join(path, key), lookup, problems)
			}
		}
		return
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		for i := 0; i < v.Len(); i++ {
			applyEnv(v.Index(i), fmt.Sprintf("%s[%d]", path, i), lookup, problems)
		}
		return
	}
	name := envName(path)
	val, ok := lookup(name)
	if !ok {
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		applyEnv(v.Elem(), path, lookup, problems)
		return
	}
	bad := func(what string) { problems.addf(path, "environment variable %s: %q is not %s", name, val, what) }
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(val)
		if err != nil {
			bad("a duration")
			return
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(val)
	case v.Kind() == reflect.Bool:
		b, ok := parseBool(&yaml.Node{Kind: yaml.ScalarNode, Value: val})
		if !ok {
			var err error
			if b, err = strconv.ParseBool(val); err != nil {
				bad("true or false")
				return
			}
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int:
		n, err := strconv.Atoi(val)
		if err != nil {
			bad("a whole number")
			return
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var items []string
		for _, item := range strings.Split(val, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		v.Set(reflect.ValueOf(items))
	}
}

// resolveSecrets reads every Secret given as a file.
func resolveSecrets(v reflect.Value, path string, problems *Problems) {
	switch {
	case v.Type() == secretType:
		s := v.Addr().Interface().(*Secret)
		if s.File == "" {
			return
		}
		if s.Value != "" {
			problems.add(path, "is given both inline and as "+path[strings.LastIndex(path, ".")+1:]+"_file: keep one")
			return
		}
		data, err := os.ReadFile(s.File)
		if err != nil {
			problems.addf(path+"_file", "cannot read the secret file: %v", errors.Unwrap(err))
			return
		}
		s.Value = strings.TrimRight(string(data), "\r\n")
		if s.Value == "" {
			problems.addf(path+"_file", "%s is empty", s.File)
		}
	case v.Kind() == reflect.Struct && v.Type() != durationType:
		for i := 0; i < v.NumField(); i++ {
			if key := yamlKey(v.Type().Field(i)); key != "" {
				resolveSecrets(v.Field(i), join(path, key), problems)
			}
		}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		for i := 0; i < v.Len(); i++ {
			resolveSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), problems)
		}
	}
}

// HMACKeyBytes decodes secrets.hmac_key (validated by Load).
func (c *Config) HMACKeyBytes() []byte {
	b, _ := decodeKey(c.Secrets.HMACKey.Value)
	return b
}

func decodeKey(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(s)
}

func (c *Config) validate(p *Problems) {
	// server
	if c.Server.Listen == "" {
		p.add("server.listen", "is required")
	} else if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		p.addf("server.listen", "%q is not host:port", c.Server.Listen)
	}
	if c.Server.BaseURL == "" {
		p.add("server.base_url", "is required: links in mails are built from it, never from the request")
	} else if u, err := url.Parse(c.Server.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.addf("server.base_url", "%q is not an absolute http(s) URL", c.Server.BaseURL)
	} else if u.RawQuery != "" || u.Fragment != "" {
		p.add("server.base_url", "must not have a query or fragment")
	}
	if (c.Server.TLSCertFile == "") != (c.Server.TLSKeyFile == "") {
		p.add("server.tls_cert_file", "tls_cert_file and tls_key_file go together: set both or neither")
	}
	for _, f := range []struct{ key, path string }{{"server.tls_cert_file", c.Server.TLSCertFile}, {"server.tls_key_file", c.Server.TLSKeyFile}} {
		checkFile(p, f.key, f.path)
	}
	for i, cidr := range c.Server.TrustedProxies {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			p.addf(fmt.Sprintf("server.trusted_proxies[%d]", i), "%q is not a CIDR such as 10.0.0.0/8", cidr)
		}
	}
	// storage
	if c.Storage.Driver != "sqlite" {
		p.addf("storage.driver", "%q is not supported; use sqlite", c.Storage.Driver)
	}
	if c.Storage.Path == "" {
		p.add("storage.path", "is required (the SQLite database file)")
	}
	// secrets
	if c.Secrets.HMACKey.Value == "" && c.Secrets.HMACKey.File == "" {
		p.add("secrets.hmac_key", "is required: 32 random bytes in base64, e.g. from `openssl rand -base64 32`")
	} else if c.Secrets.HMACKey.Value == "" {
		// the file could not be read: already reported
	} else if key, err := decodeKey(c.Secrets.HMACKey.Value); err != nil {
		p.add("secrets.hmac_key", "is not base64")
	} else if len(key) < 32 {
		p.addf("secrets.hmac_key", "is %d bytes; at least 32 are needed", len(key))
	}
	// directories
	if len(c.Directories) == 0 {
		p.add("directories", "at least one directory is required")
	}
	names := map[string]bool{}
	for i := range c.Directories {
		c.Directories[i].validate(p, fmt.Sprintf("directories[%d]", i), names)
	}
	// mail
	if c.Mail.From == "" {
		p.add("mail.from", "is required")
	} else if _, err := mail.ParseAddress(c.Mail.From); err != nil {
		p.addf("mail.from", "%q is not a mail address", c.Mail.From)
	}
	if c.Mail.SMTP.Host == "" {
		p.add("mail.smtp.host", "is required")
	}
	if c.Mail.SMTP.Port < 1 || c.Mail.SMTP.Port > 65535 {
		p.addf("mail.smtp.port", "%d is not a port number", c.Mail.SMTP.Port)
	}
	switch c.Mail.SMTP.Security {
	case "starttls", "tls", "none":
	default:
		p.addf("mail.smtp.security", "%q is not one of starttls, tls, none", c.Mail.SMTP.Security)
	}
	if c.Mail.SMTP.Username != "" && c.Mail.SMTP.Password.Value == "" && c.Mail.SMTP.Password.File == "" {
		p.add("mail.smtp.password", "is required when mail.smtp.username is set")
	}
	checkFile(p, "mail.smtp.ca_file", c.Mail.SMTP.CAFile)
	checkFile(p, "secrets.keyring_file", c.Secrets.KeyringFile)
	positive(p, "mail.smtp.timeout", c.Mail.SMTP.Timeout)
	positive(p, "mail.outbox.poll_interval", c.Mail.Outbox.PollInterval)
	positive(p, "mail.outbox.initial_backoff", c.Mail.Outbox.InitialBackoff)
	if c.Mail.Outbox.MaxBackoff < c.Mail.Outbox.InitialBackoff {
		p.add("mail.outbox.max_backoff", "must not be shorter than initial_backoff")
	}
	if c.Mail.Outbox.MaxAttempts < 1 {
		p.add("mail.outbox.max_attempts", "must be at least 1")
	}
	validateOutboxDelivery(p, c.Mail.Outbox)
	// reset
	r := c.Reset
	if r.CodeLength < 6 || r.CodeLength > 10 {
		p.addf("reset.code_length", "%d is outside 6..10 (NIST SP 800-63B asks for at least 6 digits)", r.CodeLength)
	}
	if r.CodeTTL <= 0 || r.CodeTTL > 10*time.Minute {
		p.addf("reset.code_ttl", "%s is outside (0, 10m]: codes must be short-lived", r.CodeTTL)
	}
	if r.MaxCodeAttempts < 1 || r.MaxCodeAttempts > 5 {
		p.addf("reset.max_code_attempts", "%d is outside 1..5", r.MaxCodeAttempts)
	}
	if r.FlowTTL < r.CodeTTL {
		p.add("reset.flow_ttl", "must not be shorter than reset.code_ttl")
	}
	if r.IdentifyMinDuration < 0 || r.IdentifyMinDuration > 10*time.Second {
		p.add("reset.identify_min_duration", "must be between 0 and 10s")
	}
	if r.MaxPasswordAttempts < 1 {
		p.add("reset.max_password_attempts", "must be at least 1")
	}
	// password
	pw := c.Password
	switch pw.Preset {
	case "nist-800-63b-4", "pci-dss-4", "ad-complexity", "custom":
	default:
		p.addf("password.preset", "%q is not one of nist-800-63b-4, pci-dss-4, ad-complexity, custom", pw.Preset)
	}
	if pw.MinScore != nil && (*pw.MinScore < 0 || *pw.MinScore > 4) {
		p.addf("password.min_score", "%d is outside 0..4", *pw.MinScore)
	}
	for i, r := range pw.Regexes {
		if _, err := regexp.Compile(r.Pattern); err != nil {
			p.addf(fmt.Sprintf("password.regexes[%d].pattern", i), "is not a valid regular expression: %v", err)
		}
		if r.Name == "" {
			p.add(fmt.Sprintf("password.regexes[%d].name", i), "is required")
		}
		if r.Message == "" {
			p.add(fmt.Sprintf("password.regexes[%d].message", i), "is required: it is what people read when the rule fails")
		}
	}
	checkFile(p, "password.banned_words_file", pw.BannedWordsFile)
	switch pw.Breach.OnError {
	case "refuse", "allow":
	default:
		p.addf("password.breach.on_error", "%q is not one of refuse, allow", pw.Breach.OnError)
	}
	c.validateVerification(p)
	c.validateSMS(p)
	for _, l := range []struct {
		key string
		l   Limit
	}{{"abuse.user_failures", c.Abuse.UserFailures}, {"abuse.ip_failures", c.Abuse.IPFailures},
		{"abuse.sends_per_destination", c.Abuse.SendsPerDestination}, {"abuse.sends_per_ip", c.Abuse.SendsPerIP},
		{"abuse.resets_per_user", c.Abuse.ResetsPerUser}, {"abuse.identify_per_ip", c.Abuse.IdentifyPerIP}} {
		if l.l.Limit < 1 {
			p.add(l.key+".limit", "must be at least 1")
		}
		positive(p, l.key+".window", l.l.Window)
		if l.l.Block < 0 {
			p.add(l.key+".block", "must not be negative")
		}
	}
	if c.Abuse.ProofOfWorkBits < 0 || c.Abuse.ProofOfWorkBits > 24 {
		p.addf("abuse.proof_of_work_bits", "%d is outside 0..24 (0 is off; 16 costs a browser well under a second)", c.Abuse.ProofOfWorkBits)
	}
	// portal, log
	if c.Portal.HelpDesk.URL != "" {
		if u, err := url.Parse(c.Portal.HelpDesk.URL); err != nil || u.Scheme == "" {
			p.addf("portal.help_desk.url", "%q is not an absolute URL", c.Portal.HelpDesk.URL)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.addf("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		p.addf("log.format", "%q is not one of text, json", c.Log.Format)
	}
}

func (d *Directory) validate(p *Problems, path string, names map[string]bool) {
	if d.Name == "" {
		p.add(path+".name", "is required")
	} else if names[d.Name] {
		p.addf(path+".name", "%q is used by another directory", d.Name)
	}
	names[d.Name] = true
	switch d.Type {
	case "ad", "openldap", "389ds", "freeipa":
	case "":
		p.add(path+".type", "is required: ad, openldap, 389ds or freeipa")
	default:
		p.addf(path+".type", "%q is not one of ad, openldap, 389ds, freeipa", d.Type)
	}
	if d.PoolSize < 0 || d.PoolSize > 64 {
		p.addf(path+".pool_size", "%d is outside 0..64", d.PoolSize)
	}
	if len(d.URLs) == 0 {
		p.add(path+".urls", "at least one ldap:// or ldaps:// URL is required")
	}
	for i, raw := range d.URLs {
		key := fmt.Sprintf("%s.urls[%d]", path, i)
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
			p.addf(key, "%q is not an ldap:// or ldaps:// URL", raw)
			continue
		}
		if u.Scheme == "ldaps" && d.StartTLS {
			p.add(key, "ldaps:// is already encrypted; start_tls applies to ldap:// only")
		}
		if port := u.Port(); d.Type == "ad" && (port == "3268" || port == "3269") {
			p.add(key, "is the global catalog port, which cannot write passwords; use 636 (ldaps) or 389 with start_tls")
		}
	}
	if d.BindDN == "" {
		p.add(path+".bind_dn", "is required (the service account)")
	}
	if d.BindPassword.Value == "" && d.BindPassword.File == "" {
		p.add(path+".bind_password", "is required (or bind_password_file)")
	}
	if d.BaseDN == "" {
		p.add(path+".base_dn", "is required")
	}
	checkFile(p, path+".ca_file", d.CAFile)
	if (d.Type == "openldap" || d.Type == "389ds" || d.Type == "freeipa") && d.PasswordWrite != "exop" && d.PasswordWrite != "modify" {
		p.addf(path+".password_write", "%q is not one of exop, modify", d.PasswordWrite)
	}
	if d.Type == "ad" && d.PasswordWrite != "" {
		p.add(path+".password_write", "applies to openldap only")
	}
	positive(p, path+".timeout", d.Timeout)
}

func positive(p *Problems, key string, d time.Duration) {
	if d <= 0 {
		p.add(key, "must be longer than zero")
	}
}

func checkFile(p *Problems, key, path string) {
	if path == "" {
		return
	}
	if _, err := os.Stat(path); err != nil {
		p.addf(key, "cannot read %s: %v", path, errors.Unwrap(err))
	}
}

// Warnings lists settings that work but that an operator should reconsider,
// such as plain-text connections.
func (c *Config) Warnings() []Problem {
	var w []Problem
	for i, d := range c.Directories {
		for j, raw := range d.URLs {
			if strings.HasPrefix(strings.ToLower(raw), "ldap://") && !d.StartTLS {
				msg := "plain LDAP without start_tls: passwords would cross the network in clear, so sspr refuses to write them"
				if d.AllowInsecurePasswordWrites {
					msg = "plain LDAP without start_tls and allow_insecure_password_writes is on: passwords cross the network in clear (tests only!)"
				}
				w = append(w, Problem{Path: fmt.Sprintf("directories[%d].urls[%d]", i, j), Message: msg})
			}
		}
		if d.InsecureSkipVerify {
			w = append(w, Problem{Path: fmt.Sprintf("directories[%d].insecure_skip_verify", i), Message: "certificate checks are off (tests only)"})
		}
	}
	if slices.Contains(c.Verification.Factors, "questions") {
		w = append(w, Problem{Path: "verification.factors", Message: "security questions are offered: NIST SP 800-63B-4 forbids them as authenticators; they only ever count next to another factor"})
	}
	if c.Mail.SMTP.Security == "none" && !isLoopback(c.Mail.SMTP.Host) {
		w = append(w, Problem{Path: "mail.smtp.security", Message: "mail leaves without TLS to a host that is not loopback"})
	}
	if u, err := url.Parse(c.Server.BaseURL); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		w = append(w, Problem{Path: "server.base_url", Message: "the portal is reached over plain http; put it behind TLS"})
	}
	return w
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate applies list-element defaults and checks a configuration built in
// code (as `sspr demo` does), with the same rules Load applies to a file.
func Validate(c *Config) error {
	problems := &Problems{}
	for i := range c.Directories {
		directoryDefaults(&c.Directories[i])
	}
	c.validate(problems)
	return problems.errOrNil()
}

var factorKinds = []string{"email", "sms", "totp", "passkey", "backup_codes", "attributes", "questions"}

func (c *Config) validateVerification(p *Problems) {
	v := c.Verification
	seen := map[string]bool{}
	for i, f := range v.Factors {
		key := fmt.Sprintf("verification.factors[%d]", i)
		switch {
		case !slices.Contains(factorKinds, f):
			p.addf(key, "%q is not one of %s", f, strings.Join(factorKinds, ", "))
		case seen[f]:
			p.addf(key, "%q is listed twice", f)
		}
		seen[f] = true
	}
	if len(v.Factors) == 0 {
		p.add("verification.factors", "at least one factor is required")
	}
	if v.FirstFactor != "" && !seen[v.FirstFactor] {
		p.addf("verification.first_factor", "%q is not in verification.factors", v.FirstFactor)
	}
	if v.FirstFactor == "questions" {
		p.add("verification.first_factor", "security questions can never be the first factor")
	}
	if seen["questions"] && len(v.Factors) == 1 {
		p.add("verification.factors", "security questions can never be the only factor (NIST SP 800-63B-4)")
	}
	if seen["questions"] && max(v.Required.Reset, v.Required.Unlock) < 2 {
		p.add("verification.required", "with security questions offered, require at least 2 factors: questions can never be the only proof")
	}
	if v.Required.Reset < 1 {
		p.add("verification.required.reset", "must be at least 1")
	}
	if v.Required.Unlock < 1 {
		p.add("verification.required.unlock", "must be at least 1")
	}
	if n := len(v.Factors); v.Required.Reset > n || v.Required.Unlock > n {
		p.addf("verification.required", "asks for more factors than the %d offered", n)
	}
	if seen["sms"] && c.SMS.Provider == "none" {
		p.add("verification.factors", "sms is offered but sms.provider is none")
	}
	if v.TOTP.Digits != 6 && v.TOTP.Digits != 8 {
		p.addf("verification.totp.digits", "%d is not 6 or 8", v.TOTP.Digits)
	}
	positive(p, "verification.totp.period", v.TOTP.Period)
	switch strings.ToUpper(v.TOTP.Algorithm) {
	case "SHA1", "SHA256", "SHA512":
	default:
		p.addf("verification.totp.algorithm", "%q is not one of SHA1, SHA256, SHA512", v.TOTP.Algorithm)
	}
	switch v.Passkey.UserVerification {
	case "required", "preferred", "discouraged":
	default:
		p.addf("verification.passkey.user_verification", "%q is not one of required, preferred, discouraged", v.Passkey.UserVerification)
	}
	if v.BackupCodes.Count < 1 || v.BackupCodes.Count > 50 {
		p.addf("verification.backup_codes.count", "%d is outside 1..50", v.BackupCodes.Count)
	}
	if seen["attributes"] && len(v.Attributes) == 0 {
		p.add("verification.attributes", "attributes is offered but no attribute question is configured")
	}
	for i, a := range v.Attributes {
		key := fmt.Sprintf("verification.attributes[%d]", i)
		if a.Attribute == "" {
			p.add(key+".attribute", "is required")
		}
		if a.Label == "" {
			p.add(key+".label", "is required: it is the question people read")
		}
		switch a.Normalise {
		case "", "exact", "digits", "date":
		default:
			p.addf(key+".normalise", "%q is not one of exact, digits, date", a.Normalise)
		}
	}
	if seen["questions"] {
		q := v.Questions
		if len(q.Questions) < q.AnswersRequired && !q.AllowCustom {
			p.addf("verification.questions.questions", "%d questions cannot give %d answers", len(q.Questions), q.AnswersRequired)
		}
		if q.Asked < 1 || q.Asked > q.AnswersRequired {
			p.addf("verification.questions.asked", "%d is outside 1..answers_required (%d)", q.Asked, q.AnswersRequired)
		}
	}
}

func (c *Config) validateSMS(p *Problems) {
	s := c.SMS
	switch s.Provider {
	case "none":
	case "twilio":
		if s.Twilio.AccountSID == "" {
			p.add("sms.twilio.account_sid", "is required")
		}
		if s.Twilio.AuthToken.Value == "" && s.Twilio.AuthToken.File == "" {
			p.add("sms.twilio.auth_token", "is required (or auth_token_file)")
		}
		if s.Twilio.From == "" && s.Twilio.MessagingServiceSID == "" {
			p.add("sms.twilio.from", "from or messaging_service_sid is required")
		}
	case "webhook":
		if u, err := url.Parse(s.Webhook.URL); err != nil || u.Scheme == "" || u.Host == "" {
			p.addf("sms.webhook.url", "%q is not an absolute URL", s.Webhook.URL)
		}
		if s.Webhook.Body == "" {
			p.add("sms.webhook.body", "is required (a template using .To and .Body)")
		}
	case "email_gateway":
		if !strings.Contains(s.EmailGateway.AddressTemplate, "{{") {
			p.add("sms.email_gateway.address_template", "is required, e.g. {{.Number}}@sms.example.net")
		}
	default:
		p.addf("sms.provider", "%q is not one of none, twilio, webhook, email_gateway", s.Provider)
	}
	if s.Provider != "none" && s.DefaultCountryCode != "" && !strings.HasPrefix(s.DefaultCountryCode, "+") {
		p.addf("sms.default_country_code", "%q must start with +, e.g. +1", s.DefaultCountryCode)
	}
}
