package password

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"unicode/utf8"
)

// Character class names, used in ClassRule.
const (
	ClassUpper  = "upper"  // uppercase letters of any script (A, Ä, Ω, Ж)
	ClassLower  = "lower"  // lowercase letters of any script (a, ß, ω, ж)
	ClassLetter = "letter" // any letter, whatever its case
	ClassDigit  = "digit"  // decimal digits
	ClassSymbol = "symbol" // anything printable that is neither letter nor digit, space included
	ClassOther  = "other"  // letters without case (Chinese, Japanese, Arabic, ...)
)

// Limits the engine enforces whatever the configuration says.
const (
	// HardMaxLength is the longest password any policy may accept, in runes.
	// It bounds the work one request can cause.
	HardMaxLength = 1024
	// StrengthMaxRunes is how much of a password zxcvbn looks at: its cost
	// grows steeply with length (≈ 0.2 ms at 16 runes, ≈ 6 ms at 64).
	StrengthMaxRunes = 64
	// FuzzyMinRunes is the shortest normalised banned word matched fuzzily;
	// shorter words must appear exactly, or a four-letter word would refuse
	// every password containing any three of its letters in a row.
	FuzzyMinRunes = 5
	// MinBannedWordRunes is the shortest banned word accepted in a policy
	// (after normalisation), as in Entra ID.
	MinBannedWordRunes = 4
)

// Breach error policies (BreachRule.OnError).
const (
	OnErrorRefuse = "refuse"
	OnErrorAllow  = "allow"
)

// Policy is a complete set of password rules. The zero value accepts
// almost anything; build one with Preset and override fields from
// configuration. A zero or empty field switches its rule off.
type Policy struct {
	// Preset names the preset this policy started from (informational).
	Preset string `json:"preset,omitempty" yaml:"preset"`
	// MinLength is the minimum length in runes (not bytes).
	MinLength int `json:"minLength" yaml:"minLength"`
	// MaxLength is the maximum length in runes; 0 means HardMaxLength.
	MaxLength int `json:"maxLength" yaml:"maxLength"`
	// Classes are the character-class (composition) rules.
	Classes ClassRule `json:"classes" yaml:"classes"`
	// PassphraseLength: passwords of at least this many runes skip the
	// class rules. 0 never skips.
	PassphraseLength int `json:"passphraseLength,omitempty" yaml:"passphraseLength"`
	// Context refuses passwords containing the person's login or names.
	Context ContextRule `json:"context" yaml:"context"`
	// BannedWords is the organisation's own list of forbidden words.
	BannedWords BannedWordsRule `json:"bannedWords" yaml:"bannedWords"`
	// CommonPasswords refuses the 10,000 most common passwords (from
	// zxcvbn's list), compared case-insensitively and after normalisation
	// (p@ssw0rd is password).
	CommonPasswords bool `json:"commonPasswords" yaml:"commonPasswords"`
	// Sequences refuses keyboard-row and alphabet/digit runs (forwards or
	// backwards) of at least this many runes: qwer, azer, qwertz, abcd,
	// 4321. 0 is off; otherwise at least 3.
	Sequences int `json:"sequences,omitempty" yaml:"sequences"`
	// Repeats refuses a character repeated this many times in a row (aaaa).
	// 0 is off; otherwise at least 2.
	Repeats int `json:"repeats,omitempty" yaml:"repeats"`
	// Palindrome refuses passwords that read the same backwards.
	Palindrome bool `json:"palindrome,omitempty" yaml:"palindrome"`
	// Regexes are the organisation's own must-match / must-not-match rules.
	Regexes []RegexRule `json:"regexes,omitempty" yaml:"regexes"`
	// MinScore is the minimum zxcvbn score, 0 (off) to 4.
	MinScore int `json:"minScore,omitempty" yaml:"minScore"`
	// Breach refuses passwords found in a breached-password corpus.
	Breach BreachRule `json:"breach" yaml:"breach"`
	// HistoryLength is informational: the directory refuses the last N
	// passwords; Describe lists it so the person sees every rule in one place.
	HistoryLength int `json:"historyLength,omitempty" yaml:"historyLength"`
}

// ClassRule is the composition rule: classes that are each required, and
// "at least MinOf of the classes in Of".
type ClassRule struct {
	// Require lists classes of which the password needs at least one
	// character each.
	Require []string `json:"require,omitempty" yaml:"require"`
	// MinOf is how many of the classes in Of must be present; 0 is off.
	MinOf int `json:"minOf,omitempty" yaml:"minOf"`
	// Of lists the classes MinOf counts; empty means upper, lower, digit,
	// symbol.
	Of []string `json:"of,omitempty" yaml:"of"`
}

// ContextRule refuses passwords containing the person's own data.
type ContextRule struct {
	// MinPartLength switches on the general rule (as Entra ID does): the
	// login, first and last name, display name and extra values, each whole
	// and split into parts on separators and camel case, are refused when
	// they are at least MinPartLength runes long. Comparison is
	// case-insensitive and also done on the normalised password (J0hn is
	// john). 0 is off; 4 is the usual value.
	MinPartLength int `json:"minPartLength,omitempty" yaml:"minPartLength"`
	// ActiveDirectory also applies AD's own rule (complexity setting): the
	// whole sAMAccountName (login) if at least 3 runes, and the display name
	// split on , . - _ # space and tab into tokens of at least 3 runes,
	// case-insensitively.
	ActiveDirectory bool `json:"activeDirectory,omitempty" yaml:"activeDirectory"`
}

// BannedWordsRule is the organisation's banned-word list. Words and password
// are normalised (lowercase; 0→o 1→l 3→e 4→a 5→s 7→t $→s @→a !→i |→l;
// everything but letters and digits removed); a word matches when the
// normalised password contains it, or with Fuzzy, contains a run of
// characters within edit distance 1 of it (one character changed, added or
// removed: contoso matches contosa, contos and contooso, not contest) — for
// words of at least FuzzyMinRunes runes.
type BannedWordsRule struct {
	Words []string `json:"words,omitempty" yaml:"words"`
	Fuzzy bool     `json:"fuzzy,omitempty" yaml:"fuzzy"`
}

// RegexRule is a regular expression (Go RE2 syntax, so it runs in linear
// time) the password must match or must not match.
type RegexRule struct {
	// Name is the rule's stable ID; its check is "regex.<Name>".
	Name string `json:"name" yaml:"name"`
	// Pattern is the regular expression.
	Pattern string `json:"pattern" yaml:"pattern"`
	// MustMatch: true means the password must match; false, must not.
	MustMatch bool `json:"mustMatch" yaml:"mustMatch"`
	// Message is the explanation shown to the person, by language
	// ("en", "de", ...); "en" is the fallback.
	Message map[string]string `json:"message,omitempty" yaml:"message"`
	// Hidden: show it only when it fails.
	Hidden bool `json:"hidden,omitempty" yaml:"hidden"`
}

// BreachRule refuses passwords found in a breached-password corpus.
type BreachRule struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// OnError decides what happens when the corpus cannot answer:
	// "refuse" (the default) fails the check; "allow" passes it and the
	// Result carries the warning WarnBreachUnchecked so the caller can audit.
	OnError string `json:"onError,omitempty" yaml:"onError"`
}

// BreachChecker answers whether a password appears in a breached-password
// corpus. It is implemented elsewhere (an offline corpus); it must be safe
// for concurrent use.
type BreachChecker interface {
	Contains(password string) (bool, error)
}

// DirectoryPolicy is the directory's own effective password policy (AD
// default domain policy or fine-grained policy, ppolicy, ...).
type DirectoryPolicy struct {
	MinLength int // 0: none
	MaxLength int // 0: none known
	// Complexity is AD's "password must meet complexity requirements".
	Complexity    bool
	HistoryLength int
}

// adClasses are the five categories AD's complexity setting counts.
var adClasses = []string{ClassUpper, ClassLower, ClassDigit, ClassSymbol, ClassOther}

// defaultOf is what ClassRule.MinOf counts when Of is empty.
var defaultOf = []string{ClassUpper, ClassLower, ClassDigit, ClassSymbol}

var knownClasses = []string{ClassUpper, ClassLower, ClassLetter, ClassDigit, ClassSymbol, ClassOther}

// effectiveMax is the maximum length the policy enforces.
func (p Policy) effectiveMax() int {
	if p.MaxLength <= 0 || p.MaxLength > HardMaxLength {
		return HardMaxLength
	}
	return p.MaxLength
}

func (r ClassRule) of() []string {
	if len(r.Of) == 0 {
		return defaultOf
	}
	return r.Of
}

// MergeDirectory returns p tightened by the directory's policy, so the person
// sees one list of rules: the longer minimum, the shorter maximum, the longer
// history. AD complexity adds AD's rule: at least 3 of its 5 classes, its
// login/display-name rule, and no passphrase exemption (AD has none, so a
// long passphrase without the mix would be refused by the directory).
func (p Policy) MergeDirectory(d DirectoryPolicy) Policy {
	p.Classes.Require = slices.Clone(p.Classes.Require)
	p.Classes.Of = slices.Clone(p.Classes.Of)
	p.MinLength = max(p.MinLength, d.MinLength)
	if d.MaxLength > 0 && (p.MaxLength <= 0 || d.MaxLength < p.MaxLength) {
		p.MaxLength = d.MaxLength
	}
	p.HistoryLength = max(p.HistoryLength, d.HistoryLength)
	if d.Complexity {
		p.PassphraseLength = 0
		p.Context.ActiveDirectory = true
		// Counting ≥ 3 of a subset of AD's classes implies AD's rule;
		// anything else (e.g. "letter", which overlaps) is replaced.
		subset := p.Classes.MinOf > 0
		for _, c := range p.Classes.of() {
			if !slices.Contains(adClasses, c) {
				subset = false
			}
		}
		if !subset {
			p.Classes.Of = slices.Clone(adClasses)
		}
		p.Classes.MinOf = min(max(p.Classes.MinOf, 3), len(p.Classes.of()))
	}
	return p
}

// Validate reports every problem of the policy at once, each naming its key.
func (p Policy) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	if p.MinLength < 0 {
		bad("minLength", "must not be negative, got %d", p.MinLength)
	}
	if p.MaxLength < 0 || p.MaxLength > HardMaxLength {
		bad("maxLength", "must be between 0 (no own limit) and %d, got %d", HardMaxLength, p.MaxLength)
	} else if p.MinLength > p.effectiveMax() {
		bad("maxLength", "%d is shorter than minLength %d", p.effectiveMax(), p.MinLength)
	}
	for i, c := range p.Classes.Require {
		if !slices.Contains(knownClasses, c) {
			bad(fmt.Sprintf("classes.require[%d]", i), "unknown class %q (known: %v)", c, knownClasses)
		}
	}
	for i, c := range p.Classes.Of {
		if !slices.Contains(knownClasses, c) {
			bad(fmt.Sprintf("classes.of[%d]", i), "unknown class %q (known: %v)", c, knownClasses)
		}
		if slices.Index(p.Classes.Of, c) != i {
			bad(fmt.Sprintf("classes.of[%d]", i), "class %q listed twice", c)
		}
	}
	if p.Classes.MinOf < 0 || p.Classes.MinOf > len(p.Classes.of()) {
		bad("classes.minOf", "must be between 0 and %d (the number of classes in classes.of), got %d", len(p.Classes.of()), p.Classes.MinOf)
	}
	if p.PassphraseLength < 0 {
		bad("passphraseLength", "must not be negative, got %d", p.PassphraseLength)
	} else if p.PassphraseLength > 0 && p.PassphraseLength < p.MinLength {
		bad("passphraseLength", "%d is shorter than minLength %d", p.PassphraseLength, p.MinLength)
	}
	if p.Context.MinPartLength < 0 {
		bad("context.minPartLength", "must not be negative, got %d", p.Context.MinPartLength)
	} else if p.Context.MinPartLength > 0 && p.Context.MinPartLength < 3 {
		bad("context.minPartLength", "must be 0 (off) or at least 3, got %d", p.Context.MinPartLength)
	}
	for i, w := range p.BannedWords.Words {
		if n := utf8.RuneCountInString(normalize(w)); n < MinBannedWordRunes {
			bad(fmt.Sprintf("bannedWords.words[%d]", i), "%q is %d characters after normalisation; at least %d are needed", w, n, MinBannedWordRunes)
		}
	}
	if p.Sequences != 0 && p.Sequences < 3 {
		bad("sequences", "must be 0 (off) or at least 3, got %d", p.Sequences)
	}
	if p.Repeats != 0 && p.Repeats < 2 {
		bad("repeats", "must be 0 (off) or at least 2, got %d", p.Repeats)
	}
	seen := map[string]bool{}
	for i, r := range p.Regexes {
		key := fmt.Sprintf("regexes[%d]", i)
		if !validName(r.Name) {
			bad(key+".name", "%q must be 1-64 letters, digits, '-' or '_'", r.Name)
		} else if seen[r.Name] {
			bad(key+".name", "%q is used twice", r.Name)
		}
		seen[r.Name] = true
		if _, err := regexp.Compile(r.Pattern); err != nil {
			bad(key+".pattern", "%v", err)
		}
	}
	if p.MinScore < 0 || p.MinScore > 4 {
		bad("minScore", "must be between 0 and 4, got %d", p.MinScore)
	}
	switch p.Breach.OnError {
	case "", OnErrorRefuse, OnErrorAllow:
	default:
		bad("breach.onError", "must be %q or %q, got %q", OnErrorRefuse, OnErrorAllow, p.Breach.OnError)
	}
	if p.HistoryLength < 0 {
		bad("historyLength", "must not be negative, got %d", p.HistoryLength)
	}
	return errors.Join(errs...)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func validName(s string) bool { return nameRE.MatchString(s) }

// Preset names.
const (
	PresetNIST   = "nist-800-63b-4"
	PresetPCI    = "pci-dss-4"
	PresetAD     = "ad-complexity"
	PresetCustom = "custom"
)

// Presets lists the preset names Preset accepts.
func Presets() []string { return []string{PresetNIST, PresetPCI, PresetAD, PresetCustom} }

// PresetOption adjusts how a preset is built.
type PresetOption func(*presetOptions)

type presetOptions struct{ multiFactor bool }

// MultiFactor says the password is used inside multi-factor authentication.
// NIST SP 800-63B-4 then requires 8 characters instead of 15.
func MultiFactor(on bool) PresetOption { return func(o *presetOptions) { o.multiFactor = on } }

// Preset returns the named policy, ready to be overridden:
//
//   - nist-800-63b-4: at least 15 runes (8 with MultiFactor(true)), accepts up
//     to 128, no composition rules, blocklists (common passwords, the
//     person's own data) and the breach corpus (refusing when it cannot
//     answer), so it needs a BreachChecker.
//   - pci-dss-4: at least 12 runes, letters and digits, common passwords
//     refused, history of 4 shown.
//   - ad-complexity: Active Directory's default domain policy: at least 7
//     runes, 3 of AD's 5 character categories, not the sAMAccountName nor a
//     display-name token of 3 or more runes.
//   - custom: a modest base to build on: at least 8 runes, common
//     passwords and the person's own data (parts of 4+) refused.
//
// All presets cap the length at 128 runes.
func Preset(name string, opts ...PresetOption) (Policy, error) {
	var o presetOptions
	for _, opt := range opts {
		opt(&o)
	}
	p := Policy{Preset: name, MaxLength: 128}
	switch name {
	case PresetNIST:
		p.MinLength = 15
		if o.multiFactor {
			p.MinLength = 8
		}
		p.CommonPasswords = true
		p.Context.MinPartLength = 4
		p.Breach = BreachRule{Enabled: true, OnError: OnErrorRefuse}
	case PresetPCI:
		p.MinLength = 12
		p.Classes.Require = []string{ClassLetter, ClassDigit}
		p.CommonPasswords = true
		p.HistoryLength = 4
	case PresetAD:
		p.MinLength = 7
		p.Classes = ClassRule{MinOf: 3, Of: slices.Clone(adClasses)}
		p.Context.ActiveDirectory = true
	case PresetCustom:
		p.MinLength = 8
		p.CommonPasswords = true
		p.Context.MinPartLength = 4
	default:
		return Policy{}, fmt.Errorf("password preset %q: unknown (known: %v)", name, Presets())
	}
	return p, nil
}
