package demo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

func startTest(t *testing.T, opts Options) *Server {
	t.Helper()
	srv, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}

func dial(t *testing.T, srv *Server) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(srv.URL())
	if err != nil {
		t.Fatalf("dial %s: %v", srv.URL(), err)
	}
	c.SetTimeout(5 * time.Second)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func serviceConn(t *testing.T, srv *Server) *ldap.Conn {
	t.Helper()
	c := dial(t, srv)
	if err := c.Bind(srv.ServiceDN(), srv.ServicePassword()); err != nil {
		t.Fatalf("service bind: %v", err)
	}
	return c
}

func resultCode(err error) uint16 {
	var le *ldap.Error
	if errors.As(err, &le) {
		return le.ResultCode
	}
	return 0
}

func TestBind(t *testing.T) {
	srv := startTest(t, Options{})
	alice := DefaultUsers()[0]
	tests := []struct {
		name     string
		dn, pass string
		want     uint16
	}{
		{"service account", ServiceDN, srv.ServicePassword(), ldap.LDAPResultSuccess},
		{"service account, DN in other case and spacing", "CN=SSPR, ou=Services, DC=demo,dc=sspr", srv.ServicePassword(), ldap.LDAPResultSuccess},
		{"user", alice.DN(), alice.Password, ldap.LDAPResultSuccess},
		{"user, wrong password", alice.DN(), alice.Password + "x", ldap.LDAPResultInvalidCredentials},
		{"unknown DN", "uid=mallory," + PeopleDN, "whatever1", ldap.LDAPResultInvalidCredentials},
		{"entry without password", PeopleDN, "whatever1", ldap.LDAPResultInvalidCredentials},
		{"invalid DN", "not a dn", "x", ldap.LDAPResultInvalidDNSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, srv)
			err := c.Bind(tt.dn, tt.pass)
			if got := resultCode(err); got != tt.want {
				t.Fatalf("bind result = %d (%v), want %d", got, err, tt.want)
			}
		})
	}
}

func TestUnauthenticatedBindRefused(t *testing.T) {
	srv := startTest(t, Options{})
	c := dial(t, srv)
	// go-ldap refuses empty passwords client-side unless asked explicitly.
	_, err := c.SimpleBind(&ldap.SimpleBindRequest{Username: ServiceDN, AllowEmptyPassword: true})
	if got := resultCode(err); got != ldap.LDAPResultUnwillingToPerform {
		t.Fatalf("unauthenticated bind = %d (%v), want unwillingToPerform", got, err)
	}
}

func TestRootDSEAnonymous(t *testing.T) {
	srv := startTest(t, Options{})
	c := dial(t, srv)
	res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"namingContexts", "supportedControl", "supportedExtension", "vendorName", "supportedLDAPVersion"}, nil))
	if err != nil {
		t.Fatalf("RootDSE search: %v", err)
	}
	if len(res.Entries) != 1 {
		t.Fatalf("got %d entries, want 1", len(res.Entries))
	}
	e := res.Entries[0]
	if got := e.GetAttributeValue("namingContexts"); got != BaseDN {
		t.Errorf("namingContexts = %q", got)
	}
	if got := e.GetAttributeValue("vendorName"); got != "sspr demo directory" {
		t.Errorf("vendorName = %q", got)
	}
	if !contains(e.GetAttributeValues("supportedControl"), ldap.ControlTypeBeheraPasswordPolicy) {
		t.Errorf("supportedControl = %v, want ppolicy", e.GetAttributeValues("supportedControl"))
	}
	if !contains(e.GetAttributeValues("supportedExtension"), "1.3.6.1.4.1.4203.1.11.3") {
		t.Errorf("supportedExtension = %v, want Who am I?", e.GetAttributeValues("supportedExtension"))
	}
	if got := e.GetAttributeValue("supportedLDAPVersion"); got != "3" {
		t.Errorf("supportedLDAPVersion = %q", got)
	}
	if e.GetAttributeValue("objectClass") != "" {
		t.Errorf("objectClass returned though not requested")
	}
}

func TestAnonymousCannotSearchTree(t *testing.T) {
	srv := startTest(t, Options{})
	c := dial(t, srv)
	_, err := c.Search(ldap.NewSearchRequest(BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(uid=alice)", nil, nil))
	if got := resultCode(err); got != ldap.LDAPResultInsufficientAccessRights {
		t.Fatalf("anonymous search = %d (%v), want insufficientAccessRights", got, err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func search(t *testing.T, c *ldap.Conn, base string, scope int, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil))
	if err != nil {
		t.Fatalf("search %s %q: %v", base, filter, err)
	}
	return res.Entries
}

func dns(entries []*ldap.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.DN
	}
	return out
}

func TestSearchFilters(t *testing.T) {
	users := append(DefaultUsers(), User{UID: "o'brien", GivenName: "Pat", Surname: "O'Brien (ops)*", Password: "Paddy-2026"})
	srv := startTest(t, Options{Users: users})
	c := serviceConn(t, srv)

	alice := "uid=alice," + PeopleDN
	tests := []struct {
		name   string
		base   string
		scope  int
		filter string
		want   []string
	}{
		{"login by uid or mail", BaseDN, ldap.ScopeWholeSubtree,
			"(&(objectClass=inetOrgPerson)(|(uid=alice)(mail=alice@demo.sspr.test)))", []string{alice}},
		{"login by mail", BaseDN, ldap.ScopeWholeSubtree,
			"(&(objectClass=inetOrgPerson)(|(uid=ALICE@demo.sspr.test)(mail=ALICE@demo.sspr.test)))", []string{alice}},
		{"equality is case-insensitive", BaseDN, ldap.ScopeWholeSubtree, "(UID=Alice)", []string{alice}},
		{"escaped value with parentheses and star", BaseDN, ldap.ScopeWholeSubtree,
			"(sn=" + ldap.EscapeFilter("O'Brien (ops)*") + ")", []string{"uid=o'brien," + PeopleDN}},
		{"escaped star is not a wildcard", BaseDN, ldap.ScopeWholeSubtree, `(uid=\2a)`, nil},
		{"substring initial", PeopleDN, ldap.ScopeSingleLevel, "(cn=Al*)", []string{alice}},
		{"substring any/final", PeopleDN, ldap.ScopeSingleLevel, "(mail=*ice@*.test)", []string{alice}},
		{"substring no overlap", PeopleDN, ldap.ScopeSingleLevel, "(uid=ali*lice)", nil},
		{"not", PeopleDN, ldap.ScopeSingleLevel, "(&(uid=*)(!(uid>=b)))", []string{alice}},
		{"presence", BaseDN, ldap.ScopeWholeSubtree, "(&(telephoneNumber=*)(employeeNumber=1002))", []string{"uid=bob," + PeopleDN}},
		{"userPassword is not filterable", BaseDN, ldap.ScopeWholeSubtree, "(userPassword=*)", nil},
		{"base scope", alice, ldap.ScopeBaseObject, "(objectClass=*)", []string{alice}},
		{"one level excludes base and grandchildren", BaseDN, ldap.ScopeSingleLevel, "(objectClass=*)",
			[]string{PeopleDN, ServicesDN, PolicyDN}},
		{"extensible match is undefined", PeopleDN, ldap.ScopeSingleLevel, "(uid:caseExactMatch:=alice)", nil},
		{"not undefined stays undefined", PeopleDN, ldap.ScopeSingleLevel, "(&(uid=alice)(!(uid:caseExactMatch:=x)))", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dns(search(t, c, tt.base, tt.scope, tt.filter))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSearchAttributesAndErrors(t *testing.T) {
	srv := startTest(t, Options{})
	c := serviceConn(t, srv)

	e := search(t, c, BaseDN, ldap.ScopeWholeSubtree, "(uid=alice)", "mail", "DISPLAYNAME")[0]
	if len(e.Attributes) != 2 || e.GetAttributeValue("mail") != "alice@demo.sspr.test" || e.GetAttributeValue("displayName") != "Alice Archer" {
		t.Fatalf("requested attributes: %+v", e.Attributes)
	}
	e = search(t, c, BaseDN, ldap.ScopeWholeSubtree, "(uid=alice)")[0]
	for _, want := range []string{"uid", "cn", "sn", "givenName", "mail", "displayName", "objectClass"} {
		if e.GetAttributeValue(want) == "" {
			t.Errorf("all attributes: %s missing", want)
		}
	}
	if e.GetAttributeValue("userPassword") != "" || e.GetAttributeValue("createTimestamp") != "" {
		t.Errorf("all user attributes returned userPassword or operational attributes")
	}
	e = search(t, c, BaseDN, ldap.ScopeWholeSubtree, "(uid=alice)", "1.1")[0]
	if len(e.Attributes) != 0 {
		t.Errorf("1.1 returned attributes %+v", e.Attributes)
	}
	e = search(t, c, BaseDN, ldap.ScopeWholeSubtree, "(uid=alice)", "+")[0]
	if e.GetAttributeValue("createTimestamp") == "" || e.GetAttributeValue("uid") != "" {
		t.Errorf("+ returned %+v", e.Attributes)
	}

	_, err := c.Search(ldap.NewSearchRequest("ou=nowhere,"+BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
	if resultCode(err) != ldap.LDAPResultNoSuchObject {
		t.Errorf("missing base: %v, want noSuchObject", err)
	}
	res, err := c.Search(ldap.NewSearchRequest(PeopleDN, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 2, 0, false, "(objectClass=*)", nil, nil))
	if resultCode(err) != ldap.LDAPResultSizeLimitExceeded || res == nil || len(res.Entries) != 2 {
		t.Errorf("size limit: %v, %v", err, res)
	}
}

// ppolicyError extracts the ppolicy response control's error from a failed
// operation, or -1 when there is none.
func ppolicyError(t *testing.T, err error) int {
	t.Helper()
	var le *ldap.Error
	if !errors.As(err, &le) || le.Packet == nil || len(le.Packet.Children) < 3 {
		return -1
	}
	for _, child := range le.Packet.Children[2].Children {
		ctrl, derr := ldap.DecodeControl(child)
		if derr != nil {
			t.Fatalf("decode control: %v", derr)
		}
		if pp, ok := ctrl.(*ldap.ControlBeheraPasswordPolicy); ok {
			return int(pp.Error)
		}
	}
	return -1
}

func modifyPassword(c *ldap.Conn, dn, newPassword string, withPolicy bool) error {
	var controls []ldap.Control
	if withPolicy {
		controls = append(controls, ldap.NewControlBeheraPasswordPolicy())
	}
	req := ldap.NewModifyRequest(dn, controls)
	req.Replace("userPassword", []string{newPassword})
	return c.Modify(req)
}

func TestResetPassword(t *testing.T) {
	srv := startTest(t, Options{})
	c := serviceConn(t, srv)
	alice := DefaultUsers()[0]

	if err := modifyPassword(c, alice.DN(), "Brand-new-77", true); err != nil {
		t.Fatalf("reset: %v", err)
	}
	u := dial(t, srv)
	if err := u.Bind(alice.DN(), alice.Password); resultCode(err) != ldap.LDAPResultInvalidCredentials {
		t.Errorf("old password after reset: %v, want invalidCredentials", err)
	}
	if err := u.Bind(alice.DN(), "Brand-new-77"); err != nil {
		t.Errorf("new password after reset: %v", err)
	}
	e := search(t, c, alice.DN(), ldap.ScopeBaseObject, "(objectClass=*)", "pwdChangedTime")[0]
	if e.GetAttributeValue("pwdChangedTime") == "" {
		t.Errorf("pwdChangedTime not set")
	}
}

func TestPasswordPolicyRefusals(t *testing.T) {
	srv := startTest(t, Options{})
	c := serviceConn(t, srv)
	bob := DefaultUsers()[1]
	tests := []struct {
		name       string
		password   string
		withPolicy bool
		wantPP     int
		wantDiag   string
	}{
		{"too short, control", "Ab-1", true, 6, "Password is too short for policy"},
		{"no digit, control", "Long-enough-but-no-digit", true, 5, "Password must contain at least one digit"},
		{"short and no digit reports length", "abc", true, 6, "Password is too short for policy"},
		{"too short, no control", "Ab-1", false, -1, "Password is too short for policy"},
		{"no digit, no control", "Long-enough-but-no-digit", false, -1, "Password must contain at least one digit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := modifyPassword(c, bob.DN(), tt.password, tt.withPolicy)
			if resultCode(err) != ldap.LDAPResultConstraintViolation {
				t.Fatalf("modify = %v, want constraintViolation", err)
			}
			var le *ldap.Error
			errors.As(err, &le)
			if le.Err == nil || le.Err.Error() != tt.wantDiag {
				t.Errorf("diagnostic = %v, want %q", le.Err, tt.wantDiag)
			}
			if got := ppolicyError(t, err); got != tt.wantPP {
				t.Errorf("ppolicy error = %d, want %d", got, tt.wantPP)
			}
		})
	}
	// Nothing changed.
	if err := dial(t, srv).Bind(bob.DN(), bob.Password); err != nil {
		t.Fatalf("bob's password changed by refused modifies: %v", err)
	}
}

func TestPPolicyControlBytesMatchOpenLDAP(t *testing.T) {
	// slapo-ppolicy: ber_printf("{" "te" "N}", PPOLICY_ERROR=0x81, err)
	got := ppolicyResponseControl(6).Children[1].Data.Bytes()
	want := []byte{0x30, 0x03, 0x81, 0x01, 0x06}
	if string(got) != string(want) {
		t.Fatalf("control value = % x, want % x", got, want)
	}
}

func TestCustomRules(t *testing.T) {
	srv := startTest(t, Options{Rules: &Rules{MinLength: 12}})
	c := serviceConn(t, srv)
	dn := DefaultUsers()[2].DN()
	if err := modifyPassword(c, dn, "nodigits-but-long", false); err != nil {
		t.Fatalf("digit not required: %v", err)
	}
	if err := modifyPassword(c, dn, "short-1", false); resultCode(err) != ldap.LDAPResultConstraintViolation {
		t.Fatalf("short: %v", err)
	}
}

func TestUserChangesOwnPassword(t *testing.T) {
	srv := startTest(t, Options{})
	carol, dave := DefaultUsers()[2], DefaultUsers()[3]
	c := dial(t, srv)
	if err := c.Bind(carol.DN(), carol.Password); err != nil {
		t.Fatal(err)
	}
	// Change proving the old password: delete old + add new.
	req := ldap.NewModifyRequest(carol.DN(), nil)
	req.Delete("userPassword", []string{"not-the-old-1"})
	req.Add("userPassword", []string{"Changed-2027"})
	if err := c.Modify(req); resultCode(err) != ldap.LDAPResultNoSuchAttribute {
		t.Fatalf("wrong old password: %v, want noSuchAttribute", err)
	}
	req = ldap.NewModifyRequest(carol.DN(), nil)
	req.Delete("userPassword", []string{carol.Password})
	req.Add("userPassword", []string{"Changed-2027"})
	if err := c.Modify(req); err != nil {
		t.Fatalf("change own password: %v", err)
	}
	if err := dial(t, srv).Bind(carol.DN(), "Changed-2027"); err != nil {
		t.Fatalf("bind with changed password: %v", err)
	}
	// But not someone else's.
	if err := modifyPassword(c, dave.DN(), "Stolen-2027", false); resultCode(err) != ldap.LDAPResultInsufficientAccessRights {
		t.Fatalf("change other's password: %v, want insufficientAccessRights", err)
	}
}

func TestRefusedOperations(t *testing.T) {
	srv := startTest(t, Options{})
	alice := DefaultUsers()[0]
	anon := dial(t, srv)
	if err := modifyPassword(anon, alice.DN(), "Anon-2027x", false); resultCode(err) != ldap.LDAPResultInsufficientAccessRights {
		t.Errorf("anonymous modify: %v", err)
	}
	c := serviceConn(t, srv)
	req := ldap.NewModifyRequest(alice.DN(), nil)
	req.Replace("mail", []string{"evil@example.com"})
	if err := c.Modify(req); resultCode(err) != ldap.LDAPResultInsufficientAccessRights {
		t.Errorf("modify mail: %v", err)
	}
	if err := modifyPassword(c, ServiceDN, "Takeover-2027", false); resultCode(err) != ldap.LDAPResultInsufficientAccessRights {
		t.Errorf("modify service account: %v", err)
	}
	if err := modifyPassword(c, "uid=nobody,"+PeopleDN, "Nobody-2027", false); resultCode(err) != ldap.LDAPResultNoSuchObject {
		t.Errorf("modify missing entry: %v", err)
	}
	add := ldap.NewAddRequest("uid=new,"+PeopleDN, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	if err := c.Add(add); resultCode(err) != ldap.LDAPResultInsufficientAccessRights {
		t.Errorf("add: %v", err)
	}
	if err := c.Del(ldap.NewDelRequest(alice.DN(), nil)); resultCode(err) != ldap.LDAPResultInsufficientAccessRights {
		t.Errorf("delete: %v", err)
	}
	if _, err := c.PasswordModify(ldap.NewPasswordModifyRequest(alice.DN(), "", "Whatever-2027")); resultCode(err) != ldap.LDAPResultUnwillingToPerform {
		t.Errorf("password modify extended op: %v", err)
	}
	// The connection still works after all that.
	if len(search(t, c, BaseDN, ldap.ScopeWholeSubtree, "(uid=alice)")) != 1 {
		t.Errorf("search after refusals failed")
	}
}

func TestWhoAmI(t *testing.T) {
	srv := startTest(t, Options{})
	c := serviceConn(t, srv)
	res, err := c.WhoAmI(nil)
	if err != nil {
		t.Fatalf("WhoAmI: %v", err)
	}
	if res.AuthzID != "dn:"+ServiceDN {
		t.Fatalf("authzID = %q", res.AuthzID)
	}
}

func TestCloseCutsIdleClients(t *testing.T) {
	srv, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ldap.DialURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on an idle client connection")
	}
	if _, err := ldap.DialURL(srv.URL()); err == nil {
		t.Fatal("still accepting after Close")
	}
}

func TestContextStopsServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close after cancel: %v", err)
	}
}

func TestConcurrentClients(t *testing.T) {
	srv := startTest(t, Options{})
	users := DefaultUsers()
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ldap.DialURL(srv.URL())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			if err := c.Bind(srv.ServiceDN(), srv.ServicePassword()); err != nil {
				t.Error(err)
				return
			}
			for j := 0; j < 10; j++ {
				pw := fmt.Sprintf("Round-%d-%d-pass", i, j)
				if err := modifyPassword(c, u.DN(), pw, true); err != nil {
					t.Error(err)
					return
				}
				if _, err := c.Search(ldap.NewSearchRequest(BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
					"(uid="+ldap.EscapeFilter(u.UID)+")", nil, nil)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
