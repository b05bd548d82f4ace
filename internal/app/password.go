package app

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/password/breach"
)

// breachLookup adapts the corpus checker to the rules engine's interface.
type breachLookup struct{ c *breach.Checker }

func (b breachLookup) Contains(pw string) (bool, error) { return b.c.Check(pw) }

// noCorpus tells whether the preset asks for a breach check that cannot be
// made because no corpus is configured.
func noCorpus(cfg config.Password) bool {
	if cfg.Breach.Corpus != "" {
		return false
	}
	p, err := password.Preset(cfg.Preset, password.MultiFactor(cfg.MultiFactor))
	return err == nil && p.Breach.Enabled
}

// passwordRules builds the password rules from configuration: the preset,
// then every key the operator set. The breach corpus is opened here; a
// missing or corrupt one is logged and then handled per lookup as
// password.breach.on_error says.
func passwordRules(cfg config.Password, log *slog.Logger) (*password.Rules, *breach.Checker, error) {
	p, err := password.Preset(cfg.Preset, password.MultiFactor(cfg.MultiFactor))
	if err != nil {
		return nil, nil, fmt.Errorf("password.preset: %w", err)
	}
	setInt := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setBool := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	setInt(&p.MinLength, cfg.MinLength)
	setInt(&p.MaxLength, cfg.MaxLength)
	if cfg.RequireClasses != nil {
		p.Classes.Require = cfg.RequireClasses
	}
	setInt(&p.Classes.MinOf, cfg.MinClasses)
	setInt(&p.PassphraseLength, cfg.PassphraseLength)
	setInt(&p.Context.MinPartLength, cfg.ContextMinPart)
	p.BannedWords.Words = append(p.BannedWords.Words, cfg.BannedWords...)
	if cfg.BannedWordsFile != "" {
		words, err := readWords(cfg.BannedWordsFile)
		if err != nil {
			return nil, nil, fmt.Errorf("password.banned_words_file: %w", err)
		}
		p.BannedWords.Words = append(p.BannedWords.Words, words...)
	}
	setBool(&p.BannedWords.Fuzzy, cfg.FuzzyBannedWords)
	if cfg.FuzzyBannedWords == nil && len(p.BannedWords.Words) > 0 {
		p.BannedWords.Fuzzy = true
	}
	setBool(&p.CommonPasswords, cfg.CommonPasswords)
	setInt(&p.Sequences, cfg.Sequences)
	setInt(&p.Repeats, cfg.Repeats)
	setBool(&p.Palindrome, cfg.Palindrome)
	for _, r := range cfg.Regexes {
		p.Regexes = append(p.Regexes, password.RegexRule{Name: r.Name, Pattern: r.Pattern, MustMatch: r.MustMatch,
			Message: map[string]string{"en": r.Message}})
	}
	setInt(&p.MinScore, cfg.MinScore)
	p.Breach.OnError = cfg.Breach.OnError

	var corpus *breach.Checker
	var lookup password.BreachChecker
	if cfg.Breach.Corpus == "" {
		// Check warns when the preset wanted one (serve logs it).
		p.Breach.Enabled = false
	} else {
		p.Breach.Enabled = true
		corpus = breach.NewChecker(cfg.Breach.Corpus)
		if err := corpus.Reload(); err != nil {
			log.Error("password: the breached-password corpus cannot be used; new passwords are handled as password.breach.on_error says",
				"corpus", cfg.Breach.Corpus, "on_error", cfg.Breach.OnError, "err", err)
		}
		lookup = breachLookup{corpus}
	}
	rules, err := password.NewRules(p, lookup, cfg.MergeDirectoryPolicy)
	if err != nil {
		return nil, nil, fmt.Errorf("password rules: %w", err)
	}
	return rules, corpus, nil
}

func readWords(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var words []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			words = append(words, w)
		}
	}
	return words, sc.Err()
}
