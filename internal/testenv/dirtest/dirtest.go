package dirtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory/ad"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/openldap"
)

// RequireEnv is the variable that turns "skip" into "fail" when a
// directory's variables are missing.
const RequireEnv = "SSPR_TEST_REQUIRE_INTEGRATION"

// The variables of the environment contract.
var (
	adVars = []string{"SSPR_TEST_AD_URL", "SSPR_TEST_AD_BASE_DN", "SSPR_TEST_AD_BIND_DN",
		"SSPR_TEST_AD_BIND_PASSWORD", "SSPR_TEST_AD_CA_FILE"}
	ldapVars = []string{"SSPR_TEST_LDAP_URL", "SSPR_TEST_LDAP_LDAPS_URL", "SSPR_TEST_LDAP_BASE_DN",
		"SSPR_TEST_LDAP_BIND_DN", "SSPR_TEST_LDAP_BIND_PASSWORD", "SSPR_TEST_LDAP_ADMIN_DN",
		"SSPR_TEST_LDAP_ADMIN_PASSWORD", "SSPR_TEST_LDAP_CA_FILE"}
)

// User is a test account created by CreateADUser or CreateLDAPUser.
type User struct {
	// Login is the canonical login (sAMAccountName or uid).
	Login string
	// DN is the entry's distinguished name.
	DN string
	// Mail is the mail attribute, distinct from the login and the UPN.
	Mail string
	// UPN is the userPrincipalName (AD only).
	UPN string
	// Password is the password the user was created with.
	Password string
}

// need returns the values of vars, or skips (fails under RequireEnv) the test.
func need(t testing.TB, what string, vars []string) map[string]string {
	t.Helper()
	vals := make(map[string]string, len(vars))
	var missing []string
	for _, v := range vars {
		val := os.Getenv(v)
		if val == "" {
			missing = append(missing, v)
		}
		vals[v] = val
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("%s integration test: %s not set (run scripts/testenv/up.sh STATE_DIR and source STATE_DIR/env.sh)",
			what, strings.Join(missing, ", "))
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return vals
}

// ADConfig returns the AD connector configuration for the test DC, bound as
// SSPR_TEST_AD_BIND_DN, with the AD preset applied.
func ADConfig(t testing.TB) ldapdir.Config {
	t.Helper()
	v := need(t, "Active Directory", adVars)
	return ldapdir.Config{
		Name:         "test-ad",
		URLs:         []string{v["SSPR_TEST_AD_URL"]},
		CAFile:       v["SSPR_TEST_AD_CA_FILE"],
		BindDN:       v["SSPR_TEST_AD_BIND_DN"],
		BindPassword: v["SSPR_TEST_AD_BIND_PASSWORD"],
		BaseDN:       v["SSPR_TEST_AD_BASE_DN"],
		Timeout:      10 * time.Second,
	}.WithDefaults(ad.Preset())
}

// LDAPConfig returns the OpenLDAP connector configuration for the test slapd:
// SSPR_TEST_LDAP_URL with StartTLS, bound as the sspr service account, with
// the OpenLDAP preset applied.
func LDAPConfig(t testing.TB) ldapdir.Config {
	t.Helper()
	v := need(t, "OpenLDAP", ldapVars)
	return ldapdir.Config{
		Name:         "test-openldap",
		URLs:         []string{v["SSPR_TEST_LDAP_URL"]},
		StartTLS:     true,
		CAFile:       v["SSPR_TEST_LDAP_CA_FILE"],
		BindDN:       v["SSPR_TEST_LDAP_BIND_DN"],
		BindPassword: v["SSPR_TEST_LDAP_BIND_PASSWORD"],
		BaseDN:       v["SSPR_TEST_LDAP_BASE_DN"],
		Timeout:      10 * time.Second,
	}.WithDefaults(openldap.Preset())
}

// LDAPSURL returns SSPR_TEST_LDAP_LDAPS_URL (skips or fails like LDAPConfig).
func LDAPSURL(t testing.TB) string {
	t.Helper()
	return need(t, "OpenLDAP", ldapVars)["SSPR_TEST_LDAP_LDAPS_URL"]
}

// ADAdmin returns a connection bound as SSPR_TEST_AD_BIND_DN over LDAPS,
// closed when the test ends. For test setup.
func ADAdmin(t testing.TB) *ldap.Conn {
	t.Helper()
	v := need(t, "Active Directory", adVars)
	return adminConn(t, ADConfig(t), v["SSPR_TEST_AD_BIND_DN"], v["SSPR_TEST_AD_BIND_PASSWORD"])
}

// LDAPAdmin returns a connection bound as the rootDN (StartTLS), closed when
// the test ends. For test setup: the rootDN bypasses ppolicy.
func LDAPAdmin(t testing.TB) *ldap.Conn {
	t.Helper()
	v := need(t, "OpenLDAP", ldapVars)
	return adminConn(t, LDAPConfig(t), v["SSPR_TEST_LDAP_ADMIN_DN"], v["SSPR_TEST_LDAP_ADMIN_PASSWORD"])
}

func adminConn(t testing.TB, cfg ldapdir.Config, dn, password string) *ldap.Conn {
	t.Helper()
	cfg.BindDN, cfg.BindPassword = dn, password
	c, err := ldapdir.New(cfg)
	if err != nil {
		t.Fatalf("dirtest: %v", err)
	}
	conn, err := c.ServiceConn(context.Background())
	if err != nil {
		t.Fatalf("dirtest: admin bind as %s: %v", dn, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn.Conn
}

// UniqueName returns prefix followed by 8 random hex digits; short enough
// for a sAMAccountName (at most 20 characters) when prefix is.
func UniqueName(prefix string) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b)
}

// NewADUser creates an enabled AD user with password and returns its
// sAMAccountName; the user is deleted when the test ends.
func NewADUser(t testing.TB, password string) string {
	t.Helper()
	return CreateADUser(t, password).Login
}

// CreateADUser creates an enabled AD user (userAccountControl 512) under
// CN=Users with password, a UPN login@<realm> and a different mail
// address, and deletes it when the test ends.
func CreateADUser(t testing.TB, password string) User {
	t.Helper()
	cfg := ADConfig(t)
	conn := ADAdmin(t)
	login := UniqueName("sspr")
	domain := dnsDomain(cfg.BaseDN)
	u := User{
		Login:    login,
		DN:       "CN=" + login + ",CN=Users," + cfg.BaseDN,
		UPN:      login + "@" + domain,
		Mail:     login + ".mail@" + domain,
		Password: password,
	}
	req := ldap.NewAddRequest(u.DN, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	req.Attribute("sAMAccountName", []string{login})
	req.Attribute("userPrincipalName", []string{u.UPN})
	req.Attribute("mail", []string{u.Mail})
	req.Attribute("displayName", []string{"Test " + login})
	req.Attribute("givenName", []string{"Test"})
	req.Attribute("sn", []string{login})
	req.Attribute("unicodePwd", []string{ad.EncodePassword(password)})
	req.Attribute("userAccountControl", []string{"512"})
	if err := conn.Add(req); err != nil {
		t.Fatalf("dirtest: add AD user %s: %v", u.DN, err)
	}
	t.Cleanup(func() { deleteEntry(t, ADAdmin, u.DN) })
	return u
}

// NewLDAPUser creates an inetOrgPerson under ou=people with password and
// returns its uid; the user is deleted when the test ends.
func NewLDAPUser(t testing.TB, password string) string {
	t.Helper()
	return CreateLDAPUser(t, password).Login
}

// CreateLDAPUser creates an inetOrgPerson under ou=people (as the rootDN, so
// ppolicy does not judge the initial password) and deletes it when the test
// ends.
func CreateLDAPUser(t testing.TB, password string) User {
	t.Helper()
	cfg := LDAPConfig(t)
	conn := LDAPAdmin(t)
	login := UniqueName("sspr")
	domain := dnsDomain(cfg.BaseDN)
	u := User{
		Login:    login,
		DN:       "uid=" + login + ",ou=people," + cfg.BaseDN,
		Mail:     login + ".mail@" + domain,
		Password: password,
	}
	req := ldap.NewAddRequest(u.DN, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson"})
	req.Attribute("uid", []string{login})
	req.Attribute("cn", []string{"Test " + login})
	req.Attribute("sn", []string{login})
	req.Attribute("displayName", []string{"Test " + login})
	req.Attribute("mail", []string{u.Mail})
	req.Attribute("userPassword", []string{password})
	if err := conn.Add(req); err != nil {
		t.Fatalf("dirtest: add LDAP user %s: %v", u.DN, err)
	}
	t.Cleanup(func() { deleteEntry(t, LDAPAdmin, u.DN) })
	return u
}

// deleteEntry deletes dn on a fresh admin connection (the test's own may
// have been closed by an earlier cleanup).
func deleteEntry(t testing.TB, admin func(testing.TB) *ldap.Conn, dn string) {
	t.Helper()
	if err := admin(t).Del(ldap.NewDelRequest(dn, nil)); err != nil &&
		!ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Errorf("dirtest: delete %s: %v", dn, err)
	}
}

// Bind looks login up with cfg's service account and binds as that user with
// password on a fresh connection, the way a connector's VerifyPassword does.
// It returns nil or the *directory.Error.
func Bind(t testing.TB, cfg ldapdir.Config, login, password string) error {
	t.Helper()
	c, err := ldapdir.New(cfg)
	if err != nil {
		t.Fatalf("dirtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := c.FindUser(ctx, login)
	if err != nil {
		return err
	}
	_, err = c.VerifyPassword(ctx, u.DN, password)
	return err
}

// dnsDomain turns DC=example,DC=test into example.test.
func dnsDomain(baseDN string) string {
	dn, err := ldap.ParseDN(baseDN)
	if err != nil {
		return "example.test"
	}
	var parts []string
	for _, rdn := range dn.RDNs {
		for _, a := range rdn.Attributes {
			if strings.EqualFold(a.Type, "dc") {
				parts = append(parts, a.Value)
			}
		}
	}
	if len(parts) == 0 {
		return "example.test"
	}
	return strings.Join(parts, ".")
}
