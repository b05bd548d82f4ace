package config_test

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

const examplePath = "../../sspr.example.yaml"

func readExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exampleEnv points every file the example names at files that exist, the
// way an operator would with SSPR_* variables in a container.
func exampleEnv(t *testing.T) env {
	t.Helper()
	ca := writeFile(t, "ca.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
	return env{
		"SSPR_SECRETS_HMAC_KEY_FILE":            writeFile(t, "hmac", testHMACKey+"\n"),
		"SSPR_DIRECTORIES_0_BIND_PASSWORD_FILE": writeFile(t, "corp", "corp-bind-pw\n"),
		"SSPR_DIRECTORIES_0_CA_FILE":            ca,
		"SSPR_DIRECTORIES_1_BIND_PASSWORD_FILE": writeFile(t, "lab", "lab-bind-pw\n"),
		"SSPR_DIRECTORIES_1_CA_FILE":            ca,
		"SSPR_MAIL_SMTP_PASSWORD_FILE":          writeFile(t, "smtp", "smtp-pw\n"),
		"SSPR_MAIL_SMTP_CA_FILE":                ca,
		"SSPR_SECRETS_KEYRING_FILE":             writeFile(t, "keyring", "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"),
		"SSPR_SMS_TWILIO_AUTH_TOKEN_FILE":       writeFile(t, "twilio", "twilio-token\n"),
		"SSPR_SMS_WEBHOOK_HEADERS_0_VALUE_FILE": writeFile(t, "gw", "Bearer gw-token\n"),
	}
}

func TestExampleParses(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, readExample(t), exampleEnv(t))
	if len(cfg.Directories) != 1 {
		t.Fatalf("directories = %d, want the one active AD directory", len(cfg.Directories))
	}
	ad := cfg.Directories[0]
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"type", ad.Type, "ad"},
		{"first url", ad.URLs[0], "ldaps://dc1.example.com:636"},
		{"bind password from file", ad.BindPassword.Value, "corp-bind-pw"},
		{"smtp security", cfg.Mail.SMTP.Security, "starttls"},
		{"smtp password from file", cfg.Mail.SMTP.Password.Value, "smtp-pw"},
		{"hmac key", len(cfg.HMACKeyBytes()), 32},
		// The example states the defaults; keep it honest.
		{"code_ttl", cfg.Reset.CodeTTL, 10 * time.Minute},
		{"outbox", cfg.Mail.Outbox, config.Defaults().Mail.Outbox},
		{"reset", cfg.Reset, config.Defaults().Reset},
		{"enrollment", cfg.Enrollment, config.Defaults().Enrollment},
		{"abuse", cfg.Abuse, config.Defaults().Abuse},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("the example draws warnings: %v", w)
	}
}

// TestExampleOpenLDAPBlock uncomments the OpenLDAP example and checks it is a
// valid second directory.
func TestExampleOpenLDAPBlock(t *testing.T) {
	t.Parallel()
	lines := strings.Split(readExample(t), "\n")
	start := -1
	for i, l := range lines {
		if strings.Contains(l, "# OpenLDAP") {
			start = i + 1
			break
		}
	}
	if start < 0 {
		t.Fatal("no commented-out OpenLDAP directory in the example")
	}
	n := 0
	for i := start; i < len(lines) && strings.HasPrefix(lines[i], "  # "); i++ {
		lines[i] = "  " + strings.TrimPrefix(lines[i], "  # ")
		n++
	}
	if n < 5 {
		t.Fatalf("OpenLDAP block has %d lines", n)
	}
	cfg := mustParse(t, strings.Join(lines, "\n"), exampleEnv(t))
	if len(cfg.Directories) != 2 {
		t.Fatalf("directories = %d, want 2", len(cfg.Directories))
	}
	lab := cfg.Directories[1]
	if lab.Type != "openldap" || !lab.StartTLS || lab.PasswordWrite != "exop" || lab.BindPassword.Value != "lab-bind-pw" {
		t.Errorf("OpenLDAP directory = %+v", lab)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("the OpenLDAP example draws warnings: %v", w)
	}
}

// TestExampleExplainsEveryKey walks the Config struct and checks that every
// yaml key appears in the example (set or commented out) within its
// top-level section, so the example cannot fall behind the code.
func TestExampleExplainsEveryKey(t *testing.T) {
	t.Parallel()
	text := readExample(t)

	// Split the example into its top-level sections.
	sections := map[string]string{}
	top := regexp.MustCompile(`(?m)^([a-z_]+):`)
	locs := top.FindAllStringSubmatchIndex(text, -1)
	for i, loc := range locs {
		end := len(text)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		sections[text[loc[2]:loc[3]]] = text[loc[0]:end]
	}

	secretType := reflect.TypeOf(config.Secret{})
	durationType := reflect.TypeOf(time.Duration(0))
	var keys [][]string // each a key path
	var walk func(reflect.Type, []string)
	walk = func(typ reflect.Type, path []string) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "" || key == "-" {
				t.Errorf("%s.%s has no yaml key", strings.Join(path, "."), f.Name)
				continue
			}
			p := append(append([]string(nil), path...), key)
			keys = append(keys, p)
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != secretType && ft != durationType {
				walk(ft, p)
			}
		}
	}
	walk(reflect.TypeOf(config.Config{}), nil)
	if len(keys) < 50 {
		t.Fatalf("found only %d keys; is the walk broken?", len(keys))
	}

	for _, p := range keys {
		section, ok := sections[p[0]]
		if !ok {
			t.Errorf("the example has no %q section", p[0])
			continue
		}
		leaf := regexp.QuoteMeta(p[len(p)-1])
		// "key:" or, for secrets, "key_file:", set or behind a "#", possibly
		// as the first key of a list element.
		re := regexp.MustCompile(`(?m)^[ \t]*(#[ \t]*)?(-[ \t]*)?` + leaf + `(_file)?:`)
		if !re.MatchString(section) {
			t.Errorf("the example does not explain %s", strings.Join(p, "."))
		}
	}
}

// TestExamplePoliciesBlock uncomments the example policies and checks they
// are valid as written.
func TestExamplePoliciesBlock(t *testing.T) {
	t.Parallel()
	lines := strings.Split(readExample(t), "\n")
	start := -1
	for i, l := range lines {
		if l == "policies: []" {
			lines[i], start = "policies:", i+1
			break
		}
	}
	if start < 0 {
		t.Fatal("no policies: [] in the example")
	}
	n := 0
	for i := start; i < len(lines) && strings.HasPrefix(lines[i], "# "); i++ {
		lines[i] = strings.TrimPrefix(lines[i], "# ")
		n++
	}
	cfg := mustParse(t, strings.Join(lines, "\n"), exampleEnv(t))
	if len(cfg.Policies) != 2 || n < 20 {
		t.Fatalf("policies = %d from %d lines, want 2", len(cfg.Policies), n)
	}
	if a := cfg.Policies[0]; a.Name != "admins" || len(a.Mandatory) != 1 || a.Required.Reset != 2 {
		t.Errorf("admins = %+v", a)
	}
	if f := cfg.Policies[1]; f.Actions.Unlock == nil || *f.Actions.Unlock {
		t.Errorf("finance does not switch unlock off: %+v", f.Actions)
	}
}
