package demo

import (
	"testing"
	"time"
)

func fuzzEntries(t testing.TB) []*entry {
	t.Helper()
	srv := &Server{store: newStore(time.Now), servicePassword: "x"}
	if err := srv.populate(DefaultUsers()); err != nil {
		t.Fatal(err)
	}
	return srv.store.inScope(mustNorm(BaseDN), 2)
}

// FuzzFilter feeds arbitrary client-supplied filter strings through the path
// a search takes: compile, validate, evaluate against real entries. It must
// never panic, and a filter that compiles must evaluate to one of the three
// truth values.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		"(objectClass=*)",
		"(&(objectClass=inetOrgPerson)(|(uid=alice)(mail=alice@demo.sspr.test)))",
		`(cn=O\27Brien \28ops\29\2a)`,
		"(!(uid>=b))", "(uid<=c)", "(cn~=alice)", "(cn=*a*b*c)", "(uid:caseExactMatch:=x)",
		"(&)", "(|)", "(!(&))", "((uid=a)", "(uid=\\zz)", "",
	} {
		f.Add(s)
	}
	entries := fuzzEntries(f)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := compileFilter(s)
		if err != nil {
			return
		}
		for _, e := range entries {
			if v := evalFilter(p, e); v != triTrue && v != triFalse && v != triUndefined {
				t.Fatalf("filter %q gave %d", s, v)
			}
		}
	})
}

// FuzzModificationValues covers the decoding of modify values gldap leaves
// undecoded.
func FuzzModificationValues(f *testing.F) {
	f.Add("\x04\x05hello\x04\x00")
	f.Add("")
	f.Add("plain")
	f.Add("\x04\x84\xff\xff\xff\xff")
	f.Fuzz(func(t *testing.T, s string) {
		_ = modificationValues([]string{s})
	})
}

func TestRulesCheck(t *testing.T) {
	tests := []struct {
		rules Rules
		pw    string
		want  int // ppolicy error, 0 = accepted
	}{
		{DefaultRules(), "Winter-2026", 0},
		{DefaultRules(), "Wint-26", ppPasswordTooShort},
		{DefaultRules(), "Winter-twenty", ppInsufficientPasswordQuality},
		{DefaultRules(), "", ppInsufficientPasswordQuality},
		{DefaultRules(), "ääääää1ä", 0}, // 8 characters, more bytes
		{Rules{}, "x", 0},
	}
	for _, tt := range tests {
		v := tt.rules.check(tt.pw)
		got := 0
		if v != nil {
			got = v.ppolicyError
		}
		if got != tt.want {
			t.Errorf("%+v.check(%q) = %d, want %d", tt.rules, tt.pw, got, tt.want)
		}
	}
}

func TestModificationValues(t *testing.T) {
	got := modificationValues([]string{"\x04\x03abc\x04\x02de"})
	if len(got) != 2 || got[0] != "abc" || got[1] != "de" {
		t.Fatalf("got %q", got)
	}
	if got := modificationValues([]string{""}); len(got) != 0 {
		t.Fatalf("empty set: %q", got)
	}
	if got := modificationValues([]string{"already decoded"}); len(got) != 1 || got[0] != "already decoded" {
		t.Fatalf("decoded: %q", got)
	}
}
