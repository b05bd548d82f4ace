package config_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/config"
)

func TestSecretEdgeCases(t *testing.T) {
	t.Parallel()
	empty := writeFile(t, "empty", "\n")
	given := writeFile(t, "pw", "from-file\n")
	missing := filepath.Join(t.TempDir(), "no-such-file")

	// An unreadable file is one problem, not also "is required".
	yaml := strings.Replace(validYAML, "bind_password: hunter2", "bind_password_file: "+missing, 1)
	_, err := config.Parse([]byte(yaml), nil)
	if _, dup := find(problemsOf(t, err), "directories[0].bind_password"); dup {
		t.Errorf("an unreadable secret file is also reported as missing: %v", err)
	}
	// An empty file is a problem.
	yaml = strings.Replace(validYAML, "bind_password: hunter2", "bind_password_file: "+empty, 1)
	_, err = config.Parse([]byte(yaml), nil)
	if p, ok := find(problemsOf(t, err), "directories[0].bind_password_file"); !ok || !strings.Contains(p.Message, "empty") {
		t.Errorf("empty secret file: %v", err)
	}
	// Inline and file at once: keep one.
	yaml = strings.Replace(validYAML, "bind_password: hunter2", "bind_password: hunter2\n    bind_password_file: "+given, 1)
	_, err = config.Parse([]byte(yaml), nil)
	if p, ok := find(problemsOf(t, err), "directories[0].bind_password"); !ok || !strings.Contains(p.Message, "keep one") {
		t.Errorf("inline and file: %v", err)
	}
	// A typo in a _file key gets a suggestion.
	yaml = strings.Replace(validYAML, "bind_password: hunter2", "bind_pasword_file: "+given, 1)
	_, err = config.Parse([]byte(yaml), nil)
	if p, ok := find(problemsOf(t, err), "directories[0].bind_pasword_file"); !ok || !strings.Contains(p.Message, `"bind_password_file"`) {
		t.Errorf("typo in a _file key: %v", err)
	}
}

func TestEnvBooleansReadLikeYAML(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"yes", "on", "true", "1"} {
		cfg := mustParse(t, validYAML, env{"SSPR_DIRECTORIES_0_START_TLS": v, "SSPR_DIRECTORIES_0_URLS": "ldap://dc1.example.com:389"})
		if !cfg.Directories[0].StartTLS {
			t.Errorf("SSPR_DIRECTORIES_0_START_TLS=%s not read as true", v)
		}
	}
}

func TestSecurityQuestionsNeverAlone(t *testing.T) {
	t.Parallel()
	for name, yaml := range map[string]string{
		"only factor":  "verification:\n  factors: [questions]\n  first_factor: \"\"\n  required: {reset: 1, unlock: 1}\n",
		"first factor": "verification:\n  factors: [email, questions]\n  first_factor: questions\n  required: {reset: 2, unlock: 2}\n",
		"one required": "verification:\n  factors: [email, questions]\n  first_factor: email\n  required: {reset: 1, unlock: 1}\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Parse([]byte(validYAML+yaml), nil)
			if err == nil || !strings.Contains(err.Error(), "questions") {
				t.Fatalf("security questions accepted as %s: %v", name, err)
			}
		})
	}
	ok := "verification:\n  factors: [email, questions]\n  first_factor: email\n  required: {reset: 2, unlock: 2}\n" +
		"  questions:\n    questions:\n      - {id: a, text: \"First school?\"}\n      - {id: b, text: \"First street?\"}\n      - {id: c, text: \"First concert?\"}\n"
	if _, err := config.Parse([]byte(validYAML+ok), nil); err != nil {
		t.Fatalf("questions as a second factor: %v", err)
	}
}
