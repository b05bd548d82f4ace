package password

import (
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestPresets(t *testing.T) {
	breached := &fakeBreach{corpus: map[string]bool{"Sunny-Garden-2024": true}}
	smith := Context{Login: "asmith", FirstName: "Anna", LastName: "Smith", DisplayName: "Anna Smith"}
	type verdict struct {
		pw   string
		user Context
		fail []string
	}
	tests := []struct {
		preset string
		opts   []PresetOption
		cases  []verdict
	}{
		{PresetNIST, nil, []verdict{
			{"Sunny-Garden42!", smith, nil},                   // 15 runes
			{"Sunny-Garden42", smith, []string{"length.min"}}, // 14
			{"all lowercase and spaces", smith, nil},          // no composition rules
			{strings.Repeat("x", 128), smith, nil},            // accepts ≥ 64
			{strings.Repeat("x", 129), smith, []string{"length.max"}},
			{"anna-in-the-garden", smith, []string{"context"}},
			{"Sunny-Garden-2024", smith, []string{"breach"}},
			{"qwertyuiopasdfgh", smith, nil}, // sequences are not NIST rules ...
			{"1q2w3e4r5t6y7u8i", smith, nil},
		}},
		{PresetNIST, []PresetOption{MultiFactor(true)}, []verdict{
			{"Sunny-Gd", smith, nil},
			{"Sunny-G", smith, []string{"length.min"}},
			{"password", smith, []string{"common"}},
			{"P@ssw0rd", smith, []string{"common"}},
		}},
		{PresetPCI, nil, []verdict{
			{"Sunny-Garden42", smith, nil},
			{"sunnygarden42", smith, nil}, // letters and digits, no case rule
			{"Sunny-Garden", smith, []string{"class.digit"}},
			{"1234-5678-9012", smith, []string{"class.letter"}},
			{"Sunny-Gard42", smith, nil}, // 12
			{"Sunny-Gar42", smith, []string{"length.min"}},
			{"Qwerty123456", smith, []string{"common"}},
		}},
		{PresetAD, nil, []verdict{
			{"Passw0rd", smith, nil}, // what AD itself accepts
			{"Sunny1!", smith, nil},  // 7
			{"Sunny1", smith, []string{"length.min"}},
			{"password", smith, []string{"class.minof"}},
			{"long passphrase without capitals", smith, []string{"class.minof"}}, // AD has no passphrase exemption
			{"密码密码Ab1", smith, nil},                                              // letters without case are AD's 5th category
			{"密码密码密码1", smith, []string{"class.minof"}},
			{"xASMITHx1", smith, []string{"context"}},
			{"Smith2026!", smith, []string{"context"}},
			{"Sunny-Garden!1", Context{Login: "jdoe", DisplayName: "Jo Doe"}, nil},               // "Jo": under 3
			{"Doe-Garden!1", Context{Login: "jdoe", DisplayName: "Jo Doe"}, []string{"context"}}, // "Doe": 3
		}},
		{PresetCustom, nil, []verdict{
			{"Sunny-Ga", smith, nil},
			{"Sunny-G", smith, []string{"length.min"}},
			{"password", smith, []string{"common"}},
			{"annabelle", smith, []string{"context"}},
			{"Smi-garden", smith, nil},
		}},
	}
	for _, tt := range tests {
		p, err := Preset(tt.preset, tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		c := mustChecker(t, p, breached)
		for _, v := range tt.cases {
			r := c.Check(context.Background(), v.pw, v.user)
			want := v.fail
			if want == nil {
				want = []string{}
			}
			if got := failed(r); !slices.Equal(got, want) {
				t.Errorf("%s %d opts: Check(%q) failed %v, want %v", tt.preset, len(tt.opts), v.pw, got, want)
			}
		}
	}
}

func TestPresetShapes(t *testing.T) {
	for _, name := range Presets() {
		p, err := Preset(name)
		if err != nil {
			t.Fatalf("Preset(%q): %v", name, err)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("Preset(%q) invalid: %v", name, err)
		}
		if p.Preset != name {
			t.Errorf("Preset(%q).Preset = %q", name, p.Preset)
		}
		// JSON-describable: survives a round trip.
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Policy
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, p) {
			t.Errorf("%s: JSON round trip %s gave %+v (%v)", name, b, back, err)
		}
	}
	nist, _ := Preset(PresetNIST)
	if nist.MinLength != 15 || nist.MaxLength < 64 || len(nist.Classes.Require) > 0 || nist.Classes.MinOf > 0 ||
		!nist.CommonPasswords || !nist.Breach.Enabled || nist.Breach.OnError != OnErrorRefuse {
		t.Errorf("nist = %+v", nist)
	}
	mfa, _ := Preset(PresetNIST, MultiFactor(true))
	if mfa.MinLength != 8 {
		t.Errorf("nist MFA min = %d", mfa.MinLength)
	}
	pci, _ := Preset(PresetPCI)
	if d := pci.Describe(); d[len(d)-1].ID != "history" || d[len(d)-1].Args["count"] != 4 {
		t.Errorf("pci describe ends with %+v, want history 4", d[len(d)-1])
	}
	if _, err := Preset("nist"); err == nil || !strings.Contains(err.Error(), PresetNIST) {
		t.Errorf("unknown preset: %v", err)
	}
	if _, err := NewChecker(nist, nil); err == nil {
		t.Error("nist preset without a breach corpus must not start")
	}
}

func TestMergeDirectory(t *testing.T) {
	custom, _ := Preset(PresetCustom)
	pci, _ := Preset(PresetPCI)
	tests := []struct {
		name string
		p    Policy
		d    DirectoryPolicy
		want func(p Policy) Policy
	}{
		{"nothing from the directory", custom, DirectoryPolicy{}, func(p Policy) Policy { return p }},
		{"longer minimum, shorter maximum, history", custom, DirectoryPolicy{MinLength: 10, MaxLength: 64, HistoryLength: 24},
			func(p Policy) Policy { p.MinLength, p.MaxLength, p.HistoryLength = 10, 64, 24; return p }},
		{"ours is stricter", Policy{MinLength: 15, MaxLength: 100, HistoryLength: 30}, DirectoryPolicy{MinLength: 7, MaxLength: 256, HistoryLength: 24},
			func(p Policy) Policy { return p }},
		{"directory max under the hard max", Policy{}, DirectoryPolicy{MaxLength: 256},
			func(p Policy) Policy { p.MaxLength = 256; return p }},
		{"complexity on a policy without classes", Policy{MinLength: 8, PassphraseLength: 20}, DirectoryPolicy{Complexity: true},
			func(p Policy) Policy {
				p.PassphraseLength = 0
				p.Classes = ClassRule{MinOf: 3, Of: adClasses}
				p.Context.ActiveDirectory = true
				return p
			}},
		{"complexity keeps a stricter 4 of 4", Policy{Classes: ClassRule{MinOf: 4}}, DirectoryPolicy{Complexity: true},
			func(p Policy) Policy { p.Context.ActiveDirectory = true; return p }},
		{"complexity raises 2 of 4", Policy{Classes: ClassRule{MinOf: 2}}, DirectoryPolicy{Complexity: true},
			func(p Policy) Policy { p.Classes.MinOf = 3; p.Context.ActiveDirectory = true; return p }},
		{"complexity replaces overlapping classes", Policy{Classes: ClassRule{MinOf: 2, Of: []string{ClassLetter, ClassDigit}}}, DirectoryPolicy{Complexity: true},
			func(p Policy) Policy {
				p.Classes = ClassRule{MinOf: 3, Of: adClasses}
				p.Context.ActiveDirectory = true
				return p
			}},
		{"complexity over pci keeps its required classes", pci, DirectoryPolicy{MinLength: 7, Complexity: true, HistoryLength: 24},
			func(p Policy) Policy {
				p.Classes = ClassRule{Require: []string{ClassLetter, ClassDigit}, MinOf: 3, Of: adClasses}
				p.Context.ActiveDirectory = true
				p.HistoryLength = 24
				return p
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.p
			got := tt.p.MergeDirectory(tt.d)
			want := tt.want(in)
			if !reflect.DeepEqual(normalizeNil(got), normalizeNil(want)) {
				t.Errorf("MergeDirectory\n got  %+v\n want %+v", got, want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("merged policy invalid: %v", err)
			}
		})
	}

	t.Run("does not alias the input", func(t *testing.T) {
		p := Policy{Classes: ClassRule{MinOf: 4, Of: []string{ClassUpper, ClassLower, ClassDigit, ClassSymbol}}}
		m := p.MergeDirectory(DirectoryPolicy{Complexity: true})
		m.Classes.Of[0] = "changed"
		if p.Classes.Of[0] != ClassUpper {
			t.Error("merged policy shares its class list with the input")
		}
	})

	t.Run("merged AD rules refuse what AD refuses", func(t *testing.T) {
		nist, _ := Preset(PresetNIST, MultiFactor(true))
		nist.Breach.Enabled = false
		c := mustChecker(t, nist.MergeDirectory(DirectoryPolicy{MinLength: 7, Complexity: true}), nil)
		for pw, want := range map[string][]string{
			"Garden-Party-42":    {},
			"garden party fun":   {"class.minof"},
			"Doe-Garden-Party-4": {"context"},
		} {
			if got := failed(c.Check(context.Background(), pw, john)); !slices.Equal(got, want) {
				t.Errorf("Check(%q) failed %v, want %v", pw, got, want)
			}
		}
	})
}

// normalizeNil treats nil and empty slices alike for comparison.
func normalizeNil(p Policy) Policy {
	if len(p.Classes.Require) == 0 {
		p.Classes.Require = nil
	}
	if len(p.Classes.Of) == 0 {
		p.Classes.Of = nil
	}
	return p
}

func TestValidate(t *testing.T) {
	bad := Policy{
		MinLength:        -1,
		MaxLength:        HardMaxLength + 1,
		Classes:          ClassRule{Require: []string{"capital"}, MinOf: 5, Of: []string{ClassUpper, ClassUpper}},
		PassphraseLength: -2,
		Context:          ContextRule{MinPartLength: 2},
		BannedWords:      BannedWordsRule{Words: []string{"ok-word", "a.b"}},
		Sequences:        2,
		Repeats:          1,
		Regexes:          []RegexRule{{Name: "x", Pattern: "("}, {Name: "x", Pattern: "a"}, {Name: "bad name", Pattern: "a"}},
		MinScore:         5,
		Breach:           BreachRule{OnError: "maybe"},
		HistoryLength:    -1,
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad policy")
	}
	for _, key := range []string{
		"minLength:", "maxLength:", "classes.require[0]:", "classes.of[1]:", "classes.minOf:",
		"passphraseLength:", "context.minPartLength:", "bannedWords.words[1]:", "sequences:", "repeats:",
		"regexes[0].pattern:", "regexes[1].name:", "regexes[2].name:", "minScore:", "breach.onError:", "historyLength:",
	} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
	if strings.Contains(err.Error(), "bannedWords.words[0]") {
		t.Errorf("a fine banned word was reported:\n%v", err)
	}
	if _, err := NewChecker(bad, nil); err == nil {
		t.Error("NewChecker accepted a bad policy")
	}

	for name, p := range map[string]Policy{
		"max under min":        {MinLength: 20, MaxLength: 10},
		"passphrase under min": {MinLength: 20, PassphraseLength: 10},
		"minOf over default":   {Classes: ClassRule{MinOf: 5}},
	} {
		if p.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (Policy{}).Validate(); err != nil {
		t.Errorf("zero policy: %v", err)
	}
	if err := fullPolicy().Validate(); err != nil {
		t.Errorf("full policy: %v", err)
	}
}

var placeholderRE = regexp.MustCompile(`\{(\w+)\}`)

// TestMessages: every message the engine can emit exists in English and
// every other built-in language, with exactly the placeholders its checks supply.
func TestMessages(t *testing.T) {
	msgs := Messages()
	en := msgs["en"]
	// Every built-in language of the portal (internal/i18n/locales).
	for _, lang := range []string{"de", "fr", "es", "it", "nl", "pt", "pl"} {
		tr := msgs[lang]
		if len(en) != len(tr) {
			t.Errorf("en has %d messages, %s %d", len(en), lang, len(tr))
		}
		for id, text := range en {
			if tr[id] == "" {
				t.Errorf("%s missing in %s", id, lang)
				continue
			}
			if a, b := placeholderRE.FindAllString(text, -1), placeholderRE.FindAllString(tr[id], -1); !slices.Equal(sorted(a), sorted(b)) {
				t.Errorf("%s: en placeholders %v, %s %v", id, a, lang, b)
			}
		}
	}

	emitted := map[string]map[string]any{} // message ID -> args
	collect := func(checks []Check) {
		for _, c := range checks {
			emitted[c.MessageID] = c.Args
		}
	}
	full := fullPolicy()
	collect(full.Describe())
	full.Regexes[0].MustMatch, full.Regexes[1].MustMatch = false, true
	full.Classes.Of = knownClasses
	collect(full.Describe())
	full.Breach.OnError = OnErrorRefuse
	c := mustChecker(t, full, &fakeBreach{err: context.Canceled})
	collect(c.Check(context.Background(), "x", john).Checks)
	emitted[WarnBreachUnchecked] = nil
	for i := 0; i <= 4; i++ {
		emitted["password.strength."+string(rune('0'+i))] = nil
	}
	for id, args := range emitted {
		text, ok := en[id]
		if !ok {
			t.Errorf("message %s has no English text", id)
			continue
		}
		for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
			if _, ok := args[m[1]]; !ok {
				t.Errorf("%s: placeholder {%s} not in args %v", id, m[1], args)
			}
		}
	}
	for id := range en {
		if _, ok := emitted[id]; !ok {
			t.Errorf("message %s is never emitted", id)
		}
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
