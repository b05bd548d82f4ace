package store

import (
	"net/url"
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

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://sspr:S3cret@db:5432/sspr?sslmode=require": "postgres://sspr:xxxxx@db:5432/sspr?sslmode=require",
		"postgres://sspr@db/sspr":                             "postgres://sspr@db/sspr",
		"host=db user=sspr password=S3cret dbname=sspr":       "host=db user=sspr password=xxxxx dbname=sspr",
	} {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRedactDSN(f *testing.F) {
	f.Add("S3cret-pass", "db.example.com")
	f.Add("p@ss:w/rd?", "127.0.0.1:5433")
	f.Fuzz(func(t *testing.T, password, host string) {
		if len(password) < 6 || strings.ContainsAny(host, "/?#@") || host == "" {
			return
		}
		u := url.URL{Scheme: "postgres", User: url.UserPassword("sspr", password), Host: host, Path: "/sspr"}
		dsn := u.String()
		if _, err := url.Parse(dsn); err != nil {
			return
		}
		out := RedactDSN(dsn)
		ou, err := url.Parse(out)
		if err != nil {
			t.Fatalf("RedactDSN(%q) = %q, not a URL: %v", dsn, out, err)
		}
		if p, _ := ou.User.Password(); p != "xxxxx" || ou.Host != u.Host {
			t.Fatalf("RedactDSN(%q) = %q: password %q, host %q", dsn, out, p, ou.Host)
		}
		if strings.ContainsAny(password, " \t\n\r\v\f'\\") {
			return // the key=value form then needs quoting, which RedactDSN does not parse
		}
		if kv := RedactDSN("host=h user=sspr password=" + password); kv != "host=h user=sspr password=xxxxx" {
			t.Fatalf("key=value form: %q", kv)
		}
	})
}
