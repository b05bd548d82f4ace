package config_test

import (
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

// TestPolicyNumbers: the numbers that were fixed in code have keys, with
// today's values as defaults, and are read and checked.
func TestPolicyNumbers(t *testing.T) {
	t.Parallel()
	d := config.Defaults()
	if d.Enrollment.SessionTTL != 30*time.Minute || d.Enrollment.StepUpWindow != 15*time.Minute || d.Abuse.ProofOfWorkTTL != 10*time.Minute || d.Reset.MaxCodesSent != 0 {
		t.Errorf("defaults changed: %+v %+v %s", d.Enrollment, d.Reset, d.Abuse.ProofOfWorkTTL)
	}
	cfg := mustParse(t, validYAML+"enrollment:\n  session_ttl: 1h\n  step_up_window: 5m\nabuse:\n  proof_of_work_ttl: 2m\n", nil)
	if cfg.Enrollment.SessionTTL != time.Hour || cfg.Enrollment.StepUpWindow != 5*time.Minute || cfg.Abuse.ProofOfWorkTTL != 2*time.Minute {
		t.Errorf("not read: %+v %s", cfg.Enrollment, cfg.Abuse.ProofOfWorkTTL)
	}
	// The default cap on codes sent is 3 more than the factors offered, as
	// it was when it was fixed in code.
	if got, want := cfg.MaxCodesSent(), 3+len(cfg.Verification.Factors); got != want {
		t.Errorf("MaxCodesSent() = %d, want %d", got, want)
	}
	cfg.Reset.MaxCodesSent = 7
	if cfg.MaxCodesSent() != 7 {
		t.Errorf("MaxCodesSent() = %d, want the configured 7", cfg.MaxCodesSent())
	}
	for _, tc := range []struct {
		name   string
		mutate func(*config.Config)
		key    string
	}{
		{"session ttl zero", func(c *config.Config) { c.Enrollment.SessionTTL = 0 }, "enrollment.session_ttl"},
		{"step-up longer than the session", func(c *config.Config) { c.Enrollment.StepUpWindow = time.Hour }, "enrollment.step_up_window"},
		{"puzzle lives too briefly", func(c *config.Config) { c.Abuse.ProofOfWorkTTL = time.Second }, "abuse.proof_of_work_ttl"},
		{"negative code cap", func(c *config.Config) { c.Reset.MaxCodesSent = -1 }, "reset.max_codes_sent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, validYAML, nil)
			tc.mutate(c)
			if _, ok := find(problemsOf(t, config.Validate(c)), tc.key); !ok {
				t.Errorf("no problem at %s", tc.key)
			}
		})
	}
}
