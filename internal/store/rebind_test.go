package store

import (
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`SELECT '?' || "a?b", ? -- what?` + "\n" + `FROM t WHERE x = ?`, `SELECT '?' || "a?b", $1 -- what?` + "\n" + `FROM t WHERE x = $2`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
		{`SELECT ? -- trailing ?`, `SELECT $1 -- trailing ?`},
	} {
		if got := postgresDialect.rebind(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := sqliteDialect.rebind(c.in); got != c.in {
			t.Errorf("sqlite rebind(%q) changed it to %q", c.in, got)
		}
	}
	args := []any{true, 1, false, "x"}
	got := postgresDialect.args(args)
	if got[0] != int64(1) || got[2] != int64(0) || got[1] != 1 || got[3] != "x" || args[0] != true {
		t.Errorf("args = %v (input now %v)", got, args)
	}
}

func FuzzRebind(f *testing.F) {
	f.Add(`SELECT a FROM t WHERE b = ? AND c = '?' -- ?`)
	f.Add(`'`)
	f.Fuzz(func(t *testing.T, q string) {
		out := postgresDialect.rebind(q)
		// Each ? taken out became one $n; nothing else was touched.
		replaced := strings.Count(q, "?") - strings.Count(out, "?")
		if added := strings.Count(out, "$") - strings.Count(q, "$"); added != replaced || len(out) < len(q) {
			t.Fatalf("rebind(%q) = %q: %d ? replaced, %d $ added", q, out, replaced, added)
		}
	})
}
