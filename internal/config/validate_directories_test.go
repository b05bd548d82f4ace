package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/config"
)

// TestDirectoryLDAPSyntax: filters, DNs and attribute names are checked with
// go-ldap's parsers under their YAML keys, so config check fails on what
// the connector would otherwise refuse (or send) at run time.
func TestDirectoryLDAPSyntax(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate func(*config.Directory)
		key    string
		msg    string
	}{
		{"unbalanced user_filter", func(d *config.Directory) { d.UserFilter = "(&(objectClass=user)(cn=*)" }, "directories[0].user_filter", "not an LDAP filter"},
		{"user_filter without parentheses", func(d *config.Directory) { d.UserFilter = "objectClass=user" }, "directories[0].user_filter", "not an LDAP filter"},
		{"user_filter bad syntax", func(d *config.Directory) { d.UserFilter = "(objectClass~user)" }, "directories[0].user_filter", "not an LDAP filter"},
		{"disabled_filter", func(d *config.Directory) { d.DisabledFilter = "(nsAccountLock=TRUE" }, "directories[0].disabled_filter", "not an LDAP filter"},
		{"login attribute with a space", func(d *config.Directory) { d.LoginAttributes = []string{"sAMAccountName", "mail "} }, "directories[0].login_attributes[1]", "not an LDAP attribute name"},
		{"login attribute with filter syntax", func(d *config.Directory) { d.LoginAttributes = []string{"uid)(cn=*"} }, "directories[0].login_attributes[0]", "not an LDAP attribute name"},
		{"login_name_attribute", func(d *config.Directory) { d.LoginNameAttribute = "sAMAccount Name" }, "directories[0].login_name_attribute", "not an LDAP attribute name"},
		{"mail_attribute", func(d *config.Directory) { d.MailAttribute = "mail," }, "directories[0].mail_attribute", "not an LDAP attribute name"},
		{"display_name_attribute", func(d *config.Directory) { d.DisplayNameAttribute = "_name" }, "directories[0].display_name_attribute", "not an LDAP attribute name"},
		{"mobile_attribute", func(d *config.Directory) { d.MobileAttribute = "mobile*" }, "directories[0].mobile_attribute", "not an LDAP attribute name"},
		{"manager_attribute", func(d *config.Directory) { d.ManagerAttribute = "(manager)" }, "directories[0].manager_attribute", "not an LDAP attribute name"},
		{"base_dn", func(d *config.Directory) { d.BaseDN = "DC=example,,DC=com=" }, "directories[0].base_dn", "not a DN"},
		{"group_base_dn", func(d *config.Directory) { d.GroupBaseDN = "example.com" }, "directories[0].group_base_dn", "not a DN"},
		{"protected group", func(d *config.Directory) { d.ProtectedGroups = []string{"Domain Admins"} }, "directories[0].protected_groups[0]", "not a DN"},
		{"password_policy_dn", func(d *config.Directory) { d.PasswordPolicyDN = "default policy" }, "directories[0].password_policy_dn", "not a DN"},
		{"domain with a backslash", func(d *config.Directory) { d.Domains = []string{`EXAMPLE\`} }, "directories[0].domains[0]", "not a domain name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, validYAML, nil)
			tc.mutate(&cfg.Directories[0])
			ps := problemsOf(t, config.Validate(cfg))
			p, ok := find(ps, tc.key)
			if !ok || !strings.Contains(p.Message, tc.msg) {
				t.Errorf("problems = %v, want %s: ...%s...", ps, tc.key, tc.msg)
			}
		})
	}
}

// TestDirectoryLDAPSyntaxAccepted: what real directories use passes.
func TestDirectoryLDAPSyntaxAccepted(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, validYAML, nil)
	d := &cfg.Directories[0]
	d.UserFilter = "(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"
	d.LoginAttributes = []string{"sAMAccountName", "userPrincipalName", "mail", "2.5.4.3", "userCertificate;binary"}
	d.BindDN = "svc-sspr@example.com" // AD binds by UPN too
	d.ProtectedGroups = []string{"CN=Domain Admins,CN=Users,DC=example,DC=com"}
	if err := config.Validate(cfg); err != nil {
		t.Fatal(err)
	}
	// Only AD binds by UPN: OpenLDAP needs a DN.
	cfg.Directories[1].BindDN = "sspr@example.com"
	if _, ok := find(problemsOf(t, config.Validate(cfg)), "directories[1].bind_dn"); !ok {
		t.Error("an OpenLDAP bind_dn that is not a DN was accepted")
	}
}

// TestAttributeQuestionName: the attribute a question reads is an attribute
// name too.
func TestAttributeQuestionName(t *testing.T) {
	t.Parallel()
	yaml := validYAML + "verification:\n  factors: [email, attributes]\n  attributes:\n    - {attribute: \"employee id\", label: Your ID}\n"
	_, err := config.Parse([]byte(yaml), nil)
	if _, ok := find(problemsOf(t, err), "verification.attributes[0].attribute"); !ok {
		t.Errorf("bad attribute name accepted: %v", err)
	}
}

// TestDeprecatedInsecureWritesKey: the old key still allows plain LDAP, and
// says it is the old name.
func TestDeprecatedInsecureWritesKey(t *testing.T) {
	t.Parallel()
	yaml := strings.Replace(validYAML, "    start_tls: true\n", "    allow_insecure_password_writes: true\n", 1)
	cfg := mustParse(t, yaml, nil)
	if !cfg.Directories[1].AllowInsecureBinds {
		t.Fatal("allow_insecure_password_writes does not turn on allow_insecure_binds")
	}
	var got []string
	for _, w := range cfg.Warnings() {
		got = append(got, w.Path)
	}
	for _, want := range []string{"directories[1].allow_insecure_password_writes", "directories[1].urls[0]"} {
		if !slices.Contains(got, want) {
			t.Errorf("warnings at %q, want one at %s", got, want)
		}
	}
	// Without either key, plain LDAP is refused, naming the URL.
	yaml = strings.Replace(validYAML, "    start_tls: true\n", "", 1)
	_, err := config.Parse([]byte(yaml), nil)
	if p, ok := find(problemsOf(t, err), "directories[1].urls[0]"); !ok || !strings.Contains(p.Message, "allow_insecure_binds") {
		t.Errorf("plain LDAP: %v", err)
	}
}

// TestDirectoryRules: the directories section's rules.
func TestDirectoryRules(t *testing.T) {
	t.Parallel()
	checkRules(t, []rule{
		{"global catalog 3268 refused for ad", func(c *config.Config) {
			c.Directories[0].URLs = []string{"ldap://dc1.example.com:3268"}
			c.Directories[0].StartTLS = true
		}, []string{"directories[0].urls[0]"}},
		{"global catalog 3269 refused for ad", func(c *config.Config) {
			c.Directories[0].URLs = []string{"ldaps://dc1.example.com:636", "ldaps://dc1.example.com:3269"}
		}, []string{"directories[0].urls[1]"}},
		{"port 3268 fine for openldap", func(c *config.Config) { c.Directories[1].URLs = []string{"ldap://ldap.example.com:3268"} }, nil},
		{"plain ldap without start_tls refused", func(c *config.Config) { c.Directories[1].StartTLS = false }, []string{"directories[1].urls[0]"}},
		{"plain LDAP:// without start_tls refused", func(c *config.Config) {
			c.Directories[1].StartTLS = false
			c.Directories[1].URLs = []string{"LDAP://ldap.example.com:389"}
		}, []string{"directories[1].urls[0]"}},
		{"plain ldap on loopback refused too", func(c *config.Config) {
			c.Directories[1].StartTLS = false
			c.Directories[1].URLs = []string{"ldap://127.0.0.1:389"}
		}, []string{"directories[1].urls[0]"}},
		{"plain ldap with allow_insecure_binds", func(c *config.Config) {
			c.Directories[1].StartTLS = false
			c.Directories[1].AllowInsecureBinds = true
		}, nil},
		{"plain ldap with the deprecated allow_insecure_password_writes", func(c *config.Config) {
			c.Directories[1].StartTLS = false
			c.Directories[1].AllowInsecurePasswordWrites = true
		}, nil},
		{"ldaps with start_tls", func(c *config.Config) { c.Directories[0].StartTLS = true }, []string{"directories[0].urls[0]", "directories[0].urls[1]"}},
		{"not an ldap url", func(c *config.Config) { c.Directories[0].URLs = []string{"https://dc1.example.com"} }, []string{"directories[0].urls[0]"}},
		{"no urls", func(c *config.Config) { c.Directories[0].URLs = nil }, []string{"directories[0].urls"}},
		{"no directories", func(c *config.Config) { c.Directories = nil }, []string{"directories"}},
		{"duplicate directory name", func(c *config.Config) { c.Directories[1].Name = "corp" }, []string{"directories[1].name"}},
		{"bad type", func(c *config.Config) { c.Directories[0].Type = "novell" }, []string{"directories[0].type"}},
		{"write_concurrency -1 (no limit)", func(c *config.Config) { c.Directories[0].WriteConcurrency = -1 }, nil},
		{"write_concurrency out of range", func(c *config.Config) {
			c.Directories[0].WriteConcurrency = -2
			c.Directories[1].WriteConcurrency = 65
		}, []string{"directories[0].write_concurrency", "directories[1].write_concurrency"}},
		{"password_write on ad", func(c *config.Config) { c.Directories[0].PasswordWrite = "modify" }, []string{"directories[0].password_write"}},
		{"bad password_write", func(c *config.Config) { c.Directories[1].PasswordWrite = "plain" }, []string{"directories[1].password_write"}},
		{"missing bind password", func(c *config.Config) { c.Directories[0].BindPassword = config.Secret{} }, []string{"directories[0].bind_password"}},
		{"missing ca_file", func(c *config.Config) { c.Directories[0].CAFile = "/nonexistent/ca.pem" }, []string{"directories[0].ca_file"}},
	})
}
