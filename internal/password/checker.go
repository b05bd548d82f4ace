package password

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sspr/sspr/internal/password/zxcvbn"
)

// Context is what the engine knows about the person choosing the password,
// for the context rule and for zxcvbn. Extra holds other configured words to
// refuse (organisation or product name, ...).
type Context struct {
	Login       string   `json:"login,omitempty"`
	FirstName   string   `json:"firstName,omitempty"`
	LastName    string   `json:"lastName,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Extra       []string `json:"extra,omitempty"`
}

// Check is one rule's verdict (or, from Describe, one checklist item).
type Check struct {
	// ID is the rule's stable identifier ("length.min", "regex.<name>", ...).
	ID string `json:"id"`
	// MessageID is the catalogue message explaining the rule in plain words.
	MessageID string `json:"messageId"`
	// Args fill the message's {placeholders}.
	Args map[string]any `json:"args,omitempty"`
	// Text, when set, is configuration-supplied wording by language ("en"
	// fallback) that replaces MessageID's text (regular-expression rules).
	Text map[string]string `json:"text,omitempty"`
	// Passed is the verdict; always false from Describe.
	Passed bool `json:"passed"`
	// Hidden: show this item only when it fails.
	Hidden bool `json:"hidden,omitempty"`
	// Optional items inform and never make a password fail: the classes
	// listed under an "N of M" rule, the passphrase hint, history.
	Optional bool `json:"optional,omitempty"`
	// Parent is the ID of the item this one is listed under.
	Parent string `json:"parent,omitempty"`
	// Waived: the rule does not apply to this password (a long passphrase
	// skips the character classes); Passed is then true.
	Waived bool `json:"waived,omitempty"`
}

// Result is the verdict on one password.
type Result struct {
	// OK: every check that is not Optional passed.
	OK bool `json:"ok"`
	// Score is zxcvbn's strength estimate, 0 (very weak) to 4 (strong). It
	// is computed only when Scored is true: when the policy sets a minimum
	// score, or the caller asked for the meter (CheckWithStrength).
	Score int `json:"score"`
	// Scored says Score was computed. zxcvbn is the costliest part of a
	// check (about 95 % of it), so a submission that no rule needs it for
	// skips it.
	Scored bool `json:"-"`
	// Checks are in the same order as Describe's.
	Checks []Check `json:"checks"`
	// Warnings are message IDs the caller should audit or show, such as
	// WarnBreachUnchecked.
	Warnings []string `json:"warnings,omitempty"`
}

// Failed returns the checks that made the password fail.
func (r Result) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.Passed && !c.Optional {
			out = append(out, c)
		}
	}
	return out
}

// WarnBreachUnchecked: the breach corpus could not answer and the policy
// (breach.onError: allow) let the password through unchecked.
const WarnBreachUnchecked = "password.warning.breach_unchecked"

// maxInputBytes bounds the bytes the rules look at; longer input fails the
// maximum length anyway.
const maxInputBytes = 4 * HardMaxLength

// Checker applies one compiled Policy. It is safe for concurrent use.
type Checker struct {
	policy  Policy
	regexes []*regexp.Regexp
	banned  []bannedWord
	seq     map[string]struct{}
	breach  BreachChecker
}

// NewChecker validates and compiles p. breach may be nil unless
// p.Breach.Enabled.
func NewChecker(p Policy, breach BreachChecker) (*Checker, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("password policy: %w", err)
	}
	if p.Breach.Enabled && breach == nil {
		return nil, errors.New("password policy: breach.enabled is set but no breached-password corpus is configured")
	}
	c := &Checker{policy: p, breach: breach}
	for _, r := range p.Regexes {
		c.regexes = append(c.regexes, regexp.MustCompile(r.Pattern)) // validated above
	}
	for _, w := range p.BannedWords.Words {
		n := normalize(w)
		r := []rune(n)
		c.banned = append(c.banned, bannedWord{text: n, runes: r,
			head: string(r[:len(r)/2]), tail: string(r[len(r)/2:])})
	}
	if p.Sequences > 0 {
		c.seq = sequenceTable(p.Sequences)
	}
	if p.CommonPasswords {
		commonOnce.Do(loadCommon) // pay for the list at start-up, not on a keystroke
	}
	return c, nil
}

// bannedWord is a normalised banned word.
type bannedWord struct {
	text  string
	runes []rune
	// One edit changes at most one half of the word, so a fuzzy match
	// contains the other half verbatim: a cheap filter before the real work.
	head, tail string
}

// Policy returns the policy the checker applies.
func (c *Checker) Policy() Policy { return c.policy }

// Describe lists the checklist before anything is typed (every Passed
// false), in the order Check reports them. It adds Describe-only items the
// engine cannot check, such as the directory's password history.
func (c *Checker) Describe() []Check { return c.policy.Describe() }

// Describe lists the policy's checklist; see Checker.Describe.
func (p Policy) Describe() []Check {
	checks := build(p, nil, nil)
	if p.HistoryLength > 0 {
		checks = append(checks, Check{
			ID: "history", MessageID: "password.check.history",
			Args: map[string]any{"count": p.HistoryLength}, Optional: true,
		})
	}
	return checks
}

// Check judges password for the person described by u. ctx bounds the call
// to the breach corpus. The strength score is computed only when the
// policy sets a minimum score; use CheckWithStrength for a strength meter.
func (c *Checker) Check(ctx context.Context, password string, u Context) Result {
	return c.check(ctx, password, u, c.policy.MinScore > 0)
}

// CheckWithStrength is Check with the strength score always computed, for
// the live checklist's meter.
func (c *Checker) CheckWithStrength(ctx context.Context, password string, u Context) Result {
	return c.check(ctx, password, u, true)
}

func (c *Checker) check(ctx context.Context, password string, u Context, withScore bool) Result {
	length := utf8.RuneCountInString(password)
	if len(password) > maxInputBytes {
		cut := maxInputBytes
		for cut > 0 && !utf8.RuneStart(password[cut]) {
			cut--
		}
		password = password[:cut]
	}
	lower := strings.ToLower(password)
	s := &state{
		ctx:      ctx,
		c:        c,
		password: password,
		length:   length,
		lower:    lower,
		lowerR:   []rune(lower),
		norm:     normalize(password),
		classes:  classify(password),
		user:     u,
	}
	if withScore {
		s.score = c.score(password, u)
	}
	res := Result{Score: s.score, Scored: withScore}
	res.Checks = build(c.policy, c, s)
	res.Warnings = s.warnings
	res.OK = true
	for _, ch := range res.Checks {
		if !ch.Passed && !ch.Optional {
			res.OK = false
		}
	}
	return res
}

// score runs zxcvbn on the first StrengthMaxRunes runes, with the person's
// own words and the banned words as its user dictionary.
func (c *Checker) score(password string, u Context) int {
	if n := 0; len(password) > StrengthMaxRunes {
		for i := range password {
			if n == StrengthMaxRunes {
				password = password[:i]
				break
			}
			n++
		}
	}
	inputs := contextTokens(ContextRule{MinPartLength: 3}, u)
	for _, w := range c.policy.BannedWords.Words {
		inputs = append(inputs, strings.ToLower(w), normalize(w))
	}
	return zxcvbn.PasswordStrength(password, inputs).Score
}

// state is one password under evaluation.
type state struct {
	ctx      context.Context
	c        *Checker
	password string // possibly cut to maxInputBytes
	length   int    // runes of the whole input
	lower    string
	lowerR   []rune
	norm     string
	classes  classSet
	user     Context
	score    int
	warnings []string
}

type classSet uint8

const (
	cUpper classSet = 1 << iota
	cLower
	cLetter
	cDigit
	cSymbol
	cOther
)

var classBits = map[string]classSet{
	ClassUpper: cUpper, ClassLower: cLower, ClassLetter: cLetter,
	ClassDigit: cDigit, ClassSymbol: cSymbol, ClassOther: cOther,
}

// classify reports which character classes occur in s. Letters count by
// their case whatever their script; letters without case are "other".
// Combining marks and control characters belong to no class.
func classify(s string) classSet {
	var set classSet
	for _, r := range s {
		switch {
		case unicode.IsUpper(r):
			set |= cUpper | cLetter
		case unicode.IsLower(r):
			set |= cLower | cLetter
		case unicode.IsLetter(r):
			set |= cOther | cLetter
		case unicode.IsDigit(r):
			set |= cDigit
		case unicode.IsMark(r), unicode.IsControl(r), r == utf8.RuneError:
		default:
			set |= cSymbol
		}
	}
	return set
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// build produces the checks of p in their fixed order. With s == nil it
// describes (nothing evaluated); otherwise it judges s.
func build(p Policy, c *Checker, s *state) []Check {
	var out []Check
	eval := s != nil
	add := func(ch Check, passed func() bool) {
		if eval {
			ch.Passed = passed()
		}
		out = append(out, ch)
	}

	if p.MinLength > 0 {
		add(Check{ID: "length.min", MessageID: "password.check.length.min", Args: map[string]any{"min": p.MinLength}},
			func() bool { return s.length >= p.MinLength })
	}
	add(Check{ID: "length.max", MessageID: "password.check.length.max", Args: map[string]any{"max": p.effectiveMax()}},
		func() bool { return s.length <= p.effectiveMax() })

	waived := eval && p.PassphraseLength > 0 && s.length >= p.PassphraseLength
	classCheck := func(ch Check, passed func() bool) {
		if waived {
			ch.Passed, ch.Waived = true, true
			out = append(out, ch)
			return
		}
		add(ch, passed)
	}
	for _, name := range p.Classes.Require {
		bit := classBits[name]
		classCheck(Check{ID: "class." + name, MessageID: "password.check.class." + name},
			func() bool { return s.classes&bit != 0 })
	}
	if p.Classes.MinOf > 0 {
		of := p.Classes.of()
		have := 0
		if eval {
			for _, name := range of {
				if s.classes&classBits[name] != 0 {
					have++
				}
			}
		}
		classCheck(Check{ID: "class.minof", MessageID: "password.check.class.minof",
			Args: map[string]any{"n": p.Classes.MinOf, "m": len(of)}},
			func() bool { return have >= p.Classes.MinOf })
		for _, name := range of {
			bit := classBits[name]
			add(Check{ID: "class.minof." + name, MessageID: "password.check.class.item." + name,
				Parent: "class.minof", Optional: true},
				func() bool { return s.classes&bit != 0 })
		}
	}
	if p.PassphraseLength > 0 && (len(p.Classes.Require) > 0 || p.Classes.MinOf > 0) {
		add(Check{ID: "passphrase", MessageID: "password.check.passphrase",
			Args: map[string]any{"min": p.PassphraseLength}, Optional: true},
			func() bool { return waived })
	}

	if p.Context.MinPartLength > 0 || p.Context.ActiveDirectory {
		minPart := p.Context.MinPartLength
		if p.Context.ActiveDirectory && (minPart == 0 || minPart > 3) {
			minPart = 3
		}
		add(Check{ID: "context", MessageID: "password.check.context", Args: map[string]any{"min": minPart}},
			func() bool { return !s.containsContext(p.Context) })
	}
	if len(p.BannedWords.Words) > 0 {
		add(Check{ID: "banned", MessageID: "password.check.banned", Hidden: true},
			func() bool { return !s.containsBanned(c.banned, p.BannedWords.Fuzzy) })
	}
	if p.CommonPasswords {
		add(Check{ID: "common", MessageID: "password.check.common", Hidden: true},
			func() bool { return !isCommon(s.lower, s.norm) })
	}
	if p.Sequences > 0 {
		add(Check{ID: "sequence", MessageID: "password.check.sequence", Args: map[string]any{"min": p.Sequences}, Hidden: true},
			func() bool { return !hasSequence(s.lowerR, p.Sequences, c.seq) })
	}
	if p.Repeats > 0 {
		add(Check{ID: "repeat", MessageID: "password.check.repeat", Args: map[string]any{"min": p.Repeats}, Hidden: true},
			func() bool { return !hasRepeat(s.lowerR, p.Repeats) })
	}
	if p.Palindrome {
		add(Check{ID: "palindrome", MessageID: "password.check.palindrome", Hidden: true},
			func() bool { return !isPalindrome(s.lowerR) })
	}
	for i, r := range p.Regexes {
		msg := "password.check.regex.mismatch"
		if r.MustMatch {
			msg = "password.check.regex.match"
		}
		add(Check{ID: "regex." + r.Name, MessageID: msg, Text: cloneText(r.Message), Hidden: r.Hidden},
			func() bool { return c.regexes[i].MatchString(s.password) == r.MustMatch })
	}
	if p.MinScore > 0 {
		add(Check{ID: "strength", MessageID: "password.check.strength", Args: map[string]any{"min": p.MinScore}},
			func() bool { return s.scoreAtLeast(p.MinScore) })
	}
	if p.Breach.Enabled {
		ch := Check{ID: "breach", MessageID: "password.check.breach", Hidden: true}
		if eval {
			ch = s.checkBreach(ch, p.Breach)
		}
		out = append(out, ch)
	}
	add(Check{ID: "charset", MessageID: "password.check.charset", Hidden: true},
		func() bool { return printable(s.password) })
	return out
}

func cloneText(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// scoreAtLeast: the score is computed before the checks are built.
func (s *state) scoreAtLeast(min int) bool { return s.score >= min }

func (s *state) containsContext(r ContextRule) bool {
	tokens := contextTokens(r, s.user)
	for _, t := range tokens {
		if strings.Contains(s.lower, t) {
			return true
		}
	}
	if r.MinPartLength > 0 {
		// Look-alikes and separators: J0hn, j.o.h.n.
		for _, t := range tokens {
			if n := normalize(t); utf8.RuneCountInString(n) >= r.MinPartLength && strings.Contains(s.norm, n) {
				return true
			}
		}
	}
	return false
}

func (s *state) containsBanned(words []bannedWord, fuzzy bool) bool {
	var norm []rune
	for _, bw := range words {
		w := bw.runes
		if strings.Contains(s.norm, bw.text) {
			return true
		}
		if fuzzy && len(w) >= FuzzyMinRunes &&
			(strings.Contains(s.norm, bw.head) || strings.Contains(s.norm, bw.tail)) {
			if norm == nil {
				norm = []rune(s.norm)
			}
			if containsFuzzy(norm, w, 1) {
				return true
			}
		}
	}
	return false
}

func (s *state) checkBreach(ch Check, r BreachRule) Check {
	found, err := false, s.ctx.Err()
	if err == nil {
		found, err = s.c.breach.Contains(s.password)
	}
	switch {
	case err == nil:
		ch.Passed = !found
	case r.OnError == OnErrorAllow:
		ch.Passed = true
		ch.Args = map[string]any{"unchecked": true}
		s.warnings = append(s.warnings, WarnBreachUnchecked)
	default:
		ch.MessageID = "password.check.breach.unavailable"
	}
	return ch
}
