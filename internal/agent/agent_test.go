package agent

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestLineProtocolRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", `back\slash`, "two\nlines", `\n literal`, "trailing\\", "ünïcødé ✓"} {
		if got := UnescapeLine(escapeLine(s)); got != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
		if strings.Contains(escapeLine(s), "\n") {
			t.Errorf("escaped %q still holds a newline", s)
		}
	}
}

func TestLineConversation(t *testing.T) {
	var out bytes.Buffer
	c := NewLineConversation(strings.NewReader("A 12 34\\nx\nX\nbogus\n"), &out)
	got, err := c.Ask(true, "Code:\nplease")
	if err != nil || got != "12 34\nx" {
		t.Fatalf("Ask = %q, %v", got, err)
	}
	if _, err := c.Ask(false, "Again:"); !errors.Is(err, ErrCancelled) {
		t.Fatalf("X should cancel, got %v", err)
	}
	if _, err := c.Ask(false, "Third:"); err == nil {
		t.Fatal("a malformed answer line was accepted")
	}
	_ = c.Say("info")
	_ = c.Warn("warn")
	_ = c.HandOn("New-Pass")
	_ = c.Finish("ok")
	want := "P0 Code:\\nplease\nP1 Again:\nP1 Third:\nI info\nE warn\nT New-Pass\nR ok\n"
	if out.String() != want {
		t.Fatalf("wrote\n%q\nwant\n%q", out.String(), want)
	}
}

func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{"A x", "A", "X", "", "A \\", "A a\\nb", "Z z", "two\nlines"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Any line parses or is refused, never panics.
		_, _ = ParseAnswer(s)
		// What the module writes for an answer s reads back as s (carriage
		// returns dropped, as the protocol does).
		got, err := ParseAnswer("A " + escapeLine(s))
		if want := strings.ReplaceAll(s, "\r", ""); err != nil || got != want {
			t.Fatalf("answer %q came back as %q (%v)", want, got, err)
		}
	})
}

func TestParseConfig(t *testing.T) {
	good := "server_url: https://sspr.example.com\nhelp_desk: call 555\ntimeout: 5s\n"
	if c, err := ParseConfig([]byte(good)); err != nil || c.ServerURL != "https://sspr.example.com" {
		t.Fatalf("good config: %v", err)
	}
	for name, bad := range map[string]string{
		"empty":          "",
		"plain http":     "server_url: http://sspr.example.com\n",
		"unknown key":    "server_url: https://x\nsever: 1\n",
		"long timeout":   "server_url: https://x\ntimeout: 1h\n",
		"not a URL":      "server_url: sspr\n",
		"loopback is ok": "",
	} {
		if name == "loopback is ok" {
			if _, err := ParseConfig([]byte("server_url: http://127.0.0.1:8080\n")); err != nil {
				t.Errorf("loopback http refused: %v", err)
			}
			continue
		}
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	_, err := ParseConfig([]byte("timeout: 0s\n"))
	if err == nil || !strings.Contains(err.Error(), "server_url") || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("every problem should be listed with its key: %v", err)
	}
}

func TestEveryLanguageHasEveryText(t *testing.T) {
	en := loadLocale("en")
	for _, lang := range Languages() {
		m := loadLocale(lang)
		if m == nil {
			t.Fatalf("%s does not load", lang)
		}
		missing := slices.Sorted(maps.Keys(en))
		missing = slices.DeleteFunc(missing, func(k string) bool { _, ok := m[k]; return ok })
		if len(missing) > 0 {
			t.Errorf("%s lacks %v", lang, missing)
		}
	}
	if TextsFor("de_DE.UTF-8").Lang != "de" || TextsFor("C").Lang != "en" || TextsFor("").Lang != "en" {
		t.Error("locale matching is off")
	}
}

func TestQuestionsOf(t *testing.T) {
	p := map[string]any{"questions": []any{
		map[string]any{"id": "q1", "text": "First pet?"},
		map[string]any{"id": "employeeNumber", "label": map[string]any{"en": "Employee number", "de": "Personalnummer"}},
		map[string]any{"id": ""},
	}}
	qs := questionsOf(p, "de")
	if len(qs) != 2 || qs[0].label != "First pet?" || qs[1].label != "Personalnummer" {
		t.Fatalf("questionsOf = %+v", qs)
	}
}
