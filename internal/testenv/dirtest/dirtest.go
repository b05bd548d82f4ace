package dirtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
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
		// ppolicy_default is not visible over LDAP; scripts/testenv says
		// which entry it is.
		PasswordPolicyDN: os.Getenv("SSPR_TEST_LDAP_POLICY_DN"),
		Timeout:          10 * time.Second,
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
	// A fresh connection of its own, never one from a pool.
	conn, err := c.FreshServiceConn(context.Background())
	if err != nil {
		t.Fatalf("dirtest: admin bind as %s: %v", dn, err)
	}
	t.Cleanup(func() { _ = conn.Close(); _ = c.Close() })
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
	defer c.Close()
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

// The variables scripts/testenv adds for the capability tests.
var (
	adSvcVars = []string{"SSPR_TEST_AD_SVC_DN", "SSPR_TEST_AD_SVC_PASSWORD", "SSPR_TEST_AD_NORIGHTS_DN",
		"SSPR_TEST_AD_NORIGHTS_PASSWORD", "SSPR_TEST_AD_PSO_DN", "SSPR_TEST_AD_LOCKOUT_THRESHOLD"}
	ldapExtraVars = []string{"SSPR_TEST_LDAP_POLICY_DN", "SSPR_TEST_LDAP_POLICY2_DN", "SSPR_TEST_LDAP_GROUPS_DN"}
)

// ADServiceConfig is ADConfig bound as sspr-svc, the least-privilege
// service account that holds only the delegated rights on CN=Users: Reset
// Password and read/write of pwdLastSet and lockoutTime.
func ADServiceConfig(t testing.TB) ldapdir.Config {
	t.Helper()
	v := need(t, "Active Directory", adSvcVars)
	cfg := ADConfig(t)
	cfg.BindDN, cfg.BindPassword = v["SSPR_TEST_AD_SVC_DN"], v["SSPR_TEST_AD_SVC_PASSWORD"]
	return cfg
}

// ADNoRightsConfig is ADConfig bound as sspr-norights, a service account
// without any delegated right.
func ADNoRightsConfig(t testing.TB) ldapdir.Config {
	t.Helper()
	v := need(t, "Active Directory", adSvcVars)
	cfg := ADConfig(t)
	cfg.BindDN, cfg.BindPassword = v["SSPR_TEST_AD_NORIGHTS_DN"], v["SSPR_TEST_AD_NORIGHTS_PASSWORD"]
	return cfg
}

// ADLockoutThreshold is the domain's lockout threshold set by samba.sh.
func ADLockoutThreshold(t testing.TB) int {
	t.Helper()
	n, err := strconv.Atoi(need(t, "Active Directory", adSvcVars)["SSPR_TEST_AD_LOCKOUT_THRESHOLD"])
	if err != nil || n <= 0 {
		t.Fatalf("dirtest: SSPR_TEST_AD_LOCKOUT_THRESHOLD is not a positive number")
	}
	return n
}

// ADTestPSO returns the DN of the test PSO (min length 12, history 3,
// lockout after 5 for 10 minutes), applied to nobody.
func ADTestPSO(t testing.TB) string {
	t.Helper()
	return need(t, "Active Directory", adSvcVars)["SSPR_TEST_AD_PSO_DN"]
}

// ApplyADPSO applies the PSO psoDN to the account or group dn (adds dn to
// msDS-PSOAppliesTo) and takes it away when the test ends.
func ApplyADPSO(t testing.TB, psoDN, dn string) {
	t.Helper()
	req := ldap.NewModifyRequest(psoDN, nil)
	req.Add("msDS-PSOAppliesTo", []string{dn})
	if err := ADAdmin(t).Modify(req); err != nil {
		t.Fatalf("dirtest: apply %s to %s: %v", psoDN, dn, err)
	}
	t.Cleanup(func() {
		req := ldap.NewModifyRequest(psoDN, nil)
		req.Delete("msDS-PSOAppliesTo", []string{dn})
		if err := ADAdmin(t).Modify(req); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
			t.Errorf("dirtest: remove %s from %s: %v", dn, psoDN, err)
		}
	})
}

// CreateADUserWith is CreateADUser with further attributes set at creation
// (mobile, manager, ...).
func CreateADUserWith(t testing.TB, password string, attrs map[string][]string) User {
	t.Helper()
	u := CreateADUser(t, password)
	if len(attrs) > 0 {
		Modify(t, ADAdmin(t), u.DN, attrs)
	}
	return u
}

// CreateADGroup creates a global security group under CN=Users with the
// given member DNs and deletes it when the test ends.
func CreateADGroup(t testing.TB, members ...string) string {
	t.Helper()
	cfg := ADConfig(t)
	name := UniqueName("ssprg")
	dn := "CN=" + name + ",CN=Users," + cfg.BaseDN
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "group"})
	req.Attribute("sAMAccountName", []string{name})
	if len(members) > 0 {
		req.Attribute("member", members)
	}
	if err := ADAdmin(t).Add(req); err != nil {
		t.Fatalf("dirtest: add AD group %s: %v", dn, err)
	}
	t.Cleanup(func() { deleteEntry(t, ADAdmin, dn) })
	return dn
}

// LDAPPolicyDNs returns the default and the second ("strict") pwdPolicy
// entries of the test slapd.
func LDAPPolicyDNs(t testing.TB) (defaultDN, strictDN string) {
	t.Helper()
	v := need(t, "OpenLDAP", ldapExtraVars)
	return v["SSPR_TEST_LDAP_POLICY_DN"], v["SSPR_TEST_LDAP_POLICY2_DN"]
}

// CreateLDAPGroup creates a group of objectClass (groupOfNames or
// groupOfUniqueNames) under ou=groups with the given member DNs, and deletes
// it when the test ends. groupOfNames needs a member: with none, the group
// names itself... no: the base DN stands in.
func CreateLDAPGroup(t testing.TB, objectClass string, members ...string) string {
	t.Helper()
	v := need(t, "OpenLDAP", ldapExtraVars)
	name := UniqueName("ssprg")
	dn := "cn=" + name + "," + v["SSPR_TEST_LDAP_GROUPS_DN"]
	attr := "member"
	if strings.EqualFold(objectClass, "groupOfUniqueNames") {
		attr = "uniqueMember"
	}
	if len(members) == 0 {
		members = []string{LDAPConfig(t).BaseDN}
	}
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", objectClass})
	req.Attribute("cn", []string{name})
	req.Attribute(attr, members)
	if err := LDAPAdmin(t).Add(req); err != nil {
		t.Fatalf("dirtest: add LDAP group %s: %v", dn, err)
	}
	t.Cleanup(func() { deleteEntry(t, LDAPAdmin, dn) })
	return dn
}

// Modify replaces each attribute of dn with the given values (no values:
// deletes the attribute) on conn, failing the test on error.
func Modify(t testing.TB, conn *ldap.Conn, dn string, attrs map[string][]string) {
	t.Helper()
	req := ldap.NewModifyRequest(dn, nil)
	for a, vals := range attrs {
		if len(vals) == 0 {
			req.Delete(a, nil)
		} else {
			req.Replace(a, vals)
		}
	}
	if err := conn.Modify(req); err != nil {
		t.Fatalf("dirtest: modify %s: %v", dn, err)
	}
}

// FailBinds binds as dn with a wrong password n times on fresh connections,
// as someone guessing would; each must fail.
func FailBinds(t testing.TB, cfg ldapdir.Config, dn string, n int) {
	t.Helper()
	c, err := ldapdir.New(cfg)
	if err != nil {
		t.Fatalf("dirtest: %v", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		if _, err := c.VerifyPassword(ctx, dn, "Wrong-Guess-"+strconv.Itoa(i)); err == nil {
			t.Fatalf("dirtest: a wrong password bound as %s", dn)
		}
	}
}

// The 389 Directory Server variables (scripts/testenv/389ds.sh).
var ds389Vars = []string{"SSPR_TEST_389_URL", "SSPR_TEST_389_BASE_DN", "SSPR_TEST_389_BIND_DN",
	"SSPR_TEST_389_BIND_PASSWORD", "SSPR_TEST_389_ADMIN_DN", "SSPR_TEST_389_ADMIN_PASSWORD", "SSPR_TEST_389_CA_FILE"}

// DS389Config returns the connector configuration for the test 389-DS
// instance over LDAPS, bound as its service account, with the 389-DS preset.
func DS389Config(t testing.TB) ldapdir.Config {
	t.Helper()
	v := need(t, "389 Directory Server", ds389Vars)
	p, _ := ldapdir.Preset(ldapdir.Flavor389DS)
	return ldapdir.Config{
		Name:         "test-389ds",
		URLs:         []string{v["SSPR_TEST_389_URL"]},
		CAFile:       v["SSPR_TEST_389_CA_FILE"],
		BindDN:       v["SSPR_TEST_389_BIND_DN"],
		BindPassword: v["SSPR_TEST_389_BIND_PASSWORD"],
		BaseDN:       v["SSPR_TEST_389_BASE_DN"],
		Timeout:      10 * time.Second,
	}.WithDefaults(p)
}

// DS389Admin returns a connection bound as cn=Directory Manager, for setup.
func DS389Admin(t testing.TB) *ldap.Conn {
	t.Helper()
	v := need(t, "389 Directory Server", ds389Vars)
	return adminConn(t, DS389Config(t), v["SSPR_TEST_389_ADMIN_DN"], v["SSPR_TEST_389_ADMIN_PASSWORD"])
}

// CreateDS389User creates an inetOrgPerson under ou=people of the 389-DS
// instance and deletes it when the test ends.
func CreateDS389User(t testing.TB, password string) User {
	t.Helper()
	cfg := DS389Config(t)
	login := UniqueName("sspr")
	u := User{Login: login, DN: "uid=" + login + ",ou=people," + cfg.BaseDN,
		Mail: login + ".mail@" + dnsDomain(cfg.BaseDN), Password: password}
	req := ldap.NewAddRequest(u.DN, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson"})
	req.Attribute("uid", []string{login})
	req.Attribute("cn", []string{"Test " + login})
	req.Attribute("sn", []string{login})
	req.Attribute("displayName", []string{"Test " + login})
	req.Attribute("mail", []string{u.Mail})
	req.Attribute("userPassword", []string{password})
	if err := DS389Admin(t).Add(req); err != nil {
		t.Fatalf("dirtest: add 389-DS user %s: %v", u.DN, err)
	}
	t.Cleanup(func() { deleteEntry(t, DS389Admin, u.DN) })
	return u
}

// CreateDS389Group creates a groupOfNames under ou=groups of the 389-DS
// instance with the given members and deletes it when the test ends.
func CreateDS389Group(t testing.TB, members ...string) string {
	t.Helper()
	cfg := DS389Config(t)
	name := UniqueName("ssprg")
	dn := "cn=" + name + ",ou=groups," + cfg.BaseDN
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "groupOfNames"})
	req.Attribute("cn", []string{name})
	req.Attribute("member", members)
	if err := DS389Admin(t).Add(req); err != nil {
		t.Fatalf("dirtest: add 389-DS group %s: %v", dn, err)
	}
	t.Cleanup(func() { deleteEntry(t, DS389Admin, dn) })
	return dn
}

// CreateADOU creates a unique organizational unit under the domain with n
// users in it (no password, so disabled: enough to be found), and deletes
// them and it when the test ends. It returns the OU's DN. For tests of how
// much sspr reads from a directory with many users.
func CreateADOU(t testing.TB, n int) string {
	t.Helper()
	cfg := ADConfig(t)
	conn := ADAdmin(t)
	ou := "OU=" + UniqueName("sspr-ou") + "," + cfg.BaseDN
	req := ldap.NewAddRequest(ou, nil)
	req.Attribute("objectClass", []string{"top", "organizationalUnit"})
	if err := conn.Add(req); err != nil {
		t.Fatalf("dirtest: add OU %s: %v", ou, err)
	}
	var users []string
	t.Cleanup(func() {
		for _, dn := range users {
			deleteEntry(t, ADAdmin, dn)
		}
		deleteEntry(t, ADAdmin, ou)
	})
	for i := 0; i < n; i++ {
		login := UniqueName("sspr")
		dn := "CN=" + login + "," + ou
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
		req.Attribute("sAMAccountName", []string{login})
		if err := conn.Add(req); err != nil {
			t.Fatalf("dirtest: add AD user %s: %v", dn, err)
		}
		users = append(users, dn)
	}
	return ou
}
