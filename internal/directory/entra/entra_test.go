package entra_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/entra"
	"github.com/sspr/sspr/internal/sync/entra/graphtest"
)

func newDir(t *testing.T, g *graphtest.Server, force bool) *entra.Directory {
	t.Helper()
	d, err := entra.New(entra.Config{Name: "cloud", TenantID: g.TenantID, ClientID: g.ClientID, ClientSecret: g.Secret,
		ForceChange: force, LoginURL: g.URL, GraphURL: g.URL, HTTP: g.Client(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func kind(err error) directory.Kind { return directory.KindOf(err) }

func TestFindResetAndStatus(t *testing.T) {
	g := graphtest.New(t)
	id := g.AddDirectoryUser(graphtest.User{UserPrincipalName: "o'brien@cloud.example", Mail: "obrien@mail.example",
		DisplayName: "Pat O'Brien", AccountEnabled: true})
	g.AddDirectoryUser(graphtest.User{UserPrincipalName: "off@cloud.example", AccountEnabled: false})
	d := newDir(t, g, true)
	ctx := context.Background()
	for _, login := range []string{"o'brien@cloud.example", "OBRIEN@mail.example"} {
		u, err := d.FindUser(ctx, login)
		if err != nil {
			t.Fatalf("%s: %v", login, err)
		}
		if u.DN != id || u.Email != "obrien@mail.example" || u.Login != "o'brien@cloud.example" {
			t.Fatalf("%s: %+v", login, u)
		}
	}
	if _, err := d.FindUser(ctx, "nobody@cloud.example"); kind(err) != directory.KindNotFound {
		t.Fatalf("unknown: %v", err)
	}
	// A quote must not end the literal: "x' or mail eq 'obrien@mail.example" finds nobody.
	if _, err := d.FindUser(ctx, "x' or mail eq 'obrien@mail.example"); kind(err) != directory.KindNotFound {
		t.Fatalf("injection: %v", err)
	}
	u, _ := d.FindUser(ctx, "o'brien@cloud.example")
	st, err := d.AccountStatus(ctx, u)
	if err != nil || st.Disabled {
		t.Fatalf("status %+v %v", st, err)
	}
	off, _ := d.FindUser(ctx, "off@cloud.example")
	if st, err := d.AccountStatus(ctx, off); err != nil || !st.Disabled {
		t.Fatalf("disabled status %+v %v", st, err)
	}
	if err := d.ResetPassword(ctx, u, "Correct-Horse-9"); err != nil {
		t.Fatal(err)
	}
	if p, _ := g.Password(id); p != "Correct-Horse-9" || !g.ForceChange(id) {
		t.Fatalf("graph has %q force %v", p, g.ForceChange(id))
	}
	// Graph's complexity refusal is a policy violation the portal explains.
	err = d.ResetPassword(ctx, u, "short")
	var de *directory.Error
	if !errors.As(err, &de) || de.Kind != directory.KindPolicyViolation || len(de.Reasons) != 1 || de.Reasons[0] != directory.ReasonComplexity {
		t.Fatalf("complexity: %v", err)
	}
	if err := d.VerifyPassword(ctx, u, "Correct-Horse-9"); kind(err) != directory.KindUnsupported {
		t.Fatalf("verify: %v", err)
	}
}

func TestSyncedAccountRefused(t *testing.T) {
	g := graphtest.New(t)
	id := g.AddDirectoryUser(graphtest.User{UserPrincipalName: "hybrid@corp.example", Mail: "hybrid@corp.example",
		AccountEnabled: true, OnPremisesSyncEnabled: true})
	d := newDir(t, g, false)
	u, err := d.FindUser(context.Background(), "hybrid@corp.example")
	if err != nil {
		t.Fatal(err)
	}
	err = d.ResetPassword(context.Background(), u, "Correct-Horse-9")
	var de *directory.Error
	if !errors.As(err, &de) || de.Kind != directory.KindUnsupported || !strings.Contains(de.Diagnostic, "password lives in AD") {
		t.Fatalf("synced: %v", err)
	}
	if g.Patches(id) != 0 {
		t.Fatal("a synced account was written")
	}
}

func TestGraphErrors(t *testing.T) {
	cases := []struct {
		reply graphtest.Reply
		want  directory.Kind
	}{
		{graphtest.Reply{Status: 403, Code: "Authorization_RequestDenied"}, directory.KindAccessDenied},
		{graphtest.Reply{Status: 404, Code: "Request_ResourceNotFound"}, directory.KindNotFound},
		{graphtest.Reply{Status: 429, Code: "TooManyRequests", RetryAfter: 3600}, directory.KindUnavailable},
		{graphtest.Reply{Status: 503, Code: "serviceNotAvailable"}, directory.KindUnavailable},
	}
	for _, c := range cases {
		g := graphtest.New(t)
		id := g.AddDirectoryUser(graphtest.User{UserPrincipalName: "a@cloud.example", AccountEnabled: true})
		d := newDir(t, g, false)
		u, err := d.FindUser(context.Background(), "a@cloud.example")
		if err != nil {
			t.Fatal(err)
		}
		g.Script(c.reply)
		// u is fresh, so the status comes from the lookup: the PATCH gets
		// the scripted answer.
		if err := d.ResetPassword(context.Background(), u, "Correct-Horse-9"); kind(err) != c.want {
			t.Errorf("%d: got %v, want %v", c.reply.Status, err, c.want)
		}
		if _, set := g.Password(id); set {
			t.Errorf("%d: password set", c.reply.Status)
		}
	}
}

// A Retry-After that fits in the timeout is waited out and the request
// sent again.
func TestRetryAfterWithinTimeout(t *testing.T) {
	g := graphtest.New(t)
	id := g.AddDirectoryUser(graphtest.User{UserPrincipalName: "a@cloud.example", AccountEnabled: true})
	d := newDir(t, g, false)
	u, err := d.FindUser(context.Background(), "a@cloud.example")
	if err != nil {
		t.Fatal(err)
	}
	g.Script(graphtest.Reply{Status: 429, Code: "TooManyRequests", RetryAfter: 1})
	if err := d.ResetPassword(context.Background(), u, "Correct-Horse-9"); err != nil {
		t.Fatal(err)
	}
	if p, _ := g.Password(id); p != "Correct-Horse-9" {
		t.Fatal("not set after the retry")
	}
}

func TestCheck(t *testing.T) {
	g := graphtest.New(t)
	if r := newDir(t, g, false).Check(context.Background()); !r.OK() {
		t.Fatalf("%+v", r.Findings)
	}
	bad, _ := entra.New(entra.Config{Name: "cloud", TenantID: g.TenantID, ClientID: g.ClientID, ClientSecret: "wrong",
		LoginURL: g.URL, GraphURL: g.URL, HTTP: g.Client()})
	if r := bad.Check(context.Background()); r.OK() || !strings.Contains(r.Findings[0].Message, "client secret") {
		t.Fatalf("%+v", r.Findings)
	}
	g.Script(graphtest.Reply{Status: 403, Code: "Authorization_RequestDenied"})
	if r := newDir(t, g, false).Check(context.Background()); r.OK() || !strings.Contains(r.Findings[1].Message, "User.ReadWrite.All") {
		t.Fatalf("%+v", r.Findings)
	}
}

// FuzzQuoteOData holds the escaping to Graph's parser (graphtest's):
// any login comes back as exactly one literal, unchanged.
func FuzzQuoteOData(f *testing.F) {
	for _, s := range []string{"", "'", "''", "a'b", "x' or mail eq 'y", "ä@ö", "%27", "a eq 'b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := entra.QuoteOData(s)
		filter := "userPrincipalName eq " + q + " or mail eq " + q
		// Through the URL as FindUser sends it.
		v, err := url.ParseQuery(url.Values{"$filter": {filter}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		clauses, err := graphtest.ParseFilter(v.Get("$filter"))
		if err != nil {
			t.Fatalf("%q: %v", filter, err)
		}
		if len(clauses) != 2 || clauses[0] != [2]string{"userPrincipalName", s} || clauses[1] != [2]string{"mail", s} {
			t.Fatalf("%q parsed as %q", s, clauses)
		}
	})
}
