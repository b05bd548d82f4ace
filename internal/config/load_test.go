package config_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/config"
)

// TestMisspeltEnvironmentVariables: an SSPR_* variable that matches no
// setting is a problem naming the variable, with a suggestion, instead of
// being ignored; SSPR_TEST_* and other variables are left alone.
func TestMisspeltEnvironmentVariables(t *testing.T) {
	t.Parallel()
	r := config.ParseEnviron([]byte(validYAML), []string{
		"PATH=/usr/bin",
		"SSPR_SERVER_BASE_URL=https://right.example.com",
		"SSPR_SERVR_BASE_URL=https://typo.example.com",
		"SSPR_DIRECTORIES_0_BIND_PASSWRD=x",
		"SSPR_DIRECTORIES_7_NAME=no such element",
		"SSPR_TEST_AD_URL=ldaps://127.0.0.1:636",
		"SSPR_MAIL_SMTP_PASSWORD_FILE=" + writeFile(t, "pw", "pw\n"),
	})
	if r.Config == nil || r.Config.Server.BaseURL != "https://right.example.com" {
		t.Fatalf("the correct variable was not applied: %+v", r.Config)
	}
	for name, want := range map[string]string{
		"SSPR_SERVR_BASE_URL":             "did you mean SSPR_SERVER_BASE_URL?",
		"SSPR_DIRECTORIES_0_BIND_PASSWRD": "did you mean SSPR_DIRECTORIES_0_BIND_PASSWORD?",
		"SSPR_DIRECTORIES_7_NAME":         "matches no setting",
	} {
		p, ok := find(r.Problems, name)
		if !ok || !strings.Contains(p.Message, want) {
			t.Errorf("%s: problem %q, want one containing %q (all: %v)", name, p.Message, want, r.Problems)
		}
	}
	if len(r.Problems) != 3 {
		t.Errorf("problems = %v, want exactly the three misspelt variables", r.Problems)
	}
}

// TestReportKeepsWarningsNextToProblems: config check shows both; before,
// a single problem hid every warning.
func TestReportKeepsWarningsNextToProblems(t *testing.T) {
	t.Parallel()
	yaml := strings.Replace(validYAML, "  code_ttl: 5m", "  code_ttl: 1h", 1)
	yaml = strings.Replace(yaml, "    security: starttls", "    security: none", 1)
	r := config.ParseEnviron([]byte(yaml), nil)
	if _, ok := find(r.Problems, "reset.code_ttl"); !ok {
		t.Errorf("problems = %v, want reset.code_ttl", r.Problems)
	}
	if _, ok := find(r.Warnings, "mail.smtp.security"); !ok {
		t.Errorf("warnings = %v, want mail.smtp.security", r.Warnings)
	}
	if r.Err() == nil {
		t.Error("Err() is nil with problems")
	}
}

// TestOnlyEnabledSecretsAreRead: secret files of an SMS provider that is not
// the configured one need not exist; the configured one's must, and the
// problem names the key and the file.
func TestOnlyEnabledSecretsAreRead(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "twilio-token")
	smsYAML := "sms:\n  provider: %s\n  twilio:\n    account_sid: AC123\n    from: \"+15550100\"\n    auth_token_file: " + missing +
		"\n  webhook:\n    url: https://gw.example.com\n    body: x\n    headers:\n      - name: Authorization\n        value_file: " + missing + "\n"
	if _, err := config.Parse([]byte(validYAML+strings.Replace(smsYAML, "%s", "none", 1)), nil); err != nil {
		t.Fatalf("provider none, twilio's and the webhook's secret files missing: %v", err)
	}
	_, err := config.Parse([]byte(validYAML+strings.Replace(smsYAML, "%s", "twilio", 1)), nil)
	ps := problemsOf(t, err)
	p, ok := find(ps, "sms.twilio.auth_token_file")
	if !ok || !strings.Contains(p.Message, missing) {
		t.Errorf("problem %q does not name the file %s (all: %v)", p.Message, missing, ps)
	}
	if _, ok := find(ps, "sms.webhook.headers[0].value_file"); ok {
		t.Errorf("the webhook's secret is read although twilio is the provider: %v", ps)
	}
	// The SMTP password is read only with a user to send it for.
	yaml := strings.Replace(validYAML, "    username: sspr\n    password: mailpw\n", "    password_file: "+missing+"\n", 1)
	if _, err := config.Parse([]byte(yaml), nil); err != nil {
		t.Errorf("smtp password file without a username: %v", err)
	}
}

// TestUnreadableSecretFileNamesThePath: the problem says which file could
// not be read, not just "no such file or directory".
func TestUnreadableSecretFileNamesThePath(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no-such-file")
	yaml := strings.Replace(validYAML, "bind_password: hunter2", "bind_password_file: "+missing, 1)
	_, err := config.Parse([]byte(yaml), nil)
	p, ok := find(problemsOf(t, err), "directories[0].bind_password_file")
	if !ok || !strings.Contains(p.Message, missing) || !strings.Contains(p.Message, "no such file") {
		t.Errorf("problem %q, want the path %s and the reason", p.Message, missing)
	}
}
