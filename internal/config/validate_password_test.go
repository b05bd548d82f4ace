package config_test

import (
	"testing"

	"github.com/sspr/sspr/internal/config"
)

// TestPasswordRules: the password section's rules.
func TestPasswordRules(t *testing.T) {
	t.Parallel()
	four, five := 4, 5
	checkRules(t, []rule{
		{"every preset", func(c *config.Config) { c.Password.Preset = "ad-complexity" }, nil},
		{"unknown preset", func(c *config.Config) { c.Password.Preset = "nist" }, []string{"password.preset"}},
		{"min_score 4", func(c *config.Config) { c.Password.MinScore = &four }, nil},
		{"min_score 5", func(c *config.Config) { c.Password.MinScore = &five }, []string{"password.min_score"}},
		{"regex that does not compile, without name and message", func(c *config.Config) {
			c.Password.Regexes = []config.PasswordRegex{{Pattern: "(unclosed"}}
		}, []string{"password.regexes[0].message", "password.regexes[0].name", "password.regexes[0].pattern"}},
		{"banned words file missing", func(c *config.Config) { c.Password.BannedWordsFile = "/nonexistent/words" }, []string{"password.banned_words_file"}},
		{"on_error", func(c *config.Config) { c.Password.Breach.OnError = "ignore" }, []string{"password.breach.on_error"}},
	})
}
