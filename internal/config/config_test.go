package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

// testHMACKey is 32 bytes (0x00..0x1f) in base64: the shortest valid key.
const testHMACKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// validYAML sets (almost) every key, with an AD and an OpenLDAP directory.
const validYAML = `
server:
  listen: "0.0.0.0:8443"
  base_url: https://sspr.example.com/reset
  trusted_proxies: [10.0.0.0/8, "192.168.0.0/16"]
  shutdown_timeout: 20s
storage:
  driver: sqlite
  path: /var/lib/sspr/sspr.db
secrets:
  hmac_key: ` + testHMACKey + `
directories:
  - name: corp
    type: ad
    urls: [ldaps://dc1.example.com:636, ldaps://dc2.example.com:636]
    bind_dn: CN=svc-sspr,OU=Service,DC=example,DC=com
    bind_password: hunter2
    base_dn: DC=example,DC=com
    timeout: 5s
  - name: lab
    type: openldap
    urls: [ldap://ldap.example.com:389]
    start_tls: true
    bind_dn: cn=sspr,dc=lab,dc=example,dc=com
    bind_password: s3cret
    base_dn: ou=people,dc=lab,dc=example,dc=com
    password_write: modify
mail:
  from: "Password reset <noreply@example.com>"
  smtp:
    host: smtp.example.com
    port: 587
    security: starttls
    username: sspr
    password: mailpw
    helo_name: sspr.example.com
    timeout: 20s
  outbox:
    poll_interval: 1s
    max_attempts: 8
    initial_backoff: 10s
    max_backoff: 10m
reset:
  code_length: 8
  code_ttl: 5m
  max_code_attempts: 3
  flow_ttl: 20m
  identify_min_duration: 300ms
  max_password_attempts: 5
portal:
  title: Example Corp
  help_desk:
    text: Call IT
    url: https://help.example.com
    email: it@example.com
    phone: "+1 555 0100"
  default_language: de
log:
  level: debug
  format: json
`

// env is an injected environment.
type env map[string]string

func (e env) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

func problemsOf(t *testing.T, err error) []config.Problem {
	t.Helper()
	if err == nil {
		t.Fatal("Parse succeeded, want problems")
	}
	var ps *config.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %T (%v) is not *config.Problems", err, err)
	}
	return ps.List
}

func paths(ps []config.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Path
	}
	slices.Sort(out)
	return out
}

func find(ps []config.Problem, path string) (config.Problem, bool) {
	for _, p := range ps {
		if p.Path == path {
			return p, true
		}
	}
	return config.Problem{}, false
}

func mustParse(t *testing.T, yaml string, e env) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), e.lookup)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, validYAML, nil)
	ad, ol := cfg.Directories[0], cfg.Directories[1]
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"server.listen", cfg.Server.Listen, "0.0.0.0:8443"},
		{"server.base_url", cfg.Server.BaseURL, "https://sspr.example.com/reset"},
		{"server.trusted_proxies", cfg.Server.TrustedProxies, []string{"10.0.0.0/8", "192.168.0.0/16"}},
		{"server.shutdown_timeout", cfg.Server.ShutdownTimeout, 20 * time.Second},
		{"storage.path", cfg.Storage.Path, "/var/lib/sspr/sspr.db"},
		{"hmac key bytes", len(cfg.HMACKeyBytes()), 32},
		{"directories", len(cfg.Directories), 2},
		{"ad.urls", ad.URLs, []string{"ldaps://dc1.example.com:636", "ldaps://dc2.example.com:636"}},
		{"ad.bind_password", ad.BindPassword.Value, "hunter2"},
		{"ad.timeout", ad.Timeout, 5 * time.Second},
		{"ad default user_filter", ad.UserFilter, "(&(objectCategory=person)(objectClass=user))"},
		{"ad default login_attributes", ad.LoginAttributes, []string{"sAMAccountName", "userPrincipalName", "mail"}},
		{"ad default login_name_attribute", ad.LoginNameAttribute, "sAMAccountName"},
		{"ad default password_write", ad.PasswordWrite, ""},
		{"ad default mail_attribute", ad.MailAttribute, "mail"},
		{"ad default display_name_attribute", ad.DisplayNameAttribute, "displayName"},
		{"openldap.start_tls", ol.StartTLS, true},
		{"openldap.password_write", ol.PasswordWrite, "modify"},
		{"openldap default user_filter", ol.UserFilter, "(objectClass=inetOrgPerson)"},
		{"openldap default login_attributes", ol.LoginAttributes, []string{"uid", "mail"}},
		{"openldap default login_name_attribute", ol.LoginNameAttribute, "uid"},
		{"openldap default timeout", ol.Timeout, 10 * time.Second},
		{"mail.from", cfg.Mail.From, "Password reset <noreply@example.com>"},
		{"mail.smtp.password", cfg.Mail.SMTP.Password.Value, "mailpw"},
		{"mail.smtp.helo_name", cfg.Mail.SMTP.HeloName, "sspr.example.com"},
		{"mail.outbox.max_backoff", cfg.Mail.Outbox.MaxBackoff, 10 * time.Minute},
		{"reset.code_ttl", cfg.Reset.CodeTTL, 5 * time.Minute},
		{"reset.identify_min_duration", cfg.Reset.IdentifyMinDuration, 300 * time.Millisecond},
		{"portal.help_desk.phone", cfg.Portal.HelpDesk.Phone, "+1 555 0100"},
		{"portal.default_language", cfg.Portal.DefaultLanguage, "de"},
		{"log.format", cfg.Log.Format, "json"},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %v, want none", w)
	}
}

// minimalYAML sets only the required keys; everything else is a default.
const minimalYAML = `
server: {base_url: "https://sspr.example.com"}
storage: {path: sspr.db}
secrets: {hmac_key: "` + testHMACKey + `"}
directories:
  - {name: corp, type: ad, urls: ["ldaps://dc1.example.com"], bind_dn: svc, bind_password: pw, base_dn: "DC=example,DC=com"}
mail: {from: noreply@example.com, smtp: {host: smtp.example.com}}
`

func TestParseMinimalTakesDefaults(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, minimalYAML, nil)
	want := config.Defaults()
	if cfg.Server.Listen != want.Server.Listen || cfg.Mail.SMTP.Port != 587 || cfg.Mail.SMTP.Security != "starttls" ||
		cfg.Reset != want.Reset || cfg.Mail.Outbox != want.Mail.Outbox || cfg.Log != want.Log || !reflect.DeepEqual(cfg.Portal, want.Portal) {
		t.Errorf("defaults not kept: %+v", cfg)
	}
}

func TestUnknownKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml, path, suggestion string // suggestion "" = none expected
	}{
		{"top level", "servr: {}\n", "servr", "server"},
		{"nested", "server:\n  base_ur: x\n", "server.base_ur", "base_url"},
		{"deeply nested", "mail:\n  smtp:\n    hots: x\n", "mail.smtp.hots", "host"},
		{"help desk", "portal:\n  help_desk:\n    emial: x\n", "portal.help_desk.emial", "email"},
		{"list element", "directories:\n  - name: a\n  - basedn: x\n", "directories[1].basedn", "base_dn"},
		{"no close key", "server:\n  completely_unrelated: 1\n", "server.completely_unrelated", ""},
		{"_file on a non-secret", "storage:\n  path_file: /x\n", "storage.path_file", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse([]byte(tc.yaml), nil)
			ps := problemsOf(t, err)
			p, ok := find(ps, tc.path)
			if !ok {
				t.Fatalf("no problem at %q; got %v", tc.path, ps)
			}
			if !strings.Contains(p.Message, "is not a known setting") {
				t.Errorf("message %q does not say the key is unknown", p.Message)
			}
			hint := fmt.Sprintf("did you mean %q", tc.suggestion)
			if tc.suggestion != "" && !strings.Contains(p.Message, hint) {
				t.Errorf("message %q lacks %s", p.Message, hint)
			}
			if tc.suggestion == "" && strings.Contains(p.Message, "did you mean") {
				t.Errorf("message %q suggests a key, want none", p.Message)
			}
		})
	}
}

func TestDuplicateKey(t *testing.T) {
	t.Parallel()
	_, err := config.Parse([]byte("log:\n  level: info\n  level: debug\n"), nil)
	p, ok := find(problemsOf(t, err), "log.level")
	if !ok || !strings.Contains(p.Message, "twice") {
		t.Errorf("log.level problem = %v, %v; want 'given twice'", p, ok)
	}
}

func TestWrongTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml, path, msg string
	}{
		{"duration word", "server:\n  shutdown_timeout: soon\n", "server.shutdown_timeout", "not a duration"},
		{"negative duration", "server:\n  shutdown_timeout: -5s\n", "server.shutdown_timeout", "not a duration"},
		{"duration list", "server:\n  shutdown_timeout: [1]\n", "server.shutdown_timeout", "must be a duration"},
		{"int word", "mail:\n  smtp:\n    port: many\n", "mail.smtp.port", "not a whole number"},
		{"int float", "reset:\n  code_length: 6.5\n", "reset.code_length", "not a whole number"},
		{"int mapping", "reset:\n  code_length: {a: 1}\n", "reset.code_length", "must be a whole number"},
		{"bool word", "directories:\n  - start_tls: maybe\n", "directories[0].start_tls", "not true or false"},
		{"string list", "directories:\n  - urls: ldaps://x\n", "directories[0].urls", "must be a list"},
		{"list mapping", "directories: {name: x}\n", "directories", "must be a list"},
		{"list element", "directories:\n  - just a string\n", "directories[0]", "must be a mapping"},
		{"section scalar", "server: 5\n", "server", "must be a mapping"},
		{"string list value", "server:\n  listen: [a, b]\n", "server.listen", "must be a string"},
		{"secret mapping", "secrets:\n  hmac_key: {a: b}\n", "secrets.hmac_key", "must be a string"},
		{"secret file list", "secrets:\n  hmac_key_file: [a]\n", "secrets.hmac_key_file", "must be a file path"},
		{"list item type", "server:\n  trusted_proxies: [[a]]\n", "server.trusted_proxies[0]", "must be a string"},
		{"not yaml", "server: [\n", "", "not valid YAML"},
		{"root is a list", "- a\n- b\n", "", "must be a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse([]byte(tc.yaml), nil)
			ps := problemsOf(t, err)
			p, ok := find(ps, tc.path)
			if !ok {
				t.Fatalf("no problem at %q; got %v", tc.path, ps)
			}
			if !strings.Contains(p.Message, tc.msg) {
				t.Errorf("%s: message %q, want it to contain %q", tc.path, p.Message, tc.msg)
			}
		})
	}
}

func TestManyProblemsAtOnce(t *testing.T) {
	t.Parallel()
	const yaml = `
server:
  base_url: https://sspr.example.com
  shutdown_timeout: soon
storage:
  path: sspr.db
secrets:
  hmac_key: ` + testHMACKey + `
directories:
  - name: corp
    type: ad
    urls: [ldaps://dc1.example.com:636, "ldaps://dc2.example.com:3269", "http://dc3"]
    bind_dn: svc
    bind_password: pw
    base_dn: DC=example,DC=com
    basedn: oops
mail:
  from: noreply@example.com
  smtp:
    host: smtp.example.com
    port: many
reset:
  code_length: 4
logg: {}
`
	_, err := config.Parse([]byte(yaml), nil)
	ps := problemsOf(t, err)
	want := []string{
		"directories[0].basedn",
		"directories[0].urls[1]",
		"directories[0].urls[2]",
		"logg",
		"mail.smtp.port",
		"reset.code_length",
		"server.shutdown_timeout",
	}
	if got := paths(ps); !slices.Equal(got, want) {
		t.Fatalf("problem paths:\n got %q\nwant %q", got, want)
	}
	// The error text names every problem, with its path, and the count.
	msg := err.Error()
	if !strings.Contains(msg, fmt.Sprintf("%d problem(s)", len(want))) {
		t.Errorf("error %q does not give the count", msg)
	}
	for _, p := range want {
		if !strings.Contains(msg, "  - "+p+": ") {
			t.Errorf("error text lacks %q:\n%s", p, msg)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	t.Parallel()
	pwFile := writeFile(t, "lab-pw", "from-file\n")
	e := env{
		"SSPR_SERVER_BASE_URL":                    "https://reset.example.org",
		"SSPR_SERVER_TRUSTED_PROXIES":             "10.1.0.0/16",
		"SSPR_DIRECTORIES_0_BIND_PASSWORD":        "from-env",
		"SSPR_DIRECTORIES_0_URLS":                 "ldaps://a.example.com:636, ldaps://b.example.com:636,",
		"SSPR_DIRECTORIES_1_BIND_PASSWORD_FILE":   pwFile,
		"SSPR_DIRECTORIES_1_START_TLS":            "false",
		"SSPR_DIRECTORIES_1_ALLOW_INSECURE_BINDS": "yes",
		"SSPR_DIRECTORIES_7_NAME":                 "ignored: the file has no such element",
		"SSPR_MAIL_SMTP_PORT":                     "2525",
		"SSPR_MAIL_SMTP_PASSWORD":                 "smtp-env",
		"SSPR_RESET_CODE_TTL":                     "3m",
		"SSPR_PORTAL_HELP_DESK_PHONE":             "+49 30 1234",
		"SSPR_LOG_LEVEL":                          "warn",
		"sspr_log_format":                         "text", // not our variable: names are upper case
	}
	cfg := mustParse(t, validYAML, e)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"base_url", cfg.Server.BaseURL, "https://reset.example.org"},
		{"trusted_proxies", cfg.Server.TrustedProxies, []string{"10.1.0.0/16"}},
		{"dir0 bind_password", cfg.Directories[0].BindPassword.Value, "from-env"},
		{"dir0 urls", cfg.Directories[0].URLs, []string{"ldaps://a.example.com:636", "ldaps://b.example.com:636"}},
		{"dir1 bind_password from file", cfg.Directories[1].BindPassword.Value, "from-file"},
		{"dir1 start_tls", cfg.Directories[1].StartTLS, false},
		{"directories", len(cfg.Directories), 2},
		{"smtp port", cfg.Mail.SMTP.Port, 2525},
		{"smtp password", cfg.Mail.SMTP.Password.Value, "smtp-env"},
		{"code_ttl", cfg.Reset.CodeTTL, 3 * time.Minute},
		{"help desk phone", cfg.Portal.HelpDesk.Phone, "+49 30 1234"},
		{"log level", cfg.Log.Level, "warn"},
		{"log format", cfg.Log.Format, "json"},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestEnvFileOverridesInlineAndViceVersa(t *testing.T) {
	t.Parallel()
	f := writeFile(t, "key", testHMACKey+"\n")
	// The file wins over the inline value when both variables are set.
	cfg := mustParse(t, validYAML, env{"SSPR_SECRETS_HMAC_KEY": "too-short", "SSPR_SECRETS_HMAC_KEY_FILE": f})
	if len(cfg.HMACKeyBytes()) != 32 {
		t.Errorf("HMAC key from file: %d bytes", len(cfg.HMACKeyBytes()))
	}
	// An inline variable replaces a file given in the YAML.
	yaml := strings.Replace(validYAML, "  hmac_key: "+testHMACKey, "  hmac_key_file: /nonexistent/key", 1)
	cfg = mustParse(t, yaml, env{"SSPR_SECRETS_HMAC_KEY": testHMACKey})
	if cfg.Secrets.HMACKey.File != "" || len(cfg.HMACKeyBytes()) != 32 {
		t.Errorf("inline env did not replace the file: %#v", cfg.Secrets.HMACKey)
	}
}

func TestBadEnvValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, value, path string
	}{
		{"SSPR_RESET_CODE_LENGTH", "eight", "reset.code_length"},
		{"SSPR_SERVER_SHUTDOWN_TIMEOUT", "soon", "server.shutdown_timeout"},
		{"SSPR_DIRECTORIES_0_START_TLS", "maybe", "directories[0].start_tls"},
		{"SSPR_MAIL_OUTBOX_MAX_ATTEMPTS", "1.5", "mail.outbox.max_attempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse([]byte(validYAML), env{tc.name: tc.value}.lookup)
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].Path != tc.path {
				t.Fatalf("problems = %v, want exactly one at %s", ps, tc.path)
			}
			if !strings.Contains(ps[0].Message, tc.name) || !strings.Contains(ps[0].Message, tc.value) {
				t.Errorf("message %q should name the variable and its value", ps[0].Message)
			}
		})
	}
}

func TestSecretFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, content, want string
	}{
		{"trailing newline trimmed", "pw-from-file\n", "pw-from-file"},
		{"trailing CRLF trimmed", "pw-from-file\r\n", "pw-from-file"},
		{"several newlines trimmed", "pw\n\n", "pw"},
		{"inner and outer spaces kept", " pw with spaces ", " pw with spaces "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := writeFile(t, "pw", tc.content)
			yaml := strings.Replace(validYAML, "bind_password: hunter2", "bind_password_file: "+f, 1)
			cfg := mustParse(t, yaml, nil)
			if got := cfg.Directories[0].BindPassword; got.Value != tc.want || got.File != f {
				t.Errorf("secret = {Value:%q File:%q}, want {%q %q}", got.Value, got.File, tc.want, f)
			}
		})
	}
}

func TestUnreadableSecretFile(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no-such-file")
	yaml := strings.Replace(validYAML, "bind_password: hunter2", "bind_password_file: "+missing, 1)
	_, err := config.Parse([]byte(yaml), nil)
	ps := problemsOf(t, err)
	p, ok := find(ps, "directories[0].bind_password_file")
	if !ok {
		t.Fatalf("no problem at directories[0].bind_password_file: %v", ps)
	}
	if !strings.Contains(p.Message, "cannot read") {
		t.Errorf("message %q", p.Message)
	}
	// The same through the environment.
	_, err = config.Parse([]byte(validYAML), env{"SSPR_MAIL_SMTP_PASSWORD_FILE": missing}.lookup)
	if _, ok := find(problemsOf(t, err), "mail.smtp.password_file"); !ok {
		t.Errorf("no problem at mail.smtp.password_file: %v", err)
	}
}

// rule is one validation case: mutate a valid configuration, expect these
// problem paths (sorted; nil = valid).
type rule struct {
	name   string
	mutate func(*config.Config)
	want   []string
}

// checkRules runs validation cases against validYAML; each section's test
// file has its own table.
func checkRules(t *testing.T, rules []rule) {
	t.Helper()
	for _, tc := range rules {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, validYAML, nil)
			tc.mutate(cfg)
			err := config.Validate(cfg)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if got := paths(problemsOf(t, err)); !slices.Equal(got, tc.want) {
				t.Errorf("problem paths = %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate func(*config.Config)
		path   string // "" = no warning expected
		msg    string
	}{
		{"none", func(*config.Config) {}, "", ""},
		{"plain ldap, insecure binds allowed", func(c *config.Config) {
			c.Directories[1].StartTLS = false
			c.Directories[1].AllowInsecureBinds = true
		}, "directories[1].urls[0]", "tests only"},
		{"plain ldap, upper-case scheme, insecure binds allowed", func(c *config.Config) {
			c.Directories[1].StartTLS = false
			c.Directories[1].AllowInsecureBinds = true
			c.Directories[1].URLs = []string{"LDAP://ldap.example.com:389"}
		}, "directories[1].urls[0]", "in clear"},
		{"skip verify", func(c *config.Config) { c.Directories[0].InsecureSkipVerify = true }, "directories[0].insecure_skip_verify", "tests only"},
		{"smtp without tls to a remote host", func(c *config.Config) { c.Mail.SMTP.Security = "none" }, "mail.smtp.security", "without TLS"},
		{"smtp without tls on loopback", func(c *config.Config) {
			c.Mail.SMTP.Security, c.Mail.SMTP.Host = "none", "127.0.0.1"
		}, "", ""},
		{"http base_url", func(c *config.Config) { c.Server.BaseURL = "http://sspr.example.com" }, "server.base_url", "plain http"},
		{"http base_url on localhost", func(c *config.Config) { c.Server.BaseURL = "http://localhost:8080" }, "", ""},
		{"manager approval with a connector directory", func(c *config.Config) {
			c.Verification.Factors = append(c.Verification.Factors, "manager_approval")
			c.Directories[0].Type = "connector"
		}, "directories[0].type", "cannot give a manager's mail address"},
		{"manager approval with an LDAP directory", func(c *config.Config) {
			c.Verification.Factors = append(c.Verification.Factors, "manager_approval")
		}, "", ""},
		{"postgres without tls to a remote host", func(c *config.Config) {
			c.Storage = config.Storage{Driver: "postgres", DSN: config.Secret{Value: "postgres://sspr@db.example.com/sspr"}}
		}, "storage.dsn", "without TLS"},
		{"postgres with verify-full", func(c *config.Config) {
			c.Storage = config.Storage{Driver: "postgres", DSN: config.Secret{Value: "postgres://sspr@db.example.com/sspr?sslmode=verify-full"}}
		}, "", ""},
		{"postgres on loopback without tls", func(c *config.Config) {
			c.Storage = config.Storage{Driver: "postgres", DSN: config.Secret{Value: "postgres://sspr@127.0.0.1:5433/sspr?sslmode=disable"}}
		}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, validYAML, nil)
			tc.mutate(cfg)
			w := cfg.Warnings()
			if tc.path == "" {
				if len(w) != 0 {
					t.Errorf("Warnings() = %v, want none", w)
				}
				return
			}
			if len(w) != 1 || w[0].Path != tc.path || !strings.Contains(w[0].Message, tc.msg) {
				t.Errorf("Warnings() = %v, want one at %s containing %q", w, tc.path, tc.msg)
			}
		})
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	t.Parallel()
	const value = "hunter2-very-secret"
	s := config.Secret{Value: value, File: "/run/secrets/pw"}
	cfg := mustParse(t, validYAML, env{"SSPR_DIRECTORIES_0_BIND_PASSWORD": value, "SSPR_MAIL_SMTP_PASSWORD": value})
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		for name, arg := range map[string]any{"Secret": s, "*Secret": &s, "Config": *cfg, "*Config": cfg, "Directory": cfg.Directories[0]} {
			if out := fmt.Sprintf(verb, arg); strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) || strings.Contains(out, fmt.Sprintf("%X", value)) {
				t.Errorf("Sprintf(%q, %s) reveals the secret: %s", verb, name, out)
			}
		}
	}
	if got := fmt.Sprint(s); got != "[redacted]" {
		t.Errorf("Sprint(secret) = %q, want [redacted]", got)
	}
	if got := fmt.Sprint(config.Secret{}); got != "" {
		t.Errorf("Sprint(empty secret) = %q, want empty", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{validYAML, minimalYAML, "", "{}", "[]", "server: 5", "directories: [{urls: x}]",
		"a: &a [*a]", "x: &x {y: *x}", "directories:\n  - &d {name: a}\n  - *d\n", "<<: {server: {}}", "? [a]\n: b\n",
		"secrets: {hmac_key_file: /nonexistent}", "reset: {code_ttl: 1e309h}", "mail: {smtp: {port: 99999999999999999999}}"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A secret file may name a device that never ends (/dev/zero) or
		// blocks (/dev/stdin); reading it is the operator's request, not a
		// parser bug, so such inputs are not explored.
		if strings.Contains(string(data), "/dev") || strings.Contains(string(data), "/proc") {
			t.Skip()
		}
		lookup := func(k string) (string, bool) {
			if k == "SSPR_DIRECTORIES_0_URLS" {
				return "ldap://a,,b", true
			}
			return "", false
		}
		cfg, err := config.Parse(data, lookup)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse returned cfg=%v err=%v: exactly one must be set", cfg != nil, err)
		}
		if err != nil {
			var ps *config.Problems
			if !errors.As(err, &ps) || len(ps.List) == 0 {
				t.Fatalf("error %T without problems", err)
			}
			_ = err.Error()
			return
		}
		_ = cfg.Warnings()
	})
}
