package password

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

var john = Context{Login: "jdoe", FirstName: "John", LastName: "Doe", DisplayName: "John Doe"}

// failed returns the IDs of the checks that made r fail, sorted.
func failed(r Result) []string {
	ids := []string{}
	for _, c := range r.Failed() {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	return ids
}

func mustChecker(t testing.TB, p Policy, b BreachChecker) *Checker {
	t.Helper()
	c, err := NewChecker(p, b)
	if err != nil {
		t.Fatalf("NewChecker: %v", err)
	}
	return c
}

func find(r Result, id string) (Check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// TestRules runs one rule at a time on a policy that has nothing else.
func TestRules(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		pw     string
		user   Context
		fail   []string // failing check IDs, sorted; nil means OK
	}{
		// length counts runes, not bytes
		{"min ok", Policy{MinLength: 8}, "abcdefgh", Context{}, nil},
		{"min short", Policy{MinLength: 8}, "abcdefg", Context{}, []string{"length.min"}},
		{"min counts runes", Policy{MinLength: 4}, "äöüß", Context{}, nil}, // 8 bytes, 4 runes
		{"max counts runes", Policy{MaxLength: 4}, "äöüß", Context{}, nil}, // would fail on bytes
		{"max long", Policy{MaxLength: 4}, "äöüßx", Context{}, []string{"length.max"}},
		{"hard max", Policy{}, strings.Repeat("x", HardMaxLength+1), Context{}, []string{"length.max"}},
		{"huge input", Policy{}, strings.Repeat("€", 3*HardMaxLength), Context{}, []string{"length.max"}},

		// required classes
		{"upper missing", Policy{Classes: ClassRule{Require: []string{ClassUpper}}}, "abc1!", Context{}, []string{"class.upper"}},
		{"upper non-ASCII", Policy{Classes: ClassRule{Require: []string{ClassUpper}}}, "Ärger", Context{}, nil},
		{"upper Greek", Policy{Classes: ClassRule{Require: []string{ClassUpper}}}, "Ωmega", Context{}, nil},
		{"lower non-ASCII", Policy{Classes: ClassRule{Require: []string{ClassLower}}}, "ABCß", Context{}, nil},
		{"lower missing", Policy{Classes: ClassRule{Require: []string{ClassLower}}}, "ABC1", Context{}, []string{"class.lower"}},
		{"digit missing", Policy{Classes: ClassRule{Require: []string{ClassDigit}}}, "Abc!", Context{}, []string{"class.digit"}},
		{"symbol", Policy{Classes: ClassRule{Require: []string{ClassSymbol}}}, "Abc 1", Context{}, nil},
		{"symbol missing", Policy{Classes: ClassRule{Require: []string{ClassSymbol}}}, "Abc1", Context{}, []string{"class.symbol"}},
		{"letter from CJK", Policy{Classes: ClassRule{Require: []string{ClassLetter, ClassDigit}}}, "密码12345", Context{}, nil},
		{"letter missing", Policy{Classes: ClassRule{Require: []string{ClassLetter, ClassDigit}}}, "1234!", Context{}, []string{"class.letter"}},
		{"other CJK", Policy{Classes: ClassRule{Require: []string{ClassOther}}}, "密a", Context{}, nil},
		{"other missing", Policy{Classes: ClassRule{Require: []string{ClassOther}}}, "Aa", Context{}, []string{"class.other"}},

		// N of M
		{"3 of 4 ok", Policy{Classes: ClassRule{MinOf: 3}}, "abcD1", Context{}, nil},
		{"3 of 4 short", Policy{Classes: ClassRule{MinOf: 3}}, "abcD", Context{}, []string{"class.minof"}},
		{"3 of 4 ignores CJK", Policy{Classes: ClassRule{MinOf: 3}}, "密码a1", Context{}, []string{"class.minof"}},
		{"3 of AD 5 counts CJK", Policy{Classes: ClassRule{MinOf: 3, Of: adClasses}}, "密码a1", Context{}, nil},

		// long passphrase skips the classes, not the rest
		{"passphrase skips classes", Policy{PassphraseLength: 20, Classes: ClassRule{MinOf: 3, Require: []string{ClassDigit}}},
			"correct horse battery", Context{}, nil},
		{"short phrase needs classes", Policy{PassphraseLength: 20, Classes: ClassRule{MinOf: 3, Require: []string{ClassDigit}}},
			"correct horse", Context{}, []string{"class.digit", "class.minof"}},
		{"passphrase keeps length max", Policy{PassphraseLength: 20, MaxLength: 21, Classes: ClassRule{MinOf: 3}},
			"correct horse battery staple", Context{}, []string{"length.max"}},

		// context words: parts of ≥ 4 runes
		{"context first name", Policy{Context: ContextRule{MinPartLength: 4}}, "JohnnyRocket1!", john, []string{"context"}},
		{"context 3-char last name ignored", Policy{Context: ContextRule{MinPartLength: 4}}, "Doe-Rocket-99", john, nil},
		{"context login whole", Policy{Context: ContextRule{MinPartLength: 4}}, "xxJDOExx", john, []string{"context"}},
		{"context look-alike", Policy{Context: ContextRule{MinPartLength: 4}}, "J0hn-Rocket", john, []string{"context"}},
		{"context split by separators", Policy{Context: ContextRule{MinPartLength: 4}}, "j.o.h.n rocket", john, []string{"context"}},
		{"context camel-case login", Policy{Context: ContextRule{MinPartLength: 4}}, "marymoon77!", Context{Login: "MaryPoppins"}, []string{"context"}},
		{"context dotted login part", Policy{Context: ContextRule{MinPartLength: 4}}, "poppins-rocket", Context{Login: "mary.poppins"}, []string{"context"}},
		{"context extra value", Policy{Context: ContextRule{MinPartLength: 4}}, "I love Contoso", Context{Extra: []string{"Contoso Ltd"}}, []string{"context"}},
		{"context unrelated", Policy{Context: ContextRule{MinPartLength: 4}}, "Sunny-Garden42!", john, nil},
		{"context empty user", Policy{Context: ContextRule{MinPartLength: 4}}, "Sunny-Garden42!", Context{}, nil},

		// AD's own rule: whole login ≥ 3, display-name tokens ≥ 3, no parts of the login
		{"AD display token 3", Policy{Context: ContextRule{ActiveDirectory: true}}, "Doe-Rocket-99", john, []string{"context"}},
		{"AD login whole", Policy{Context: ContextRule{ActiveDirectory: true}}, "xjdoex", john, []string{"context"}},
		{"AD login not split", Policy{Context: ContextRule{ActiveDirectory: true}}, "poppins-rocket", Context{Login: "mary.poppins"}, nil},
		{"AD 2-char token ignored", Policy{Context: ContextRule{ActiveDirectory: true}}, "Li-Rocket-99", Context{Login: "wl", DisplayName: "Wei Li"}, nil},
		{"AD no look-alikes", Policy{Context: ContextRule{ActiveDirectory: true}}, "J0hn-Rocket", john, nil},
		{"AD display name # delimiter", Policy{Context: ContextRule{ActiveDirectory: true}}, "xxSmithxx", Context{DisplayName: "Anna#Smith"}, []string{"context"}},

		// built-in common passwords
		{"common exact", Policy{CommonPasswords: true}, "password", Context{}, []string{"common"}},
		{"common case", Policy{CommonPasswords: true}, "Password", Context{}, []string{"common"}},
		{"common look-alike", Policy{CommonPasswords: true}, "P@ssw0rd", Context{}, []string{"common"}},
		{"common digits", Policy{CommonPasswords: true}, "123456789", Context{}, []string{"common"}},
		{"common keyboard", Policy{CommonPasswords: true}, "qwertyuiop", Context{}, []string{"common"}},
		{"common only whole", Policy{CommonPasswords: true}, "password-is-long-enough", Context{}, nil},
		{"not common", Policy{CommonPasswords: true}, "Sunny-Garden42!", Context{}, nil},

		// keyboard and alphabet sequences, forwards and backwards
		{"seq qwerty", Policy{Sequences: 4}, "xxqwerxx", Context{}, []string{"sequence"}},
		{"seq qwerty upper", Policy{Sequences: 4}, "xxQWERxx", Context{}, []string{"sequence"}},
		{"seq reversed", Policy{Sequences: 4}, "xxrewqxx", Context{}, []string{"sequence"}},
		{"seq azerty", Policy{Sequences: 4}, "xxazerxx", Context{}, []string{"sequence"}},
		{"seq azerty 2nd row", Policy{Sequences: 4}, "xxqsdfxx", Context{}, []string{"sequence"}},
		{"seq qwertz", Policy{Sequences: 4}, "xxrtzuxx", Context{}, []string{"sequence"}},
		{"seq qwertz umlauts", Policy{Sequences: 4}, "xxklöäxx", Context{}, []string{"sequence"}},
		{"seq abc", Policy{Sequences: 4}, "xxcdefxx", Context{}, []string{"sequence"}},
		{"seq digits", Policy{Sequences: 4}, "xx1234xx", Context{}, []string{"sequence"}},
		{"seq digits reversed", Policy{Sequences: 4}, "xx4321xx", Context{}, []string{"sequence"}},
		{"seq digits wrap", Policy{Sequences: 4}, "xx8901xx", Context{}, []string{"sequence"}},
		{"seq shifted", Policy{Sequences: 4}, "xx!@#$xx", Context{}, []string{"sequence"}},
		{"seq 3 below 4", Policy{Sequences: 4}, "xxqwexx123", Context{}, nil},
		{"seq 3 when configured", Policy{Sequences: 3}, "xxqwexx", Context{}, []string{"sequence"}},
		{"seq no", Policy{Sequences: 4}, "Sunny-Garden42!", Context{}, nil},

		// repeats
		{"repeat 4", Policy{Repeats: 4}, "xaaaax", Context{}, []string{"repeat"}},
		{"repeat case-insensitive", Policy{Repeats: 4}, "xaAaAx", Context{}, []string{"repeat"}},
		{"repeat 3 ok", Policy{Repeats: 4}, "xaaax", Context{}, nil},
		{"repeat 3 configured", Policy{Repeats: 3}, "xaaax", Context{}, []string{"repeat"}},
		{"repeat non-ASCII", Policy{Repeats: 3}, "xäää", Context{}, []string{"repeat"}},

		// palindromes (whole password)
		{"palindrome", Policy{Palindrome: true}, "Racecar", Context{}, []string{"palindrome"}},
		{"palindrome even", Policy{Palindrome: true}, "abc11cba", Context{}, []string{"palindrome"}},
		{"palindrome partial is fine", Policy{Palindrome: true}, "racecar1", Context{}, nil},
		{"palindrome too short to count", Policy{Palindrome: true}, "aa", Context{}, nil},

		// the built-in charset rule
		{"control character", Policy{}, "abc\tdef", Context{}, []string{"charset"}},
		{"newline", Policy{}, "abc\ndef", Context{}, []string{"charset"}},
		{"invalid UTF-8", Policy{}, "abc\xffdef", Context{}, []string{"charset"}},
		{"space is fine", Policy{}, "abc def", Context{}, nil},
		{"emoji is fine", Policy{}, "abc🔑def", Context{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustChecker(t, tt.policy, nil)
			r := c.Check(context.Background(), tt.pw, tt.user)
			want := tt.fail
			if want == nil {
				want = []string{}
			}
			if got := failed(r); !slices.Equal(got, want) {
				t.Errorf("Check(%q) failed %v, want %v", tt.pw, got, want)
			}
			if r.OK != (len(want) == 0) {
				t.Errorf("OK = %v with failures %v", r.OK, want)
			}
		})
	}
}

// TestBannedWords pins down what "edit distance 1" means: the normalised
// password contains the normalised word with at most one character
// changed, added or removed.
func TestBannedWords(t *testing.T) {
	fuzzy := Policy{BannedWords: BannedWordsRule{Words: []string{"Contoso", "blue"}, Fuzzy: true}}
	exact := Policy{BannedWords: BannedWordsRule{Words: []string{"Contoso", "blue"}}}
	tests := []struct {
		name   string
		policy Policy
		pw     string
		refuse bool
	}{
		{"exact", fuzzy, "contoso2026", true},
		{"leet and case", fuzzy, "C0nt0s0!2026", true},
		{"look-alikes, one off", fuzzy, "(C|)n7050", true}, // normalised "clntoso"
		{"separators stripped", fuzzy, "c-o-n-t-o-s-o", true},
		{"one changed", fuzzy, "Contosa2026", true},
		{"one removed", fuzzy, "Contos2026", true},
		{"one added", fuzzy, "Contooso2026", true},
		{"two changed", fuzzy, "Contest2026", false},
		{"two removed", fuzzy, "Conto9999", false},
		{"look-alike digit makes one off", fuzzy, "Conto2026", true}, // "conto2o26": conto2o is one off
		{"inside other text", fuzzy, "WelcomeToKontoso!", true},
		{"exact rule, one changed", exact, "Contosa2026", false},
		{"exact rule, leet", exact, "C0nt0s0!2026", true},
		{"short word exact", fuzzy, "Blue-Sky-42", true},
		{"short word not fuzzy", fuzzy, "Glue-Sky-42", false},
		{"short word look-alike", fuzzy, "b|ue sky", true},
		{"8 is no look-alike", fuzzy, "8|ue sky", false},
		{"unrelated", fuzzy, "Sunny-Garden42!", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustChecker(t, tt.policy, nil)
			r := c.Check(context.Background(), tt.pw, Context{})
			ch, ok := find(r, "banned")
			if !ok {
				t.Fatal("no banned check")
			}
			if ch.Passed == tt.refuse {
				t.Errorf("Check(%q) banned passed=%v, want refuse=%v (normalised %q)", tt.pw, ch.Passed, tt.refuse, normalize(tt.pw))
			}
			if !ch.Hidden || len(ch.Args) != 0 {
				t.Errorf("banned check must be hidden and reveal nothing: %+v", ch)
			}
		})
	}
}

func TestRegexes(t *testing.T) {
	p := Policy{Regexes: []RegexRule{
		{Name: "starts-with-letter", Pattern: `^\pL`, MustMatch: true, Message: map[string]string{"en": "Starts with a letter", "de": "Beginnt mit einem Buchstaben"}},
		{Name: "no-year", Pattern: `(19|20)\d\d`, Message: map[string]string{"en": "No year"}},
	}}
	c := mustChecker(t, p, nil)
	tests := []struct {
		pw   string
		fail []string
	}{
		{"Garden-Party", []string{}},
		{"1Garden", []string{"regex.starts-with-letter"}},
		{"Garden2026", []string{"regex.no-year"}},
		{"2026Garden", []string{"regex.no-year", "regex.starts-with-letter"}},
		{"Ärger", []string{}},
	}
	for _, tt := range tests {
		r := c.Check(context.Background(), tt.pw, Context{})
		if got := failed(r); !slices.Equal(got, tt.fail) {
			t.Errorf("Check(%q) failed %v, want %v", tt.pw, got, tt.fail)
		}
	}
	r := c.Check(context.Background(), "x", Context{})
	ch, _ := find(r, "regex.starts-with-letter")
	if ch.MessageID != "password.check.regex.match" || ch.Text["de"] != "Beginnt mit einem Buchstaben" {
		t.Errorf("must-match check = %+v", ch)
	}
	ch, _ = find(r, "regex.no-year")
	if ch.MessageID != "password.check.regex.mismatch" || ch.Text["en"] != "No year" {
		t.Errorf("must-not-match check = %+v", ch)
	}
}

// TestStrength uses passwords whose zxcvbn 4.4.2 scores are well known.
func TestStrength(t *testing.T) {
	tests := []struct {
		pw    string
		user  Context
		score int
	}{
		{"password", Context{}, 0},
		{"qwertyuiop12", Context{}, 1},
		{"Tr0ub4dour&3", Context{}, 2},
		{"correcthorsebatterystaple", Context{}, 4},
		{"kX9#mQ2$vL7@pR4!", Context{}, 4},
		// the person's own words lower the score
		{"jdoe.johndoe", Context{}, 3},
		{"jdoe.johndoe", john, 2},
	}
	for _, tt := range tests {
		for min := 1; min <= 4; min++ {
			c := mustChecker(t, Policy{MinScore: min}, nil)
			r := c.Check(context.Background(), tt.pw, tt.user)
			if r.Score != tt.score {
				t.Fatalf("score(%q) = %d, want %d", tt.pw, r.Score, tt.score)
			}
			ch, _ := find(r, "strength")
			if ch.Passed != (tt.score >= min) {
				t.Errorf("minScore %d, %q (score %d): passed = %v", min, tt.pw, tt.score, ch.Passed)
			}
		}
	}
	// The meter gets the score, rule or not.
	r := mustChecker(t, Policy{}, nil).CheckWithStrength(context.Background(), "correcthorsebatterystaple", Context{})
	if r.Score != 4 || !r.Scored {
		t.Errorf("score without strength rule = %d (scored %v), want 4", r.Score, r.Scored)
	}
	if _, ok := find(r, "strength"); ok {
		t.Error("strength check present without minScore")
	}
}

// TestStrengthOnlyWhenNeeded: a submission without a minimum score does not
// run zxcvbn (it was 14 % of the CPU under load); with one, or when the
// meter asks, it does.
func TestStrengthOnlyWhenNeeded(t *testing.T) {
	ctx := context.Background()
	plain := mustChecker(t, Policy{MinLength: 8}, nil)
	if r := plain.Check(ctx, "correcthorsebatterystaple", Context{}); r.Scored || r.Score != 0 || !r.OK {
		t.Errorf("Check without minScore: scored %v, score %d, ok %v; want no score", r.Scored, r.Score, r.OK)
	}
	if r := plain.CheckWithStrength(ctx, "correcthorsebatterystaple", Context{}); !r.Scored || r.Score != 4 {
		t.Errorf("CheckWithStrength: scored %v, score %d", r.Scored, r.Score)
	}
	strict := mustChecker(t, Policy{MinScore: 3}, nil)
	if r := strict.Check(ctx, "password1", Context{}); !r.Scored || r.Score != 0 || r.OK {
		t.Errorf("Check with minScore 3: scored %v, score %d, ok %v; want scored and refused", r.Scored, r.Score, r.OK)
	}
}

// TestStrengthBannedWordsLowerScore: banned words also feed zxcvbn's
// dictionary.
func TestStrengthBannedWordsLowerScore(t *testing.T) {
	plain := mustChecker(t, Policy{}, nil).CheckWithStrength(context.Background(), "C0nt0s0!2026", Context{})
	banned := mustChecker(t, Policy{BannedWords: BannedWordsRule{Words: []string{"contoso"}}}, nil).CheckWithStrength(context.Background(), "C0nt0s0!2026", Context{})
	if banned.Score >= plain.Score {
		t.Errorf("score with banned word %d, without %d: want lower", banned.Score, plain.Score)
	}
}

type fakeBreach struct {
	corpus map[string]bool
	err    error
	calls  int
}

func (f *fakeBreach) Contains(pw string) (bool, error) {
	f.calls++
	if f.err != nil {
		return false, f.err
	}
	return f.corpus[pw], nil
}

func TestBreach(t *testing.T) {
	down := errors.New("corpus unreadable")
	tests := []struct {
		name     string
		onError  string
		err      error
		pw       string
		passed   bool
		message  string
		warnings []string
	}{
		{"clean", OnErrorRefuse, nil, "Sunny-Garden42!", true, "password.check.breach", nil},
		{"breached", OnErrorRefuse, nil, "Summer2024!", false, "password.check.breach", nil},
		{"breached, allow on error", OnErrorAllow, nil, "Summer2024!", false, "password.check.breach", nil},
		{"error refuses", OnErrorRefuse, down, "Sunny-Garden42!", false, "password.check.breach.unavailable", nil},
		{"error refuses by default", "", down, "Sunny-Garden42!", false, "password.check.breach.unavailable", nil},
		{"error allowed with warning", OnErrorAllow, down, "Sunny-Garden42!", true, "password.check.breach", []string{WarnBreachUnchecked}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := &fakeBreach{corpus: map[string]bool{"Summer2024!": true}, err: tt.err}
			c := mustChecker(t, Policy{Breach: BreachRule{Enabled: true, OnError: tt.onError}}, fb)
			r := c.Check(context.Background(), tt.pw, Context{})
			ch, ok := find(r, "breach")
			if !ok {
				t.Fatal("no breach check")
			}
			if ch.Passed != tt.passed || ch.MessageID != tt.message || r.OK != tt.passed {
				t.Errorf("breach check %+v, OK %v; want passed %v, message %s", ch, r.OK, tt.passed, tt.message)
			}
			if !slices.Equal(r.Warnings, tt.warnings) {
				t.Errorf("warnings %v, want %v", r.Warnings, tt.warnings)
			}
			if fb.calls != 1 {
				t.Errorf("corpus asked %d times, want 1", fb.calls)
			}
		})
	}

	t.Run("cancelled context counts as error", func(t *testing.T) {
		fb := &fakeBreach{}
		c := mustChecker(t, Policy{Breach: BreachRule{Enabled: true, OnError: OnErrorAllow}}, fb)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := c.Check(ctx, "Sunny-Garden42!", Context{})
		if !r.OK || !slices.Equal(r.Warnings, []string{WarnBreachUnchecked}) || fb.calls != 0 {
			t.Errorf("OK %v warnings %v calls %d", r.OK, r.Warnings, fb.calls)
		}
	})
	t.Run("enabled without a corpus is a start-up error", func(t *testing.T) {
		if _, err := NewChecker(Policy{Breach: BreachRule{Enabled: true}}, nil); err == nil {
			t.Error("NewChecker accepted breach.enabled without a BreachChecker")
		}
	})
}

// TestDescribeMatchesCheck: the checklist drawn before typing lists exactly
// the checks a verdict reports, in the same order, so faces can match by ID.
func TestDescribeMatchesCheck(t *testing.T) {
	c := mustChecker(t, fullPolicy(), &fakeBreach{})
	desc := c.Describe()
	r := c.Check(context.Background(), "Sunny-Garden42!", john)
	var ids []string
	for _, d := range desc {
		if d.Passed {
			t.Errorf("Describe item %s passed", d.ID)
		}
		if d.ID != "history" {
			ids = append(ids, d.ID)
		}
	}
	var got []string
	for _, ch := range r.Checks {
		got = append(got, ch.ID)
	}
	if !slices.Equal(ids, got) {
		t.Errorf("Describe IDs %v\nCheck IDs    %v", ids, got)
	}
	if last := desc[len(desc)-1]; last.ID != "history" || !last.Optional || last.Args["count"] != 5 {
		t.Errorf("history item = %+v", last)
	}
}

// TestOptionalItemsDoNotFail: the classes under "N of M" and the passphrase
// hint inform but never refuse.
func TestOptionalItemsDoNotFail(t *testing.T) {
	c := mustChecker(t, Policy{Classes: ClassRule{MinOf: 2}, PassphraseLength: 30}, nil)
	r := c.Check(context.Background(), "abc1", Context{})
	if !r.OK {
		t.Fatalf("failed %v", failed(r))
	}
	want := map[string]bool{"class.minof": true, "class.minof.upper": false, "class.minof.lower": true,
		"class.minof.digit": true, "class.minof.symbol": false, "passphrase": false}
	for id, passed := range want {
		ch, ok := find(r, id)
		if !ok || ch.Passed != passed {
			t.Errorf("%s: %+v (present %v), want passed %v", id, ch, ok, passed)
		}
		if strings.HasPrefix(id, "class.minof.") && ch.Parent != "class.minof" {
			t.Errorf("%s parent %q", id, ch.Parent)
		}
	}
	r = c.Check(context.Background(), strings.Repeat("a", 30), Context{})
	ch, _ := find(r, "class.minof")
	if !r.OK || !ch.Waived || !ch.Passed {
		t.Errorf("passphrase: OK %v, class.minof %+v", r.OK, ch)
	}
}

// fullPolicy switches every rule on.
func fullPolicy() Policy {
	return Policy{
		MinLength: 12, MaxLength: 64,
		Classes:          ClassRule{Require: []string{ClassUpper, ClassLower, ClassLetter, ClassDigit, ClassSymbol, ClassOther}, MinOf: 3, Of: adClasses},
		PassphraseLength: 20,
		Context:          ContextRule{MinPartLength: 4, ActiveDirectory: true},
		BannedWords:      BannedWordsRule{Words: []string{"contoso", "fabrikam", "northwind", "tailspin"}, Fuzzy: true},
		CommonPasswords:  true,
		Sequences:        4, Repeats: 4, Palindrome: true,
		Regexes: []RegexRule{
			{Name: "must", Pattern: `\d`, MustMatch: true, Message: map[string]string{"en": "a digit"}},
			{Name: "mustnot", Pattern: `(19|20)\d\d`},
		},
		MinScore:      3,
		Breach:        BreachRule{Enabled: true, OnError: OnErrorAllow},
		HistoryLength: 5,
	}
}

// TestConcurrentUse: one Checker serves every request.
func TestConcurrentUse(t *testing.T) {
	p := fullPolicy()
	p.Sequences = 5 // a sequence table not built yet
	c := mustChecker(t, p, &fakeBreachSafe{})
	done := make(chan Result)
	for i := range 8 {
		go func() {
			done <- c.Check(context.Background(), "Sunny-Garden42!"+strings.Repeat("x", i), john)
		}()
	}
	for range 8 {
		if r := <-done; len(r.Checks) == 0 {
			t.Error("no checks")
		}
	}
}

// fakeBreachSafe is a BreachChecker without state, safe for concurrent use.
type fakeBreachSafe struct{}

func (fakeBreachSafe) Contains(string) (bool, error) { return false, nil }
