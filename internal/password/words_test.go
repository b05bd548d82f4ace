package password

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"C0nt0s0!2026":   "contosoi2o26",
		"P@$$w0rd":       "password",
		"h3ll0 W0rld 57": "helloworldst",
		"|1!":            "lli",
		"4-5_7.3":        "aste",
		"ÄÖÜ-straße":     "äöüstraße",
		"#*(){}":         "",
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// levenshtein is the textbook distance, for checking containsFuzzy.
func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j-1]+cost, prev[j]+1, cur[j-1]+1)
		}
		prev = cur
	}
	return prev[len(b)]
}

// TestContainsFuzzyAgainstBruteForce compares the one-pass matcher with
// "some substring is within distance 1" computed the slow way.
func TestContainsFuzzyAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcä")
	word := func(n int) []rune {
		w := make([]rune, n)
		for i := range w {
			w[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return w
	}
	for range 3000 {
		text, w := word(rng.IntN(12)), word(1+rng.IntN(6))
		want := false
		for i := 0; i <= len(text) && !want; i++ {
			for j := i; j <= len(text); j++ {
				if levenshtein(text[i:j], w) <= 1 {
					want = true
					break
				}
			}
		}
		if got := containsFuzzy(text, w, 1); got != want {
			t.Fatalf("containsFuzzy(%q, %q) = %v, want %v", string(text), string(w), got, want)
		}
	}
	long := []rune(strings.Repeat("x", 100))
	if !containsFuzzy([]rune("a"+string(long[:99])+"b"), long, 1) || containsFuzzy([]rune("yy"), long, 1) {
		t.Error("words longer than the stack buffer")
	}
}

func TestSplitParts(t *testing.T) {
	for in, want := range map[string][]string{
		"john.doe":            {"john", "doe"},
		"JohnDoe":             {"John", "Doe"},
		"HTMLParser":          {"HTML", "Parser"},
		"jdoe":                {"jdoe"},
		"Anne-Marie O'Neil":   {"Anne", "Marie", "O", "Neil"},
		"müller_lüdenscheidt": {"müller", "lüdenscheidt"},
		"  ":                  nil,
	} {
		if got := splitParts(in); !slices.Equal(got, want) {
			t.Errorf("splitParts(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContextTokens(t *testing.T) {
	u := Context{Login: "mary.poppins", FirstName: "Mary", LastName: "Poppins", DisplayName: "Mary Ann Poppins", Extra: []string{"Contoso"}}
	got := contextTokens(ContextRule{MinPartLength: 4}, u)
	want := []string{"mary.poppins", "marypoppins", "mary", "poppins", "mary ann poppins", "maryannpoppins", "contoso"}
	if !slices.Equal(got, want) {
		t.Errorf("general tokens %q, want %q", got, want)
	}
	got = contextTokens(ContextRule{ActiveDirectory: true}, u)
	want = []string{"mary.poppins", "mary", "ann", "poppins"}
	if !slices.Equal(got, want) {
		t.Errorf("AD tokens %q, want %q", got, want)
	}
}

// FuzzCheck: no input makes the engine panic, and the verdict is coherent.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"", "a", "Sunny-Garden42!", "C0nt0s0!2026", "\xff\xfe", "密码Ab1", "qwer", "aaaa", "racecar", "abc\x00def", strings.Repeat("ab", 600)} {
		f.Add(s, "jdoe", "John Doe")
	}
	p := fullPolicy()
	p.MaxLength = 0
	c := mustChecker(f, p, &fakeBreach{})
	f.Fuzz(func(t *testing.T, pw, login, display string) {
		r := c.Check(context.Background(), pw, Context{Login: login, DisplayName: display, Extra: []string{display}})
		if r.Score < 0 || r.Score > 4 {
			t.Fatalf("score %d", r.Score)
		}
		if r.OK != (len(r.Failed()) == 0) {
			t.Fatalf("OK %v but failed %v", r.OK, failed(r))
		}
		if n := utf8.RuneCountInString(pw); n > HardMaxLength && r.OK {
			t.Fatalf("%d runes accepted", n)
		}
		if len(r.Checks) != len(c.Describe())-1 { // history is Describe-only
			t.Fatalf("%d checks, Describe has %d", len(r.Checks), len(c.Describe()))
		}
	})
}
